"""The aiogram ``Bot`` for the real Telegram API or a local emulator."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer


def make_bot(token: str, api_url: str | None = None) -> Bot:
    """A bot on ``api_url`` (an emulator) or on Telegram itself when None."""
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(api_url)) if api_url else AiohttpSession()
    )
    return Bot(token, session=session, default=DefaultBotProperties(link_preview_is_disabled=True))
