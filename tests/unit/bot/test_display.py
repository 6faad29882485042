from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.bot.domain.display import byte_size, days_left, referral_link, referrer_from

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


UNITS = ["B", "KB", "MB", "GB", "TB"]


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KB"),
        (1536, "1.5 KB"),
        (5 * 1024**3 + 1024**3 // 2, "5.5 GB"),
        (3 * 1024**5, "3072.0 TB"),
    ],
)
def test_byte_counts_are_shown_in_the_largest_unit_that_fits(amount: int, shown: str) -> None:
    assert byte_size(amount, UNITS) == shown


@given(st.integers(0, 2**60))
def test_a_shown_byte_count_stays_within_its_unit(amount: int) -> None:
    number, unit = byte_size(amount, UNITS).split()
    assert unit in UNITS
    assert float(number) < 1024 or unit == UNITS[-1]
    assert float(number) * 1024 ** UNITS.index(unit) == pytest.approx(amount, rel=0.05, abs=0)


def test_a_negative_byte_count_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        byte_size(-1, UNITS)
