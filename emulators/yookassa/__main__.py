"""Run the YooKassa emulator::

    python -m emulators.yookassa --port 8765 --shop-id 100500 --secret-key test_secret \\
        --webhook-url http://127.0.0.1:8080/yookassa/webhook

Then ``yookassa.Configuration.configure("100500", "test_secret",
api_url="http://127.0.0.1:8765/v3")``. Bad arguments stop start-up with exit code 2 and a
message naming the argument; a port that cannot be bound stops it with exit code 1.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace

import uvicorn

from emulators.serving import listening_socket
from emulators.yookassa.app import EmulatorConfig, build_app
from emulators.yookassa.delivery import DeliveryPolicy

log = logging.getLogger("emulators.yookassa")


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.yookassa",
        description="A local YooKassa API v3 emulator with webhook notifications.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    parser.add_argument("--shop-id", required=True, help="shop id the API accepts (Basic user)")
    parser.add_argument("--secret-key", required=True, help="secret key (Basic password)")
    parser.add_argument("--webhook-url", help="where notifications go; none are sent if unset")
    parser.add_argument("--public-url", help="base of confirmation URLs (default: this server)")
    parser.add_argument("--gateway-id", default="1000001", help="recipient.gateway_id")
    parser.add_argument("--delivery-attempts", type=int, default=5, help="tries per webhook")
    parser.add_argument("--delivery-base-delay", type=float, default=0.5, help="first pause, s")
    parser.add_argument("--delivery-timeout", type=float, default=5.0, help="per try, seconds")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = argument_parser()
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"argument --port: {args.port} is not a port number (0-65535)")
    try:
        policy = DeliveryPolicy(
            attempts=args.delivery_attempts,
            base_delay_s=args.delivery_base_delay,
            timeout_s=args.delivery_timeout,
        )
    except ValueError as error:
        parser.error(f"delivery arguments: {error}")
    host = f"[{args.host}]" if ":" in args.host else args.host
    try:
        config = EmulatorConfig(
            shop_id=args.shop_id,
            secret_key=args.secret_key,
            public_url=args.public_url or f"http://{host}:{args.port}",
            webhook_url=args.webhook_url,
            gateway_id=args.gateway_id,
            delivery=policy,
        )
    except ValueError as error:
        parser.error(str(error))
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    server_socket = listening_socket(args.host, args.port)
    port = server_socket.getsockname()[1]
    if not args.public_url:
        config = replace(config, public_url=f"http://{host}:{port}")
    log.info(
        "API at http://%s:%d/v3, shop %s; notifications to %s",
        host,
        port,
        args.shop_id,
        args.webhook_url or "nowhere until PUT /emulator/webhook",
    )
    server = uvicorn.Server(
        uvicorn.Config(build_app(config), log_level=args.log_level, ws="none", lifespan="on")
    )
    server.run(sockets=[server_socket])


if __name__ == "__main__":
    main()
