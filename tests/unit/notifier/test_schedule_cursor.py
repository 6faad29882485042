"""The scheduler's cursor never passes a notice still held, nor the minute before now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from keyland.time_buckets import MINUTE, floor_minute
from services.notifier.domain.schedule import next_cursor

moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
)
offsets = st.timedeltas(min_value=timedelta(hours=-3), max_value=timedelta(hours=3))


@given(
    moments, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=8)), st.lists(offsets)
)
def test_the_cursor_moves_forward_only_up_to_what_is_still_held(
    now: datetime, behind: timedelta, held_offsets: list[timedelta]
) -> None:
    cursor = floor_minute(now - behind)
    held = [now + offset for offset in held_offsets]
    moved = next_cursor(cursor, now, held)
    assert moved == floor_minute(moved)
    assert moved >= cursor
    assert moved <= max(cursor, floor_minute(now) - MINUTE)
    for due in held:
        if floor_minute(due) >= cursor:
            assert moved <= floor_minute(due)


def test_with_nothing_held_it_stops_a_minute_before_now() -> None:
    now = datetime(2026, 12, 2, 15, 0, 40, tzinfo=UTC)
    cursor = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
    assert next_cursor(cursor, now, []) == datetime(2026, 12, 2, 14, 59, tzinfo=UTC)
    assert next_cursor(cursor, now, [now - timedelta(minutes=30)]) == datetime(
        2026, 12, 2, 14, 30, tzinfo=UTC
    )
