"""The benchmarks' key moments (real Kafka): a key is usable once ``KeyActivated`` came
for every node, at the moment the last record was produced, on the benchmarks' clock;
what was on the topic before the watch began counts for nothing. The watcher's polls of
the agents are not started here: the test sets what they would have seen."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import httpx

from bench.measure import Activations, Agent, NodeWatcher
from events import Envelope, Event
from events.keys import KeyActivated, KeyDeactivated
from keyland.kafka.producer import EventPublisher
from keyland.settings import KafkaSettings
from tests.waiting import eventually

NODES = ("127.0.0.1:18001", "127.0.0.1:18002")


def activated(key: uuid.UUID, node: str) -> Envelope[Event]:
    fact = KeyActivated(
        telegram_id=7001, key_id=key, country="finland", node=node, link=f"vless://{node}"
    )
    return Envelope.new(fact, producer="tests", occurred_at=datetime.now(UTC))


async def test_a_key_is_usable_at_its_last_nodes_activation(
    kafka_settings: KafkaSettings, publisher: EventPublisher
) -> None:
    before, key = uuid.uuid4(), uuid.uuid4()
    await publisher.publish(activated(before, NODES[0]))  # on the topic before the watch
    agents = [Agent(f"n{i}", f"http://{node}", "token") for i, node in enumerate(NODES)]
    async with Activations(kafka_settings) as activations, httpx.AsyncClient() as client:
        watcher = NodeWatcher(client, agents, activations=activations)
        for agent in agents:  # as if every poll had listed both keys
            watcher.enabled_at[agent.name].update({str(key): 0.0, str(before): 0.0})

        start = time.perf_counter()
        await publisher.publish(activated(key, NODES[0]))
        deactivated = KeyDeactivated(telegram_id=7001, key_id=key, country="x", node=NODES[1])
        await publisher.publish(
            Envelope.new(deactivated, producer="tests", occurred_at=datetime.now(UTC))
        )
        await eventually(lambda: (str(key), NODES[0]) in activations.at)
        assert watcher.usable_at(str(key)) is None, "one node only"

        await publisher.publish(activated(key, NODES[1]))
        await eventually(lambda: watcher.usable_at(str(key)) is not None)
        end = time.perf_counter()

        usable = watcher.usable_at(str(key))
        assert usable is not None
        assert usable == activations.at[(str(key), NODES[1])]
        assert start - 0.01 <= usable <= end + 0.01  # record times are whole milliseconds
        assert (str(before), NODES[0]) not in activations.at
        assert watcher.usable_at(str(before)) is None
