"""A real faust worker built from the shared factory, for the integration tests.

Run as ``python -m tests.integration.probe_worker`` with ``KEYLAND_*`` settings and
``PROBE_APP_ID`` in the environment. Each ``bot.actions`` event it handles is recorded
in the ``processed`` collection under its event id (a unique-key insert, so redelivery
records nothing new); a ``RegionChosen`` for region ``"poison"`` is refused as a
permanent error and region ``"bug"`` raises an unexpected error, to exercise the
handler-side dead-letter paths. Batches go through a batch handler that records each
batch's size in ``batches`` and raises when any of its records does, so a failing batch
is applied again record by record.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from faust.worker import Worker
from pymongo.errors import DuplicateKeyError

from events import Envelope, Event
from events.bot_actions import RegionChosen
from keyland.kafka.dlq import DeadLetters
from keyland.kafka.faust_app import PermanentError, consume, make_app
from keyland.kafka.producer import EventPublisher
from keyland.mongo import async_database
from keyland.settings import KafkaSettings, MongoSettings, load


def main() -> None:
    kafka, mongo = load(KafkaSettings), load(MongoSettings)
    app_id = os.environ["PROBE_APP_ID"]
    app = make_app(app_id, kafka, datadir=Path(tempfile.mkdtemp(prefix="probe-")))
    publisher = EventPublisher.from_settings(kafka, client_id=app_id)
    db = async_database(mongo, app_name=app_id)
    processed = db["processed"]

    async def record(envelope: Envelope[Event]) -> None:
        if isinstance(envelope.payload, RegionChosen) and envelope.payload.region == "poison":
            raise PermanentError("region 'poison' can never be applied")
        if isinstance(envelope.payload, RegionChosen) and envelope.payload.region == "bug":
            raise RuntimeError("a handler bug")
        with contextlib.suppress(DuplicateKeyError):  # redelivered: recorded already
            await processed.insert_one({"_id": str(envelope.event_id), "type": envelope.type})

    async def record_batch(envelopes: Sequence[Envelope[Event]]) -> None:
        await db["batches"].insert_one({"size": len(envelopes)})
        for envelope in envelopes:
            await record(envelope)

    consume(
        app,
        publisher.topics,
        ("bot.actions",),
        record,
        DeadLetters(publisher, app_id),
        handle_batch=record_batch,
    )
    Worker(app, loglevel="WARNING", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
