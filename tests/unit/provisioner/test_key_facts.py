"""The facts a node round publishes on ``keys``: the same fact under the same id, always."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from events.keys import KeyActivated, KeyDeactivated, KeyDeleted
from services.provisioner.domain.access import KeyState
from services.provisioner.domain.key_facts import key_fact, load_fact, outage_fact, recovery_fact
from services.provisioner.domain.plan import Wanted

KEY = uuid.UUID("9f0c6d1e-52a4-4c1f-8c61-3f2a1b0e7d55")
UNTIL = datetime(2026, 3, 1, tzinfo=UTC)
NODE, OTHER = "fi1.example:8443", "de1.example:8443"


def want(state: KeyState, until: datetime | None = UNTIL) -> Wanted:
    return Wanted(KEY, 42, state, until)


def test_an_enabled_key_is_activated_with_its_link_under_one_id_per_period() -> None:
    event, first = key_fact(want(KeyState.ENABLED), "finland", NODE, "vless://x")
    again = key_fact(want(KeyState.ENABLED), "finland", NODE, "vless://x")[1]
    renewed = key_fact(want(KeyState.ENABLED, UNTIL + timedelta(days=30)), "finland", NODE, "v")
    elsewhere = key_fact(want(KeyState.ENABLED), "germany", OTHER, "vless://x")[1]
    assert isinstance(event, KeyActivated)
    assert (event.telegram_id, event.key_id, event.node, event.link) == (42, KEY, NODE, "vless://x")
    assert first == again
    assert len({first, renewed[1], elsewhere}) == 3


def test_a_disabled_key_is_deactivated_apart_from_its_activation() -> None:
    event, deactivated = key_fact(want(KeyState.DISABLED), "finland", NODE, None)
    activated = key_fact(want(KeyState.ENABLED), "finland", NODE, "vless://x")[1]
    assert isinstance(event, KeyDeactivated)
    assert deactivated != activated


def test_a_deleted_key_has_one_id_per_node_whatever_its_until() -> None:
    event, deleted = key_fact(want(KeyState.DELETED), "finland", NODE, None)
    assert isinstance(event, KeyDeleted)
    assert key_fact(want(KeyState.DELETED, None), "finland", NODE, None)[1] == deleted
    assert key_fact(want(KeyState.DELETED), "germany", OTHER, None)[1] != deleted


def test_an_outage_is_announced_once_per_start_with_its_error_cut_short() -> None:
    since = datetime(2026, 2, 1, 12, tzinfo=UTC)
    event, outage = outage_fact("finland", NODE, "x" * 600, since)
    assert (event.node, event.since, len(event.error)) == (NODE, since, 500)
    assert outage_fact("finland", NODE, "other error", since)[1] == outage
    assert outage_fact("finland", NODE, "x", since + timedelta(minutes=1))[1] != outage


def test_a_recovery_has_one_id_per_outage_apart_from_its_announcement() -> None:
    since = datetime(2026, 2, 1, 12, tzinfo=UTC)
    back = since + timedelta(minutes=3)
    event, recovered = recovery_fact("finland", NODE, since, back)
    assert (event.node, event.since, event.back_at) == (NODE, since, back)
    assert recovery_fact("finland", NODE, since, back + timedelta(minutes=1))[1] == recovered
    assert recovery_fact("finland", NODE, since + timedelta(hours=1), back)[1] != recovered
    assert recovery_fact("finland", OTHER, since, back)[1] != recovered
    assert outage_fact("finland", NODE, "down", since)[1] != recovered


LOAD = {
    "cpu_cores": 0.04,
    "memory_bytes": 31_457_280,
    "throughput_bps": 1e6,
    "connections": 4,
    "online_users": 3,
    "host_cpu_cores": 2,
    "host_memory_bytes": 4 * 2**30,
}


def test_a_nodes_load_is_reported_under_one_id_per_node_and_minute() -> None:
    minute = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
    event, first = load_fact("finland", NODE, minute, LOAD)
    again = load_fact("finland", NODE, minute, LOAD | {"online_users": 5})[1]
    later = load_fact("finland", NODE, minute + timedelta(minutes=1), LOAD)[1]
    elsewhere = load_fact("germany", OTHER, minute, LOAD)[1]
    assert (event.node, event.minute, event.online_users) == (NODE, minute, 3)
    assert first == again
    assert len({first, later, elsewhere}) == 3


@pytest.mark.parametrize(
    "figures", [LOAD | {"cpu_cores": -1}, {k: v for k, v in LOAD.items() if k != "connections"}]
)
def test_figures_that_are_not_a_load_are_refused(figures: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="NodeLoadReported"):
        load_fact("finland", NODE, datetime(2026, 12, 7, 18, 0, tzinfo=UTC), figures)
