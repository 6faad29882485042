"""``python -m services.payments_ingest``: serve the webhook and the internal payments API."""

from __future__ import annotations

import uvicorn

from keyland.observability.logs import configure_logging, secret_values
from keyland.settings import KafkaSettings, load
from services.payments_ingest.bootstrap import bootstrap


def main() -> None:
    settings, app = bootstrap()
    configure_logging("payments-ingest", secret_values(settings, load(KafkaSettings)))
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        log_config=None,
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
