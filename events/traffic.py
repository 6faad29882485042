"""``traffic``: bytes the users moved through the nodes, counted per window."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import AwareDatetime, Field

from events.base import Event, TelegramId

TOPIC = "traffic"


class TrafficCounted(Event):
    """``telegram_id``'s key moved these bytes through ``node`` in the window that starts
    at ``window_start`` (one event per node, key and window; a window without traffic
    has none). Counted from the node's Xray counters, which are never reset: the bytes
    are the growth since the previous window's reading."""

    event_type: ClassVar[str] = "TrafficCounted"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    key_id: uuid.UUID
    country: str = Field(min_length=1)
    node: str = Field(min_length=1, description="host:port of the node agent")
    window_start: AwareDatetime
    uplink_bytes: int = Field(ge=0)
    downlink_bytes: int = Field(ge=0)
