"""Several instances of one worker in one consumer group, as real child processes: started
side by side, killed one by one, and the group they form watched until it settles."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from aiokafka.partitioner import murmur2
from pymongo.database import Database

from events import Envelope, Event
from events.bot_actions import TrialRequested, UserStarted
from keyland.kafka.admin import admin_client
from keyland.mongo import Document
from services.subscription.adapters.figure_shards import PARTITIONS
from tests.processes import Program
from tests.user_docs import user_doc

PREFIXES = {
    "services.subscription": "KEYLAND_SUBSCRIPTION",
    "services.notifier": "KEYLAND_NOTIFIER",
}


@contextmanager
def worker_instances(
    module: str, env: Mapping[str, str], root: Path, count: int
) -> Iterator[list[Program]]:
    """``count`` instances of ``module``'s worker, each with its own data directory,
    instance name and log (``root/<n>/``); all stopped on exit."""
    prefix = PREFIXES[module]
    programs = []
    for number in range(count):
        home = root / f"instance-{number}"
        home.mkdir(parents=True, exist_ok=True)
        own = {f"{prefix}_DATA_DIR": str(home / "data"), f"{prefix}_INSTANCE": f"i{number}"}
        programs.append(Program(module, {**env, **own}, home / "worker.log", args=["worker"]))
    try:
        for program in programs:
            program.start()
        yield programs
    finally:
        for program in programs:
            program.stop()


async def group_state(bootstrap: str, group: str) -> tuple[str, int]:
    """The group's state (``Stable``, ``PreparingRebalance``, ...) and its member count."""
    async with admin_client(bootstrap) as admin:
        described = await admin.describe_consumer_groups([group])
    found = [g for response in described for g in response.groups]
    return (str(found[0][2]), len(found[0][5])) if found else ("Dead", 0)


async def settled(bootstrap: str, group: str, members: int, timeout_s: float = 90) -> None:
    """Wait until ``group`` is stable with ``members`` members (each then owns partitions)."""
    deadline = time.monotonic() + timeout_s
    while (state := await group_state(bootstrap, group)) != ("Stable", members):
        assert time.monotonic() < deadline, f"group {group} is {state}, not stable with {members}"
        await asyncio.sleep(0.5)


def partition_of(telegram_id: int) -> int:
    """The partition of the user's records (as the producer places them)."""
    hashed: int = murmur2(str(telegram_id).encode())
    return (hashed & 0x7FFFFFFF) % PARTITIONS


def arrivals(first: int, count: int, at: datetime) -> list[Envelope[Event]]:
    """/start and a trial for ``count`` users from ``first`` on."""
    made: list[Envelope[Event]] = []
    for telegram_id in range(first, first + count):
        started = UserStarted(telegram_id=telegram_id)
        asked = TrialRequested(telegram_id=telegram_id)
        made.append(Envelope.new(started, producer="tests", occurred_at=at))
        made.append(Envelope.new(asked, producer="tests", occurred_at=at + timedelta(seconds=1)))
    return made


def trials_applied(db: Database[Document], first: int, count: int) -> bool:
    return all(user_doc(db, t).get("trial_used") is True for t in range(first, first + count))
