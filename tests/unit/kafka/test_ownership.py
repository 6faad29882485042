"""Ownership by partition: where a key lands is where our producers put it, each key has
exactly one owner among instances that split the partitions, and a change is seen."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from keyland.kafka.ownership import Ownership, partition_of

counts = st.integers(min_value=1, max_value=64)


@given(st.binary(min_size=1, max_size=40), counts)
def test_a_key_lands_where_the_producers_partitioner_puts_it(key: bytes, partitions: int) -> None:
    every = list(range(partitions))
    assert partition_of(key, partitions) == DefaultPartitioner()(key, every, every)


@given(
    st.lists(st.integers(min_value=0, max_value=10**12), max_size=50),
    counts.flatmap(
        lambda n: st.tuples(st.just(n), st.lists(st.integers(0, 2), min_size=n, max_size=n))
    ),
)
def test_instances_that_split_the_partitions_own_each_key_once(
    telegram_ids: list[int], split: tuple[int, list[int]]
) -> None:
    partitions, instance_of = split
    instances = [
        Ownership(partitions, {p for p in range(partitions) if instance_of[p] == i})
        for i in range(3)
    ]
    for telegram_id in telegram_ids:
        assert sum(o.owns(str(telegram_id)) for o in instances) == 1


def test_the_whole_owns_everything_and_a_change_moves_the_generation() -> None:
    ownership = Ownership.whole(6)
    assert ownership.owns("42")
    assert ownership.owns("127.0.0.1:9000")
    before = ownership.generation
    ownership.change({0, 1, 2, 3, 4, 5})
    assert ownership.generation == before  # nothing changed
    ownership.change(())
    assert not ownership.owns("42")
    assert ownership.generation == before + 1
    ownership.change({partition_of(b"42", 12)}, partitions=12)
    assert ownership.owns("42")
    assert ownership.partitions == 12
    assert ownership.generation == before + 2


@pytest.mark.parametrize(("partitions", "owned"), [(0, ()), (6, (6,)), (6, (-1,))])
def test_partitions_outside_the_topic_are_refused_and_change_nothing(
    partitions: int, owned: tuple[int, ...]
) -> None:
    ownership = Ownership.whole(6)
    with pytest.raises(ValueError, match="partitions"):
        ownership.change(owned, partitions)
    assert ownership.owned == frozenset(range(6))
    assert ownership.generation == 0
