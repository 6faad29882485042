"""A schedule sweep's buckets cover time from its cursor to now exactly once."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from keyland.time_buckets import (
    DAYS,
    HOURS,
    INACTIVITY,
    MINUTES,
    YEARS,
    Bucket,
    Scale,
    buckets_to_sweep,
    floor_minute,
    hour_key,
    minute_key,
)

moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
)


@given(moments, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=31)))
def test_buckets_cover_cursor_to_the_end_of_now_without_gap_or_overlap(
    now: datetime, behind: timedelta
) -> None:
    cursor = floor_minute(now - behind)
    buckets = buckets_to_sweep(cursor, now)
    assert buckets[0].start == cursor
    assert buckets[-1] == Bucket(MINUTES, floor_minute(now))
    for before, after in itertools.pairwise(buckets):
        assert before.end == after.start


@given(moments, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=31)))
def test_whole_hours_are_read_at_once_and_only_when_complete(
    now: datetime, behind: timedelta
) -> None:
    buckets = buckets_to_sweep(floor_minute(now - behind), now)
    hours = [b for b in buckets if b.field == "hour"]
    assert all(b.end <= floor_minute(now) for b in hours)
    assert all(b.start.minute == 0 for b in hours)
    assert len(buckets) <= behind // timedelta(hours=1) + 2 * 60 + 1


def test_a_month_behind_takes_hundreds_of_reads_not_tens_of_thousands() -> None:
    now = datetime(2026, 12, 2, 14, 30, 15, tzinfo=UTC)
    buckets = buckets_to_sweep(now - timedelta(days=30), now)
    # 14:30-15:00 by minutes, 719 whole hours, then 14:00-14:30 by minutes (31 with now's)
    assert len(buckets) == 30 + 719 + 31


def test_keys_name_the_minute_and_the_hour() -> None:
    moment = datetime(2026, 12, 2, 14, 5, 59, tzinfo=UTC)
    assert minute_key(moment) == "2026-12-02T14:05"
    assert hour_key(moment) == "2026-12-02T14"
    assert Bucket(HOURS, moment.replace(minute=0, second=0)).key == "2026-12-02T14"


@given(moments, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=4000)))
def test_days_and_whole_years_cover_cursor_to_the_end_of_today_once(
    now: datetime, behind: timedelta
) -> None:
    cursor = DAYS.floor(now - behind)
    buckets = buckets_to_sweep(cursor, now, INACTIVITY)
    assert buckets[0].start == cursor
    assert buckets[-1] == Bucket(DAYS, DAYS.floor(now))
    for before, after in itertools.pairwise(buckets):
        assert before.end == after.start
    years = [b for b in buckets if b.field == "year"]
    assert all(b.start.month == b.start.day == 1 and b.end <= DAYS.floor(now) for b in years)
    assert len(buckets) <= behind // timedelta(days=365) + 2 * 366 + 1


def test_a_cleanup_from_2015_takes_hundreds_of_reads() -> None:
    now = datetime(2026, 12, 2, 14, 30, tzinfo=UTC)
    buckets = buckets_to_sweep(datetime(2015, 1, 1, tzinfo=UTC), now, INACTIVITY)
    # 2015-2025 as eleven whole years, then 2026 day by day up to today (336 days)
    assert len(buckets) == 11 + 336
    assert [b.key for b in buckets[:2]] == ["2015", "2016"]
    assert buckets[-1].key == "2026-12-02"


@given(moments, st.sampled_from([MINUTES, HOURS, DAYS, YEARS]))
def test_a_key_names_the_start_of_its_span(moment: datetime, scale: Scale) -> None:
    assert scale.start(scale.key(moment)) == scale.floor(moment)
