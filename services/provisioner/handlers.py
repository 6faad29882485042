"""The agent's one handler: a ``subscriptions`` fact in, the user's desired access recorded.

It never calls a node: it writes the user's access document (idempotent by event id) and
hands the saved access to the node loops (see ``access_book``). A node that is down therefore never holds up the
Kafka partition; the node loops make the nodes follow, now or after the outage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from events import Envelope, Event
from events.bot_actions import RegionChosen
from events.subscriptions import (
    ReferralBonusCredited,
    SubscriptionExpired,
    SubscriptionExtended,
    SubscriptionShortened,
    TrialActivated,
    UserPurged,
    UserRegistered,
)
from services.provisioner.adapters.repository import UserAccesses
from services.provisioner.domain.access import (
    Cause,
    Change,
    KeySeen,
    Lapsed,
    Purged,
    RegionPicked,
    UntilSet,
    UserAccess,
    record,
)

log = logging.getLogger(__name__)


def to_change(event: Event) -> Change | None:
    """The change an event makes to a user's access, or None for events that make none."""
    match event:
        case UserRegistered():
            return KeySeen(event.key_id)
        case TrialActivated() | SubscriptionExtended() | SubscriptionShortened():
            return UntilSet(event.until, event.key_id)
        case ReferralBonusCredited():
            return UntilSet(event.until)
        case SubscriptionExpired():
            return Lapsed(event.key_id, event.until)
        case UserPurged():
            return Purged(event.key_id)
        case RegionChosen():
            return RegionPicked(event.region)
    return None


class AccessHandler:
    """Records each relevant event once in the user's access document."""

    def __init__(self, accesses: UserAccesses, changed: Callable[[UserAccess], None]) -> None:
        self._accesses = accesses
        self._changed = changed

    async def __call__(self, envelope: Envelope[Event]) -> None:
        change = to_change(envelope.payload)
        if change is None:
            return
        telegram_id = int(envelope.payload.partition_key())
        access = await self._accesses.load(telegram_id)
        if envelope.event_id in access.seen:
            log.info("event %s recorded already; skipped", envelope.event_id)
            return
        if access.ignores(change):
            log.info("%s for user %s changes nothing (stale)", envelope.type, telegram_id)
        cause = Cause(envelope.event_id, envelope.correlation_id, envelope.occurred_at)
        saved = record(access, change, cause)
        await self._accesses.save(saved)
        self._changed(saved)
