"""Counting a node's running counters into bytes per window."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.provisioner.domain.traffic import (
    Bytes,
    Reading,
    counted,
    traffic_facts,
    window_start,
)

A, B = uuid.UUID(int=1), uuid.UUID(int=2)
FIVE_MINUTES = timedelta(minutes=5)
NOW = datetime(2026, 12, 7, 18, 3, 20, tzinfo=UTC)

moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


class TestCounted:
    def test_the_first_reading_only_sets_the_baseline(self) -> None:
        assert counted(None, Reading(100, {A: Bytes(5, 50)})) == {}

    def test_growth_since_the_previous_reading_is_counted(self) -> None:
        before = Reading(100, {A: Bytes(5, 50), B: Bytes(1, 1)})
        after = Reading(400, {A: Bytes(7, 90), B: Bytes(1, 1)})
        assert counted(before, after) == {A: Bytes(2, 40)}

    def test_a_key_new_since_the_previous_reading_counts_whole(self) -> None:
        assert counted(Reading(100), Reading(400, {A: Bytes(3, 4)})) == {A: Bytes(3, 4)}

    def test_after_xray_restarted_the_counters_count_whole(self) -> None:
        before = Reading(1000, {A: Bytes(5, 50)})
        after = Reading(20, {A: Bytes(9, 70)})  # more than before, but since the restart
        assert counted(before, after) == {A: Bytes(9, 70)}

    def test_a_counter_that_went_down_began_again(self) -> None:
        before = Reading(100, {A: Bytes(5, 50)})
        assert counted(before, Reading(400, {A: Bytes(2, 60)})) == {A: Bytes(2, 10)}

    @given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), min_size=1))
    def test_without_restarts_the_windows_add_up_to_the_counters_growth(
        self, increments: list[tuple[int, int]]
    ) -> None:
        readings = [Reading(0, {A: Bytes(10, 10)})]
        for step, (up, down) in enumerate(increments, start=1):
            last = readings[-1].counters[A]
            readings.append(Reading(step, {A: Bytes(last.uplink + up, last.downlink + down)}))
        total = Bytes()
        for before, after in itertools.pairwise(readings):
            moved = counted(before, after).get(A, Bytes())
            total = Bytes(total.uplink + moved.uplink, total.downlink + moved.downlink)
        first, last = readings[0].counters[A], readings[-1].counters[A]
        assert total == Bytes(last.uplink - first.uplink, last.downlink - first.downlink)

    @given(
        st.dictionaries(st.sampled_from([A, B]), st.tuples(st.integers(0), st.integers(0))),
        st.dictionaries(st.sampled_from([A, B]), st.tuples(st.integers(0), st.integers(0))),
        st.integers(0),
        st.integers(0),
    )
    def test_nothing_is_ever_counted_negative_or_empty(
        self,
        before: dict[uuid.UUID, tuple[int, int]],
        after: dict[uuid.UUID, tuple[int, int]],
        uptime_before: int,
        uptime_after: int,
    ) -> None:
        moved = counted(
            Reading(uptime_before, {k: Bytes(*v) for k, v in before.items()}),
            Reading(uptime_after, {k: Bytes(*v) for k, v in after.items()}),
        )
        for grown in moved.values():
            assert grown.uplink >= 0
            assert grown.downlink >= 0
            assert grown


class TestWindows:
    @given(moments, st.integers(1, 86_400))
    def test_a_moment_lies_in_its_window(self, moment: datetime, seconds: int) -> None:
        window = timedelta(seconds=seconds)
        start = window_start(moment, window)
        assert start <= moment < start + window
        assert window_start(start + window - timedelta(microseconds=1), window) == start

    def test_windows_begin_on_round_times(self) -> None:
        assert window_start(NOW, FIVE_MINUTES) == datetime(2026, 12, 7, 18, 0, tzinfo=UTC)

    def test_a_window_must_last(self) -> None:
        with pytest.raises(ValueError, match="window"):
            window_start(NOW, timedelta(0))


class TestFacts:
    def test_one_fact_per_owned_key_with_an_id_from_node_key_and_window(self) -> None:
        start = window_start(NOW, FIVE_MINUTES)
        moved = {A: Bytes(1, 2), B: Bytes(3, 4)}
        facts = list(traffic_facts(moved, {A: 77}, country="finland", node="n:1", start=start))
        assert [(e.telegram_id, e.key_id, e.uplink_bytes, e.downlink_bytes) for e, _ in facts] == [
            (77, A, 1, 2)
        ]
        again = list(traffic_facts(moved, {A: 77}, country="finland", node="n:1", start=start))
        assert facts[0][1] == again[0][1]
        other_node = list(traffic_facts(moved, {A: 77}, country="germany", node="n:2", start=start))
        next_window = list(
            traffic_facts(moved, {A: 77}, country="finland", node="n:1", start=start + FIVE_MINUTES)
        )
        assert len({facts[0][1], other_node[0][1], next_window[0][1]}) == 3
