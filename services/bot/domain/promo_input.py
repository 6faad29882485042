"""Promo codes as users and admins type them, parsed without side effects.

- a code: 3 to 32 letters and digits, case-insensitive (kept upper-case), as
  ``/promo CODE`` or the deep link ``/start promo_CODE`` (a gift's: ``gift_CODE``);
- a new code (admin): ``CODE days=N uses=N valid=N`` (days granted, users who may use
  it, days it can be redeemed from now), in any order after the code.

Like :mod:`.admin_input`, every parser returns a value or raises :class:`Invalid`
naming the locale text that explains what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from events.admin_commands import MAX_ADJUSTMENT_DAYS, MAX_PROMO_USES
from services.bot.domain.admin_input import Invalid

PROMO_PREFIX = "promo_"
GIFT_PREFIX = "gift_"
_CODE = re.compile(r"[A-Za-z0-9]{3,32}")
_SETTING = re.compile(r"(?P<name>days|uses|valid)=(?P<value>\d{1,7})", re.IGNORECASE)
MAX_VALID_DAYS = 3660


@dataclass(frozen=True)
class NewPromo:
    code: str
    days: int
    max_uses: int
    expires_at: datetime


def promo_code(text: str | None) -> str:
    """The code a user typed (``/promo``'s argument), upper-cased."""
    value = (text or "").strip()
    if not _CODE.fullmatch(value):
        raise Invalid("promo_usage")
    return value.upper()


def code_from_start(payload: str | None) -> tuple[str, bool] | None:
    """The code in a ``/start promo_<CODE>`` or ``/start gift_<CODE>`` deep link and
    whether it is a gift; None for any other start."""
    for prefix, gift in ((PROMO_PREFIX, False), (GIFT_PREFIX, True)):
        if payload and payload.startswith(prefix):
            raw = payload.removeprefix(prefix)
            return (raw.upper(), gift) if _CODE.fullmatch(raw) else None
    return None


def promo_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={PROMO_PREFIX}{code}"


def gift_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={GIFT_PREFIX}{code}"


def parse_new_promo(text: str | None, now: datetime) -> NewPromo:
    """``CODE days=N uses=N valid=N``: each setting once, each at least 1."""
    tokens = (text or "").split()
    if not tokens or not _CODE.fullmatch(tokens[0]):
        raise Invalid("admin_promo_expected")
    settings: dict[str, int] = {}
    for token in tokens[1:]:
        found = _SETTING.fullmatch(token)
        if found is None or found.group("name").lower() in settings:
            raise Invalid("admin_promo_expected")
        settings[found.group("name").lower()] = int(found.group("value"))
    if set(settings) != {"days", "uses", "valid"}:
        raise Invalid("admin_promo_expected")
    limits = {"days": MAX_ADJUSTMENT_DAYS, "uses": MAX_PROMO_USES, "valid": MAX_VALID_DAYS}
    for name, value in settings.items():
        if not 1 <= value <= limits[name]:
            raise Invalid("admin_promo_range", {"name": name, "max": str(limits[name])})
    return NewPromo(
        code=tokens[0].upper(),
        days=settings["days"],
        max_uses=settings["uses"],
        expires_at=now + timedelta(days=settings["valid"]),
    )
