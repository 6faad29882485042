"""Calendar arithmetic for access periods, shared by the subscription rules and the bot's
admin panel (which refuses an adjustment longer than the horizon before sending it)."""

from __future__ import annotations

from calendar import monthrange
from datetime import datetime, timedelta


def add_months(moment: datetime, months: int) -> datetime:
    """Same day and time ``months`` later (or earlier), clamped to the month's last day.

    31 January + 1 month is the last day of February, as a customer would expect.
    """
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))


def extend(start: datetime, months: int = 0, days: int = 0) -> datetime:
    """``start`` plus calendar months, then days."""
    return add_months(start, months) + timedelta(days=days)
