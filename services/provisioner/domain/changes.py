"""Incoming events as changes to a user's access (the one place that maps the event
vocabulary in)."""

from __future__ import annotations

from events import Event
from events.bot_actions import RegionChosen
from events.subscriptions import (
    ReferralBonusCredited,
    SubscriptionExpired,
    SubscriptionExtended,
    SubscriptionShortened,
    TrialActivated,
    UserBlockChanged,
    UserPurged,
    UserRegistered,
)
from services.provisioner.domain.access import (
    Blocked,
    Change,
    KeySeen,
    Lapsed,
    Purged,
    RegionPicked,
    UntilSet,
)


def to_change(event: Event) -> Change | None:
    """The change an event makes to a user's access, or None for events that make none."""
    match event:
        case UserRegistered():
            return KeySeen(event.key_id)
        case TrialActivated() | SubscriptionExtended() | SubscriptionShortened():
            return UntilSet(event.until, event.key_id, event.revision)
        case ReferralBonusCredited():
            return UntilSet(event.until, revision=event.revision)
        case SubscriptionExpired():
            return Lapsed(event.key_id, event.until)
        case UserPurged():
            return Purged(event.key_id)
        case UserBlockChanged():
            return Blocked(event.blocked, event.revision)
        case RegionChosen():
            return RegionPicked(event.region)
    return None
