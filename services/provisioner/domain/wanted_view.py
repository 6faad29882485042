"""What the users owned here want of every node, kept up to date user by user.

The node checks compare this with each node every few seconds. Derived afresh from every
user's access, it cost about 0.2 s of CPU per node and check with 20,000 users, the
event loop blocked meanwhile; kept here, a check re-derives only the users whose access
changed in the book and those whose ``until`` has passed since (a heap of those moments),
and says which keys that touched, so the check compares only those.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime

from services.provisioner.domain.access import UserAccess
from services.provisioner.domain.plan import Wanted, wanted_keys


class WantedView:
    """:func:`.plan.wanted_keys` of the owned users' accesses (``wanted``), and every key,
    current or retired, of the users owned elsewhere (``theirs``, key → user): those keys
    are another instance's to apply, reconcile and count, so this one leaves them alone."""

    def __init__(
        self, accesses: Iterable[UserAccess], owns: Callable[[int], bool], now: datetime
    ) -> None:
        self._owns = owns
        self.wanted: dict[uuid.UUID, Wanted] = {}
        self.theirs: dict[uuid.UUID, int] = {}
        self._keys: dict[int, tuple[uuid.UUID, ...]] = {}  # what each user put in
        self._ends: list[tuple[datetime, int]] = []  # (until, user) of enabled keys, a heap
        for access in accesses:
            self._add(access, now)

    def refresh(
        self,
        changed: Iterable[int],
        access_of: Callable[[int], UserAccess | None],
        now: datetime,
    ) -> set[uuid.UUID]:
        """Derive again the ``changed`` users and those whose ``until`` passed by ``now``
        (their access as ``access_of`` gives it; None: gone); the keys that may have
        changed in ``wanted`` or ``theirs``."""
        users = set(changed)
        while self._ends and self._ends[0][0] <= now:
            users.add(heapq.heappop(self._ends)[1])
        touched: set[uuid.UUID] = set()
        for telegram_id in users:
            touched.update(self._remove(telegram_id))
            access = access_of(telegram_id)
            if access is not None:
                touched.update(self._add(access, now))
        return touched

    def _remove(self, telegram_id: int) -> tuple[uuid.UUID, ...]:
        keys = self._keys.pop(telegram_id, ())
        for key in keys:
            wanted = self.wanted.get(key)
            if wanted is not None and wanted.telegram_id == telegram_id:
                del self.wanted[key]
            if self.theirs.get(key) == telegram_id:
                del self.theirs[key]
        return keys

    def _add(self, access: UserAccess, now: datetime) -> tuple[uuid.UUID, ...]:
        telegram_id = access.telegram_id
        if self._owns(telegram_id):
            wanted = wanted_keys([access], now)
            self.wanted.update(wanted)
            keys = tuple(wanted)
            if access.until is not None and access.until > now and access.key_id is not None:
                heapq.heappush(self._ends, (access.until, telegram_id))
        else:
            keys = (*access.retired_keys, *([] if access.key_id is None else [access.key_id]))
            self.theirs.update(dict.fromkeys(keys, telegram_id))
        self._keys[telegram_id] = keys
        return keys
