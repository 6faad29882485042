"""The node's load between two looks at its counters (services/node_agent/domain/load.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.node_agent.domain.load import Snapshot, load_between

counters = st.dictionaries(st.uuids().map(str), st.integers(0, 10**12), max_size=20)


def look(at_s: float, user_bytes: dict[str, int], cpu_s: float = 1.0) -> Snapshot:
    return Snapshot(at_s, cpu_s, 50_000_000, 3, user_bytes)


@given(counters, st.dictionaries(st.uuids().map(str), st.integers(1, 10**9), max_size=20))
def test_users_whose_bytes_grew_are_online_and_their_bytes_are_the_throughput(
    before: dict[str, int], grown: dict[str, int]
) -> None:
    after = before | {user: before.get(user, 0) + extra for user, extra in grown.items()}
    load = load_between(look(10.0, before), look(12.0, after))
    assert load.online_users == len(grown)
    assert load.throughput_bps == pytest.approx(sum(grown.values()) / 2)


def test_a_counter_that_went_down_restarted_from_zero() -> None:
    load = load_between(look(0.0, {"a": 1000}, cpu_s=30.0), look(1.0, {"a": 200}, cpu_s=0.5))
    assert (load.throughput_bps, load.online_users, load.cpu_cores) == (200, 1, 0.0)


def test_cpu_is_counted_in_cores() -> None:
    load = load_between(look(0.0, {}, cpu_s=10.0), look(4.0, {}, cpu_s=12.0))
    assert load.cpu_cores == pytest.approx(0.5)
    assert (load.connections, load.memory_bytes) == (3, 50_000_000)


@pytest.mark.parametrize("after_s", [5.0, 4.0])
def test_looks_out_of_order_are_refused(after_s: float) -> None:
    with pytest.raises(ValueError, match="after"):
        load_between(look(5.0, {}), look(after_s, {}))
