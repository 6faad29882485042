"""Fuzzed admin input, pure: whatever an admin types, the parsers give a value that makes a
valid command event (so publishing it cannot fail) or a refusal that renders in both
languages and fits in one Telegram message. Complements test_admin_input.py's
"parses or is explained" with huge and foreign numbers, button lines full of links, and
the messages the bot builds from what was typed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from events.admin_commands import (
    MAX_ADJUSTMENT_DAYS,
    BroadcastRequested,
    SubscriptionAdjusted,
    TestNotificationRequested,
)
from events.buttons import MENU_ACTIONS
from services.bot.domain.admin_input import (
    ByTelegramId,
    Invalid,
    Target,
    broadcast_text,
    parse_buttons,
    parse_target_with_adjustment,
    parse_target_with_delay,
)
from services.bot.locales import text

ADMIN = 500001
TELEGRAM_MESSAGE = 4096  # UTF-16 code units, as Telegram counts
FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=200)


def utf16_len(typed: str) -> int:
    return len(typed.encode("utf-16-le")) // 2


def refusal_fits(error: Invalid) -> None:
    for language in ("ru", "en"):
        said = text(error.key, language, **error.values)
        assert said.strip()
        assert utf16_len(said) <= TELEGRAM_MESSAGE


def telegram_id(target: Target) -> int:
    return target.telegram_id if isinstance(target, ByTelegramId) else 1


# Numbers as admins (and fuzzers) write them: huge, signed, padded, in other scripts.
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.integers(min_value=0, max_value=10**6).map(lambda n: f"{n:0>12}"),
    st.sampled_from(["١٢٣", "²", "٣٠", "\u07c0", "12.5", "1e9", "0x10", "+-3", "--3", "∞", "NaN"]),
)
spaces = st.sampled_from(["", " ", "  ", "\t", "\n", "\u00a0", "\u2003", "\u200b", ",", ";"])
words = st.sampled_from(
    ["tgid", "id", "username", "months", "days", "TGID", "Days", "=", "+=", "-=", "@", "@@"]
)
lines = st.lists(st.one_of(words, numbers, spaces, st.text(max_size=8)), max_size=10).map("".join)
urls = st.one_of(
    st.sampled_from(
        [
            "https://t.me/keyland_bot",
            "http://",
            "https:/evil",
            "javascript:alert(1)",
            "tg://resolve?domain=x",
            "[Профиль](https://example.com)",
            "<a href='x'>y</a>",
            "http://[::1]:99999/",
        ]
    ),
    st.text(max_size=30).map(lambda rest: f"https://{rest}"),
)
button_lines = st.tuples(
    st.sampled_from(["Кнопки:", "кнопки", "Buttons:", "BUTTONS :", "", "Кнопки: нет"]),
    st.lists(st.one_of(st.sampled_from(MENU_ACTIONS), urls, st.text(max_size=12)), max_size=6),
    spaces,
).map(lambda parts: parts[0] + parts[2].join(parts[1]))


@FUZZ
@given(typed=st.one_of(lines, st.text(max_size=100)))
def test_time_for_a_user_makes_a_valid_adjustment_or_a_refusal(typed: str) -> None:
    try:  # the widest horizon the bot may be configured with
        target, adjustment = parse_target_with_adjustment(
            typed, MAX_ADJUSTMENT_DAYS, datetime.now(UTC)
        )
    except Invalid as error:
        refusal_fits(error)
        return
    if adjustment is not None:
        SubscriptionAdjusted(
            telegram_id=telegram_id(target),
            months=adjustment.months,
            days=adjustment.days,
            admin_id=ADMIN,
        )


@FUZZ
@given(typed=st.one_of(lines, st.text(max_size=100)))
def test_a_test_notification_makes_a_valid_request_or_a_refusal(typed: str) -> None:
    try:
        target, delay = parse_target_with_delay(typed)
    except Invalid as error:
        refusal_fits(error)
        return
    TestNotificationRequested(
        telegram_id=telegram_id(target),
        admin_id=ADMIN,
        delay_seconds=delay or 0,
        text=text("admin_test_text", "ru"),
    )


@FUZZ
@given(typed=button_lines)
def test_button_lines_name_menu_buttons_or_are_refused(typed: str) -> None:
    try:
        buttons = parse_buttons(typed, MENU_ACTIONS)
    except Invalid as error:
        refusal_fits(error)
        return
    assert set(buttons) <= set(MENU_ACTIONS)
    assert len(buttons) == len(set(buttons))


# What Telegram lets an admin send: one message of up to 4096 UTF-16 code units.
messages = st.one_of(
    st.text(min_size=1, max_size=300),
    st.integers(min_value=3700, max_value=TELEGRAM_MESSAGE).map(lambda n: "я" * n),
    st.integers(min_value=1850, max_value=TELEGRAM_MESSAGE // 2).map(lambda n: "🔥" * n),
).filter(lambda typed: typed.strip() and utf16_len(typed) <= TELEGRAM_MESSAGE)


@settings(FUZZ, max_examples=100)
@given(typed=messages, buttons=st.lists(st.sampled_from(MENU_ACTIONS), unique=True))
def test_an_accepted_broadcast_can_be_previewed_and_published(
    typed: str, buttons: list[str]
) -> None:
    try:
        accepted = broadcast_text(typed)
    except Invalid as error:
        refusal_fits(error)
        return
    for language in ("ru", "en"):
        preview = text(
            "admin_broadcast_preview",
            language,
            text=accepted,
            buttons=" ".join(MENU_ACTIONS) or text("admin_no_buttons", language),
        )
        assert utf16_len(preview) <= TELEGRAM_MESSAGE, utf16_len(accepted)
    BroadcastRequested(
        broadcast_id=uuid.uuid4(), admin_id=ADMIN, text=accepted, buttons=tuple(buttons)
    )
