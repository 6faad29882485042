"""``python -m services.notifier``: the notifier worker."""

from __future__ import annotations

from services.notifier.bootstrap import bootstrap
from services.notifier.entrypoints.worker import run


def main() -> None:
    run(bootstrap())


if __name__ == "__main__":
    main()
