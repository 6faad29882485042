"""A user's traffic totals per calendar month (UTC), folded from ``TrafficCounted``.

Each node publishes one count per key and window, in the order of its windows, on the
user's partition. A count is taken when its window starts after the last one taken from
that node, so a redelivery, a count published again after a crash, or a replay of the
topic changes nothing, without keeping event ids: the totals stay one small document
(the last :data:`MONTHS_KEPT` months, and one window start per node).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from events.traffic import TrafficCounted

MONTHS_KEPT = 12


@dataclass(frozen=True)
class MonthTraffic:
    month: str
    """``YYYY-MM``, in UTC."""
    uplink: int = 0
    downlink: int = 0

    @property
    def total(self) -> int:
        return self.uplink + self.downlink


@dataclass(frozen=True)
class TrafficTotals:
    telegram_id: int
    months: tuple[MonthTraffic, ...] = ()
    """Oldest first, at most :data:`MONTHS_KEPT`."""
    last_windows: Mapping[str, datetime] = field(default_factory=dict)
    """Per node, the start of the last window counted."""

    def month(self, moment: datetime) -> MonthTraffic:
        """The totals of the month holding ``moment`` (zero when nothing was counted)."""
        name = month_of(moment)
        return next((m for m in self.months if m.month == name), MonthTraffic(name))


def month_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def count(totals: TrafficTotals, counted: TrafficCounted) -> TrafficTotals | None:
    """``totals`` with ``counted`` added to its window's month; None when that node's
    window was counted already (or an older one arrived late)."""
    last = totals.last_windows.get(counted.node)
    if last is not None and counted.window_start <= last:
        return None
    name = month_of(counted.window_start)
    month = totals.month(counted.window_start)
    grown = replace(
        month,
        uplink=month.uplink + counted.uplink_bytes,
        downlink=month.downlink + counted.downlink_bytes,
    )
    months = sorted([*(m for m in totals.months if m.month != name), grown], key=lambda m: m.month)
    return replace(
        totals,
        months=tuple(months[-MONTHS_KEPT:]),
        last_windows={**totals.last_windows, counted.node: counted.window_start},
    )
