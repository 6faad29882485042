"""The in-memory book of users' access that the node loops compare nodes against."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

from services.provisioner.domain.access import UntilSet, UserAccess
from services.provisioner.domain.access_book import AccessBook
from tests.unit.provisioner.builders import KEY, USER, at, fold


def stored(*accesses: UserAccess, pause: asyncio.Event | None = None) -> AsyncIterator[UserAccess]:
    async def read() -> AsyncIterator[UserAccess]:
        for access in accesses:
            if pause is not None:
                await pause.wait()
            yield access

    return read()


async def test_load_replaces_the_book_with_what_the_database_holds() -> None:
    book = AccessBook()
    book.put(UserAccess(1))
    assert await book.load(stored(UserAccess(2), UserAccess(3))) == 2
    assert book.get(1) is None
    assert sorted(a.telegram_id for a in book.every()) == [2, 3]


async def test_access_written_while_the_book_is_read_wins_over_the_older_read() -> None:
    book = AccessBook()
    old = fold(UntilSet(at(3), KEY))
    newer = fold(UntilSet(at(30), KEY))
    pause = asyncio.Event()
    loading = asyncio.create_task(book.load(stored(old, pause=pause)))
    await asyncio.sleep(0)  # the read has started and waits for the database
    book.put(newer)
    pause.set()
    await loading
    found = book.get(USER)
    assert found is not None
    assert found.until == at(30)


async def test_seen_event_ids_are_not_kept() -> None:
    book = AccessBook()
    access = fold(UntilSet(at(3), KEY))
    assert access.seen
    book.put(access)
    assert book.get(USER) == replace(access, seen=frozenset())
