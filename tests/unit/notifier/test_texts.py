from __future__ import annotations

import pytest

from keyland.texts import language_of
from services.notifier.domain.notices import Kind
from services.notifier.locales import keys, text


def test_every_language_has_the_same_keys() -> None:
    assert keys("ru") == keys("en")


@pytest.mark.parametrize("kind", list(Kind))
def test_every_notice_kind_has_a_text(kind: Kind) -> None:
    assert f"notice_{kind}" in keys("ru")


def test_language_codes_map_to_ours() -> None:
    assert language_of("en-US") == "en"
    assert language_of("de") == "ru"
    assert language_of(None) == "ru"


def test_texts_are_formatted() -> None:
    assert "42" in text("notice_adjustment_rejected", "en", telegram_id=42, reason="x")
