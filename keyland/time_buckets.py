"""Which stretches of time a sweep of filed entries reads: whole hours when far behind,
else minutes.

Entries (the subscription's lapses, the notifier's notices) are filed under the minute and
the hour they fall due in (equality keys a database serves from an index; a range over a
time reads the whole collection on FerretDB). A sweep reads every bucket from its cursor,
the start of the first minute not yet swept to the end, up to the minute that holds
``now``; that last one is not complete yet, so it is read again by the next sweep, and the
cursor never passes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Bucket:
    """A stretch ``[start, end)`` filed under ``key`` in the ``field`` of due entries."""

    field: Literal["minute", "hour"]
    start: datetime

    @property
    def end(self) -> datetime:
        return self.start + (MINUTE if self.field == "minute" else HOUR)

    @property
    def key(self) -> str:
        return minute_key(self.start) if self.field == "minute" else hour_key(self.start)


def floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def minute_key(moment: datetime) -> str:
    return f"{floor_minute(moment):%Y-%m-%dT%H:%M}"


def hour_key(moment: datetime) -> str:
    return f"{floor_hour(moment):%Y-%m-%dT%H}"


def buckets_to_sweep(cursor: datetime, now: datetime) -> list[Bucket]:
    """The buckets covering ``[cursor, end of now's minute)`` without gap or overlap:
    minutes up to the next hour, whole hours while they ended before ``now``'s minute,
    then minutes up to and including ``now``'s."""
    current = floor_minute(now)
    at = floor_minute(cursor)
    buckets: list[Bucket] = []
    while at <= current:
        if at == floor_hour(at) and at + HOUR <= current:
            buckets.append(Bucket("hour", at))
        else:
            buckets.append(Bucket("minute", at))
        at = buckets[-1].end
    return buckets
