"""``python -m services.payments_ingest``: serve the webhook and the internal payments API."""

from __future__ import annotations

import uvicorn

from keyland.observability.logs import configure_logging, secret_values
from keyland.settings import KafkaSettings, load
from keyland.shared_port import shared_listener
from services.payments_ingest.bootstrap import bootstrap


def main() -> None:
    settings, app = bootstrap()
    configure_logging("payments-ingest", secret_values(settings, load(KafkaSettings)))
    # Several instances may serve the same port (see keyland.shared_port).
    listener = shared_listener(settings.host, settings.port)
    config = uvicorn.Config(app, log_level="warning", log_config=None, proxy_headers=False)
    uvicorn.Server(config).run(sockets=[listener])


if __name__ == "__main__":
    main()
