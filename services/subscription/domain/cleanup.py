"""Who the weekly cleanup asks to purge, and how it asks (see :mod:`..handlers.cleanup`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from events import Envelope, external_event_id
from events.admin_commands import UserPurgeRequested
from services.subscription.domain.figures import inactive_from

PRODUCER = "subscription-cleanup"


@dataclass(frozen=True)
class Candidate:
    telegram_id: int
    username: str | None
    last_activity: datetime


def judge(
    telegram_id: int,
    username: str | None,
    registered_at: datetime | None,
    last_purchase_at: datetime | None,
    until: datetime | None,
    *,
    now: datetime,
    age: timedelta,
) -> Candidate | datetime | None:
    """A candidate when the user qualifies at ``now``; otherwise the moment they will
    (to be filed again for then), or None for no user (purged, never registered)."""
    moment = inactive_from(registered_at, last_purchase_at, until, age)
    if moment is None or moment > now:
        return moment
    assert registered_at is not None  # a moment is known only for a registered user
    return Candidate(telegram_id, username, last_purchase_at or registered_at)


def purge_request(
    candidate: Candidate, now: datetime, age: timedelta
) -> Envelope[UserPurgeRequested]:
    """The request to purge ``candidate``: one id per user and day, so a job run twice on
    one day asks once."""
    request = UserPurgeRequested(
        telegram_id=candidate.telegram_id,
        reason=f"inactive since {candidate.last_activity:%Y-%m-%d} (over {age.days} days)",
    )
    return Envelope.new(
        request,
        producer=PRODUCER,
        occurred_at=now,
        event_id=external_event_id(
            "cleanup", f"{candidate.telegram_id}:{now:%Y-%m-%d}", request.event_type
        ),
    )
