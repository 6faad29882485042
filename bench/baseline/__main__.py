"""Serve the baseline with Werkzeug's threaded server (a thread per request), as a seed
backend would run: ``python -m bench.baseline --port P --database D --nodes JSON``.
"""

from __future__ import annotations

import argparse
import json
import logging

from werkzeug.serving import run_simple

from bench.baseline.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description="BASELINE (not Keyland): seed-style backend")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mongo-url", default="mongodb://127.0.0.1:27017/")
    parser.add_argument("--database", required=True)
    parser.add_argument(
        "--nodes", required=True, help='JSON {"country": {"url": "http://...", "token": "..."}}'
    )
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    app = create_app(args.mongo_url, args.database, json.loads(args.nodes))
    run_simple("127.0.0.1", args.port, app, threaded=True)


if __name__ == "__main__":
    main()
