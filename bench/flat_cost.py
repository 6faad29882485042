"""Flat cost as users grow: the subscription worker's per-event handling time with 1,000
users stored against 100,000 (target: within 1.5x).

For each size, on the local Kafka and database (``make infra``), in a fresh database and
topic prefix of its own:

1. seed: every user stored as the subscription service stores one that started the bot,
   took the trial and paid for a month (access ending over the coming week-and-a-bit):
   the ledger folded by the service's own domain, the documents built by its own adapters
   (``users``, ``payments``, ``expiry_due``), written with ``insert_many`` in chunks; then
   the service's own collections and indexes (the PostgreSQL pushdown indexes too, when
   the database is FerretDB on PostgreSQL);
2. ``EVENTS`` payments are put on the ``payments`` topic first: two each for
   ``EVENTS / 2`` users spread evenly over the stored ones (the same shape at each size);
3. a real subscription worker (``python -m services.subscription worker``) starts and works
   through them; from its ``/metrics``: the mean handling time per payment
   (``keyland_event_handling_seconds``) and the wall time from its first to its last.

The worker's CPU (and FerretDB's and PostgreSQL's, when the stack's pid files are found)
is sampled meanwhile. Both sizes are printed with their ratio against the target.

Run: ``.venv/bin/python -m bench.flat_cost [--sizes 1000 100000] [--events 2000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from unittest import mock

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.local import database_env, shared_database
from bench.measure import ProcessSampler, print_usage, stack_pids
from events import Envelope
from events.payments import PaymentSucceeded
from events.registry import TopicNames
from keyland.kafka.topics import ensure_topics
from keyland.mongo import Document
from keyland.settings import KafkaSettings, load
from keyland.time_buckets import EXPIRY, INACTIVITY
from keyland_tools.stack.settings import StackSettings
from services.subscription.adapters.payments import credited
from services.subscription.adapters.schedule import entry
from services.subscription.adapters.users import user_document
from services.subscription.bootstrap import Container, bootstrap
from services.subscription.config import SubscriptionSettings
from services.subscription.domain.compaction import compact
from services.subscription.domain.figures import inactive_from
from services.subscription.domain.fold import fold
from services.subscription.domain.ledger import Entry, Paid, Started, TrialAsked
from services.subscription.domain.rules import Rules
from tests.processes import Program, free_port, wait_http

SIZES = (1_000, 100_000)
EVENTS = 2_000
TARGET_RATIO = 1.5
FIRST_USER = 9_000_000_000
CHUNK = 2_000
TIMEOUT_S = 600.0
WEEK_MINUTES = 7 * 24 * 60
KEY_SECRET = "flat-cost-benchmark-key-secret-not-for-production"  # noqa: S105 - a throwaway database


@dataclass(frozen=True)
class Run:
    users: int
    events: int
    seed_s: float
    handling_s: float  # summed over the payments, from the worker's histogram
    wall_s: float
    sampler: ProcessSampler

    @property
    def per_event_ms(self) -> float:
        return self.handling_s / self.events * 1000

    @property
    def wall_per_event_ms(self) -> float:
        return self.wall_s / self.events * 1000


def stored_user(telegram_id: int, now: datetime, rules: Rules) -> tuple[Document, ...]:
    """One user's ``users``, ``payments`` and ``expiry_due`` documents: started, trial,
    paid a month about ten days ago (spread over a week)."""
    spread = timedelta(minutes=telegram_id % WEEK_MINUTES)
    joined, paid_at = now - timedelta(days=40) + spread, now - timedelta(days=10) + spread
    paid = Paid(
        event_id=uuid.uuid4(), at=paid_at, payment_id=f"yookassa:seed-{telegram_id}",
        plan="month_1", months=1, days=0, amount=Decimal("199.00"), currency="RUB",
    )  # fmt: skip
    entries: list[Entry] = [
        Started(event_id=uuid.uuid4(), at=joined, username=f"u{telegram_id}", language_code="en"),
        TrialAsked(event_id=uuid.uuid4(), at=joined),
        paid,
    ]
    state = fold(telegram_id, entries, rules)
    assert state.until is not None
    user = user_document(state, compact(entries, state.outcomes), [], at=paid_at)
    payment = {"_id": paid.payment_id, "refunds": {}, **credited(telegram_id, paid)}
    cleanup_after = timedelta(days=SubscriptionSettings.model_fields["cleanup_after_days"].default)
    inactive = inactive_from(
        state.registered_at, state.last_purchase_at, state.until, cleanup_after
    )
    assert inactive is not None
    return (
        user,
        payment,
        entry(EXPIRY, telegram_id, state.until, state.until),
        entry(INACTIVITY, telegram_id, inactive, inactive),
    )


def _chunks(first: int, count: int) -> Iterator[range]:
    for start in range(first, first + count, CHUNK):
        yield range(start, min(start + CHUNK, first + count))


def payments_for(users: int, events: int, now: datetime) -> list[Envelope[PaymentSucceeded]]:
    """Two payments each for ``events // 2`` users spread evenly: first round, then second."""
    step = max(1, users // (events // 2))
    payers = [FIRST_USER + i * step for i in range(events // 2)]
    return [
        Envelope.new(
            PaymentSucceeded(
                telegram_id=telegram_id, payment_id=f"flat-{round_}-{telegram_id}",
                plan="month_1", months=1, amount=Decimal("199.00"), currency="RUB", paid_at=now,
            ),
            producer="payments_ingest",
            occurred_at=now,
        )
        for round_ in (1, 2)
        for telegram_id in payers
    ]  # fmt: skip


def handled(metrics_text: str, kind: str) -> tuple[float, float]:
    """(records handled, seconds spent) of event type ``kind``, from a /metrics page."""
    count = total = 0.0
    for family in text_string_to_metric_families(metrics_text):
        if family.name != "keyland_event_handling_seconds":
            continue
        for sample in family.samples:
            if sample.labels.get("type") != kind:
                continue
            if sample.name.endswith("_count"):
                count += sample.value
            elif sample.name.endswith("_sum"):
                total += sample.value
    return count, total


def worker_env(kafka: KafkaSettings, run: str, home: Path, ops_port: int) -> dict[str, str]:
    mongo = shared_database().model_copy(update={"database": f"bench_{run}"})
    return {
        "KEYLAND_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "KEYLAND_KAFKA_TOPIC_PREFIX": f"bench{run}.",
        **database_env(mongo),
        "KEYLAND_SUBSCRIPTION_APP_ID": f"bench-{run}-subscription",
        "KEYLAND_SUBSCRIPTION_DATA_DIR": str(home / "subscription"),
        "KEYLAND_SUBSCRIPTION_KEY_SECRET": KEY_SECRET,
        "KEYLAND_SUBSCRIPTION_OPS_PORT": str(ops_port),
    }


def stored_users(ids: range, now: datetime, rules: Rules) -> list[tuple[Document, ...]]:
    return [stored_user(telegram_id, now, rules) for telegram_id in ids]


async def seed(container: Container, users: int, now: datetime) -> None:
    """Store ``users`` users, building each chunk while the one before is written."""
    rules, db = container.settings.rules(), container.db
    chunks = list(_chunks(FIRST_USER, users))
    building = asyncio.create_task(asyncio.to_thread(stored_users, chunks[0], now, rules))
    for following in [*chunks[1:], None]:
        rows = await building
        if following is not None:
            building = asyncio.create_task(asyncio.to_thread(stored_users, following, now, rules))
        await asyncio.gather(
            *(
                db[name].insert_many([row[n] for row in rows], ordered=False)
                for n, name in enumerate(("users", "payments", "expiry_due", "inactive_due"))
            )
        )
    # Stored before the worker starts, so its start-up has no moments left to file.
    await container.schedule.mark_backfilled(now)
    await container.cleanup.mark_backfilled(now)
    await container.prepare_database()


async def work_through(ops_url: str, events: int, worker: Program) -> tuple[float, float]:
    """Wait until the worker handled ``events`` payments; (seconds summed over them, wall
    seconds from the first handled to the last)."""
    deadline = time.monotonic() + TIMEOUT_S
    first: float | None = None
    async with httpx.AsyncClient(timeout=10) as client:
        while True:
            if worker.process is None or worker.process.poll() is not None:
                raise RuntimeError(f"the worker exited:\n{worker.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"not every payment handled in {TIMEOUT_S:.0f} s")
            page = (await client.get(f"{ops_url}/metrics")).text
            count, total = handled(page, PaymentSucceeded.event_type)
            now = time.perf_counter()
            if count and first is None:
                first = now
            if count >= events:
                assert first is not None
                return total, now - first
            await asyncio.sleep(0.05)


async def measure_size(users: int, events: int) -> Run:
    run = uuid.uuid4().hex[:8]
    home = Path(tempfile.mkdtemp(prefix="bench-flat-cost-"))
    kafka = load(KafkaSettings)
    ops_port = free_port()
    env = worker_env(kafka, run, home, ops_port)
    await ensure_topics(kafka.bootstrap, TopicNames(env["KEYLAND_KAFKA_TOPIC_PREFIX"]))
    # This process's bootstrap() reads the worker's settings; only it: the benchmarks that
    # follow in this process start their own workers, which inherit the environment (two
    # of them given this worker's ops port, say).
    with mock.patch.dict(os.environ, env):
        container = bootstrap()
    now = datetime.now(UTC)
    try:
        started = time.perf_counter()
        await seed(container, users, now)
        seed_s = time.perf_counter() - started
        print(f"{users:,} users stored in {seed_s:.1f} s", flush=True)
        await container.publisher.publish_many(payments_for(users, events, now))
        worker = Program("services.subscription", env, home / "worker.log", args=["worker"])
        worker.start()
        try:
            assert worker.process is not None
            shared = {k: v for k, v in stack_pids(load(StackSettings).state_dir).items()
                      if k in ("ferretdb", "postgresql")}  # fmt: skip
            wait_http(f"http://127.0.0.1:{ops_port}/health", worker, timeout_s=60)
            pids = {"subscription worker": worker.process.pid, **shared}
            async with ProcessSampler(pids) as sampler:
                total, wall = await work_through(f"http://127.0.0.1:{ops_port}", events, worker)
        finally:
            worker.stop()
    finally:
        await container.publisher.close()
        await container.db.client.drop_database(container.db.name)
        await container.db.client.close()
    return Run(users, events, seed_s, total, wall, sampler)


def verdict(passed: bool) -> str:
    return "PASS" if passed else "MISS"


def report(runs: list[Run]) -> None:
    print(f"\nsubscription worker, {runs[0].events:,} payments for stored users")
    print(f"{'users stored':>12} {'seeded in':>10} {'handling/event':>15} {'wall/event':>11}")
    for r in runs:
        print(f"{r.users:>12,} {r.seed_s:>8.1f} s {r.per_event_ms:>12.2f} ms"
              f" {r.wall_per_event_ms:>8.2f} ms")  # fmt: skip
    print_usage(
        "\nCPU s / peak RSS MB while the worker handled them",
        {r.users: r.sampler for r in runs},
    )
    small, large = runs[0], runs[-1]
    ratio = large.per_event_ms / small.per_event_ms
    wall_ratio = large.wall_per_event_ms / small.wall_per_event_ms
    print(
        f"flat cost: {large.users:,} ÷ {small.users:,} users = {ratio:.2f}x per event "
        f"(wall {wall_ratio:.2f}x); target ≤ {TARGET_RATIO}x: {verdict(ratio <= TARGET_RATIO)}"
    )


async def main(sizes: list[int], events: int) -> list[Run]:
    runs = [await measure_size(users, events) for users in sizes]
    report(runs)
    return runs


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    parser.add_argument("--events", type=int, default=EVENTS)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.sizes, arguments.events))
