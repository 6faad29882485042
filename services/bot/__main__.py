"""``python -m services.bot``: the Telegram bot, by long polling or webhook
(``KEYLAND_BOT_MODE``); ``python -m services.bot cabinet``: its Mini App."""

from __future__ import annotations

import asyncio

import typer

cli = typer.Typer(help="The Keyland Telegram bot.", add_completion=False)


@cli.callback(invoke_without_command=True)
def default(context: typer.Context) -> None:
    """Without a command: the bot itself (``run``)."""
    if context.invoked_subcommand is None:
        run()


@cli.command()
def run() -> None:
    """Serve users and admins until stopped."""
    from keyland.observability.logs import configure_logging, secret_values  # noqa: PLC0415
    from services.bot.bootstrap import bootstrap  # noqa: PLC0415
    from services.bot.entrypoints.polling import run_polling  # noqa: PLC0415
    from services.bot.entrypoints.webhook import run_webhook  # noqa: PLC0415

    container = bootstrap()
    from keyland.settings import MongoSettings, load  # noqa: PLC0415

    configure_logging("bot", secret_values(container.settings, load(MongoSettings)))
    if container.settings.mode == "webhook":
        run_webhook(container)
    else:
        asyncio.run(run_polling(container))


@cli.command()
def cabinet() -> None:
    """Serve the Mini App cabinet (``KEYLAND_BOT_CABINET_HOST`` / ``_PORT``)."""
    from datetime import timedelta  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415

    from keyland.observability.logs import configure_logging, secret_values  # noqa: PLC0415
    from services.bot.bootstrap import bootstrap_cabinet  # noqa: PLC0415
    from services.bot.entrypoints.cabinet import build_app  # noqa: PLC0415

    container = bootstrap_cabinet()
    settings = container.settings
    configure_logging("cabinet", secret_values(settings))
    app = build_app(
        container.deps,
        settings.token.get_secret_value(),
        timedelta(seconds=settings.cabinet_auth_max_age_s),
        settings.cabinet_zone,
        close=container.close,
    )
    uvicorn.run(
        app,
        host=settings.cabinet_host,
        port=settings.cabinet_port,
        log_level="warning",
        log_config=None,
    )


if __name__ == "__main__":
    cli()
