"""The bot's own texts: the same keys in every language; a missing key is an error."""

from __future__ import annotations

import pytest

from services.bot.locales import keys, text


def test_every_language_has_the_same_keys() -> None:
    assert keys("ru") == keys("en")


def test_a_missing_key_is_an_error() -> None:
    with pytest.raises(KeyError, match="no_such_text"):
        text("no_such_text", "en")


def test_a_language_we_do_not_speak_falls_back_to_russian() -> None:
    assert text("button_menu", "de") == text("button_menu", "ru")
