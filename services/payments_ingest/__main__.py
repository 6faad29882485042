"""``python -m services.payments_ingest``: serve the webhook and the internal payments API."""

from __future__ import annotations

import logging

import uvicorn

from services.payments_ingest.bootstrap import bootstrap


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings, app = bootstrap()
    uvicorn.run(
        app, host=settings.host, port=settings.port, log_level="warning", proxy_headers=False
    )


if __name__ == "__main__":
    main()
