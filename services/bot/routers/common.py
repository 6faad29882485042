"""Answering a command and a button press alike."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from events.users import UserTraffic
from services.bot.adapters.fsm_storage import FsmStorage
from services.bot.domain.display import byte_size
from services.bot.middlewares.viewer import Viewer

Trigger = Message | CallbackQuery


def chat_of(trigger: Trigger) -> int:
    """Where to answer: the message's chat, or for a button the chat it sits in."""
    if isinstance(trigger, CallbackQuery):
        return trigger.message.chat.id if trigger.message else trigger.from_user.id
    return trigger.chat.id


def traffic_values(viewer: Viewer, traffic: UserTraffic) -> dict[str, str]:
    """A month's traffic as the texts show it: ``up``, ``down``, ``total`` and ``month``."""
    units = viewer.t("byte_units").split()
    return {
        "up": byte_size(traffic.uplink_bytes, units),
        "down": byte_size(traffic.downlink_bytes, units),
        "total": byte_size(traffic.total_bytes, units),
        "month": traffic.month,
    }


async def respond(trigger: Trigger, bot: Bot, text: str, **kwargs: Any) -> Message:
    """Send ``text`` as a new message; a button press is acknowledged first."""
    if isinstance(trigger, CallbackQuery):
        await trigger.answer()
    return await bot.send_message(chat_of(trigger), text, **kwargs)


async def clear(state: FSMContext) -> None:
    """End whatever flow the user was in: with our storage, state and data go in one
    database call (``state.clear()`` makes two writes, on every /start)."""
    if isinstance(state.storage, FsmStorage):
        await state.storage.forget(state.key)
    else:
        await state.clear()
