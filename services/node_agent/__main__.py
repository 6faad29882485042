"""``python -m services.node_agent``: serve the node agent's HTTP API until SIGTERM."""

from __future__ import annotations

import uvicorn

from keyland.observability.logs import configure_logging, secret_values
from keyland.settings import load
from services.node_agent.bootstrap import build_app
from services.node_agent.config import NodeAgentSettings


def main() -> None:
    settings = load(NodeAgentSettings)
    configure_logging(f"node-agent-{settings.listen_port}", secret_values(settings))
    uvicorn.run(
        build_app(settings),
        host=settings.listen_host,
        port=settings.listen_port,
        log_level="info",
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
