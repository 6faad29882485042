"""Health checks shared by the services: each raises when its dependency does not answer."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from keyland.kafka.admin import admin_client
from keyland.mongo import Document
from keyland.observability.ops_server import Check


def database(db: AsyncDatabase[Document]) -> Check:
    async def ping() -> None:
        await db.command("ping")

    return ping


def kafka(bootstrap: str) -> Check:
    async def metadata() -> None:
        async with admin_client(bootstrap):  # starting it fetches the cluster's metadata
            pass

    return metadata


def worker_checks(db: AsyncDatabase[Document], bootstrap: str) -> dict[str, Check]:
    """What a stream worker needs to make progress: its database and the broker."""
    return {"database": database(db), "kafka": kafka(bootstrap)}
