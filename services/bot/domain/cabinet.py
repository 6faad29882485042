"""What the Mini App cabinet decides, computed: the order a renewal from one opening of the
app is placed under. (Where the user stands is the web pages' shared rule,
:mod:`keyland.web.standing`.)"""

from __future__ import annotations

from services.bot.domain.init_data import WebAppUser


def order_id(user: WebAppUser, plan: str) -> str:
    """One order per plan per opening of the app: pressing renew twice gives the same
    payment; opening the app again and pressing it is a new order. The app's ``query_id``
    names the opening (its ``auth_date`` when Telegram gave none)."""
    opening = user.query_id or f"at{int(user.auth_date.timestamp())}"
    return f"cabinet:{user.telegram_id}:{opening[:64]}:{plan}"
