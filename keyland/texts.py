"""User-facing texts in Russian and English, from ``keyland/locales/<lang>.toml``.

Both the bot and the notifier speak through this catalogue; handlers never hold texts.
A key missing in the user's language falls back to Russian (the primary audience), and
a key missing everywhere is a programming error caught by the tests.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

LOCALES = Path(__file__).with_name("locales")
DEFAULT_LANGUAGE = "ru"
LANGUAGES = ("ru", "en")


@cache
def _catalogue(language: str) -> dict[str, str]:
    with (LOCALES / f"{language}.toml").open("rb") as file:
        return {str(k): str(v) for k, v in tomllib.load(file).items()}


def language_of(code: str | None) -> str:
    """Our language for a Telegram ``language_code`` (``en-US`` → ``en``; others → ru)."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def text(key: str, language: str | None = None, **values: Any) -> str:
    """The text ``key`` in ``language``, formatted with ``values``."""
    catalogue = _catalogue(language_of(language))
    template = catalogue.get(key) or _catalogue(DEFAULT_LANGUAGE).get(key)
    if template is None:
        raise KeyError(f"no text {key!r}")
    return template.format(**values)


def keys(language: str) -> set[str]:
    return set(_catalogue(language))
