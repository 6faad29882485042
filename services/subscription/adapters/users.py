"""The ``users`` collection: each user's ledger, outbox and the read model derived from them.

One document per user, written only by the subscription processor's agent that owns the
user's partition, so a whole-document write needs no transaction and no concurrent-update
guard (FerretDB's updates are not atomic against a concurrent writer; there is none).
The outbox holds facts decided but not yet acknowledged by Kafka, written in the same
single-document update as the state they describe; so is ``share``, what the user adds
to the business figures (see :mod:`..domain.figures`).

A document's ``_id`` is ``user:<telegram_id>`` (:func:`keyland.mongo.user_document_id`);
the integer Telegram id is the ``telegram_id`` field.

The processor keeps what it last wrote or read of the users it owns
(:mod:`keyland.kafka.owned_cache`): a user's next batch loads them without a read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import TypeAdapter
from pymongo.asynchronous.collection import AsyncCollection

from events.users import UserView
from keyland.indexes import Owned
from keyland.kafka.owned_cache import MISS, OwnedCache
from keyland.mongo import Document, user_document_id
from services.subscription.domain.figures import Figures
from services.subscription.domain.ledger import Entry
from services.subscription.domain.renewal import Charge
from services.subscription.domain.state import Subscription

_ENTRIES = TypeAdapter(list[Entry])
VIEW_ONLY = {"entries": 0, "outbox": 0, "share": 0, "renewal": 0}
"""The projection that reads a user's view and leaves out the ledger, outbox, share and
the saved method's charge."""


@dataclass(frozen=True)
class UserRecord:
    entries: list[Entry]
    outbox: list[bytes]
    until: datetime | None = None
    registered_at: datetime | None = None
    last_purchase_at: datetime | None = None
    share: Figures = field(default_factory=Figures)
    """What the figures' shard holds for the user once it caught up with this document."""
    revision: int = 0
    """The user's revision (see :mod:`..domain.revision`): 0 before any counted entry."""
    renewal: Document | None = None
    """The renewal charge due next, as :func:`renewal_document` stored it."""

    @property
    def applied(self) -> set[str]:
        return {str(entry.event_id) for entry in self.entries}


class Users:
    """Load and save one user's ledger, outbox and read model."""

    def __init__(
        self,
        collection: AsyncCollection[Document],
        owned: OwnedCache[Document | None] | None = None,
    ) -> None:
        self._collection = collection
        self._owned: OwnedCache[Document | None] = OwnedCache(0) if owned is None else owned

    def owned(self) -> list[Owned]:
        return [Owned(self._collection, (("until",), ("username_lower",)))]

    async def load(self, telegram_id: int) -> UserRecord:
        key = {"_id": user_document_id(telegram_id)}
        document = await self._owned.read_through(
            telegram_id, lambda: self._collection.find_one(key)
        )
        if document is None:
            return UserRecord(entries=[], outbox=[])
        return UserRecord(
            entries=_ENTRIES.validate_python(document.get("entries", [])),
            outbox=[bytes(raw) for raw in document.get("outbox", [])],
            until=document.get("until") if document.get("registered") else None,
            registered_at=document.get("registered_at"),
            last_purchase_at=document.get("last_purchase_at"),
            share=Figures.from_document(document.get("share")),
            revision=document.get("revision", 0),
            renewal=document.get("renewal"),
        )

    async def save(self, document: Document) -> None:
        """Write a user's whole document, as :func:`user_document` makes it."""
        await self._owned.write_through(
            int(document["telegram_id"]),
            document,
            lambda: self._collection.replace_one({"_id": document["_id"]}, document, upsert=True),
        )

    async def clear_outbox(self, telegram_id: int) -> None:
        saved = self._owned.forget(telegram_id)
        await self._collection.update_one(
            {"_id": user_document_id(telegram_id)}, {"$set": {"outbox": []}}
        )
        if saved is not MISS and saved is not None:
            self._owned.remember(telegram_id, {**saved, "outbox": []})


def user_document(
    state: Subscription,
    entries: list[Entry],
    outbox: list[bytes],
    at: datetime,
    *,
    share: Figures | None = None,
    revision: int = 0,
    renewal: Charge | None = None,
) -> Document:
    """A user's whole document: read model, ledger, revision, outbox, share of the
    business figures and the renewal charge due next, as :meth:`Users.save` writes it."""
    # Kept in time order, not arrival order: the same ledger makes the same document
    # however the input topics interleaved (a rebuild reads them in another order).
    ledger = sorted(entries, key=lambda entry: entry.sort_key())
    return {
        **read_model(state),
        "renews_at": None if renewal is None else renewal.at,
        "renewal": renewal_document(renewal),
        "entries": _ENTRIES.dump_python(ledger, mode="json"),
        "revision": revision,
        "outbox": outbox,
        "share": None if share is None else share.to_document(),
        "updated_at": at,
    }


def renewal_document(charge: Charge | None) -> Document | None:
    """The charge as stored: its access end as text, exact to the microsecond as the
    ledger keeps it (a stored date keeps milliseconds only)."""
    if charge is None:
        return None
    return {
        "period_end": charge.period_end.isoformat(),
        "attempt": charge.attempt,
        "at": charge.at,
        "method_id": charge.method_id,
        "plan": charge.plan,
    }


def read_model(state: Subscription) -> Document:
    """The fields the bot, admins and operators read: the user's :class:`UserView`, stored
    with what the lookups need (``_id``, ``username_lower``) and the key's generation."""
    view = UserView.model_validate(state, from_attributes=True)
    return {
        "_id": user_document_id(state.telegram_id),
        **view.model_dump(),
        "key_id": str(view.key_id),
        "username_lower": state.username.lower() if state.username else None,
        "generation": state.generation,
    }


def stored_view(document: Document) -> UserView:
    """The :class:`UserView` of a stored user document (what :func:`read_model` wrote)."""
    return UserView.model_validate(document)
