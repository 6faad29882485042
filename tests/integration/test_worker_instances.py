"""Two instances of the subscription worker in one consumer group: each user's events are
applied once whichever instance reads them; when one instance is SIGKILLed, the other
takes its partitions over, records it read but never committed are applied nothing more
than once, and the business figures (one shard per partition) still add up."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pymongo.database import Database

from events.registry import TopicNames
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document
from keyland.settings import KafkaSettings
from services.subscription.adapters.figure_shards import PARTITIONS
from tests.kafka_tail import read_topic
from tests.processes import Program
from tests.user_docs import user_doc
from tests.waiting import eventually
from tests.worker_instances import (
    arrivals,
    partition_of,
    settled,
    trials_applied,
    worker_instances,
)

NOW = datetime.now(UTC).replace(microsecond=0)
TAKEOVER_DEADLINE_S = 60  # generous: the figure itself is bench.rebalance's


@pytest.fixture(scope="module")
def instances(
    service_env: dict[str, str],
    created_topics: TopicNames,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[Program]]:
    root: Path = tmp_path_factory.mktemp("instances")
    with worker_instances("services.subscription", service_env, root, 2) as programs:
        yield programs


async def test_a_killed_instances_partitions_are_applied_by_the_other_once(
    instances: list[Program],
    publisher: EventPublisher,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
    service_env: dict[str, str],
) -> None:
    group = service_env["KEYLAND_SUBSCRIPTION_APP_ID"]
    await settled(kafka_settings.bootstrap, group, members=2)
    before, after, count = 7_100_000, 7_200_000, 30
    assert {partition_of(t) for t in range(after, after + count)} == set(range(PARTITIONS))
    earlier = arrivals(before, count, NOW)
    for envelope in earlier:
        await publisher.publish(envelope)
    await eventually(lambda: trials_applied(db, before, count), *instances)

    killed, survivor = instances
    killed.kill()
    killed_at = time.monotonic()
    # Every partition gets new users, and the earlier records again (a redelivery).
    for envelope in [*arrivals(after, count, NOW), *earlier]:
        await publisher.publish(envelope)
    await eventually(
        lambda: trials_applied(db, after, count), survivor, timeout_s=TAKEOVER_DEADLINE_S
    )
    print(f"partitions taken over and applied {time.monotonic() - killed_at:.1f} s after the kill")

    users = [*range(before, before + count), *range(after, after + count)]
    assert all(len(user_doc(db, t)["entries"]) == 2 for t in users)
    facts = await read_topic(kafka_settings.bootstrap, topics("subscriptions"), timeout_s=3)
    trials = [e.event_id for e in facts if e.type == "TrialActivated"]
    assert len(set(trials)) == len(users), "one trial fact per user (a re-sent one keeps its id)"
    totals = [shard["totals"] for shard in db.figures.find({})]
    assert sum(t["users"] for t in totals) == len(users)
    assert sum(t["trials"] for t in totals) == len(users)
