"""Facts for the provisioner's domain tests, with readable defaults."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.provisioner.domain.access import Cause, Change, UserAccess, record

T0 = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
USER = 100200300
KEY = uuid.UUID("1b4e28ba-2fa1-4d3b-883f-0016d3cca427")
NEXT_KEY = uuid.UUID("9c0f4d5e-1a2b-4c3d-8e9f-0a1b2c3d4e5f")


def at(days: float = 0) -> datetime:
    return T0 + timedelta(days=days)


def cause(day: float = 0) -> Cause:
    event_id = uuid.uuid4()
    return Cause(event_id, event_id, at(day))


def fold(*changes: Change, access: UserAccess | None = None) -> UserAccess:
    """``changes`` recorded in order, each as a new event."""
    current = access or UserAccess(USER)
    for change in changes:
        current = record(current, change, cause())
    return current
