"""What to change on one node so that it holds exactly the keys that must be enabled there.

Three views meet here: what each key must be (:class:`Wanted`, from the users' access),
what the provisioner last did or saw on the node (:class:`Applied`, its own record) and
which keys the node really has enabled (``on_node``, from the agent, or the record's view
of it when the node is not asked). The plan repairs drift both ways and says which steps
are news worth a ``keys`` event: a key that starts or stops admitting connections.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.provisioner.domain.access import Cause, KeyState, UserAccess


@dataclass(frozen=True)
class Wanted:
    """What one key must be on every node, and whose it is."""

    key_id: uuid.UUID
    telegram_id: int
    state: KeyState
    until: datetime | None
    cause: Cause | None = None


@dataclass(frozen=True)
class Applied:
    """The provisioner's record of one key on one node."""

    key_id: uuid.UUID
    state: KeyState
    link: str | None = None
    until: datetime | None = None


class Action(StrEnum):
    ENABLE = "enable"  # enable on the node, record it enabled
    REVOKE = "revoke"  # disable on the node, record the wanted state
    RECORD = "record"  # the node is right already; only the record is behind
    EVICT = "evict"  # a key nobody wants (added by hand): disable it, record nothing


@dataclass(frozen=True)
class Step:
    action: Action
    key_id: uuid.UUID
    wanted: Wanted | None
    announce: bool

    @property
    def calls_node(self) -> bool:
        return self.action is not Action.RECORD


_ORDER = {Action.REVOKE: 0, Action.EVICT: 1, Action.ENABLE: 2, Action.RECORD: 3}


def wanted_keys(accesses: Iterable[UserAccess], now: datetime) -> dict[uuid.UUID, Wanted]:
    """Every key of ``accesses`` and what it must be at ``now``."""
    wanted: dict[uuid.UUID, Wanted] = {}
    for access in accesses:
        for key, state in access.desired(now).items():
            until = access.until if key == access.key_id else None
            wanted[key] = Wanted(key, access.telegram_id, state, until, access.last_cause)
    return wanted


def plan_node(
    wanted: Mapping[uuid.UUID, Wanted],
    applied: Mapping[uuid.UUID, Applied],
    on_node: AbstractSet[uuid.UUID],
) -> list[Step]:
    """The steps that bring the node and the record to ``wanted``: revocations first
    (they matter most when a node is slow), then enablings, then record-only steps."""
    steps = []
    for key in wanted.keys() | on_node:
        step = _step(key, wanted.get(key), applied.get(key), key in on_node)
        if step is not None:
            steps.append(step)
    return sorted(steps, key=lambda s: (_ORDER[s.action], str(s.key_id)))


def _step(key: uuid.UUID, want: Wanted | None, rec: Applied | None, on: bool) -> Step | None:
    if want is None:
        return Step(Action.EVICT, key, None, announce=False) if on else None
    if want.state is KeyState.ENABLED:
        if on and rec is not None and rec.state is KeyState.ENABLED:
            return None
        first = rec is None or rec.state is not KeyState.ENABLED
        return Step(Action.ENABLE, key, want, announce=first)
    if on:
        return Step(Action.REVOKE, key, want, announce=True)
    if rec is not None and rec.state is not want.state and rec.state is not KeyState.DELETED:
        return Step(Action.RECORD, key, want, announce=True)
    return None


def record_view(applied: Mapping[uuid.UUID, Applied]) -> set[uuid.UUID]:
    """The keys the record says are enabled: the node as seen without asking it."""
    return {key for key, rec in applied.items() if rec.state is KeyState.ENABLED}


def due_evictions(
    unknown: AbstractSet[uuid.UUID],
    first_seen: Mapping[uuid.UUID, datetime],
    now: datetime,
    grace: timedelta,
) -> tuple[set[uuid.UUID], dict[uuid.UUID, datetime]]:
    """Unknown keys seen for longer than ``grace`` (to evict), and when each still-unknown
    key was first seen. The grace keeps a provisioner that is catching up on its topic (a
    new database, say) from revoking keys of users it has not read about yet."""
    seen = {key: first_seen.get(key, now) for key in unknown}
    return {key for key, since in seen.items() if now - since >= grace}, seen
