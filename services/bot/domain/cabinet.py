"""What the Mini App cabinet decides, computed: the state of a user's access, and the order
a renewal from one opening of the app is placed under."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from services.bot.domain.init_data import WebAppUser


class Access(StrEnum):
    NONE = "none"
    """Never had access (or purged)."""
    ACTIVE = "active"
    ENDS_SOON = "ends_soon"
    ENDED = "ended"


def access(until: datetime | None, now: datetime, soon: timedelta) -> Access:
    """``ends_soon`` once no more than ``soon`` is left; ``ended`` from ``until`` on."""
    if until is None:
        return Access.NONE
    if until <= now:
        return Access.ENDED
    return Access.ENDS_SOON if until - now <= soon else Access.ACTIVE


def order_id(user: WebAppUser, plan: str) -> str:
    """One order per plan per opening of the app: pressing renew twice gives the same
    payment; opening the app again and pressing it is a new order. The app's ``query_id``
    names the opening (its ``auth_date`` when Telegram gave none)."""
    opening = user.query_id or f"at{int(user.auth_date.timestamp())}"
    return f"cabinet:{user.telegram_id}:{opening[:64]}:{plan}"
