"""The bot's texts, from ``<lang>.toml`` beside this module (:mod:`keyland.texts`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from keyland.texts import Texts

TEXTS = Texts(Path(__file__).parent)
text = TEXTS.text
keys = TEXTS.keys


class Speaks(Protocol):
    """Whatever says the bot's texts in one user's language (a chat's viewer, the Mini
    App's reader)."""

    def t(self, key: str, **values: Any) -> str: ...


@dataclass(frozen=True)
class Speaker:
    """The bot's texts in ``language``."""

    language: str

    def t(self, key: str, **values: Any) -> str:
        return text(key, self.language, **values)
