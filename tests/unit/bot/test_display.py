from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.bot.domain.display import days_left, referral_link, referrer_from

NOW = datetime(2025, 1, 10, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("ref_42", 42),
        (None, None),
        ("", None),
        ("ref_", None),
        ("ref_abc", None),
        ("ref_-4", None),
        ("ref_0", None),
        ("ref_7", None),  # oneself
        ("promo", None),
        ("ref_" + "9" * 40, None),
    ],
)
def test_referrer_from_deep_link(payload: str | None, expected: int | None) -> None:
    assert referrer_from(payload, telegram_id=7) == expected


@given(st.text(max_size=80))
def test_any_deep_link_gives_a_positive_referrer_or_none(payload: str) -> None:
    referrer = referrer_from(payload, telegram_id=7)
    assert referrer is None or (referrer > 0 and referrer != 7)


def test_referral_link_round_trips() -> None:
    link = referral_link("keyland_bot", 555)
    assert link == "https://t.me/keyland_bot?start=ref_555"
    assert referrer_from(link.split("start=")[1], telegram_id=1) == 555


def test_days_left_round_up() -> None:
    assert days_left(NOW + timedelta(hours=23), NOW) == 1
    assert days_left(NOW + timedelta(days=3), NOW) == 3
    assert days_left(NOW - timedelta(days=1), NOW) == 0
