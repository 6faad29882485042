"""The admin syntax: well-formed input parses, anything else is explained, nothing crashes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.admin_commands import MAX_ADJUSTMENT_DAYS, MAX_ADJUSTMENT_MONTHS
from events.buttons import MENU_ACTIONS
from keyland.periods import extend
from services.bot.domain.admin_input import (
    MAX_DELAY_S,
    Adjustment,
    ByTelegramId,
    ByUsername,
    Invalid,
    broadcast_text,
    is_exit,
    parse_adjustment,
    parse_block,
    parse_buttons,
    parse_delay,
    parse_target,
    parse_target_with_adjustment,
    parse_target_with_block,
    parse_target_with_delay,
)
from services.bot.locales import keys, text

NOW = datetime(2026, 3, 31, 12, tzinfo=UTC)
HORIZON = 1825  # days, the default


def adjustment(raw: str, max_days: int = HORIZON) -> Any:
    return parse_adjustment(raw, max_days, NOW)


PARSERS: list[Callable[[str], Any]] = [
    parse_target,
    adjustment,
    lambda raw: parse_target_with_adjustment(raw, HORIZON, NOW),
    parse_delay,
    parse_target_with_delay,
    parse_block,
    parse_target_with_block,
    lambda raw: parse_buttons(raw, MENU_ACTIONS),
    broadcast_text,
]

# Text that looks like the syntax more often than uniform noise does.
PIECES = "tgid username months days = += -= +=- -=+ - + , @ Кнопки: Buttons: нет profile myKeys EXIT 0 00"
syntaxish = st.lists(
    st.one_of(
        st.sampled_from([*PIECES.split(), " ", "\n"]),
        st.integers(min_value=-(10**9), max_value=10**9).map(str),
        st.text(max_size=6),
    ),
    max_size=8,
).map("".join)


def explained(error: Invalid) -> str:
    """The locale text for the refusal exists in both languages and fills in."""
    assert error.key in keys("ru")
    assert error.key in keys("en")
    return text(error.key, "en", **error.values)


@pytest.mark.parametrize("parse", PARSERS)
@given(raw=st.one_of(st.text(max_size=200), syntaxish))
def test_any_input_parses_or_is_explained(parse: Callable[[str], Any], raw: str) -> None:
    try:
        parse(raw)
    except Invalid as error:
        assert explained(error)


class TestTarget:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("tgid=123", ByTelegramId(123)),
            ("  TGID = 42 ", ByTelegramId(42)),
            ("username=Ivan_1", ByUsername("Ivan_1")),
            ("username=@ivan", ByUsername("ivan")),
        ],
    )
    def test_well_formed(self, raw: str, expected: object) -> None:
        assert parse_target(raw) == expected

    @pytest.mark.parametrize(
        "raw",
        ["", "123", "tgid=", "tgid=abc", "tgid=0", "tgid=-5", "tgid=1 tgid=2", "username=",
         "username=a b", "user=ivan", "tgid=١٢٣", "username=иван"],
    )  # fmt: skip
    def test_malformed_is_explained(self, raw: str) -> None:
        with pytest.raises(Invalid) as refused:
            parse_target(raw)
        assert refused.value.key == "admin_target_expected"


class TestAdjustment:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("months+=1", Adjustment(1, 0)),
            ("days+=10", Adjustment(0, 10)),
            ("months+=2 days+=3", Adjustment(2, 3)),
            ("days -= 3", Adjustment(0, -3)),
            ("months-=1, days-=2", Adjustment(-1, -2)),
            ("MONTHS-=5", Adjustment(-5, 0)),
        ],
    )
    def test_well_formed(self, raw: str, expected: Adjustment) -> None:
        assert adjustment(raw) == expected

    @pytest.mark.parametrize(
        ("raw", "key"),
        [
            ("", "admin_adjustment_expected"),
            ("days=3", "admin_adjustment_expected"),
            ("days+=three", "admin_adjustment_expected"),
            ("weeks+=1", "admin_adjustment_expected"),
            ("weeks-=1", "admin_adjustment_expected"),
            ("days+=1.5", "admin_adjustment_expected"),
            ("days-=-=3", "admin_adjustment_expected"),
            ("days+=3 days-=4", "admin_adjustment_repeated"),
            ("months+=0 days-=0", "admin_adjustment_zero"),
            ("days+=0", "admin_adjustment_zero"),
            (f"months+={MAX_ADJUSTMENT_MONTHS + 1}", "admin_adjustment_range"),
            (f"days-={MAX_ADJUSTMENT_DAYS + 1}", "admin_adjustment_range"),
            ("months+=1 days-=1", "admin_adjustment_signs"),
        ],
    )
    def test_malformed_is_explained(self, raw: str, key: str) -> None:
        with pytest.raises(Invalid) as refused:
            adjustment(raw)
        assert refused.value.key == key

    @pytest.mark.parametrize("raw", ["months+=-5", "days+=+5", "days-=-3", "days -= +3"])
    def test_a_sign_in_the_number_is_refused_with_the_way_to_write_it(self, raw: str) -> None:
        with pytest.raises(Invalid) as refused:
            adjustment(raw)
        assert refused.value.key == "admin_adjustment_sign_inside"
        unit, number = raw.split("=", maxsplit=1)[0][:-1].strip(), raw[-1]
        said = explained(refused.value)
        assert f"{unit}+={number}" in said
        assert f"{unit}-={number}" in said

    @pytest.mark.parametrize("max_days", [30, 400, HORIZON])
    def test_too_much_names_the_configured_maximum(self, max_days: int) -> None:
        for raw in (f"days+={max_days + 1}", f"days-={max_days + 1}", "months+=120"):
            with pytest.raises(Invalid) as refused:
                adjustment(raw, max_days)
            assert refused.value.key == "admin_adjustment_range"
            for language in ("ru", "en"):
                assert str(max_days) in text(refused.value.key, language, **refused.value.values)
        assert adjustment(f"days+={max_days}", max_days) == Adjustment(0, max_days)

    @given(
        months=st.integers(-MAX_ADJUSTMENT_MONTHS, MAX_ADJUSTMENT_MONTHS),
        days=st.integers(-MAX_ADJUSTMENT_DAYS, MAX_ADJUSTMENT_DAYS),
        max_days=st.integers(1, MAX_ADJUSTMENT_DAYS),
        now=st.datetimes(datetime(2020, 1, 1), datetime(2040, 1, 1), timezones=st.just(UTC)),
    )
    def test_every_amount_within_the_horizon_round_trips(
        self, months: int, days: int, max_days: int, now: datetime
    ) -> None:
        def written(name: str, amount: int) -> str:
            return f"{name}{'-=' if amount < 0 else '+='}{abs(amount)}"

        raw = f"{written('months', months)} {written('days', days)}"
        fits = abs(extend(now, months, days) - now) <= timedelta(days=max_days)
        if (months, days) == (0, 0) or months * days < 0 or not fits:
            with pytest.raises(Invalid):
                parse_adjustment(raw, max_days, now)
        else:
            assert parse_adjustment(raw, max_days, now) == Adjustment(months, days)

    def test_the_user_and_the_amount_on_one_line(self) -> None:
        assert parse_target_with_adjustment("tgid=7 months+=1 days-=0", HORIZON, NOW) == (
            ByTelegramId(7),
            Adjustment(1, 0),
        )
        assert parse_target_with_adjustment("username=ann", HORIZON, NOW) == (
            ByUsername("ann"),
            None,
        )


class TestButtons:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("Кнопки: profile myKeys support", ("profile", "myKeys", "support")),
            ("Buttons: buy, connect", ("buy", "connect")),
            ("кнопки:mykeys PROFILE profile", ("myKeys", "profile")),
            ("нет", ()),
            ("No", ()),
        ],
    )
    def test_well_formed(self, raw: str, expected: tuple[str, ...]) -> None:
        assert parse_buttons(raw, MENU_ACTIONS) == expected

    def test_unknown_names_are_refused_with_the_list(self) -> None:
        with pytest.raises(Invalid) as refused:
            parse_buttons("Кнопки: profile settings", MENU_ACTIONS)
        assert refused.value.key == "admin_buttons_unknown"
        assert refused.value.values["unknown"] == "settings"
        assert "myKeys" in explained(refused.value)

    def test_a_prefix_without_names_is_refused(self) -> None:
        with pytest.raises(Invalid) as refused:
            parse_buttons("Кнопки:", MENU_ACTIONS)
        assert refused.value.key == "admin_buttons_expected"


class TestDelay:
    def test_seconds_up_to_a_week(self) -> None:
        assert parse_delay(" 30 ") == 30
        assert parse_delay("0") == 0
        assert parse_delay(str(MAX_DELAY_S)) == MAX_DELAY_S
        assert parse_target_with_delay("tgid=5 15") == (ByTelegramId(5), 15)
        assert parse_target_with_delay("tgid=5") == (ByTelegramId(5), None)

    @pytest.mark.parametrize("raw", ["", "-1", "1.5", "soon", str(MAX_DELAY_S + 1), "9" * 30])
    def test_malformed_is_explained(self, raw: str) -> None:
        with pytest.raises(Invalid) as refused:
            parse_delay(raw)
        assert refused.value.key == "admin_delay_expected"


class TestBlock:
    def test_block_or_unblock_in_either_language(self) -> None:
        assert parse_block(" Block ") is True
        assert parse_block("разблок") is False
        assert parse_target_with_block("tgid=5 unblock") == (ByTelegramId(5), False)
        assert parse_target_with_block("tgid=5") == (ByTelegramId(5), None)

    @pytest.mark.parametrize("raw", ["", "yes", "blocked", "1"])
    def test_malformed_is_explained(self, raw: str) -> None:
        with pytest.raises(Invalid) as refused:
            parse_block(raw)
        assert refused.value.key == "admin_block_expected"


def test_exit_in_any_case() -> None:
    assert is_exit("EXIT")
    assert is_exit(" exit ")
    assert not is_exit("exit now")
    assert not is_exit(None)


def test_broadcast_text_is_kept_as_typed() -> None:
    assert broadcast_text("  Hello {name}\n") == "  Hello {name}\n"
    for bad in (None, "", "   ", "x" * 4097):
        with pytest.raises(Invalid):
            broadcast_text(bad)
