"""The commands Telegram lists in the bot's menu, in Russian (default) and English."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand

from keyland.texts import DEFAULT_LANGUAGE, LANGUAGES
from services.bot.locales import text

log = logging.getLogger(__name__)

USER_COMMANDS = (
    "start", "menu", "trial", "connect", "buy", "profile", "referral", "promo", "gift",
    "region", "support",
)  # fmt: skip


async def publish_commands(bot: Bot) -> None:
    """Set the menu for every user; a failure is logged, the bot works without it."""
    try:
        for language in LANGUAGES:
            commands = [
                BotCommand(command=name, description=text(f"command_{name}", language))
                for name in USER_COMMANDS
            ]
            code = None if language == DEFAULT_LANGUAGE else language
            await bot.set_my_commands(commands, language_code=code)
    except TelegramAPIError as error:
        log.warning("bot commands not set: %s", error)
