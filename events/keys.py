"""``keys``: what the provisioner did on the country nodes."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import AwareDatetime, Field

from events.base import Event, TelegramId

TOPIC = "keys"


class _NodeKeyEvent(Event):
    telegram_id: TelegramId = Field(gt=0)
    key_id: uuid.UUID
    country: str = Field(min_length=1)
    node: str = Field(min_length=1, description="host:port of the node agent")


class KeyActivated(_NodeKeyEvent):
    """The user's key works on this node; ``link`` is their connection link there."""

    event_type: ClassVar[str] = "KeyActivated"
    topic: ClassVar[str] = TOPIC

    link: str = Field(min_length=1)


class KeyDeactivated(_NodeKeyEvent):
    """The user's key no longer admits new connections on this node."""

    event_type: ClassVar[str] = "KeyDeactivated"
    topic: ClassVar[str] = TOPIC


class KeyDeleted(_NodeKeyEvent):
    """The user's key is gone from this node (purge)."""

    event_type: ClassVar[str] = "KeyDeleted"
    topic: ClassVar[str] = TOPIC


class NodeUnreachable(Event):
    """A node did not answer; the provisioner keeps retrying."""

    event_type: ClassVar[str] = "NodeUnreachable"
    topic: ClassVar[str] = TOPIC

    country: str = Field(min_length=1)
    node: str = Field(min_length=1)
    error: str
    since: AwareDatetime

    def partition_key(self) -> str:
        return self.node


class NodeRecovered(Event):
    """A node announced unreachable answers again and holds every key it should: the
    first full comparison after the outage found it in line (``since``: the outage's
    start, as its :class:`NodeUnreachable` said)."""

    event_type: ClassVar[str] = "NodeRecovered"
    topic: ClassVar[str] = TOPIC

    country: str = Field(min_length=1)
    node: str = Field(min_length=1)
    since: AwareDatetime
    back_at: AwareDatetime

    def partition_key(self) -> str:
        return self.node


class NodeLoadReported(Event):
    """A node's load over the agent's last measuring interval, read once a ``minute``
    (``GET /v1/load``): the history behind ``keyland capacity``."""

    event_type: ClassVar[str] = "NodeLoadReported"
    topic: ClassVar[str] = TOPIC

    country: str = Field(min_length=1)
    node: str = Field(min_length=1)
    minute: AwareDatetime
    cpu_cores: float = Field(ge=0, description="CPU Xray used, in cores")
    memory_bytes: int = Field(ge=0, description="Xray's resident memory")
    throughput_bps: float = Field(ge=0, description="users' bytes per second, both directions")
    connections: int = Field(ge=0, description="open VLESS connections")
    online_users: int = Field(ge=0, description="users whose traffic moved")
    host_cpu_cores: int = Field(gt=0)
    host_memory_bytes: int = Field(gt=0)

    def partition_key(self) -> str:
        return self.node
