"""What the bot shows, computed: days left, plan durations, referral links, dates, byte
counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

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


def byte_size(amount: int, units: Sequence[str]) -> str:
    """``amount`` bytes in the largest of ``units`` (bytes, then each 1024 times more) that
    keeps it at least 1, with one decimal past bytes: ``1.5 GB``."""
    if amount < 0:
        raise ValueError(f"a byte count is never negative: {amount}")
    if not units:
        raise ValueError("no units to show bytes in")
    step = 0
    value = float(amount)
    # Compared as shown (one decimal), so that 1023.96 GB reads 1.0 TB, never 1024.0 GB.
    while round(value, 1) >= 1024 and step < len(units) - 1:
        value /= 1024
        step += 1
    return f"{amount} {units[0]}" if step == 0 else f"{value:.1f} {units[step]}"
