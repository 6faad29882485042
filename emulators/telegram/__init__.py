"""A Telegram Bot API emulator: bots, private chats, payments in Stars, polling and webhooks.

Start it with ``python -m emulators.telegram --token 123456:ABC...`` or build the ASGI app
with :func:`build_app`; point aiogram at it with
``Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base("http://127.0.0.1:PORT")))``.
"""

from emulators.telegram.app import EmulatorConfig, build_app
from emulators.telegram.delivery import WebhookPolicy
from emulators.telegram.limits import RateLimits
from emulators.telegram.state import BotAccount

__all__ = ["BotAccount", "EmulatorConfig", "RateLimits", "WebhookPolicy", "build_app"]
