"""``keyland users show`` and ``keyland users find``: read-only looks at users."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.console import Console, RenderableType

from keyland.mongo import database
from keyland.settings import MongoSettings, load
from keyland_tools.ops.users import find_users, load_user, render_matches, render_user

users_app = typer.Typer(
    help="Look users up: subscription, payments, keys, notices (read-only).",
    no_args_is_help=True,
)

# Wide enough for any table we print; only used to measure, never to print.
_UNBOUNDED_COLUMNS = 100_000


def _print_whole(tables: RenderableType) -> None:
    """Print to stdout; into a pipe or a file, every column whole. Rich assumes 80 columns
    when stdout is no terminal and then wraps or cuts cells, which breaks ``grep``."""
    console = Console()
    if not console.is_terminal:
        natural = Console(width=_UNBOUNDED_COLUMNS).measure(tables).maximum
        console = Console(width=max(natural, 1))
    console.print(tables)


@users_app.command("show")
def show(
    telegram_id: int = typer.Argument(..., help="The user's Telegram id."),
    notices: int = typer.Option(10, "--notices", min=0, help="How many recent notices."),
) -> None:
    """One user: paid until, trial, referrer, bonus days, payments, keys per node, notices."""
    db = database(load(MongoSettings), app_name="keyland-cli")
    try:
        view = load_user(db, telegram_id, notices=notices)
    finally:
        db.client.close()
    if view is None:
        typer.echo(f"no user {telegram_id}", err=True)
        raise typer.Exit(1)
    _print_whole(render_user(view, datetime.now(UTC)))


@users_app.command("find")
def find(
    query: str = typer.Argument(..., help="A Telegram id, @username (or its start), a payment id."),
    limit: int = typer.Option(20, "--limit", min=1),
) -> None:
    """Users matching a Telegram id, a username or a payment id."""
    db = database(load(MongoSettings), app_name="keyland-cli")
    try:
        matches = find_users(db, query, limit=limit)
    finally:
        db.client.close()
    if not matches:
        typer.echo(f"no user matches {query!r}", err=True)
        raise typer.Exit(1)
    _print_whole(render_matches(matches, datetime.now(UTC)))
