"""aiogram's ``PyMongoStorage``, made to run on FerretDB as well as on MongoDB.

FerretDB v1.24 does not implement ``findAndModify`` with a projection (``fields``;
``NotImplemented``, code 238), which ``PyMongoStorage`` uses to update data and to
clear state or data. This subclass sends the same updates without a projection and
drops ``_id`` itself; documents, keys and every other call are aiogram's, so the
collection stays interchangeable with plain ``PyMongoStorage`` on MongoDB.

aiogram's dispatcher closes its FSM storage when polling stops, while the updates it has
taken (and confirmed to Telegram) may still be handled: ``close`` leaves the database
client open, and the bot's container closes it with :meth:`FsmStorage.release` once they
are done.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.storage.base import StateType, StorageKey
from aiogram.fsm.storage.pymongo import PyMongoStorage
from pymongo import ReturnDocument

from keyland.indexes import Owned


class FsmStorage(PyMongoStorage):
    async def close(self) -> None:
        """Nothing yet: see the module's note, and :meth:`release`."""

    async def release(self) -> None:
        """Close the database client, once no update is being handled any more."""
        await self._client.close()

    def owned(self) -> list[Owned]:
        """Every lookup is by ``_id`` (aiogram's storage key)."""
        return [Owned(self._collection)]

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        if state is not None:
            await super().set_state(key, state)
            return
        await self._unset(key, "state")

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            raise DataNotDictLikeError(
                f"Data must be a dict or dict-like object, got {type(data).__name__}"
            )
        if data:
            await super().set_data(key, data)
            return
        await self._unset(key, "data")

    async def forget(self, key: StorageKey) -> None:
        """State and data both gone, in one call (``FSMContext.clear`` makes two)."""
        await self._collection.delete_one({"_id": self._key_builder.build(key)})

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        if not data:
            return await self.get_data(key)
        updated = await self._collection.find_one_and_update(
            filter={"_id": self._key_builder.build(key)},
            update={"$set": {f"data.{name}": value for name, value in data.items()}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return cast(dict[str, Any], (updated or {}).get("data", {}))

    async def _unset(self, key: StorageKey, field: str) -> None:
        """Remove ``field``; a document left with nothing but its id goes away."""
        document_id = self._key_builder.build(key)
        updated = await self._collection.find_one_and_update(
            filter={"_id": document_id},
            update={"$unset": {field: 1}},
            return_document=ReturnDocument.AFTER,
        )
        if updated is not None and set(updated) == {"_id"}:
            await self._collection.delete_one({"_id": document_id})
