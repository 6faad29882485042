"""A test notification: ``tgid=...``/``username=...``, then the delay in seconds (or
both on one line: ``tgid=123 30``). The notifier sends it when due."""

from __future__ import annotations

from aiogram import Router

from events.admin_commands import TestNotificationRequested
from services.bot.config import BotSettings
from services.bot.domain.admin_input import Target, parse_delay, parse_target_with_delay
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.admin.states import TestNotification
from services.bot.routers.admin.user_then_value import UserThenValue


def _user_and_delay(text: str, _: BotSettings) -> tuple[Target, int | None]:
    return parse_target_with_delay(text)


def _delay(text: str, _: BotSettings) -> int:
    return parse_delay(text)


def _event(viewer: Viewer, telegram_id: int, delay_s: int) -> TestNotificationRequested:
    return TestNotificationRequested(
        telegram_id=telegram_id,
        admin_id=viewer.telegram_id,
        delay_seconds=delay_s,
        text=viewer.t("admin_test_text"),
    )


def _confirmation(viewer: Viewer, who: str, delay_s: int) -> str:
    return viewer.t("admin_test_sent", user=who, seconds=delay_s)


FLOW = UserThenValue(
    asking_user=TestNotification.target,
    asking_value=TestNotification.delay,
    user_prompt="admin_test_prompt",
    value_prompt="admin_test_delay_prompt",
    parse_user_and_value=_user_and_delay,
    parse_value=_delay,
    event=_event,
    confirmation=_confirmation,
)
begin = FLOW.begin


def build_router() -> Router:
    return FLOW.build_router(__name__)
