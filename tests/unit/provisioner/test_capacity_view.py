"""The admins' capacity view per node (pure): every node of the countries file, its load
or why there is none, and its country's load run figures."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from keyland.capacity import Level, Limits, capacity, cost_per_user
from keyland.load_run import NodeReport, Report
from services.provisioner.domain.capacity import NodeLoad, node_capacities

LIMITS = Limits(cpu_cores=2, memory_bytes=8 * 2**30, network_bps=125e6)
LEVELS = (Level(1, 0.01, 40e6, 125e3), Level(8, 0.05, 41e6, 1e6))
LOAD = NodeLoad(
    cpu_cores=0.2, memory_bytes=40_000_000, throughput_bps=5e5, connections=4,
    online_users=3, host_cpu_cores=2, host_memory_bytes=8 * 2**30,
)  # fmt: skip


def run(*countries: str) -> Report:
    return Report(
        measured_at="2026-12-07T18:00:00+00:00", machine="test", command="bench", user_mbps=1,
        window_s=8, limits=LIMITS, monthly_price=Decimal("5.00"),
        nodes=tuple(NodeReport(c, LEVELS, capacity(LEVELS, LIMITS)) for c in countries),
        failed_fetches=0,
    )  # fmt: skip


def test_a_measured_country_gets_its_limit_and_cost_at_the_given_price() -> None:
    [view] = node_capacities(
        {"a:1": "finland"}, {"a:1": LOAD}, set(), run("finland"), Decimal("12")
    )
    held = capacity(LEVELS, LIMITS).active_users
    assert held is not None
    assert view.load == LOAD
    assert view.load_error is None
    assert view.saturates_first == capacity(LEVELS, LIMITS).first.resource
    assert view.active_users_held == held
    assert view.cost_per_active_user == cost_per_user(Decimal("12"), held)
    assert view.as_json()["cost_per_active_user"] == str(cost_per_user(Decimal("12"), held))


def test_an_unmeasured_country_a_missing_load_and_a_down_node_are_said() -> None:
    views = node_capacities(
        {"b:1": "germany", "a:1": "finland"}, {"a:1": "refused"}, {"b:1"}, None, Decimal(5)
    )
    assert [(v.country, v.address) for v in views] == [("finland", "a:1"), ("germany", "b:1")]
    finland, germany = views
    assert (finland.load, finland.load_error, finland.down) == (None, "refused", False)
    assert (germany.load_error, germany.down) == ("not asked", True)
    assert all(v.saturates_first is None and v.cost_per_active_user is None for v in views)


@given(
    st.dictionaries(
        st.from_regex(r"[a-z]{1,8}:[1-9][0-9]{0,3}", fullmatch=True),
        st.sampled_from(["finland", "germany", "sweden"]),
        max_size=12,
    )
)
def test_every_node_is_shown_once_ordered_by_country_then_address(
    countries: dict[str, str],
) -> None:
    views = node_capacities(countries, {}, set(), run("finland"), Decimal(5))
    assert [(v.country, v.address) for v in views] == sorted(
        (country, node) for node, country in countries.items()
    )
    assert all((v.saturates_first is None) == (v.country != "finland") for v in views)
