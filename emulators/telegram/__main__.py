"""Run the Telegram Bot API emulator::

    python -m emulators.telegram --host 127.0.0.1 --port 8766 --token 123456:ABC-def \\
        --bot-username keyland_test_bot

Then ``Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(
"http://127.0.0.1:8766")))``. Bad arguments stop start-up with exit code 2 and a message
naming the argument; a port that cannot be bound stops it with exit code 1.
"""

from __future__ import annotations

import argparse
import logging

import uvicorn

from emulators.serving import listening_socket
from emulators.telegram.app import EmulatorConfig, build_app
from emulators.telegram.delivery import WebhookPolicy
from emulators.telegram.limits import RateLimits
from emulators.telegram.state import BotAccount

log = logging.getLogger("emulators.telegram")


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.telegram",
        description="A local Telegram Bot API emulator with control routes under /emulator/.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8766, help="port (0 picks a free one)")
    parser.add_argument(
        "--token", action="append", required=True, help="a bot token 123456:ABC...; repeatable"
    )
    parser.add_argument(
        "--bot-username",
        action="append",
        default=[],
        help="username of the bot with the token in the same position (default: bot<id>_bot)",
    )
    parser.add_argument("--rate-limits", action="store_true", help="start with flood limits on")
    parser.add_argument("--per-chat-limit", type=int, default=1, help="sends per chat a second")
    parser.add_argument("--overall-limit", type=int, default=30, help="sends per bot a second")
    parser.add_argument("--webhook-attempts", type=int, default=5, help="tries per update")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    return parser


def configuration(parser: argparse.ArgumentParser, args: argparse.Namespace) -> EmulatorConfig:
    if not 0 <= args.port <= 65535:
        parser.error(f"argument --port: {args.port} is not a port number (0-65535)")
    if len(args.bot_username) > len(args.token):
        parser.error("argument --bot-username: more usernames than --token arguments")
    bots = []
    for index, token in enumerate(args.token):
        bot_id = token.partition(":")[0]
        username = (
            args.bot_username[index] if index < len(args.bot_username) else f"bot{bot_id}_bot"
        )
        try:
            bots.append(BotAccount(token, username, first_name=username))
        except ValueError as error:
            argument = "--token" if "token" in str(error) else "--bot-username"
            parser.error(f"argument {argument}: {error}")
    try:
        limits = RateLimits(args.rate_limits, args.per_chat_limit, args.overall_limit)
        return EmulatorConfig(tuple(bots), limits, WebhookPolicy(attempts=args.webhook_attempts))
    except ValueError as error:
        parser.error(f"arguments: {error}")


def main(argv: list[str] | None = None) -> None:
    parser = argument_parser()
    args = parser.parse_args(argv)
    config = configuration(parser, args)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    server_socket = listening_socket(args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    port = server_socket.getsockname()[1]
    log.info(
        "API at http://%s:%d (bots: %s)",
        host,
        port,
        ", ".join(f"{bot.id} @{bot.username}" for bot in config.bots),
    )
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(config),
            log_level=args.log_level,
            ws="none",
            lifespan="on",
            timeout_graceful_shutdown=5,  # long polls must not hold shutdown for 50 s
        )
    )
    server.run(sockets=[server_socket])


if __name__ == "__main__":
    main()
