"""Block or unblock a user: ``tgid=...``/``username=...``, then ``block`` or ``unblock``
(or both on one line: ``tgid=123 block``). A blocked user's keys are disabled on every
node until the block is lifted; the admin API's ``/v1/admin/users/{id}/block`` publishes
the same command."""

from __future__ import annotations

from aiogram import Router

from events.admin_commands import UserBlockRequested
from services.bot.config import BotSettings
from services.bot.domain.admin_input import Target, parse_block, parse_target_with_block
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.admin.states import BlockUser
from services.bot.routers.admin.user_then_value import UserThenValue


def _user_and_decision(text: str, _: BotSettings) -> tuple[Target, bool | None]:
    return parse_target_with_block(text)


def _decision(text: str, _: BotSettings) -> bool:
    return parse_block(text)


def _event(viewer: Viewer, telegram_id: int, blocked: bool) -> UserBlockRequested:
    return UserBlockRequested(telegram_id=telegram_id, blocked=blocked, admin_id=viewer.telegram_id)


def _confirmation(viewer: Viewer, who: str, blocked: bool) -> str:
    return viewer.t("admin_block_sent" if blocked else "admin_unblock_sent", user=who)


FLOW = UserThenValue(
    asking_user=BlockUser.target,
    asking_value=BlockUser.decision,
    user_prompt="admin_block_prompt",
    value_prompt="admin_block_decision_prompt",
    parse_user_and_value=_user_and_decision,
    parse_value=_decision,
    event=_event,
    confirmation=_confirmation,
)
begin = FLOW.begin


def build_router() -> Router:
    return FLOW.build_router(__name__)
