"""A user's monthly traffic totals: each node's window counted once, whatever comes again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from events.traffic import TrafficCounted
from services.subscription.domain.traffic import (
    MONTHS_KEPT,
    MonthTraffic,
    TrafficTotals,
    count,
    month_of,
)

USER = 42
KEY = uuid.UUID(int=7)
WINDOW = timedelta(minutes=5)
START = datetime(2026, 11, 30, 23, 50, tzinfo=UTC)
NODES = ["127.0.0.1:18081", "127.0.0.1:18082"]


def counted(node: str, window: int, up: int = 1, down: int = 10) -> TrafficCounted:
    return TrafficCounted(
        telegram_id=USER,
        key_id=KEY,
        country="finland",
        node=node,
        window_start=START + window * WINDOW,
        uplink_bytes=up,
        downlink_bytes=down,
    )


def fold(counts: list[TrafficCounted]) -> TrafficTotals:
    totals = TrafficTotals(USER)
    for one in counts:
        totals = count(totals, one) or totals
    return totals


def test_counts_add_up_per_month_of_their_window() -> None:
    totals = fold([counted(NODES[0], 0, 1, 2), counted(NODES[1], 0, 3, 4), counted(NODES[0], 2)])
    assert totals.months == (
        MonthTraffic("2026-11", 4, 6),
        MonthTraffic("2026-12", 1, 10),
    )
    assert totals.month(START + timedelta(days=3)).total == 11
    assert totals.month(START + timedelta(days=40)) == MonthTraffic("2027-01")


def test_a_window_counted_already_changes_nothing() -> None:
    totals = fold([counted(NODES[0], 3)])
    assert count(totals, counted(NODES[0], 3)) is None
    assert count(totals, counted(NODES[0], 2)) is None
    assert count(totals, counted(NODES[1], 3)) is not None


def test_only_the_last_months_are_kept() -> None:
    monthly = [
        counted(NODES[0], 0).model_copy(update={"window_start": START + timedelta(days=31 * m)})
        for m in range(MONTHS_KEPT + 3)
    ]
    totals = fold(monthly)
    expected = [month_of(c.window_start) for c in monthly][-MONTHS_KEPT:]
    assert [m.month for m in totals.months] == expected


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[TrafficCounted], list[TrafficCounted]]:
    """Each node's counts in window order, the nodes interleaved; then the same stream
    with any earlier records delivered again anywhere after their first delivery."""
    per_node = {node: sorted(draw(st.sets(st.integers(0, 20_000), max_size=8))) for node in NODES}
    order = draw(st.permutations([n for n, windows in per_node.items() for _ in windows]))
    next_of = {node: iter(windows) for node, windows in per_node.items()}
    once = [
        counted(node, next(next_of[node]), draw(st.integers(0, 99)), draw(st.integers(0, 99)))
        for node in order
    ]
    again: list[TrafficCounted] = []
    for position, record in enumerate(once):
        again.append(record)
        if position and draw(st.booleans()):
            again.extend(draw(st.lists(st.sampled_from(once[: position + 1]), max_size=3)))
    return once, again


@given(deliveries())
def test_redelivery_and_replay_leave_the_totals_as_one_delivery(
    streams: tuple[list[TrafficCounted], list[TrafficCounted]],
) -> None:
    once, again = streams
    assert fold(again) == fold(once)
    assert fold(once + once) == fold(once)
    assert sum(m.total for m in fold(once).months) == sum(
        c.uplink_bytes + c.downlink_bytes for c in once
    )
