"""The ``node_keys`` collection, owned by the provisioner: three kinds of document, each
with exactly one writer (FerretDB's updates are not atomic against a concurrent writer).

- ``user:<telegram_id>`` (:func:`keyland.mongo.user_document_id`, as in ``users``): a
  user's access and the event ids it has recorded. Written only by the agent that owns
  the user's partition.
- ``applied:<key_id>@<node>``: what the provisioner last did or saw for one key on one
  node (state, link). Written only by that node's loop in the worker instance that owns
  the key's user, by partition like the above (and deleted, once the loops have stopped,
  when the node leaves the countries file).
- ``node:<node>``: the node's current outage, if any. Written only by that node's loop in
  the instance owning the partition of the node's address.

Whole documents are replaced (``replace_one`` with upsert); nothing else is needed when a
document has one writer. No transactions, change streams, TTL indexes or ``$lookup``.

A bulk of replacements goes in commands of at most ``keyland.mongo.UPDATES_PER_COMMAND``
statements: FerretDB v1 keeps each statement's query, and the PostgreSQL connection under
it, open until the whole command ends, so one command of 200 statements took every pooled
connection of the local FerretDB and stopped it for good (seen at start-up after a purge
of 189 users).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ReplaceOne
from pymongo.asynchronous.collection import AsyncCollection

from keyland.indexes import Owned
from keyland.mongo import Document, bulk_update, user_document_id
from services.provisioner.domain.access import Cause, KeyState, UserAccess
from services.provisioner.domain.plan import Applied
from services.provisioner.domain.subscription_page import CountryLink


def _key(text: str | None) -> uuid.UUID | None:
    return None if text is None else uuid.UUID(text)


def _access_document(access: UserAccess) -> Document:
    cause = access.last_cause
    return {
        "_id": user_document_id(access.telegram_id),
        "kind": "user",
        "telegram_id": access.telegram_id,
        "key_id": None if access.key_id is None else str(access.key_id),
        "until": access.until,
        "revision": access.revision,
        "lapsed_until": access.lapsed_until,
        "retired_keys": sorted(str(k) for k in access.retired_keys),
        "region": access.region,
        "blocked": access.blocked,
        "blocked_revision": access.blocked_revision,
        "seen": sorted(str(e) for e in access.seen),
        "cause": None
        if cause is None
        else {
            "event_id": str(cause.event_id),
            "correlation_id": str(cause.correlation_id),
            "at": cause.at,
        },
    }


def _access(document: Document) -> UserAccess:
    cause: dict[str, Any] | None = document.get("cause")
    return UserAccess(
        telegram_id=document["telegram_id"],
        key_id=_key(document.get("key_id")),
        until=document.get("until"),
        revision=document.get("revision"),
        lapsed_until=document.get("lapsed_until"),
        retired_keys=frozenset(uuid.UUID(k) for k in document.get("retired_keys", [])),
        region=document.get("region"),
        blocked=document.get("blocked", False),
        blocked_revision=document.get("blocked_revision"),
        seen=frozenset(uuid.UUID(e) for e in document.get("seen", [])),
        last_cause=None
        if cause is None
        else Cause(uuid.UUID(cause["event_id"]), uuid.UUID(cause["correlation_id"]), cause["at"]),
    )


class UserAccesses:
    """Users' access documents (the agent writes; node loops and the API read)."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    def owned(self) -> list[Owned]:
        """``node_keys``, which :class:`NodeRecords` shares."""
        return [Owned(self._collection, (("kind",), ("key_id",), ("node",)))]

    async def load(self, telegram_id: int) -> UserAccess:
        document = await self._collection.find_one({"_id": user_document_id(telegram_id)})
        return UserAccess(telegram_id) if document is None else _access(document)

    async def save(self, access: UserAccess) -> None:
        document = _access_document(access)
        await self._collection.replace_one({"_id": document["_id"]}, document, upsert=True)

    async def every(self) -> AsyncIterator[UserAccess]:
        """Every user (without their seen event ids, which only the agent needs).

        A whole read of the collection's users, so never on a hot path: the worker reads
        it at start and as its rare safety net (see ``access_book``). One cursor in large
        batches reads it once; pages by ``_id`` range would not, since FerretDB pushes no
        range down and would read the whole collection for every page."""
        cursor = self._collection.find({"kind": "user"}, {"seen": 0}, batch_size=1000)
        async for document in cursor:
            yield _access(document)

    async def holding(self, key_id: uuid.UUID) -> UserAccess | None:
        """The user whose current key is ``key_id``, if any."""
        document = await self._collection.find_one(
            {"kind": "user", "key_id": str(key_id)}, {"seen": 0}
        )
        return None if document is None else _access(document)


