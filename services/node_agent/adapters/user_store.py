"""The agent's own durable record of enabled users, in one SQLite file.

Xray keeps users added through its API in memory only; this record is what the agent
re-applies after Xray restarts. A write is committed before the HTTP answer goes out.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable
from pathlib import Path

from services.node_agent.domain.keys import KeyId

_SCHEMA = """
CREATE TABLE IF NOT EXISTS enabled_users (
    key_id TEXT PRIMARY KEY,
    enabled_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) WITHOUT ROWID
"""


class UserStore:
    """The set of key ids that must be enabled on this node."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._db.execute(_SCHEMA)
        self._db.commit()
        # Names this record's state for ``GET /v1/users``'s ``ETag``: this process is its one
        # writer, so a count of its changes, under an id new with each open, tells a list
        # asked before from one that would differ.
        self._opened = uuid.uuid4().hex[:12]
        self._changes = 0

    @property
    def tag(self) -> str:
        """An entity tag for the current set of keys (changes with every :meth:`change`)."""
        return f'"{self._opened}-{self._changes}"'

    @classmethod
    def from_path(cls, path: Path) -> UserStore:
        """Open (or create) the record at ``path``; its folder is created if missing."""
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, isolation_level="DEFERRED")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        return cls(connection)

    def close(self) -> None:
        self._db.close()

    def change(self, enable: Iterable[KeyId], disable: Iterable[KeyId]) -> None:
        """Record ``enable`` as enabled and forget ``disable``, in one transaction (one
        disk sync for a whole batch)."""
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO enabled_users (key_id) VALUES (?)", [(k,) for k in enable]
            )
            self._db.executemany(
                "DELETE FROM enabled_users WHERE key_id = ?", [(k,) for k in disable]
            )
        self._changes += 1

    def __contains__(self, key_id: object) -> bool:
        row = self._db.execute("SELECT 1 FROM enabled_users WHERE key_id = ?", (key_id,))
        return row.fetchone() is not None

    def all(self) -> list[KeyId]:
        """Every enabled key id, sorted."""
        rows = self._db.execute("SELECT key_id FROM enabled_users ORDER BY key_id")
        return [KeyId(key_id) for (key_id,) in rows]
