"""The owned cache: bounded, tells a miss from a remembered "no document", and is
emptied whenever the worker's partitions move."""

from __future__ import annotations

import faust
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyland.kafka.faust_app import forget_on_rebalance
from keyland.kafka.owned_cache import MISS, OwnedCache


def test_a_remembered_absence_is_not_a_miss() -> None:
    cache: OwnedCache[str | None] = OwnedCache(10)
    assert cache.get(1) is MISS
    cache.remember(1, None)
    assert cache.get(1) is None
    cache.remember(1, "saved")
    assert cache.get(1) == "saved"
    assert cache.forget(1) == "saved"
    assert cache.get(1) is MISS
    assert cache.forget(1) is MISS


def test_the_least_recently_used_go_past_the_limit() -> None:
    cache: OwnedCache[int] = OwnedCache(2)
    cache.remember(1, 10)
    cache.remember(2, 20)
    assert cache.get(1) == 10  # 1 is now the most recent
    cache.remember(3, 30)
    assert (cache.get(1), cache.get(2), cache.get(3)) == (10, MISS, 30)


def test_a_cache_of_no_users_remembers_nothing() -> None:
    cache: OwnedCache[int] = OwnedCache(0)
    cache.remember(1, 10)
    assert cache.get(1) is MISS
    with pytest.raises(ValueError, match="fewer than no users"):
        OwnedCache(-1)


@given(st.lists(st.tuples(st.integers(0, 20), st.integers()), max_size=200), st.integers(1, 8))
def test_it_holds_at_most_its_limit_and_the_latest_value_of_the_newest(
    writes: list[tuple[int, int]], limit: int
) -> None:
    cache: OwnedCache[int] = OwnedCache(limit)
    for telegram_id, value in writes:
        cache.remember(telegram_id, value)
    assert len(cache) <= limit
    if writes:
        newest, value = writes[-1]
        assert cache.get(newest) == value


@pytest.mark.parametrize("signal", ["on_partitions_revoked", "on_partitions_assigned"])
async def test_a_rebalance_empties_every_owned_cache(signal: str) -> None:
    app = faust.App("owned-cache-test", broker="kafka://127.0.0.1:1")
    users: OwnedCache[str] = OwnedCache(10)
    shards: OwnedCache[int] = OwnedCache(10)
    users.remember(7, "user")
    shards.remember(0, 1)
    forget_on_rebalance(app, (users, shards))
    await getattr(app, signal).send(set())
    assert (len(users), len(shards)) == (0, 0)
