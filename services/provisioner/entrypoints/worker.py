"""The faust worker: the agent over ``subscriptions`` (and ``bot.actions`` for the preferred
region), and the fleet of node loops with the countries-file watcher beside it.

Several instances may run in one consumer group: the fleet follows the partitions faust
assigns to this one (see ``fleet.py``). Faust sends both signals after the batch under
way was acknowledged, and awaits them before consuming again."""

from __future__ import annotations

from collections.abc import Set
from typing import Any

import faust
from faust.types import TP

from keyland.kafka.faust_app import consuming_app, run_worker
from services.provisioner.bootstrap import INPUT_TOPICS, OWNING_TOPIC, Container
from services.provisioner.entrypoints.fleet import Fleet


def build_app(container: Container) -> faust.App:
    app = consuming_app(container, INPUT_TOPICS)
    follow_the_group(app, container.fleet, container.publisher.topics(OWNING_TOPIC))

    async def run_fleet() -> None:
        await container.prepare_database()
        try:
            await container.fleet.run()
        finally:
            await container.clients.close()
            await container.publisher.close()

    app.task(run_fleet)
    return app


def follow_the_group(app: faust.App, fleet: Fleet, topic: str) -> None:
    """Hand the fleet this instance's partitions of ``topic`` as faust's rebalances move
    them."""
    fleet.follow_the_group()

    def of_topic(tps: Set[TP]) -> set[int]:
        return {tp.partition for tp in tps if tp.topic == topic}

    async def revoked(_: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        tps: Set[TP] = args[0]
        await fleet.revoked(of_topic(tps))

    async def assigned(_: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        tps: Set[TP] = args[0]
        count = app.consumer.topic_partitions(topic) or fleet.ownership.partitions
        fleet.assigned(of_topic(tps), count)

    app.on_partitions_revoked.connect(revoked, weak=False)
    app.on_partitions_assigned.connect(assigned, weak=False)


def run(container: Container) -> None:
    run_worker(build_app(container), container.kafka, INPUT_TOPICS)
