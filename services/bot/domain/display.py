"""What the bot shows, computed: days left, plan durations, referral links, dates, byte
counts."""

from __future__ import annotations

from datetime import datetime, timedelta

from keyland.web.i18n import byte_size

__all__ = ["byte_size", "date", "days_left", "referral_link", "referrer_from"]

REFERRAL_PREFIX = "ref_"


def days_left(until: datetime, now: datetime) -> int:
    """Whole days left, rounded up (23 hours left is "1 day")."""
    return max(0, -(-(until - now) // timedelta(days=1)))


def date(moment: datetime) -> str:
    """The notifier's format, so the bot and the notices say the same thing."""
    return f"{moment:%d.%m.%Y %H:%M} UTC"


def referral_link(bot_username: str, telegram_id: int) -> str:
    return f"https://t.me/{bot_username}?start={REFERRAL_PREFIX}{telegram_id}"


def referrer_from(payload: str | None, telegram_id: int) -> int | None:
    """The inviter in a ``/start ref_<id>`` deep link; nobody for anything else or oneself."""
    if not payload or not payload.startswith(REFERRAL_PREFIX):
        return None
    raw = payload.removeprefix(REFERRAL_PREFIX)
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 16:
        return None
    referrer = int(raw)
    return referrer if 0 < referrer != telegram_id else None
