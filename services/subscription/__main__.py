"""``python -m services.subscription worker|api|cleanup``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import typer
import uvicorn

from keyland.mongo import async_database
from keyland.observability.logs import configure_logging, secret_values
from keyland.settings import ConfigError, KafkaSettings, MongoSettings, load
from services.subscription.config import SubscriptionSettings

cli = typer.Typer(help="The subscription processor.", no_args_is_help=True)


@cli.command()
def worker() -> None:
    """Consume the user topics, sweep expiries, run the weekly cleanup."""
    from services.subscription.bootstrap import bootstrap  # noqa: PLC0415
    from services.subscription.entrypoints.worker import run  # noqa: PLC0415

    container = bootstrap()
    configure_logging(
        "subscription", secret_values(container.settings, container.kafka, load(MongoSettings))
    )
    run(container)


@cli.command()
def api() -> None:
    """Serve the read API (and the admin API, when its token is set)."""
    from services.subscription.bootstrap import admin_orders  # noqa: PLC0415
    from services.subscription.entrypoints.read_api import build_app  # noqa: PLC0415

    settings, mongo, kafka = load(SubscriptionSettings), load(MongoSettings), load(KafkaSettings)
    if settings.api_token is None:
        raise ConfigError("invalid configuration: KEYLAND_SUBSCRIPTION_API_TOKEN is required")
    configure_logging("subscription-api", secret_values(settings, mongo, kafka))
    db = async_database(mongo, app_name=f"{settings.app_id}-api")
    admin_token = settings.admin_token.get_secret_value() if settings.admin_token else None
    if admin_token == settings.api_token.get_secret_value():
        raise ConfigError(
            "invalid configuration: KEYLAND_SUBSCRIPTION_ADMIN_TOKEN must differ from"
            " KEYLAND_SUBSCRIPTION_API_TOKEN (the bot holds that one)"
        )
    admin = admin_orders(kafka, settings.app_id) if admin_token else None
    app = build_app(
        db,
        settings.api_token.get_secret_value(),
        settings.stats_interval_s,
        admin=admin,
        admin_token=admin_token,
    )
    uvicorn.run(
        app, host=settings.api_host, port=settings.api_port, log_level="warning", log_config=None
    )


@cli.command()
def cleanup(
    dry_run: bool = typer.Option(False, "--dry-run", help="List, do not request purges."),
) -> None:
    """Request purges of users inactive past the configured age (or list them)."""
    from services.subscription.bootstrap import bootstrap  # noqa: PLC0415
    from services.subscription.handlers.cleanup import request_purges  # noqa: PLC0415

    container = bootstrap()
    now, age = datetime.now(UTC), timedelta(days=container.settings.cleanup_after_days)

    async def main() -> None:
        await container.prepare_database()
        await container.cleanup.backfill(now)
        found = await container.cleanup.find(now)
        candidates = found.candidates
        for c in candidates:
            typer.echo(
                f"{c.telegram_id}\t@{c.username or '-'}\tlast active {c.last_activity:%Y-%m-%d}"
            )
        if not dry_run:
            await request_purges(container.publisher, candidates, now, age)
            await container.cleanup.settle(found)
            await container.publisher.close()
        typer.echo(f"{len(candidates)} users {'would be' if dry_run else 'were'} asked to purge")

    asyncio.run(main())


if __name__ == "__main__":
    cli()
