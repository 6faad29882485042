"""User-facing texts in Russian and English, each service from its own locale files.

A service keeps ``<lang>.toml`` files in a folder and reads them through a :class:`Texts`
(the bot in ``services/bot/locales``, the notifier in ``services/notifier/locales``);
handlers never hold texts. A key missing in the user's language falls back to Russian
(the primary audience), and a key missing everywhere is a programming error caught by the
tests.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

DEFAULT_LANGUAGE = "ru"
LANGUAGES = ("ru", "en")


def language_of(code: str | None) -> str:
    """Our language for a Telegram ``language_code`` (``en-US`` → ``en``; others → ru)."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


class Texts:
    """The texts in ``folder/<lang>.toml``, each file read once, when first needed."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._catalogues: dict[str, dict[str, str]] = {}

    def _catalogue(self, language: str) -> dict[str, str]:
        if language not in self._catalogues:
            with (self._folder / f"{language}.toml").open("rb") as file:
                loaded = tomllib.load(file)
            self._catalogues[language] = {str(k): str(v) for k, v in loaded.items()}
        return self._catalogues[language]

    def text(self, key: str, language: str | None = None, **values: Any) -> str:
        """The text ``key`` in ``language``, formatted with ``values``."""
        template = self._catalogue(language_of(language)).get(key) or self._catalogue(
            DEFAULT_LANGUAGE
        ).get(key)
        if template is None:
            raise KeyError(f"no text {key!r}")
        return template.format(**values)

    def keys(self, language: str) -> set[str]:
        return set(self._catalogue(language))
