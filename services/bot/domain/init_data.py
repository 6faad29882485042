"""Who opened the Mini App: Telegram's ``initData``, checked as Telegram says to.

Telegram hands the web app a query string (``query_id``, ``user`` as JSON, ``auth_date``,
``hash``, ...). It is genuine when ``hash`` is the hex HMAC-SHA256 of its other fields,
sorted ``key=value`` lines joined by newlines, under the key HMAC-SHA256("WebAppData",
bot token): only Telegram and the bot know the token. It is fresh while ``auth_date`` is
no older than the bot allows. Anything else is refused with the reason, for the log.
Pure: the time is an argument.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from events.base import MAX_TELEGRAM_ID

MAX_LENGTH = 4096
CLOCK_SKEW = timedelta(seconds=60)
"""How far ahead of our clock an ``auth_date`` may be (Telegram's clock and ours differ)."""


class InitDataRefused(Exception):
    """The initData is not Telegram's, or too old; the message says why."""


@dataclass(frozen=True)
class WebAppUser:
    """The user Telegram vouches for, and this opening of the app."""

    telegram_id: int
    first_name: str
    language_code: str | None
    auth_date: datetime
    query_id: str | None


def secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(fields: dict[str, str]) -> str:
    """The text the hash covers: every field but ``hash``, ``key=value``, sorted by key."""
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def validated(init_data: str, bot_token: str, now: datetime, max_age: timedelta) -> WebAppUser:
    """The user of ``init_data`` signed for ``bot_token`` no longer than ``max_age`` before
    ``now``; raises :class:`InitDataRefused` otherwise."""
    fields = _fields(init_data)
    given = fields.get("hash", "")
    expected = hmac.new(
        secret_key(bot_token), data_check_string(fields).encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(given.lower().encode(), expected.encode()):
        raise InitDataRefused("hash does not match: not signed with this bot's token")
    auth_date = _auth_date(fields.get("auth_date", ""))
    if auth_date > now + CLOCK_SKEW:
        raise InitDataRefused(f"auth_date {auth_date:%Y-%m-%d %H:%M:%S} is in the future")
    if now - auth_date > max_age:
        raise InitDataRefused(f"auth_date {auth_date:%Y-%m-%d %H:%M:%S} is older than {max_age}")
    return _user(fields, auth_date)


def _fields(init_data: str) -> dict[str, str]:
    if not init_data or len(init_data) > MAX_LENGTH:
        raise InitDataRefused(f"initData must be 1-{MAX_LENGTH} characters")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError as error:
        raise InitDataRefused(f"initData is not a query string: {error}") from error
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InitDataRefused("a field is given twice")
    if "hash" not in fields:
        raise InitDataRefused("no hash")
    return fields


def _auth_date(raw: str) -> datetime:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise InitDataRefused("auth_date must be a Unix time")
    return datetime.fromtimestamp(int(raw), UTC)


def _user(fields: dict[str, str], auth_date: datetime) -> WebAppUser:
    try:
        user = json.loads(fields.get("user", ""))
    except ValueError as error:
        raise InitDataRefused("user is not JSON") from error
    telegram_id = user.get("id") if isinstance(user, dict) else None
    if not isinstance(telegram_id, int) or isinstance(telegram_id, bool):
        raise InitDataRefused("user.id must be an integer")
    if not 0 < telegram_id <= MAX_TELEGRAM_ID:
        raise InitDataRefused("user.id is not a Telegram id")
    language = user.get("language_code")
    first_name = user.get("first_name")
    return WebAppUser(
        telegram_id=telegram_id,
        first_name=first_name if isinstance(first_name, str) else "",
        language_code=language if isinstance(language, str) else None,
        auth_date=auth_date,
        query_id=fields.get("query_id"),
    )
