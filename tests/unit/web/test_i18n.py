"""The pages' language from Accept-Language, their texts, dates and sizes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyland.texts import LANGUAGES
from keyland.web.i18n import local_moment, preferred_language, web_texts


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("en-US,en;q=0.9", "en"),
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
        ("de-DE,de;q=0.9,en;q=0.5", "en"),
        ("en;q=0.2,ru;q=0.8", "ru"),
        ("fr", "ru"),
        ("en;q=0", "ru"),
        ("EN-gb", "en"),
        ("", "ru"),
        (None, "ru"),
        ("en;q=nonsense,ru;q=0.1", "ru"),
    ],
)
def test_the_language_the_browser_ranks_highest_among_ours(
    header: str | None, language: str
) -> None:
    assert preferred_language(header) == language


@given(st.text())
def test_any_header_gives_one_of_our_languages(header: str) -> None:
    assert preferred_language(header) in LANGUAGES


def test_every_text_is_in_both_languages() -> None:
    texts = web_texts()
    assert texts.keys("ru") == texts.keys("en")


def test_a_moment_on_the_zones_clock_names_its_offset() -> None:
    moment = datetime(2026, 12, 14, 16, 47, tzinfo=UTC)
    assert local_moment(moment, ZoneInfo("Europe/Moscow")) == "14.12.2026 19:47 (UTC+03:00)"
    assert local_moment(moment, ZoneInfo("UTC")) == "14.12.2026 16:47 (UTC)"
    assert local_moment(moment, ZoneInfo("America/St_Johns")) == "14.12.2026 13:17 (UTC-03:30)"
