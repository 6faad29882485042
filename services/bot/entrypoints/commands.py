"""The commands Telegram lists in the bot's menu, in Russian (default) and English; and the
menu button, which opens the Mini App cabinet when it has a URL."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, MenuButtonCommands, MenuButtonWebApp, WebAppInfo

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


def publish_menu_button(cabinet_url: str | None) -> Callable[[Bot], Awaitable[None]]:
    """At start: the menu button opens the cabinet at ``cabinet_url`` for every user (its
    label in Russian, the default language: Telegram keeps one default button), or lists
    the commands when there is no cabinet. A failure is logged; the bot works without it."""

    async def publish(bot: Bot) -> None:
        if cabinet_url is None:
            button: MenuButtonWebApp | MenuButtonCommands = MenuButtonCommands()
        else:
            button = MenuButtonWebApp(
                text=text("cabinet_menu_button", DEFAULT_LANGUAGE),
                web_app=WebAppInfo(url=cabinet_url),
            )
        try:
            await bot.set_chat_menu_button(menu_button=button)
        except TelegramAPIError as error:
            log.warning("menu button not set: %s", error)

    return publish
