"""Turns: of several instances of a worker, one at a time runs a job that every instance
could run but only one should (the subscription's sweeps, the notifier's broadcasts).

Time is cut into terms of equal length, numbered from the epoch. A term belongs to the
instance that inserted its document first (``_id`` = job and term number): a unique-key
insert, atomic on FerretDB and MongoDB alike, where a conditional update is not. The
holder of a term claims the next one in the second half of its own, so it keeps the job
as long as it lives and asks in time; when it dies (or stops asking), the next term
starts unclaimed and the first instance to ask takes it. So the job moves to a live
instance within a term and one tick of the asking loop, and two instances hold the same
term never. A job run that began inside a term may go on past its end while the next
holder starts: the jobs guarded by turns are idempotent (deterministic event ids,
claims), the turn keeps them from being done N times over, not from being done twice.

Cost: one insert per term held (two when a term is lost), one lookup by ``_id`` to learn
another's claim, one delete by ``_id`` to drop a document several terms old; nothing
between, as the answer for the current term is remembered.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

from keyland.indexes import Owned
from keyland.mongo import Document

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KEPT_TERMS = 3  # documents of the terms this far back are deleted by the next holder


def term_of(now: datetime, term: timedelta) -> int:
    """The number of the term ``now`` falls in."""
    if term <= timedelta(0):
        raise ValueError("a term must last some time")
    return (now - _EPOCH) // term


def asks_ahead(now: datetime, term: timedelta) -> bool:
    """Whether a holder asks for the next term now: in the second half of its own."""
    return (now - _EPOCH) % term >= term / 2


def turn_id(job: str, number: int) -> str:
    return f"{job}:{number}"


class Turns:
    """Whether this instance holds ``job``'s turn now (``await turns.holds(now)``)."""

    def __init__(
        self, collection: AsyncCollection[Document], job: str, instance: str, term: timedelta
    ) -> None:
        term_of(_EPOCH, term)  # refuses a term of no length
        self._collection = collection
        self._job = job
        self._instance = instance
        self._term = term
        self._answers: dict[int, bool] = {}  # term number -> held by this instance

    def owned(self) -> list[Owned]:
        return [Owned(self._collection)]

    @property
    def term(self) -> timedelta:
        return self._term

    async def holds(self, now: datetime) -> bool:
        """True if this instance holds the term ``now`` falls in (asking for it if nobody
        does yet); a holder in the second half of its term also asks for the next."""
        current = term_of(now, self._term)
        if not await self._ask(current, now):
            return False
        if asks_ahead(now, self._term):
            await self._ask(current + 1, now)
        return True

    async def _ask(self, number: int, now: datetime) -> bool:
        if number in self._answers:
            return self._answers[number]
        document = {"_id": turn_id(self._job, number), "instance": self._instance, "at": now}
        try:
            await self._collection.insert_one(document)
        except DuplicateKeyError:
            found = await self._collection.find_one({"_id": document["_id"]}, {"instance": 1})
            held = found is not None and found.get("instance") == self._instance
        else:
            held = True
            with contextlib.suppress(PyMongoError):  # a document left behind costs nothing
                await self._collection.delete_one({"_id": turn_id(self._job, number - KEPT_TERMS)})
        self._answers = {n: a for n, a in self._answers.items() if n >= number - 1}
        self._answers[number] = held
        return held
