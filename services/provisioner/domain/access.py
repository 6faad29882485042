"""A user's access as the provisioner knows it, recorded from the ``subscriptions`` facts.

Rules (event times and ``until`` values only; the wall clock enters as ``now`` when asking
whether access is active at a moment):
- ``until`` is the one the newest decision carried, even when it is earlier than before
  (a refund, an admin shortening). A fact with a ``revision`` (see
  :mod:`events.subscriptions`) is newer only if its revision is higher than the one held:
  arrival order does not decide, because a rebuild of the subscription service decides
  some facts from a partial ledger (new ids, stale ``until``) and republishes its final
  decision under an id already recorded. So such a fact is recorded by its revision, not
  its id (which is not kept): one no newer than the held revision (a stale decision, an
  equal one from the same ledger entry, a redelivery) is ignored, and a newer one
  applies even under a known id. A newer one that leaves access as it is (a rebuild
  re-announcing the held ``until``) only raises the revision: the cause stays the event
  behind the latest change. The revision is kept across keys: the subscription service
  counts a user's entries across generations, so a fact decided before a purge stays
  older than every fact for the next key. A fact without a revision (written before
  revisions existed) is applied by arrival, once per event id, as is a first revision
  when only such facts were recorded before.
- an expiry records the ``until`` that lapsed. Access is active while ``until`` is in the
  future and later than every lapsed ``until``; so an expiry for an older ``until`` than
  the known one (the user renewed while it was on its way) changes nothing.
- a block (``UserBlockChanged``) keeps every key of the user disabled whatever ``until``
  says, until a newer one lifts it: it belongs to the user, not the key, so it outlasts a
  purge. Ordered by its revision like a revisioned ``until`` (a block no newer than the
  held one is stale), by its id when none was held;
- a purge retires the key for good: deleted on every node and never enabled again. The
  next key the user gets (after a purge the subscription service issues a new one) starts
  without access until a fact gives it an ``until``.
- every other event id is recorded once: a redelivered or replayed event changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum


class KeyState(StrEnum):
    """What a key must be on every node."""

    ENABLED = "enabled"
    DISABLED = "disabled"
    DELETED = "deleted"


@dataclass(frozen=True)
class Cause:
    """The event behind the latest change, for the lineage of the facts it leads to."""

    event_id: uuid.UUID
    correlation_id: uuid.UUID
    at: datetime


@dataclass(frozen=True)
class KeySeen:
    """The user's key (``UserRegistered``)."""

    key_id: uuid.UUID


@dataclass(frozen=True)
class UntilSet:
    """Access now lasts until ``until`` (trial, extension, shortening, referral bonus)."""

    until: datetime
    key_id: uuid.UUID | None = None
    revision: int | None = None


@dataclass(frozen=True)
class Lapsed:
    """Access that lasted until ``until`` has lapsed (``SubscriptionExpired``)."""

    key_id: uuid.UUID
    until: datetime


@dataclass(frozen=True)
class Purged:
    """The key is to be deleted everywhere (``UserPurged``)."""

    key_id: uuid.UUID


@dataclass(frozen=True)
class RegionPicked:
    """The country the user prefers, listed first on their subscription page."""

    region: str


@dataclass(frozen=True)
class Blocked:
    """An admin's block (``blocked``) or its lifting, decided at ``revision``."""

    blocked: bool
    revision: int


Change = KeySeen | UntilSet | Lapsed | Purged | RegionPicked | Blocked


