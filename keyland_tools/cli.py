"""The ``keyland`` command line for operators."""

from __future__ import annotations

import asyncio
import json

import typer

from events.registry import TopicNames
from keyland.kafka.topics import ensure_topics
from keyland.settings import KafkaSettings, load
from keyland_tools.ops.capacity import capacity_command
from keyland_tools.ops.cli import dlq_app, lag, replay, state_app
from keyland_tools.ops.users_cli import users_app
from keyland_tools.stack.chromium import Chromium
from keyland_tools.stack.components import Component, everything, infrastructure
from keyland_tools.stack.kafka import Kafka
from keyland_tools.stack.process import StartError
from keyland_tools.stack.services import SupervisedServices, service_specs
from keyland_tools.stack.settings import StackSettings
from keyland_tools.stack.supervisor import Supervisor

app = typer.Typer(help="Operate a Keyland installation.", no_args_is_help=True)
stack_app = typer.Typer(help="The local stack on loopback: Kafka, the database, services.")
app.add_typer(stack_app, name="stack")
app.add_typer(dlq_app, name="dlq")
app.add_typer(state_app, name="state")
app.add_typer(users_app, name="users")
topics_app = typer.Typer(help="The catalog's topics on the configured Kafka.")
app.add_typer(topics_app, name="topics")
app.command("replay")(replay)
app.command("lag")(lag)
app.command("capacity")(capacity_command)


@app.command("demo")
def demo() -> None:
    """Play a journey on the local stack: referral, trial, keys, traffic, payment, reminder,
    expiry and the key blocked, with each step's latency."""
    from keyland_tools.demo import DemoFailed, run  # noqa: PLC0415

    try:
        run()
    except DemoFailed as failure:
        typer.echo(f"demo failed: {failure} (is `make up` running?)", err=True)
        raise typer.Exit(1) from failure


@topics_app.command("ensure")
def topics_ensure(
    replication_factor: int | None = typer.Option(
        None,
        "--replication-factor",
        min=1,
        help="Default: 3 when the cluster has three brokers or more, else its broker count.",
    ),
    min_insync_replicas: int | None = typer.Option(
        None, "--min-insync-replicas", min=1, help="Default: 2 at replication 3, else 1."
    ),
) -> None:
    """Create every catalog topic and its DLQ that is missing (existing ones are left alone)."""
    if (
        replication_factor is not None
        and min_insync_replicas is not None
        and min_insync_replicas > replication_factor
    ):
        typer.echo("--min-insync-replicas cannot exceed --replication-factor", err=True)
        raise typer.Exit(2)
    kafka = load(KafkaSettings)
    created = asyncio.run(
        ensure_topics(
            kafka.bootstrap,
            TopicNames(kafka.topic_prefix),
            replication_factor=replication_factor,
            min_insync_replicas=min_insync_replicas,
        )
    )
    for name in created:
        typer.echo(f"created {name}")
    typer.echo(f"{len(created)} topics created; the others existed")


@stack_app.command("fetch")
def stack_fetch() -> None:
    """Download and build what the stack runs (cached; later runs are instant)."""
    for component in everything():
        typer.echo(f"{component.daemon.name}: {component.fetch()}")


@stack_app.command("browser")
def stack_browser() -> None:
    """Install headless Chromium and chromedriver from Debian when missing (as root): the
    browser tests' browser. Exits 1 saying why when they cannot be installed."""
    try:
        chromium = Chromium().fetch()
    except StartError as error:
        typer.echo(f"browser: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"browser: {chromium.browser}, driver: {chromium.driver}")


def _components(only_infra: bool, brokers: int | None) -> list[Component]:
    return infrastructure(brokers) if only_infra else everything(brokers)


@stack_app.command("up")
def stack_up(
    only_infra: bool = typer.Option(False, "--only-infra", help="Kafka and the database only."),
    brokers: int | None = typer.Option(
        None,
        "--brokers",
        min=1,
        max=9,
        help="Kafka brokers to format a fresh state directory for (KEYLAND_KAFKA_BROKERS, 1); "
        "3 gives a three-voter cluster with topics replicated 3 times, 2 in sync.",
    ),
) -> None:
    """Start every component that is not running and wait until each answers."""
    components = _components(only_infra, brokers)
    for component in components:
        try:
            component.start()
        except StartError as error:
            typer.echo(f"{component.daemon.name}: {error}", err=True)
            raise typer.Exit(1) from error
        typer.echo(f"{component.daemon.name}: ready (pid {component.daemon.pid()})")
        if isinstance(component, Kafka):  # it answers: every catalog topic and DLQ must exist
            prefix = load(KafkaSettings).topic_prefix
            asyncio.run(ensure_topics(component.bootstrap, TopicNames(prefix)))
            for line in component.describe():
                typer.echo(line)


@stack_app.command("down")
def stack_down() -> None:
    """Stop every component, last started first."""
    for component in reversed(everything()):
        stopped = component.stop()
        typer.echo(f"{component.daemon.name}: {'stopped' if stopped else 'not running'}")


@stack_app.command("supervise", hidden=True)
def stack_supervise() -> None:
    """Run the services in the foreground under the supervisor (``stack up`` does this)."""
    stack = load(StackSettings)
    log_dir = stack.state_dir / "log"
    children = [spec.child(log_dir) for spec in service_specs(stack)]
    Supervisor(children, log_dir / "crashes.jsonl", stack.state_dir / "run" / "services.json").run()


@stack_app.command("crashes")
def stack_crashes(limit: int = typer.Option(10, "--limit", min=1)) -> None:
    """The last crashes the supervisor recorded: service, time, exit code, log tail."""
    path = load(StackSettings).state_dir / "log" / "crashes.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    for record in records[-limit:]:
        typer.echo(f"{record['at']} {record['service']} exited {record['exit_code']}")
        typer.echo("    " + record["log_tail"].replace("\n", "\n    ")[-2000:])
    if not records:
        typer.echo("no crashes recorded")


@stack_app.command("status")
def stack_status() -> None:
    """Which components run and answer; exits 1 when any does not."""
    healthy = True
    for component in everything():
        pid = component.daemon.pid()
        answers = pid is not None and component.ready()
        healthy = healthy and answers
        state = "ready" if answers else ("not answering" if pid else "stopped")
        typer.echo(f"{component.daemon.name}: {state} (log {component.daemon.log_file})")
        if isinstance(component, SupervisedServices | Kafka):
            for line in component.describe():
                typer.echo(line)
    raise typer.Exit(0 if healthy else 1)
