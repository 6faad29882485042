"""Add (or take) time: ``tgid=...``/``username=...``, then ``months+=N`` and/or
``days+=N``, ``-=`` to take away (both may follow the user on one line). An amount longer
than ``KEYLAND_BOT_MAX_HORIZON_DAYS`` is refused here; the subscription processor applies
the rest or refuses it (past the horizon from the user's current end) and the notifier
tells the admin why."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Router

from events.admin_commands import SubscriptionAdjusted
from services.bot.config import BotSettings
from services.bot.domain.admin_input import (
    Adjustment,
    Target,
    parse_adjustment,
    parse_target_with_adjustment,
)
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.admin.states import AddTime
from services.bot.routers.admin.user_then_value import UserThenValue


def _user_and_amounts(text: str, settings: BotSettings) -> tuple[Target, Adjustment | None]:
    return parse_target_with_adjustment(text, settings.max_horizon_days, datetime.now(UTC))


def _amounts(text: str, settings: BotSettings) -> Adjustment:
    return parse_adjustment(text, settings.max_horizon_days, datetime.now(UTC))


def _event(viewer: Viewer, telegram_id: int, adjustment: Adjustment) -> SubscriptionAdjusted:
    return SubscriptionAdjusted(
        telegram_id=telegram_id,
        months=adjustment.months,
        days=adjustment.days,
        admin_id=viewer.telegram_id,
    )


def _confirmation(viewer: Viewer, who: str, adjustment: Adjustment) -> str:
    return viewer.t(
        "admin_adjustment_sent", user=who, months=adjustment.months, days=adjustment.days
    )


FLOW = UserThenValue(
    asking_user=AddTime.target,
    asking_value=AddTime.amounts,
    user_prompt="admin_add_time_prompt",
    value_prompt="admin_add_time_amounts_prompt",
    parse_user_and_value=_user_and_amounts,
    parse_value=_amounts,
    event=_event,
    confirmation=_confirmation,
)
begin = FLOW.begin


def build_router() -> Router:
    return FLOW.build_router(__name__)