@dataclass(frozen=True)
class Outage:
    since: datetime
    error: str
    announced: bool


class NodeRecords:
    """What was applied on each node, and nodes' outages (each node's loop writes its own)."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def applied_on(self, node: str) -> dict[uuid.UUID, Applied]:
        """Every record of ``node``: read by its loop at start and as the rare safety net,
        never per round (the loop keeps them in memory, being their only writer)."""
        query: Document = {"kind": "applied", "node": node}
        found = {}
        async for d in self._collection.find(query, batch_size=1000):
            key = uuid.UUID(d["key_id"])
            found[key] = Applied(key, KeyState(d["state"]), d.get("link"), d.get("until"))
        return found

    async def save_applied(
        self, node: str, country: str, applied: Iterable[tuple[int, Applied]], at: datetime
    ) -> None:
        """Record what was applied for each ``(telegram_id, applied)``: whole-document
        replacements by ``_id``, in commands of a few (see :func:`bulk_update`)."""
        writes = []
        for telegram_id, record in applied:
            document_id = f"applied:{record.key_id}@{node}"
            document = {
                "_id": document_id,
                "kind": "applied",
                "key_id": str(record.key_id),
                "node": node,
                "country": country,
                "telegram_id": telegram_id,
                "state": record.state.value,
                "link": record.link,
                "until": record.until,
                "updated_at": at,
            }
            writes.append(ReplaceOne({"_id": document_id}, document, upsert=True))
        await bulk_update(self._collection, writes)

    async def links(self, key_id: uuid.UUID) -> list[CountryLink]:
        """The links of ``key_id`` on every node where it is enabled."""
        query = {"kind": "applied", "key_id": str(key_id), "state": KeyState.ENABLED.value}
        return [
            CountryLink(d["country"], d["node"], d["link"])
            async for d in self._collection.find(query)
            if d.get("link")
        ]

    async def nodes_of(self, key_id: uuid.UUID) -> list[str]:
        """Every node where ``key_id`` was ever applied."""
        query = {"kind": "applied", "key_id": str(key_id)}
        return [d["node"] async for d in self._collection.find(query, {"node": 1})]

    async def nodes(self) -> set[str]:
        """Every node with records."""
        found = await self._collection.distinct("node", {"kind": {"$in": ["applied", "node"]}})
        return {str(node) for node in found}

    async def forget_node(self, node: str) -> int:
        """Drop every record of a node that left the countries file."""
        result = await self._collection.delete_many({"node": node})
        return result.deleted_count

    async def outage(self, node: str) -> Outage | None:
        document = await self._collection.find_one({"_id": f"node:{node}"})
        if document is None or document.get("down_since") is None:
            return None
        return Outage(document["down_since"], document.get("error", ""), document["announced"])

    async def down(self, nodes: Iterable[str]) -> set[str]:
        """Which of ``nodes`` are announced unreachable now: one lookup by ``_id`` per node
        (a page names a handful; ``$in`` is not pushed down by FerretDB)."""
        found = set()
        for node in set(nodes):
            outage = await self.outage(node)
            if outage is not None and outage.announced:
                found.add(node)
        return found

    async def save_outage(self, node: str, country: str, outage: Outage | None) -> None:
        document = {
            "_id": f"node:{node}",
            "kind": "node",
            "node": node,
            "country": country,
            "down_since": None if outage is None else outage.since,
            "error": None if outage is None else outage.error,
            "announced": False if outage is None else outage.announced,
        }
        await self._collection.replace_one({"_id": document["_id"]}, document, upsert=True)
