"""The bot's texts, from ``<lang>.toml`` beside this module (:mod:`keyland.texts`)."""

from __future__ import annotations

from pathlib import Path

from keyland.texts import Texts

TEXTS = Texts(Path(__file__).parent)
text = TEXTS.text
keys = TEXTS.keys
