"""The pymongo client factory. Plain pymongo: it runs on FerretDB and MongoDB alike."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient, MongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database

from keyland.settings import MongoSettings

Document = dict[str, Any]


def _options(settings: MongoSettings, app_name: str) -> dict[str, Any]:
    return {
        "appname": app_name,
        "serverSelectionTimeoutMS": settings.timeout_ms,
        "connectTimeoutMS": settings.timeout_ms,
        "tz_aware": True,
    }


def database(settings: MongoSettings, *, app_name: str) -> Database[Document]:
    """A synchronous handle on the configured database (CLI, sweeps, tests)."""
    client: MongoClient[Document] = MongoClient(settings.url, **_options(settings, app_name))
    return client[settings.database]


def async_database(settings: MongoSettings, *, app_name: str) -> AsyncDatabase[Document]:
    """An asyncio handle on the configured database (services)."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        settings.url, **_options(settings, app_name)
    )
    return client[settings.database]
