"""Where a user stands, as every web page of ours says it (the subscription page, the Mini
App cabinet) and as the ``announce`` header says it to VPN clients. Pure."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class Standing(StrEnum):
    ACTIVE = "active"
    ENDS_SOON = "ends_soon"
    ENDED = "ended"
    SUSPENDED = "suspended"
    NEVER = "never"  # registered, never had access


def standing_of(
    until: datetime | None, active: bool, now: datetime, *, announce_days: int, blocked: bool
) -> Standing:
    """Where the user stands, as the ``announce`` header says it to VPN clients: suspended
    by an admin; without access (never had any, or ended: past ``until`` or ended early by
    an expiry); ending within ``announce_days``; else active."""
    if blocked:
        return Standing.SUSPENDED
    if until is None:
        return Standing.NEVER
    if not active:
        return Standing.ENDED
    if until - now <= timedelta(days=announce_days):
        return Standing.ENDS_SOON
    return Standing.ACTIVE
