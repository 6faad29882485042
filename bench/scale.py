"""Scale curve: records per second through the subscription worker with 1, 2 and 3
instances in one consumer group, and what each added core would give.

For each instance count, on the local Kafka and database (``make up``), in a fresh topic
prefix and database of its own:

1. the instances start and the group settles (each instance owns partitions);
2. ``USERS`` users' /start and trial (two records each) are put on ``bot.actions`` at once;
   the worker applies them and reads back the facts it published (``UserRegistered``,
   ``TrialActivated`` on ``subscriptions``), so it handles four records per user;
3. the clock stops when the group has committed every record of its input topics.

Meanwhile the CPU of the instances, FerretDB, PostgreSQL and Kafka is sampled. Printed
per count: records/s, and CPU seconds per record of the workers and of the whole path.
The projection: a core added to the workers alone is worth 1 / (workers' CPU s per
record) records/s, as long as the database and Kafka have spare cores; a core added to
the whole path (workers, database and broker together) is worth 1 / (all CPU s per
record). On a 2-core machine the curve flattens once the cores are busy: a second
instance finds no idle core, it only shares the one the first used.

Run: ``.venv/bin/python -m bench.scale [--instances 1 2 3] [--users 1500]``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.local import database_env, shared_database
from bench.measure import ProcessSampler, stack_pids
from events.registry import TopicNames
from keyland.kafka.admin import extents, plain_consumer
from keyland.kafka.producer import EventPublisher
from keyland.kafka.topics import ensure_topics
from keyland.mongo import database
from keyland.settings import KafkaSettings, load
from keyland_tools.stack.settings import StackSettings
from services.subscription.bootstrap import INPUT_TOPICS
from tests.consumer_groups import behind
from tests.worker_instances import arrivals, settled, worker_instances

INSTANCES = (1, 2, 3)
USERS = 1_500
FIRST_USER = 9_500_000_000
TIMEOUT_S = 600.0
SHARED = ("ferretdb", "postgresql", "kafka")
KEY_SECRET = "scale-benchmark-key-secret-not-for-production"  # noqa: S105 - a throwaway database


@dataclass(frozen=True)
class Point:
    instances: int
    records: int
    seconds: float
    workers_cpu_s: float
    all_cpu_s: float

    @property
    def per_second(self) -> float:
        return self.records / self.seconds

    def row(self) -> str:
        return (
            f"{self.instances:>9} {self.records:>8} {self.seconds:>8.1f} {self.per_second:>10.0f}"
            f" {self.workers_cpu_s / self.records * 1000:>12.2f}"
            f" {self.all_cpu_s / self.records * 1000:>12.2f}"
        )


HEADER = f"{'instances':>9} {'records':>8} {'wall s':>8} {'records/s':>10} {'worker ms/rec':>12} {'all ms/rec':>12}"


async def records_in(bootstrap: str, topics: TopicNames) -> int:
    async with plain_consumer(bootstrap) as consumer:
        total = 0
        for base in INPUT_TOPICS:
            total += sum(span.end for span in (await extents(consumer, topics(base))).values())
        return total


async def measure(instances: int, users: int) -> Point:
    run = uuid.uuid4().hex[:8]
    home = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    kafka = load(KafkaSettings).model_copy(update={"topic_prefix": f"scale{run}."})
    topics = TopicNames(kafka.topic_prefix)
    mongo = shared_database().model_copy(update={"database": f"scale_{run}"})
    group = f"scale-{run}-subscription"
    env = {
        "KEYLAND_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "KEYLAND_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        **database_env(mongo),
        "KEYLAND_SUBSCRIPTION_APP_ID": group,
        "KEYLAND_SUBSCRIPTION_KEY_SECRET": KEY_SECRET,
    }
    await ensure_topics(kafka.bootstrap, topics)
    publisher = EventPublisher.from_settings(kafka, client_id="bench-scale")
    shared = {k: v for k, v in stack_pids(load(StackSettings).state_dir).items() if k in SHARED}
    try:
        with worker_instances("services.subscription", env, home, instances) as workers:
            await settled(kafka.bootstrap, group, instances)
            pids = {f"worker {n}": w.process.pid for n, w in enumerate(workers) if w.process}
            records = arrivals(FIRST_USER, users, datetime.now(UTC))
            async with ProcessSampler({**pids, **shared}) as sampler:
                started = time.monotonic()
                await publisher.publish_many(records)
                while await behind(kafka.bootstrap, topics, {group: INPUT_TOPICS}):
                    for worker in workers:
                        if worker.process is None or worker.process.poll() is not None:
                            raise RuntimeError(f"an instance exited:\n{worker.log()[-3000:]}")
                    if time.monotonic() - started > TIMEOUT_S:
                        raise TimeoutError(f"{instances} instances not done in {TIMEOUT_S} s")
                    await asyncio.sleep(0.25)
                seconds = time.monotonic() - started
            handled = await records_in(kafka.bootstrap, topics)
    finally:
        await publisher.close()
        db = database(mongo, app_name="bench-scale")
        db.client.drop_database(db.name)
        db.client.close()
    return Point(instances, handled, seconds, sampler.total_cpu_s(pids), sampler.total_cpu_s())


def report(points: list[Point]) -> None:
    print("subscription worker scale curve (records through the group, facts read back included)")
    print(HEADER)
    for point in points:
        print(point.row())
    last = points[-1]
    worker_cost = last.workers_cpu_s / last.records
    path_cost = last.all_cpu_s / last.records
    print(
        f"projection per added core: {1 / worker_cost:.0f} records/s to the workers alone, "
        f"{1 / path_cost:.0f} records/s to the whole path (workers, database, broker)"
    )


async def main(counts: tuple[int, ...] = INSTANCES, users: int = USERS) -> list[Point]:
    points = [await measure(count, users) for count in counts]
    report(points)
    return points


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", nargs="+", type=int, default=list(INSTANCES))
    parser.add_argument("--users", type=int, default=USERS)
    arguments = parser.parse_args()
    asyncio.run(main(tuple(arguments.instances), arguments.users))
