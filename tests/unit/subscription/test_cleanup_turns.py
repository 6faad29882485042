"""When the cleanup is due, and when a claim on it is given up: pure, no fixtures."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.subscription.domain.cleanup_turns import abandoned, is_due

WEEK = timedelta(weeks=1)
LAST = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)

moments = st.datetimes(
    min_value=datetime(2015, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
spans = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=365))


def test_a_run_is_due_at_once_when_none_was_stored() -> None:
    assert is_due(None, LAST, WEEK)


def test_a_run_is_due_exactly_one_interval_after_the_last_one_finished() -> None:
    assert is_due(LAST, LAST + WEEK, WEEK)
    assert not is_due(LAST, LAST + WEEK - timedelta(microseconds=1), WEEK)


def test_a_restart_changes_nothing_the_rule_reads_only_the_stored_run() -> None:
    # A worker started a minute ago and one started a month ago decide alike: uptime is no input.
    assert is_due(LAST, LAST + WEEK + timedelta(minutes=1), WEEK)


@given(last=moments, now=moments, interval=spans)
def test_due_exactly_when_the_last_run_is_an_interval_old(
    last: datetime, now: datetime, interval: timedelta
) -> None:
    assert is_due(last, now, interval) == (now - last >= interval)


@given(last=moments, now=moments, later=spans, interval=spans)
def test_once_due_a_run_stays_due_until_one_is_recorded(
    last: datetime, now: datetime, later: timedelta, interval: timedelta
) -> None:
    if is_due(last, now, interval):
        assert is_due(last, now + later, interval)


@given(last=moments, interval=spans, ticks=st.lists(spans, min_size=1, max_size=50))
def test_runs_recorded_when_due_are_never_closer_than_the_interval(
    last: datetime, interval: timedelta, ticks: list[timedelta]
) -> None:
    runs, now = [last], last
    for tick in ticks:
        now += tick
        if is_due(runs[-1], now, interval):
            runs.append(now)
    assert all(b - a >= interval for a, b in itertools.pairwise(runs))


@given(claimed=moments, now=moments, lease=spans)
def test_a_claim_is_abandoned_exactly_when_its_lease_has_run_out(
    claimed: datetime, now: datetime, lease: timedelta
) -> None:
    assert abandoned(claimed, now, lease) == (now - claimed >= lease)
    assert not abandoned(claimed, claimed + lease - timedelta(microseconds=1), lease)
