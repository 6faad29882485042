"""``python -m services.provisioner worker|api``."""

from __future__ import annotations

import typer
import uvicorn

from keyland.observability.logs import configure_logging, secret_values
from keyland.settings import MongoSettings, load

cli = typer.Typer(help="The provisioner: keys on the country nodes.", no_args_is_help=True)


@cli.command()
def worker() -> None:
    """Consume ``subscriptions``, keep every node in line, follow the countries file."""
    from services.provisioner.bootstrap import bootstrap  # noqa: PLC0415
    from services.provisioner.config import NodeAccessSettings  # noqa: PLC0415
    from services.provisioner.entrypoints.worker import run  # noqa: PLC0415

    container = bootstrap()
    configure_logging(
        "provisioner",
        secret_values(container.settings, load(NodeAccessSettings), load(MongoSettings)),
    )
    run(container)


@cli.command()
def api() -> None:
    """Serve the subscription URLs (and the bot's /v1 lookup when a token is set)."""
    from services.provisioner.bootstrap import bootstrap_api  # noqa: PLC0415
    from services.provisioner.config import NodeAccessSettings  # noqa: PLC0415
    from services.provisioner.entrypoints.subscription_api import build_app  # noqa: PLC0415

    container = bootstrap_api()
    settings = container.settings
    configure_logging(
        "provisioner-api", secret_values(settings, load(NodeAccessSettings), load(MongoSettings))
    )
    uvicorn.run(
        build_app(container),
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        log_config=None,
    )


if __name__ == "__main__":
    cli()
