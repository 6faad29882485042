"""When the worker's timer runs the cleanup (see :mod:`..handlers.cleanup_timer`).

The timer ticks often; each tick asks :func:`is_due` of the last finished run, stored in
the database, so a worker restarted more often than the interval still runs it on time.
"""

from __future__ import annotations

from datetime import datetime, timedelta


def is_due(last_run: datetime | None, now: datetime, interval: timedelta) -> bool:
    """Whether a cleanup is due at ``now``: at least ``interval`` after the last finished
    run, or at once when none was ever stored (a new database, or one the old start-relative
    timer ran on: waiting a whole interval there would postpone a cleanup that is overdue)."""
    return last_run is None or now - last_run >= interval


def abandoned(claimed_at: datetime, now: datetime, lease: timedelta) -> bool:
    """Whether a claim on a run taken at ``claimed_at`` is given up on at ``now``: its
    worker died before finishing (a run takes far less than ``lease``), so another may
    take the run over."""
    return now - claimed_at >= lease