@dataclass(frozen=True)
class UserAccess:
    """Everything the provisioner needs to know about one user's keys."""

    telegram_id: int
    key_id: uuid.UUID | None = None
    until: datetime | None = None
    revision: int | None = None
    """The revision of the subscription state ``until`` was decided from (None: unknown)."""
    lapsed_until: datetime | None = None
    retired_keys: frozenset[uuid.UUID] = frozenset()
    region: str | None = None
    blocked: bool = False
    blocked_revision: int | None = None
    """The revision the block (or its lifting) was decided at (None: never blocked)."""
    seen: frozenset[uuid.UUID] = frozenset()
    last_cause: Cause | None = None

    def active_at(self, now: datetime) -> bool:
        if self.blocked or self.key_id is None or self.until is None or self.until <= now:
            return False
        return self.lapsed_until is None or self.until > self.lapsed_until

    def desired(self, now: datetime) -> dict[uuid.UUID, KeyState]:
        """Every key of the user and what it must be on every node at ``now``."""
        wanted = dict.fromkeys(self.retired_keys, KeyState.DELETED)
        if self.key_id is not None:
            wanted[self.key_id] = KeyState.ENABLED if self.active_at(now) else KeyState.DISABLED
        return wanted

    def knows(self, change: Change, event_id: uuid.UUID) -> bool:
        """True when the event was recorded already, or decided no later than what is
        held: a revisioned ``until`` no newer than the held revision."""
        if isinstance(change, Blocked) and self.blocked_revision is not None:
            return change.revision <= self.blocked_revision
        newest = self.revision
        if isinstance(change, UntilSet) and change.revision is not None and newest is not None:
            return change.revision <= newest
        return event_id in self.seen

    def ignores(self, change: Change) -> bool:
        """True when ``change`` cannot alter access: an expiry older than the known
        ``until`` (stale) or a fact about a retired key."""
        key = getattr(change, "key_id", None)
        if key is not None and key in self.retired_keys:
            return True
        return (
            isinstance(change, Lapsed)
            and change.key_id == self.key_id
            and self.until is not None
            and self.until > change.until
        )


def record(access: UserAccess, change: Change, cause: Cause) -> UserAccess:
    """``access`` after ``change``; an event it knows already (see :meth:`UserAccess.knows`)
    returns it as is."""
    if access.knows(change, cause.event_id):
        return access
    if isinstance(change, UntilSet) and change.revision is not None:
        applied = _apply(access, change)
        if replace(applied, revision=access.revision) == access:
            return applied  # the held access re-announced (a rebuild): only the revision
        return replace(applied, last_cause=cause)
    # A region choice (``bot.actions``) changes no key, so it is no key change's cause; it
    # also keeps the cause independent of how the two input topics interleave on a replay.
    last_cause = access.last_cause if isinstance(change, RegionPicked) else cause
    return replace(
        _apply(access, change), seen=access.seen | {cause.event_id}, last_cause=last_cause
    )


def _apply(access: UserAccess, change: Change) -> UserAccess:
    if isinstance(change, RegionPicked):
        return replace(access, region=change.region)
    if isinstance(change, Blocked):
        return replace(access, blocked=change.blocked, blocked_revision=change.revision)
    if isinstance(change, Purged):
        retired = access.retired_keys | {change.key_id}
        if access.key_id == change.key_id:
            return replace(access, key_id=None, until=None, lapsed_until=None, retired_keys=retired)
        return replace(access, retired_keys=retired)
    if change.key_id is not None and change.key_id in access.retired_keys:
        return access  # a purged key never comes back
    current = _adopt(access, change.key_id)
    if isinstance(change, UntilSet):
        revision = access.revision if change.revision is None else change.revision
        return replace(current, until=change.until, revision=revision)
    if isinstance(change, Lapsed):
        lapsed = change.until
        if current.lapsed_until is not None:
            lapsed = max(current.lapsed_until, change.until)
        return replace(current, lapsed_until=lapsed)
    return current


def _adopt(access: UserAccess, key: uuid.UUID | None) -> UserAccess:
    """``access`` for ``key``: a key other than the current one is the user's next
    generation, so the current one is retired and access starts afresh."""
    if key is None or key == access.key_id:
        return access
    if access.key_id is None:
        return replace(access, key_id=key)
    return replace(
        access,
        key_id=key,
        until=None,
        lapsed_until=None,
        retired_keys=access.retired_keys | {access.key_id},
    )
