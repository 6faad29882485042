"""Which stretches of time a schedule sweep reads: whole coarse spans when far behind,
else fine ones.

A schedule files each entry under the fine and the coarse span its moment falls in
(equality keys a database serves from an index; a range over a moment reads the whole
collection on FerretDB). A sweep reads every bucket from its cursor, the start of the
first fine span not yet swept to its end, up to the fine span that holds ``now``; that
last one is not complete yet, so it is read again by the next sweep, and the cursor
never passes it. The expiry sweep reads minutes and hours; the weekly cleanup reads
days and years.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Scale:
    """One granularity: the entry field holding its key, how a moment is floored to the
    start of its span, where the next span starts, and the key's format."""

    field: str
    floor: Callable[[datetime], datetime]
    step: Callable[[datetime], datetime]
    key_format: str

    def key(self, moment: datetime) -> str:
        return f"{self.floor(moment):{self.key_format}}"

    def start(self, key: str) -> datetime:
        """The start of the span ``key`` names (keys are written in UTC)."""
        return datetime.strptime(key, self.key_format).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Scales:
    fine: Scale
    coarse: Scale


@dataclass(frozen=True)
class Bucket:
    """A stretch ``[start, end)`` filed under ``key`` in the ``field`` of due entries."""

    scale: Scale
    start: datetime

    @property
    def field(self) -> str:
        return self.scale.field

    @property
    def end(self) -> datetime:
        return self.scale.step(self.start)

    @property
    def key(self) -> str:
        return self.scale.key(self.start)


def floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def floor_day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def floor_year(moment: datetime) -> datetime:
    return floor_day(moment).replace(month=1, day=1)


def _next_year(moment: datetime) -> datetime:
    return moment.replace(year=moment.year + 1)


MINUTES = Scale("minute", floor_minute, lambda at: at + MINUTE, "%Y-%m-%dT%H:%M")
HOURS = Scale("hour", floor_hour, lambda at: at + HOUR, "%Y-%m-%dT%H")
DAYS = Scale("day", floor_day, lambda at: at + DAY, "%Y-%m-%d")
YEARS = Scale("year", floor_year, _next_year, "%Y")

EXPIRY = Scales(fine=MINUTES, coarse=HOURS)
INACTIVITY = Scales(fine=DAYS, coarse=YEARS)


def minute_key(moment: datetime) -> str:
    return MINUTES.key(moment)


def hour_key(moment: datetime) -> str:
    return HOURS.key(moment)


def buckets_to_sweep(cursor: datetime, now: datetime, scales: Scales = EXPIRY) -> list[Bucket]:
    """The buckets covering ``[cursor, end of now's fine span)`` without gap or overlap:
    fine spans up to the next coarse one, whole coarse spans while they ended before
    ``now``'s fine span, then fine spans up to and including ``now``'s."""
    fine, coarse = scales.fine, scales.coarse
    current = fine.floor(now)
    at = fine.floor(cursor)
    buckets: list[Bucket] = []
    while at <= current:
        if at == coarse.floor(at) and coarse.step(at) <= current:
            buckets.append(Bucket(coarse, at))
        else:
            buckets.append(Bucket(fine, at))
        at = buckets[-1].end
    return buckets
