"""What the admin tools share: finding the user an admin names, showing them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from events.users import UserTraffic, UserView
from services.bot.adapters.capacity import Capacity
from services.bot.adapters.read_api import ReadApi
from services.bot.domain.admin_input import ByTelegramId, Invalid, Target
from services.bot.domain.display import date, days_left
from services.bot.keyboards.callbacks import AdminTool
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.common import traffic_values

REFUND_STARS = "refund_stars"
COMMANDS = ("admin", *AdminTool, REFUND_STARS)


@dataclass(frozen=True)
class AdminApis:
    """The services an admin tool may ask when it opens."""

    read_api: ReadApi
    capacity: Capacity


async def matching(read_api: ReadApi, target: Target) -> list[UserView]:
    """The users ``target`` names: by Telegram id one or none, by username any number."""
    if isinstance(target, ByTelegramId):
        found = await read_api.user(target.telegram_id)
        return [found] if found is not None else []
    return await read_api.by_username(target.username)


async def resolve(read_api: ReadApi, target: Target) -> UserView:
    """The one user ``target`` names, or :class:`Invalid` explaining why not."""
    matches = await matching(read_api, target)
    if not matches:
        raise Invalid("admin_user_not_found", {"target": str(target)})
    if len(matches) > 1:
        ids = ", ".join(f"tgid={m.telegram_id}" for m in matches[:10])
        raise Invalid("admin_user_ambiguous", {"target": str(target), "ids": ids})
    return matches[0]


def label(account: UserView) -> str:
    name = f" @{account.username}" if account.username else ""
    return f"{account.telegram_id}{name}"


def card(viewer: Viewer, account: UserView, traffic: UserTraffic | None = None) -> str:
    """Everything the read model says about one user (and their traffic this month)."""
    now, dash = datetime.now(UTC), "—"
    if account.until is None:
        access = viewer.t("admin_access_none")
    elif account.active_at(now):
        access = viewer.t(
            "admin_access_active", until=date(account.until), days=days_left(account.until, now)
        )
    else:
        access = viewer.t("admin_access_ended", until=date(account.until))
    text = viewer.t(
        "admin_user_card",
        user=label(account),
        registered=date(account.registered_at) if account.registered_at else dash,
        access=access,
        trial=viewer.t("profile_trial_used" if account.trial_used else "profile_trial_available"),
        purchases=account.purchases,
        last_purchase=date(account.last_purchase_at) if account.last_purchase_at else dash,
        region=account.region or dash,
        referrer=account.referrer_id or dash,
        bonus_days=account.referral_days_earned,
    )
    if traffic is not None:
        text += "\n" + viewer.t("admin_user_traffic", **traffic_values(viewer, traffic))
    if account.blocked:
        text += "\n" + viewer.t("admin_user_blocked")
    if account.purged_at is not None:
        text += "\n" + viewer.t("admin_user_purged", at=date(account.purged_at))
    return text
