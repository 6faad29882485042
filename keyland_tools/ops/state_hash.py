"""A canonical hash of the state that must be rebuilt exactly from the topics.

What it covers, in this order:

- ``users`` (subscription service): every user's read model (its ``telegram_id`` too)
  and ledger;
- ``payments`` (subscription service): every credited payment and its refunds;
- ``node_keys`` (provisioner): every user's recorded access (``user:*``) and every key
  enabled on a node (``applied:*`` in state ``enabled``: node, country, key, owner, link);
- the notifier's record of what was sent: ``notices`` (every notice planned, its kind,
  due time, values and buttons) and ``notice_outcomes`` (what became of each: sent with
  its message id, skipped and why, failed and why, unconfirmed);
- the broadcasts: ``broadcasts`` (each admin request, its text, buttons, state and
  recipient count) and ``broadcast_deliveries`` (each recipient and what became of it).

A replay leaves all of these as they were: notice ids come from their cause, notices and
outcomes are insert-only, a broadcast's recipients are fixed once. A rebuild into an
empty database reproduces the subscription's and the provisioner's part. The notifier's
part is not rebuilt from the topics: what was sent happened once, outside (Telegram); a
notifier reading the topics into an empty database would plan every notice again and,
the outcomes gone, send each one again. Keep its database, or hash it to see that a
replay left it alone.

Canonical form: documents sorted by ``_id`` (numbers before text), every mapping with
sorted keys, datetimes as UTC ISO-8601 with microseconds (a naive datetime is taken as
UTC, as pymongo returns them without ``tz_aware``), decimals and ``Decimal128`` as their
text, UUIDs and ObjectIds as text, bytes as hex. List order is kept (it is data). Each
document is one line of compact JSON; a collection's digest is the sha256 of its lines,
and the state digest is the sha256 of ``name count digest`` per collection.

Left out, each because it records *when or how* the state was processed, never what the
events say (a rebuild from the topics cannot and need not reproduce it):

- ``users.outbox``: facts decided but not yet acknowledged by Kafka; empty once the
  processor is idle, and a rebuild's outbox holds its own re-publications.
- ``users.updated_at``: the time of the event the processor happened to handle last;
  it depends on how the four input topics interleave in the consumer. Nothing reads it.
- ``node_keys`` ``applied:*`` ``updated_at``: the wall-clock time the node loop last
  touched the key on that node.
- ``node_keys`` ``applied:*`` ``until``: the access end known when the node loop last
  touched the key. A key already enabled is not touched again when only ``until``
  moves, so the value depends on when the loop ran relative to the facts; the
  authoritative ``until`` is the user's access document, which is included.
- ``node_keys`` ``applied:*`` documents in state ``disabled`` or ``deleted``: they
  record that the provisioner once revoked a key on a node. A provisioner rebuilt
  against the same nodes finds the key already gone and has nothing to record, and
  whether the original recorded it depends on whether its node loop enabled the key
  before the lapse was known. The access documents say which keys must be off.
- ``node_keys`` ``node:*`` documents: a node's current outage, observed by the wall clock.
- ``notices`` ``minute`` and ``hour``: the buckets the scheduler reads a notice from,
  taken from the wall clock when it was filed if it was due already.
- ``notice_outcomes`` ``finished_at``, ``broadcasts`` ``finished_at`` and
  ``broadcast_deliveries`` ``at``: the wall-clock time a send was settled.
- the notifier's ``claims`` (which instance took a send, when), ``notice_schedule``
  (the scheduler's cursor, on the wall clock) and ``pending_notices`` (undelivered
  notices waiting for the user's next visit, deleted once settled): how sends are
  coordinated; what came of each is in the outcomes.
- ``node_keys`` ``user:*`` ``revision``: the revision of the decision about ``until`` the
  provisioner holds. A rebuild of the subscription service may re-announce the held
  ``until`` from a later revision (its interleaving counts the entries in another
  order), which raises only this number; the ``until`` it guards is included.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bson import Decimal128, ObjectId
from pymongo.database import Database

from keyland.mongo import Document

USERS, PAYMENTS, NODE_KEYS = "users", "payments", "node_keys"
NOTICES, NOTICE_OUTCOMES = "notices", "notice_outcomes"
BROADCASTS, BROADCAST_DELIVERIES = "broadcasts", "broadcast_deliveries"


def canonical(value: Any) -> Any:
    """``value`` as plain JSON types, the same for equal state whatever stored it."""
    match value:
        case dict():
            return {str(k): canonical(v) for k, v in sorted(value.items())}
        case list() | tuple():
            return [canonical(v) for v in value]
        case bool() | int() | str() | None:
            return value
        case float():
            return repr(value)  # exact and the same on every platform
        case datetime():
            moment = value if value.tzinfo else value.replace(tzinfo=UTC)
            return moment.astimezone(UTC).isoformat(timespec="microseconds")
        case Decimal():
            return str(value)
        case Decimal128():
            return str(value.to_decimal())
        case uuid.UUID() | ObjectId():
            return str(value)
        case bytes():
            return value.hex()
    raise TypeError(f"no canonical form for {type(value).__name__}: {value!r}")


def _without(document: Document, *fields: str) -> Document:
    return {k: v for k, v in document.items() if k not in fields}


def _user(document: Document) -> Document | None:
    return _without(document, "outbox", "updated_at")


def _payment(document: Document) -> Document | None:
    return document


def _node_key(document: Document) -> Document | None:
    kind = document.get("kind")
    if kind == "applied":
        if document.get("state") != "enabled":
            return None
        return _without(document, "updated_at", "until")
    if kind == "node":
        return None
    return _without(document, "revision")


def _settled(at: str) -> Callable[[Document], Document | None]:
    """The document without the wall-clock time ``at`` it was settled."""
    return lambda document: _without(document, at)


# Collection name and the canonical form of one of its documents (None: left out).
COVERED: tuple[tuple[str, Callable[[Document], Document | None]], ...] = (
    (USERS, _user),
    (PAYMENTS, _payment),
    (NODE_KEYS, _node_key),
    (NOTICES, lambda document: _without(document, "minute", "hour")),
    (NOTICE_OUTCOMES, _settled("finished_at")),
    (BROADCASTS, _settled("finished_at")),
    (BROADCAST_DELIVERIES, _settled("at")),
)


@dataclass(frozen=True)
class CollectionHash:
    name: str
    count: int  # documents covered by the hash
    digest: str


@dataclass(frozen=True)
class StateHash:
    collections: tuple[CollectionHash, ...]
    digest: str

    @property
    def counts(self) -> dict[str, int]:
        return {c.name: c.count for c in self.collections}


def _id_order(document: Document) -> tuple[bool, Any]:
    identifier = document["_id"]
    return (isinstance(identifier, str), identifier)


def _line(document: Document) -> str:
    return json.dumps(
        canonical(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def canonical_lines(db: Database[Document]) -> dict[str, list[str]]:
    """Per covered collection, its documents in canonical form, one JSON line each, in
    ``_id`` order: what the hash covers (handy to diff two databases)."""
    found = {}
    for name, shape in COVERED:
        kept = [d for d in (shape(document) for document in db[name].find()) if d is not None]
        found[name] = [_line(d) for d in sorted(kept, key=_id_order)]
    return found


def collection_hash(name: str, lines: list[str]) -> CollectionHash:
    digest = hashlib.sha256("".join(line + "\n" for line in lines).encode()).hexdigest()
    return CollectionHash(name, len(lines), digest)


def combine(collections: Iterable[CollectionHash]) -> StateHash:
    parts = tuple(collections)
    summary = "".join(f"{c.name} {c.count} {c.digest}\n" for c in parts)
    return StateHash(parts, hashlib.sha256(summary.encode()).hexdigest())


def state_hash(db: Database[Document]) -> StateHash:
    """The canonical hash of ``db``'s rebuildable state (read-only)."""
    return combine(collection_hash(name, lines) for name, lines in canonical_lines(db).items())
