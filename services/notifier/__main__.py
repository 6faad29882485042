"""``python -m services.notifier``: the notifier worker."""

from __future__ import annotations

from keyland.observability.logs import configure_logging, secret_values
from keyland.settings import MongoSettings, load
from services.notifier.bootstrap import bootstrap
from services.notifier.entrypoints.worker import run


def main() -> None:
    container = bootstrap()
    configure_logging("notifier", secret_values(container.settings, load(MongoSettings)))
    run(container)


if __name__ == "__main__":
    main()
