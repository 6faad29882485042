"""The fleet follows the consumer group: users of revoked partitions stop being its own at
once, users of gained ones only after every user was read again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest

from keyland.countries import CountriesFile
from keyland.kafka.ownership import Ownership
from services.provisioner.adapters.repository import NodeRecords, UserAccesses
from services.provisioner.domain.access import UserAccess
from services.provisioner.domain.access_book import AccessBook
from services.provisioner.entrypoints.fleet import Fleet
from services.provisioner.entrypoints.node_loop import NodeLoop


class HeldReads:
    """Users' documents read whole, each read held until the test lets it through."""

    def __init__(self, users: list[UserAccess]) -> None:
        self.users = users
        self.reads = 0
        self.through = asyncio.Event()

    async def every(self) -> AsyncIterator[UserAccess]:
        self.reads += 1
        await self.through.wait()
        for user in self.users:
            yield user


def no_loop(address: str, country: str) -> NodeLoop:
    raise AssertionError(f"no node is in the file, yet {address} ({country}) got a loop")


def fleet_over(
    reads: HeldReads, ownership: Ownership, book: AccessBook, records: object = None
) -> Fleet:
    return Fleet(
        CountriesFile(Path("countries.json")),
        {},
        no_loop,
        cast(NodeRecords, records),  # the fleet of no node records nothing
        book=book,
        accesses=cast(UserAccesses, reads),
        ownership=ownership,
        usable=lambda _: None,
        poll_s=1,
        reload_interval_s=600,
    )


async def settled() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_gained_partitions_are_owned_once_every_user_was_read_again() -> None:
    ownership, book = Ownership.whole(6), AccessBook()
    reads = HeldReads([UserAccess(42)])
    fleet = fleet_over(reads, ownership, book)
    fleet.follow_the_group()
    assert ownership.owned == frozenset()

    fleet.assigned({0, 1}, 6)
    await settled()
    assert reads.reads == 1
    assert ownership.owned == frozenset()  # the read is not through yet
    reads.through.set()
    await settled()
    assert ownership.owned == {0, 1}
    assert book.get(42) == UserAccess(42)


async def test_revoked_partitions_go_at_once_and_every_assignment_reads_again() -> None:
    ownership = Ownership.whole(6)
    reads = HeldReads([])
    reads.through.set()
    fleet = fleet_over(reads, ownership, AccessBook())
    fleet.follow_the_group()
    fleet.assigned({0, 1, 2}, 6)
    await settled()
    assert ownership.owned == {0, 1, 2}

    await fleet.revoked({0, 1, 2})
    assert ownership.owned == frozenset()
    fleet.assigned({1, 2}, 6)  # held before: another instance may have had them since
    await settled()
    assert (reads.reads, ownership.owned) == (2, frozenset({1, 2}))
    await fleet.revoked({1, 2})
    fleet.assigned(set(), 6)  # nothing to take over, nothing read
    assert (reads.reads, ownership.owned) == (2, frozenset())


async def test_a_revocation_during_the_read_cancels_the_take_over() -> None:
    ownership = Ownership.whole(6)
    reads = HeldReads([])
    fleet = fleet_over(reads, ownership, AccessBook())
    fleet.follow_the_group()
    fleet.assigned({3}, 6)
    await settled()
    await fleet.revoked({3})
    reads.through.set()
    await settled()
    assert ownership.owned == frozenset()
    fleet.assigned({3}, 6)  # the cancelled read is done again before taking it on
    assert ownership.owned == frozenset()
    await settled()
    assert (reads.reads, ownership.owned) == (2, frozenset({3}))


class NodesOnRecord:
    """Node records of nodes the (empty) countries file no longer names."""

    def __init__(self, *nodes: str) -> None:
        self.on_record = set(nodes)
        self.forgotten: list[str] = []

    async def nodes(self) -> set[str]:
        return set(self.on_record)

    async def forget_node(self, node: str) -> int:
        self.forgotten.append(node)
        self.on_record.discard(node)
        return 3


async def test_a_worker_start_reads_the_users_once_with_its_first_assignment() -> None:
    ownership, book = Ownership.whole(6), AccessBook()
    reads = HeldReads([UserAccess(42)])
    fleet = fleet_over(reads, ownership, book, NodesOnRecord())
    fleet.follow_the_group()
    running = asyncio.create_task(fleet.run())
    try:
        await settled()
        assert reads.reads == 0  # waits for the group, not reading on its own
        fleet.assigned(set(range(6)), 6)
        reads.through.set()
        await settled()
        assert (reads.reads, ownership.owned) == (1, frozenset(range(6)))
        assert book.get(42) == UserAccess(42)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_an_empty_first_assignment_still_reads_the_users() -> None:
    """An instance given no partition tells other instances' keys from strangers' by
    them."""
    ownership, book = Ownership.whole(6), AccessBook()
    reads = HeldReads([UserAccess(42)])
    reads.through.set()
    fleet = fleet_over(reads, ownership, book)
    fleet.follow_the_group()
    fleet.assigned(set(), 6)
    await settled()
    assert (reads.reads, ownership.owned) == (1, frozenset())
    assert book.get(42) == UserAccess(42)
    fleet.assigned(set(), 6)  # read already: nothing to read for nothing gained
    await settled()
    assert reads.reads == 1


async def test_records_of_a_node_gone_from_the_file_meanwhile_are_dropped_beside_the_loops() -> (
    None
):
    records = NodesOnRecord("127.0.0.1:9")
    reads = HeldReads([])
    reads.through.set()
    fleet = fleet_over(reads, Ownership.whole(6), AccessBook(), records)
    running = asyncio.create_task(fleet.run())
    try:
        for _ in range(50):
            if records.forgotten:
                break
            await asyncio.sleep(0.01)
        assert records.forgotten == ["127.0.0.1:9"]
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


class BrokenReads:
    """A read of the users that fails for good (not a transient database error)."""

    async def every(self) -> AsyncIterator[UserAccess]:
        raise ValueError("a document the worker cannot read")
        yield UserAccess(0)  # pragma: no cover - makes this an async generator


async def test_a_first_read_that_fails_for_good_ends_the_run_instead_of_waiting() -> None:
    ownership = Ownership.whole(6)
    fleet = fleet_over(cast(HeldReads, BrokenReads()), ownership, AccessBook(), NodesOnRecord())
    fleet.follow_the_group()
    running = asyncio.create_task(fleet.run())
    fleet.assigned({0, 1}, 6)
    with pytest.raises(ValueError, match="cannot read"):
        await asyncio.wait_for(running, timeout=5)
    assert ownership.owned == frozenset()
