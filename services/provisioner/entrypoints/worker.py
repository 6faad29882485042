"""The faust worker: the agent over ``subscriptions`` (and ``bot.actions`` for the preferred
region), and the fleet of node loops with the countries-file watcher beside it."""

from __future__ import annotations

import faust

from keyland.kafka.faust_app import consuming_app, run_worker
from services.provisioner.bootstrap import INPUT_TOPICS, Container


def build_app(container: Container) -> faust.App:
    app = consuming_app(container, INPUT_TOPICS)

    async def run_fleet() -> None:
        await container.prepare_database()
        try:
            await container.fleet.run()
        finally:
            await container.clients.close()
            await container.publisher.close()

    app.task(run_fleet)
    return app


def run(container: Container) -> None:
    run_worker(build_app(container), container.kafka, INPUT_TOPICS)
