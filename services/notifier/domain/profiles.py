"""What the notifier knows of a user, learnt from the events it consumes anyway.

The notifier never reads the subscription's ``users``: for each user it keeps a profile of
its own, the three things sending needs, from ``subscriptions`` and ``bot.actions``:

- the language to write in: that of the latest /start that gave one (``UserStarted``,
  and ``UserRegistered``, which carries its /start's language and time), by event time,
  since the two topics interleave in any order; a purge forgets it, unless a later
  /start gave it again;
- where access ends (``until``), to skip reminders and expiry notices of a period that
  changed: the ``until`` of the newest decision, by ``revision`` (see
  :mod:`events.subscriptions`) as the provisioner does, since a rebuild of the
  subscription service republishes stale decisions under new ids; a fact without a
  revision (written before revisions existed) applies by arrival. A purge ends access;
  the revision is kept, so a decision from before the purge stays older;
- whether the user is registered (broadcasts go to registered users): from
  ``UserRegistered`` until ``UserPurged``, in the order the subscription service wrote
  them (one partition per user);
- the region the user chose (``RegionChosen``, the latest by arrival: the bot publishes
  one user's choices on one partition, in order), to tell them when that country's node
  is down and back; a purge forgets it.

Every rule gives the same profile when an event comes again, so redelivery and replay
change nothing. Profiles exist from the notifier's first read of its topics: a database
that held notices before profiles existed fills them with a replay of the notifier's
group from the start of ``subscriptions`` and ``bot.actions`` (``keyland replay``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from events import Event
from events.bot_actions import RegionChosen, UserStarted
from events.subscriptions import (
    ReferralBonusCredited,
    SubscriptionExtended,
    SubscriptionShortened,
    TrialActivated,
    UserPurged,
    UserRegistered,
)

LEARNT_FROM: tuple[type[Event], ...] = (
    UserStarted,
    RegionChosen,
    UserRegistered,
    UserPurged,
    TrialActivated,
    SubscriptionExtended,
    SubscriptionShortened,
    ReferralBonusCredited,
)
"""The events a profile learns from; every other event leaves it as it is."""


@dataclass(frozen=True)
class Profile:
    telegram_id: int
    registered: bool = False
    language_code: str | None = None
    language_at: datetime | None = None
    """When the /start that gave ``language_code`` happened (or the purge that forgot it)."""
    until: datetime | None = None
    revision: int | None = None
    """The revision of the subscription state ``until`` was decided from (None: unknown)."""
    region: str | None = None


def learn(profile: Profile, event: Event, at: datetime) -> Profile:
    """``profile`` after ``event``, which happened at ``at``."""
    match event:
        case UserStarted():
            return _language(profile, event.language_code, at)
        case RegionChosen():
            return replace(profile, region=event.region)
        case UserRegistered():
            return _language(replace(profile, registered=True), event.language_code, at)
        case UserPurged():
            forgets = profile.language_at is None or at >= profile.language_at
            purged = replace(profile, registered=False, until=None, region=None)
            return replace(purged, language_code=None, language_at=at) if forgets else purged
        case (
            TrialActivated()
            | SubscriptionExtended()
            | SubscriptionShortened()
            | ReferralBonusCredited()
        ):
            return _until(profile, event.until, event.revision)
    return profile


def _language(profile: Profile, language_code: str | None, at: datetime) -> Profile:
    if language_code is None or (profile.language_at is not None and at < profile.language_at):
        return profile
    return replace(profile, language_code=language_code, language_at=at)


def _until(profile: Profile, until: datetime, revision: int | None) -> Profile:
    if revision is None:
        return replace(profile, until=until)
    if profile.revision is not None and revision <= profile.revision:
        return profile
    return replace(profile, until=until, revision=revision)
