"""Every user's access, in memory: what the node loops compare their nodes against.

Why in memory: the loops used to read every user document of ``node_keys`` every few
seconds (and the changed ones with ``$in``), a whole read of the collection each time on
FerretDB, growing with every user. The agent is the one writer of the documents of its
partitions' users and runs in the same worker, so whatever it saves it also puts here;
the database is read whole only at start, after each rebalance (another instance may
have written the users of its new partitions) and, rarely, again as a safety net against
drift (an edit by hand, a bug), never per round or per event. Users of other instances'
partitions are as last read: the loops only tell their keys from strangers' by them.

A reload that runs while the agent records changes keeps the agent's entries written
meanwhile: the database read may have seen those documents before the agent's write.
Entries are kept without their seen event ids (only the agent needs them, from the
database), so the book stays small.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from dataclasses import replace

from services.provisioner.domain.access import UserAccess
from services.provisioner.domain.change_log import ChangeLog

LOG_LIMIT = 100_000  # users put that :meth:`AccessBook.changed_since` can still list


def _slim(access: UserAccess) -> UserAccess:
    return replace(access, seen=frozenset())


class AccessBook:
    """Users' access by Telegram id; the agent writes, the node loops read."""

    def __init__(self) -> None:
        self._users: dict[int, UserAccess] = {}
        self._written_during_load: set[int] | None = None
        self._log: ChangeLog[int] = ChangeLog(LOG_LIMIT)  # the users put

    def __len__(self) -> int:
        return len(self._users)

    def put(self, access: UserAccess) -> None:
        """The access the agent has just saved for its user."""
        self._users[access.telegram_id] = _slim(access)
        self._log.add([access.telegram_id])
        if self._written_during_load is not None:
            self._written_during_load.add(access.telegram_id)

    @property
    def version(self) -> int:
        """Counts the changes to the book (see :meth:`changed_since`)."""
        return self._log.version

    def changed_since(self, version: int) -> set[int] | None:
        """The users put since the book was at ``version``; None when that is no longer
        known (the book was loaded whole since, or too much has changed): derive anew."""
        return self._log.since(version)

    def get(self, telegram_id: int) -> UserAccess | None:
        return self._users.get(telegram_id)

    def every(self) -> Iterable[UserAccess]:
        """Every user's access (a view: iterate it without awaiting in between)."""
        return self._users.values()

    async def load(self, saved: AsyncIterable[UserAccess]) -> int:
        """Replace the book with ``saved`` (every user as the database holds them), except
        the users the agent wrote while it was read; how many users the book holds."""
        written: set[int] = set()
        self._written_during_load = written
        try:
            fresh = {access.telegram_id: _slim(access) async for access in saved}
            fresh.update((telegram_id, self._users[telegram_id]) for telegram_id in written)
            self._users = fresh
            self._log.everything_changed()
        finally:
            self._written_during_load = None
        return len(fresh)
