"""``python -m services.node_agent``: serve the node agent's HTTP API until SIGTERM."""

from __future__ import annotations

import logging

import uvicorn

from keyland.settings import load
from services.node_agent.bootstrap import build_app
from services.node_agent.config import NodeAgentSettings


def main() -> None:
    settings = load(NodeAgentSettings)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(
        build_app(settings),
        host=settings.listen_host,
        port=settings.listen_port,
        log_level="info",
        access_log=False,
    )


if __name__ == "__main__":
    main()
