"""Run the Xray embedded in the ``xray-core`` wheel from a JSON config file.

Usage: ``python run_xray.py CONFIG.json`` (with the wheel's virtual environment's python).
``xray.startFromJSON`` serves until the process gets SIGTERM or SIGINT and then returns;
this script then exits, non-zero when Xray handed back an error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import xray


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: run_xray.py CONFIG.json", file=sys.stderr)
        return 2
    result = xray.startFromJSON(Path(argv[1]).read_text())
    if result:
        print(f"xray stopped with: {result}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
