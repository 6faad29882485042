"""The weekly cleanup's judgement and its request: pure, no fixtures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from events.admin_commands import UserPurgeRequested
from services.subscription.domain.cleanup import Candidate, judge, purge_request

AGE = timedelta(days=180)
REGISTERED = datetime(2025, 1, 10, tzinfo=UTC)
BOUGHT = datetime(2025, 3, 1, tzinfo=UTC)


def test_a_user_inactive_for_the_age_is_a_candidate_since_their_last_purchase() -> None:
    now = BOUGHT + AGE
    verdict = judge(7, "ann", REGISTERED, BOUGHT, BOUGHT + timedelta(days=30), now=now, age=AGE)
    assert verdict == Candidate(7, "ann", BOUGHT)


def test_a_user_who_never_bought_counts_from_registration() -> None:
    verdict = judge(7, None, REGISTERED, None, None, now=REGISTERED + AGE, age=AGE)
    assert verdict == Candidate(7, None, REGISTERED)


def test_a_user_not_inactive_yet_is_filed_again_for_when_they_will_be() -> None:
    now = BOUGHT + AGE - timedelta(seconds=1)
    assert judge(7, "ann", REGISTERED, BOUGHT, None, now=now, age=AGE) == BOUGHT + AGE


def test_access_running_past_the_age_puts_the_moment_at_its_end() -> None:
    until = BOUGHT + AGE + timedelta(days=40)
    assert judge(7, "ann", REGISTERED, BOUGHT, until, now=BOUGHT + AGE, age=AGE) == until


def test_no_user_no_verdict() -> None:
    assert judge(7, None, None, None, None, now=BOUGHT + 10 * AGE, age=AGE) is None


def test_one_request_per_user_and_day() -> None:
    candidate = Candidate(7, "ann", BOUGHT)
    morning = datetime(2025, 9, 1, 8, tzinfo=UTC)
    first = purge_request(candidate, morning, AGE)
    assert isinstance(first.payload, UserPurgeRequested)
    assert first.payload.reason == "inactive since 2025-03-01 (over 180 days)"
    assert purge_request(candidate, morning + timedelta(hours=9), AGE).event_id == first.event_id
    assert purge_request(candidate, morning + timedelta(days=1), AGE).event_id != first.event_id
