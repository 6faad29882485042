"""How far the notice scheduler's durable cursor may move (see :mod:`..handlers.scheduler`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from keyland.time_buckets import MINUTE, floor_minute


def next_cursor(cursor: datetime, now: datetime, held: Iterable[datetime]) -> datetime:
    """The start of the first minute that may still hold a notice without an outcome.

    ``held``: for each notice held in memory or being sent, a moment no later than the
    one it is filed under. The cursor stops at the earliest of their minutes and a minute
    before ``now``'s (a notice is filed no earlier than the minute it is written in; the
    spare minute covers clocks a little apart), and never moves back: every notice held
    was read from a bucket at or after it, or written since."""
    return max(cursor, floor_minute(min([now - MINUTE, *held])))
