"""The in-memory book of users' access that the node loops compare nodes against."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from services.provisioner.domain import access_book
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


async def test_the_book_names_the_users_put_since_a_version_until_loaded_whole() -> None:
    book = AccessBook()
    start = book.version
    book.put(UserAccess(1))
    middle = book.version
    book.put(UserAccess(2))
    book.put(UserAccess(1))
    assert book.changed_since(start) == {1, 2}
    assert book.changed_since(middle) == {1, 2}
    assert book.changed_since(book.version) == set()
    await book.load(stored(UserAccess(3)))
    assert book.changed_since(middle) is None  # everything may have changed
    loaded = book.version
    book.put(UserAccess(4))
    assert book.changed_since(loaded) == {4}


def test_a_version_too_far_back_is_no_longer_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access_book, "LOG_LIMIT", 3)
    book = AccessBook()
    start = book.version
    for telegram_id in range(5):
        book.put(UserAccess(telegram_id))
    assert book.changed_since(start) is None
