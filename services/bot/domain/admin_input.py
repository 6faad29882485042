"""The admin panel's text syntax (as in the seed), parsed without side effects.

Every parser returns a value or raises :class:`Invalid`, whose ``key`` names the locale
text that explains what was expected (with ``values`` to fill it in). Nothing else is
raised, whatever the input.

- a user: ``tgid=123456789`` or ``username=name`` (``@`` optional);
- time: ``months+=N`` and/or ``days+=N`` adds, ``-=`` takes away (``days-=3``); N is
  unsigned, so ``days+=-3`` is refused with a hint (with ``-=`` at hand a sign in the
  number is either redundant or a double negative: ``days-=-3`` would add three days);
  together at most the horizon the bot is configured with, either way;
- broadcast buttons: ``Кнопки: profile myKeys support`` / ``Buttons: ...``, or ``нет``;
- a delay: whole seconds, ``0`` to ``604800`` (a week);
- a block: ``block`` or ``unblock`` (``блок``, ``разблок``);
- ``EXIT`` cancels any step.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from events.admin_commands import MAX_ADJUSTMENT_DAYS, MAX_ADJUSTMENT_MONTHS
from events.base import MAX_TELEGRAM_ID
from keyland.periods import extend

MAX_DELAY_S = 7 * 24 * 3600
# Telegram counts a message in UTF-16 code units, up to 4096; the preview that quotes the
# broadcast adds its own lines, so the broadcast itself must leave room for them.
MAX_BROADCAST_CHARS = 3800

_SPACES_AROUND_OPERATORS = re.compile(r"\s*(\+=|-=|=)\s*")
_TOKEN_SEPARATORS = re.compile(r"[\s,;]+")
_USERNAME = re.compile(r"@?([A-Za-z0-9_]{1,32})")
_CHANGE = re.compile(r"(?P<unit>[^+=-]*)(?P<operator>[+-]=)(?P<amount>.*)")
_NUMBER = re.compile(r"\d{1,7}")
_SIGNED_NUMBER = re.compile(r"[+-]\d{1,7}")
_BUTTONS_PREFIX = re.compile(r"^\s*(кнопки|buttons)\s*:?\s*", re.IGNORECASE)
_NO_BUTTONS = frozenset({"нет", "no", "none", "без кнопок", "-"})
_EXIT = frozenset({"exit", "/exit", "/cancel", "выход"})
_BLOCK = {"block": True, "блок": True, "unblock": False, "разблок": False}


class Invalid(ValueError):
    """The input does not fit; ``key`` is the locale text saying what is expected."""

    def __init__(self, key: str, values: dict[str, str] | None = None) -> None:
        super().__init__(key)
        self.key = key
        self.values = values or {}


@dataclass(frozen=True)
class ByTelegramId:
    telegram_id: int

    def __str__(self) -> str:
        return f"tgid={self.telegram_id}"


@dataclass(frozen=True)
class ByUsername:
    username: str

    def __str__(self) -> str:
        return f"username={self.username}"


Target = ByTelegramId | ByUsername


@dataclass(frozen=True)
class Adjustment:
    months: int
    days: int


def is_exit(text: str | None) -> bool:
    return (text or "").strip().lower() in _EXIT


def _tokens(text: str) -> list[str]:
    joined = _SPACES_AROUND_OPERATORS.sub(lambda m: m.group(1), text.strip())
    return [token for token in _TOKEN_SEPARATORS.split(joined) if token]


def _target(token: str) -> Target:
    name, _, value = token.partition("=")
    match name.lower():
        case "tgid" | "id" if value.isascii() and value.isdigit():
            telegram_id = int(value)
            if 0 < telegram_id < MAX_TELEGRAM_ID:
                return ByTelegramId(telegram_id)
        case "username" if (found := _USERNAME.fullmatch(value)) is not None:
            return ByUsername(found.group(1))
    raise Invalid("admin_target_expected")


def parse_target(text: str) -> Target:
    """Exactly one user: ``tgid=123`` or ``username=name``."""
    tokens = _tokens(text)
    if len(tokens) != 1:
        raise Invalid("admin_target_expected")
    return _target(tokens[0])


def parse_adjustment(text: str, max_days: int, now: datetime) -> Adjustment:
    """``months+=N`` and/or ``days+=N`` (``-=`` takes away), each at most once, together
    changing something and spanning at most ``max_days`` from ``now``."""
    return _adjustment(_tokens(text), max_days, now)


def _amount(token: str) -> tuple[str, int]:
    change = _CHANGE.fullmatch(token)
    unit = change.group("unit").lower() if change else ""
    if change is None or unit not in ("months", "days"):
        raise Invalid("admin_adjustment_expected")
    amount = change.group("amount")
    if _SIGNED_NUMBER.fullmatch(amount):
        raise Invalid("admin_adjustment_sign_inside", {"name": unit, "number": amount[1:]})
    if not _NUMBER.fullmatch(amount):
        raise Invalid("admin_adjustment_expected")
    return unit, -int(amount) if change.group("operator") == "-=" else int(amount)


def _adjustment(tokens: Sequence[str], max_days: int, now: datetime) -> Adjustment:
    if not tokens:
        raise Invalid("admin_adjustment_expected")
    amounts: dict[str, int] = {}
    for token in tokens:
        unit, amount = _amount(token)
        if unit in amounts:
            raise Invalid("admin_adjustment_repeated", {"name": unit})
        amounts[unit] = amount
    months, days = amounts.get("months", 0), amounts.get("days", 0)
    too_much = Invalid("admin_adjustment_range", {"max_days": str(max_days)})
    if abs(months) > MAX_ADJUSTMENT_MONTHS or abs(days) > MAX_ADJUSTMENT_DAYS:
        raise too_much  # and the calendar below stays within its years
    if months == 0 and days == 0:
        raise Invalid("admin_adjustment_zero")
    if months * days < 0:
        raise Invalid("admin_adjustment_signs")
    if abs(extend(now, months, days) - now) > timedelta(days=max_days):
        raise too_much
    return Adjustment(months, days)


def parse_target_with_adjustment(
    text: str, max_days: int, now: datetime
) -> tuple[Target, Adjustment | None]:
    """A user, optionally followed by the adjustment on the same line."""
    tokens = _tokens(text)
    if not tokens:
        raise Invalid("admin_target_expected")
    target = _target(tokens[0])
    return target, (_adjustment(tokens[1:], max_days, now) if len(tokens) > 1 else None)


def parse_delay(text: str) -> int:
    """Whole seconds from now, up to a week."""
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 7 or int(value) > MAX_DELAY_S:
        raise Invalid("admin_delay_expected", {"max": str(MAX_DELAY_S)})
    return int(value)


def parse_target_with_delay(text: str) -> tuple[Target, int | None]:
    """A user, optionally followed by the delay in seconds on the same line."""
    tokens = _tokens(text)
    if not tokens or len(tokens) > 2:
        raise Invalid("admin_target_expected")
    target = _target(tokens[0])
    return target, (parse_delay(tokens[1]) if len(tokens) == 2 else None)


def parse_block(text: str) -> bool:
    """True to block, False to lift the block."""
    blocked = _BLOCK.get(text.strip().lower())
    if blocked is None:
        raise Invalid("admin_block_expected")
    return blocked


def parse_target_with_block(text: str) -> tuple[Target, bool | None]:
    """A user, optionally followed by ``block`` or ``unblock`` on the same line."""
    tokens = _tokens(text)
    if not tokens or len(tokens) > 2:
        raise Invalid("admin_target_expected")
    target = _target(tokens[0])
    return target, (parse_block(tokens[1]) if len(tokens) == 2 else None)


def parse_buttons(text: str, available: Sequence[str]) -> tuple[str, ...]:
    """Button names from ``available`` (case-insensitive), or none for ``нет``."""
    stripped = text.strip()
    if stripped.lower() in _NO_BUTTONS:
        return ()
    names = _tokens(_BUTTONS_PREFIX.sub("", stripped, count=1))
    if not names:
        raise Invalid("admin_buttons_expected", {"names": " ".join(available)})
    canonical = {name.lower(): name for name in available}
    unknown = [name for name in names if name.lower() not in canonical]
    if unknown:
        raise Invalid(
            "admin_buttons_unknown",
            {"unknown": " ".join(unknown)[:200], "names": " ".join(available)},
        )
    return tuple(dict.fromkeys(canonical[name.lower()] for name in names))


def broadcast_text(text: str | None) -> str:
    """The message to broadcast, as the admin typed it."""
    too_long = text is not None and len(text.encode("utf-16-le")) // 2 > MAX_BROADCAST_CHARS
    if text is None or not text.strip() or too_long:
        raise Invalid("admin_broadcast_text_expected", {"max": str(MAX_BROADCAST_CHARS)})
    return text
