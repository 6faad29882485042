"""``keyland replay``, ``keyland dlq ...``, ``keyland lag`` and ``keyland state hash``."""

from __future__ import annotations

import asyncio
from datetime import datetime

import typer
from rich.progress import Progress

from events.registry import TopicNames
from keyland.kafka.lag import lags
from keyland.kafka.producer import EventPublisher
from keyland.mongo import database
from keyland.settings import KafkaSettings, MongoSettings, load
from keyland_tools.ops import dlq as dead_letters
from keyland_tools.ops.replay import ReplayRefused, apply_replay, plan_replay
from keyland_tools.ops.state_hash import state_hash

dlq_app = typer.Typer(
    help="Dead-letter topics: what failed, and sending it again.", no_args_is_help=True
)
state_app = typer.Typer(help="The state rebuilt from the topics.", no_args_is_help=True)


def _kafka() -> tuple[KafkaSettings, TopicNames]:
    kafka = load(KafkaSettings)
    return kafka, TopicNames(kafka.topic_prefix)


def replay(
    topic: str = typer.Option(..., "--topic", help="Source topic, e.g. payments."),
    group: str = typer.Option(..., "--group", help="Consumer group (the service's app id)."),
    from_time: datetime | None = typer.Option(
        None, "--from-time", help="ISO time, e.g. 2026-11-27T09:00:00+00:00."
    ),
    from_offset: int | None = typer.Option(
        None, "--from-offset", help="Offset in every partition."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the moves, change nothing."),
) -> None:
    """Rewind a stopped consumer group on one source topic (idempotent consumers re-read safely)."""
    kafka, names = _kafka()

    async def main() -> None:
        moves = await plan_replay(
            kafka.bootstrap, names, topic, group, from_offset=from_offset, from_time=from_time
        )
        for move in moves:
            typer.echo(
                f"{topic}[{move.partition}]: {move.current if move.current is not None else '-'} -> {move.target}"
            )
        if dry_run:
            typer.echo("dry run: nothing changed")
            return
        await apply_replay(kafka.bootstrap, topic, group, moves)
        typer.echo(f"group {group} will re-read {topic} from there on its next start")

    try:
        asyncio.run(main())
    except ReplayRefused as refusal:
        typer.echo(f"refused: {refusal}", err=True)
        raise typer.Exit(2) from refusal


def lag() -> None:
    """Records each consumer group has yet to read, per topic."""
    kafka, _ = _kafka()
    for row in asyncio.run(lags(kafka.bootstrap, kafka.topic_prefix)):
        typer.echo(f"{row.group}\t{row.topic}\t{row.lag}")


@dlq_app.command("list")
def dlq_list() -> None:
    """Dead letters held and waiting for a redrive, per DLQ topic."""
    kafka, names = _kafka()
    for topic, (held, waiting) in asyncio.run(dead_letters.counts(kafka.bootstrap, names)).items():
        typer.echo(f"{topic}\t{held} held\t{waiting} waiting")


@dlq_app.command("show")
def dlq_show(
    topic: str = typer.Option(..., "--topic", help="The DLQ topic, e.g. payments.dlq."),
    limit: int = typer.Option(20, "--limit", min=1),
) -> None:
    """The dead letters of one DLQ topic with their errors."""
    kafka, _ = _kafka()
    for letter in asyncio.run(
        dead_letters.read(kafka.bootstrap, topic, only_waiting=False, limit=limit)
    ):
        consumer = letter.headers.get("dlq.consumer", b"?").decode(errors="replace")
        typer.echo(f"[{letter.partition}@{letter.offset}] by {consumer}: {letter.error}")
        typer.echo(f"    {(letter.value or b'')[:300].decode(errors='replace')}")


@dlq_app.command("redrive")
def dlq_redrive(
    topic: str = typer.Option(..., "--topic", help="The DLQ topic, e.g. payments.dlq."),
) -> None:
    """Send every waiting dead letter back to its source topic, once."""
    kafka, _ = _kafka()

    async def main() -> int:
        publisher = EventPublisher.from_settings(kafka, client_id="keyland-cli")
        try:
            waiting = len(await dead_letters.read(kafka.bootstrap, topic, only_waiting=True))
            with Progress() as bar:
                task = bar.add_task(f"redriving {topic}", total=waiting)
                return await dead_letters.redrive(
                    kafka.bootstrap, publisher, topic, progress=lambda n: bar.advance(task, n)
                )
        finally:
            await publisher.close()

    typer.echo(f"{asyncio.run(main())} dead letters sent back")


@state_app.command("hash")
def state_hash_command() -> None:
    """Counts and a canonical sha256 of users, payments, node keys and the notifier's
    record (notices, their outcomes, broadcasts, deliveries): equal before and after a
    replay, and but for the notifier's record after a rebuild from the topics (see
    keyland_tools/ops/state_hash.py)."""
    db = database(load(MongoSettings), app_name="keyland-cli")
    try:
        found = state_hash(db)
    finally:
        db.client.close()
    for collection in found.collections:
        typer.echo(f"{collection.name:<20} {collection.count:>8}  {collection.digest}")
    typer.echo(f"{'state':<20} {sum(found.counts.values()):>8}  {found.digest}")
