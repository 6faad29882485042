"""Rebalance: how long after a subscription worker instance is SIGKILLed its partitions
are processed again by another instance (target: within 15 s).

Each round, on the local Kafka and database (``make up``), in a fresh topic prefix and
database: two instances start and the group settles; users on every partition start the
bot and take the trial; one instance is SIGKILLed and at once new users, again on every
partition, do the same. The figure is the time from the kill until the last of them has
the trial applied: the broker notices the dead member after the session timeout
(``keyland.kafka.faust_app``), the group rebalances, and the survivor reads the dead
instance's partitions from their last committed offsets.

Run: ``.venv/bin/python -m bench.rebalance [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.local import database_env, shared_database
from bench.measure import quantile
from events.registry import TopicNames
from keyland.kafka.producer import EventPublisher
from keyland.kafka.topics import ensure_topics
from keyland.mongo import database
from keyland.settings import KafkaSettings, load
from services.subscription.adapters.figure_shards import PARTITIONS
from tests.worker_instances import (
    arrivals,
    partition_of,
    settled,
    trials_applied,
    worker_instances,
)

TARGET_S = 15.0
ROUNDS = 3
USERS = 30  # per side of the kill, enough to put some on every partition
FIRST_USER = 9_600_000_000
TIMEOUT_S = 120.0
KEY_SECRET = "rebalance-benchmark-key-secret-not-for-production"  # noqa: S105 - a throwaway database


async def takeover_s() -> float:
    """One round: seconds from the SIGKILL until every partition was processed again."""
    run = uuid.uuid4().hex[:8]
    home = Path(tempfile.mkdtemp(prefix="bench-rebalance-"))
    kafka = load(KafkaSettings).model_copy(update={"topic_prefix": f"rebalance{run}."})
    mongo = shared_database().model_copy(update={"database": f"rebalance_{run}"})
    group = f"rebalance-{run}-subscription"
    env = {
        "KEYLAND_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "KEYLAND_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        **database_env(mongo),
        "KEYLAND_SUBSCRIPTION_APP_ID": group,
        "KEYLAND_SUBSCRIPTION_KEY_SECRET": KEY_SECRET,
    }
    await ensure_topics(kafka.bootstrap, TopicNames(kafka.topic_prefix))
    publisher = EventPublisher.from_settings(kafka, client_id="bench-rebalance")
    db = database(mongo, app_name="bench-rebalance")
    before, after = FIRST_USER, FIRST_USER + 1_000
    assert {partition_of(t) for t in range(after, after + USERS)} == set(range(PARTITIONS))
    try:
        with worker_instances("services.subscription", env, home, 2) as (killed, survivor):
            await settled(kafka.bootstrap, group, 2)
            await publisher.publish_many(arrivals(before, USERS, datetime.now(UTC)))
            await until(lambda: trials_applied(db, before, USERS))
            killed.kill()
            killed_at = time.monotonic()
            await publisher.publish_many(arrivals(after, USERS, datetime.now(UTC)))
            await until(lambda: trials_applied(db, after, USERS))
            taken = time.monotonic() - killed_at
            if survivor.process is None or survivor.process.poll() is not None:
                raise RuntimeError(f"the survivor exited:\n{survivor.log()[-3000:]}")
    finally:
        await publisher.close()
        db.client.drop_database(db.name)
        db.client.close()
    return taken


async def until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not processed within {TIMEOUT_S:.0f} s")
        await asyncio.sleep(0.1)


async def main(rounds: int = ROUNDS) -> list[float]:
    taken = [await takeover_s() for _ in range(rounds)]
    print(
        f"rebalance: a SIGKILLed instance's partitions processed again after "
        f"{quantile(taken, 0.5):.1f} s (median of {rounds}; max {max(taken):.1f} s; "
        f"target {TARGET_S:.0f} s)"
    )
    return taken


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    asyncio.run(main(parser.parse_args().rounds))
