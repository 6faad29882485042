"""Promo codes as typed by users and admins: a value or a clear refusal, nothing else."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.bot.domain.admin_input import Invalid
from services.bot.domain.promo_input import (
    NewPromo,
    code_from_start,
    gift_link,
    parse_new_promo,
    promo_code,
    promo_link,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


class TestUserCodes:
    def test_a_code_is_taken_upper_case(self) -> None:
        assert promo_code(" winter26 ") == "WINTER26"

    @pytest.mark.parametrize("typed", [None, "", "ab", "WIN TER", "ЗИМА", "x" * 33, "a-b-c"])
    def test_anything_else_asks_for_a_code(self, typed: str | None) -> None:
        with pytest.raises(Invalid, match="promo_usage"):
            promo_code(typed)

    def test_the_deep_link_carries_the_code_back(self) -> None:
        link = promo_link("keyland_local_bot", "WINTER26")
        assert link == "https://t.me/keyland_local_bot?start=promo_WINTER26"
        assert code_from_start(link.split("start=")[1]) == ("WINTER26", False)

    def test_a_gift_link_carries_the_gift_back(self) -> None:
        link = gift_link("keyland_local_bot", "K7Q2M9X4")
        assert link == "https://t.me/keyland_local_bot?start=gift_K7Q2M9X4"
        assert code_from_start(link.split("start=")[1]) == ("K7Q2M9X4", True)

    @pytest.mark.parametrize(
        "payload", [None, "", "ref_42", "promo_", "promo_a b", "promo_ab", "gift_", "gift_x-y"]
    )
    def test_other_starts_carry_no_code(self, payload: str | None) -> None:
        assert code_from_start(payload) is None


class TestNewCodes:
    def test_code_days_uses_and_validity(self) -> None:
        assert parse_new_promo("winter days=14 uses=100 valid=30", NOW) == NewPromo(
            "WINTER", 14, 100, NOW + timedelta(days=30)
        )

    def test_settings_in_any_order(self) -> None:
        assert parse_new_promo("W1N valid=1 USES=1 days=2", NOW).days == 2

    @pytest.mark.parametrize(
        "typed",
        [
            "",
            "WINTER",
            "WINTER days=14 uses=100",
            "WINTER days=14 days=3 uses=1 valid=1",
            "WINTER days=14 uses=100 valid=30 extra=1",
            "days=14 uses=100 valid=30",
            "WINTER days=-1 uses=1 valid=1",
        ],
    )
    def test_anything_incomplete_says_what_is_expected(self, typed: str) -> None:
        with pytest.raises(Invalid, match="admin_promo_expected"):
            parse_new_promo(typed, NOW)

    def test_out_of_range_names_the_setting(self) -> None:
        with pytest.raises(Invalid) as refused:
            parse_new_promo("WINTER days=0 uses=1 valid=1", NOW)
        assert (refused.value.key, refused.value.values["name"]) == ("admin_promo_range", "days")


@given(st.text(max_size=80))
def test_any_text_is_a_code_or_a_refusal(typed: str) -> None:
    with contextlib.suppress(Invalid):
        assert promo_code(typed).isalnum()
    with contextlib.suppress(Invalid):
        assert parse_new_promo(typed, NOW).expires_at > NOW
    found = code_from_start(typed)
    assert found is None or found[0] == typed.partition("_")[2].upper()
