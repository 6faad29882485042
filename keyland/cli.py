"""The ``keyland`` command line for operators."""

from __future__ import annotations

import typer

from keyland.stack.components import infrastructure

app = typer.Typer(help="Operate a Keyland installation.", no_args_is_help=True)
stack_app = typer.Typer(help="The local stack on loopback: Kafka, the database, services.")
app.add_typer(stack_app, name="stack")


@stack_app.command("fetch")
def stack_fetch() -> None:
    """Download and build what the stack runs (cached; later runs are instant)."""
    for component in infrastructure():
        typer.echo(f"{component.daemon.name}: {component.fetch()}")


@stack_app.command("up")
def stack_up() -> None:
    """Start every component that is not running and wait until each answers."""
    for component in infrastructure():
        component.start()
        typer.echo(f"{component.daemon.name}: ready (pid {component.daemon.pid()})")


@stack_app.command("down")
def stack_down() -> None:
    """Stop every component, last started first."""
    for component in reversed(infrastructure()):
        stopped = component.stop()
        typer.echo(f"{component.daemon.name}: {'stopped' if stopped else 'not running'}")


@stack_app.command("status")
def stack_status() -> None:
    """Which components run and answer; exits 1 when any does not."""
    healthy = True
    for component in infrastructure():
        pid = component.daemon.pid()
        answers = pid is not None and component.ready()
        healthy = healthy and answers
        state = "ready" if answers else ("not answering" if pid else "stopped")
        typer.echo(f"{component.daemon.name}: {state} (log {component.daemon.log_file})")
    raise typer.Exit(0 if healthy else 1)
