"""The pages' language, texts and the way they show dates and sizes.

The language follows the browser's ``Accept-Language`` among ours (ru, en); without one
we know, Russian, as everywhere in Keyland (``keyland.texts``). The texts every page
shares are in ``keyland/web/locales``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from keyland.texts import DEFAULT_LANGUAGE, LANGUAGES, Texts

LOCALES = Path(__file__).resolve().parent / "locales"


@functools.cache
def web_texts() -> Texts:
    return Texts(LOCALES)


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


def preferred_language(accept_language: str | None) -> str:
    """The language of ours the browser ranks highest (``ru-RU,ru;q=0.9,en;q=0.8`` → ru),
    the first named on a tie; Russian when it names none of ours (or only with ``q=0``)."""
    best, best_quality = DEFAULT_LANGUAGE, 0.0
    for item in (accept_language or "").split(","):
        tag, *parameters = item.split(";")
        language = tag.strip().split("-")[0].lower()
        quality = _quality(parameters)
        if language in LANGUAGES and quality > best_quality:
            best, best_quality = language, quality
    return best


def byte_size(amount: int, units: Sequence[str]) -> str:
    """``amount`` bytes in the largest of ``units`` (bytes, then each 1024 times more) that
    keeps it at least 1, with one decimal past bytes: ``1.5 GB``."""
    if amount < 0:
        raise ValueError(f"a byte count is never negative: {amount}")
    if not units:
        raise ValueError("no units to show bytes in")
    step = 0
    value = float(amount)
    # Compared as shown (one decimal), so that 1023.96 GB reads 1.0 TB, never 1024.0 GB.
    while round(value, 1) >= 1024 and step < len(units) - 1:
        value /= 1024
        step += 1
    return f"{amount} {units[0]}" if step == 0 else f"{value:.1f} {units[step]}"


def utc_offset(offset: timedelta | None) -> str:
    """``UTC+03:00``, ``UTC-09:30``, ``UTC`` for none."""
    if not offset:
        return "UTC"
    sign = "+" if offset >= timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def local_moment(moment: datetime, zone: ZoneInfo) -> str:
    """``moment`` on the zone's clock with its offset named: ``14.12.2026 19:47 (UTC+03:00)``."""
    local = moment.astimezone(zone)
    return f"{local:%d.%m.%Y %H:%M} ({utc_offset(local.utcoffset())})"
