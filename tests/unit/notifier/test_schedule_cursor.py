"""The scheduler's cursor never passes a notice still held, nor the minute before now, and
a notice read with its whole hour holds it at its own minute, not at the hour's start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from keyland.mongo import Document
from keyland.time_buckets import HOURS, MINUTE, Bucket, buckets_to_sweep, floor_minute
from services.notifier.adapters.notices import filed_document, filed_minute
from services.notifier.domain.notices import Kind, Notice
from services.notifier.domain.schedule import next_cursor

LOOKAHEAD = timedelta(seconds=90)  # the scheduler's default
WEEK = timedelta(days=7)

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


def held_after_a_load(cursor: datetime, now: datetime, unsettled: list[Document]) -> list[datetime]:
    """What a scheduler's load holds: each notice read from the buckets it sweeps from
    ``cursor``, at the minute it is filed under."""
    return [
        filed_minute(document)
        for bucket in buckets_to_sweep(cursor, now + LOOKAHEAD)
        for document in unsettled
        if document[bucket.field] == bucket.key
    ]


def written(now: datetime, dues: list[timedelta]) -> list[Document]:
    notices = [Notice(str(n), 1, Kind.TEST, now + due) for n, due in enumerate(dues)]
    return [filed_document(notice, now, now) for notice in notices]


def test_at_the_end_of_an_hour_a_first_load_reads_it_whole_and_holds_only_its_minutes() -> None:
    now = datetime(2026, 12, 7, 13, 58, 59, 577917, tzinfo=UTC)
    cursor = floor_minute(now - WEEK)
    # The lookahead reaches 14:00: the hour of 13 counts as complete and is read whole.
    assert Bucket(HOURS, datetime(2026, 12, 7, 13, tzinfo=UTC)) in buckets_to_sweep(
        cursor, now + LOOKAHEAD
    )
    soon = written(now, [timedelta(seconds=20)])
    held = held_after_a_load(cursor, now, soon)
    assert held == [datetime(2026, 12, 7, 13, 59, tzinfo=UTC)]
    assert next_cursor(cursor, now, held) == datetime(2026, 12, 7, 13, 57, tzinfo=UTC)


@example(
    now=datetime(2026, 12, 7, 13, 58, 59, 577917, tzinfo=UTC),
    dues=[timedelta(hours=-2), timedelta(seconds=20)],
)
@given(
    moments,
    st.lists(st.timedeltas(min_value=timedelta(hours=-3), max_value=LOOKAHEAD), min_size=1),
)
def test_a_first_load_moves_the_cursor_to_the_minute_before_now_and_skips_nothing(
    now: datetime, dues: list[timedelta]
) -> None:
    unsettled = written(now, dues)  # each due then, written now: filed at now or later
    cursor = floor_minute(now - WEEK)
    held = held_after_a_load(cursor, now, unsettled)
    assert len(held) == len(unsettled)
    moved = next_cursor(cursor, now, held)
    assert moved == floor_minute(now) - MINUTE
    assert len(held_after_a_load(moved, now, unsettled)) == len(unsettled)  # a restart
