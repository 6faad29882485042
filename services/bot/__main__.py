"""``python -m services.bot``: the Telegram bot, by long polling or webhook
(``KEYLAND_BOT_MODE``)."""

from __future__ import annotations

import asyncio
import logging

import typer

cli = typer.Typer(help="The Keyland Telegram bot.", add_completion=False)


@cli.command()
def run() -> None:
    """Serve users and admins until stopped."""
    from services.bot.bootstrap import bootstrap  # noqa: PLC0415
    from services.bot.entrypoints.polling import run_polling  # noqa: PLC0415
    from services.bot.entrypoints.webhook import run_webhook  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    container = bootstrap()
    if container.settings.mode == "webhook":
        run_webhook(container)
    else:
        asyncio.run(run_polling(container))


if __name__ == "__main__":
    cli()
