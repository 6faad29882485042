"""``python -m services.notifier``: the notifier worker."""

from __future__ import annotations

import sys

from services.notifier.bootstrap import bootstrap
from services.notifier.entrypoints.worker import run


def main() -> None:
    sys.argv = [sys.argv[0], "worker"]  # faust's Worker reads its own command line
    run(bootstrap())


if __name__ == "__main__":
    main()
