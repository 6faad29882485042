"""A node's load between two looks at it (pure): CPU in cores, memory, bytes per second
through Xray, open VLESS connections and the users whose traffic moved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Snapshot:
    """Counters read at one moment: ``at_s`` on a monotonic clock, Xray's CPU seconds since
    it started, its resident memory, its open VLESS connections and each user's bytes."""

    at_s: float
    cpu_seconds: float
    memory_bytes: int
    connections: int
    user_bytes: Mapping[str, int]


@dataclass(frozen=True)
class Load:
    cpu_cores: float
    memory_bytes: int
    throughput_bps: float
    connections: int
    online_users: int

    def as_json(self) -> dict[str, float | int]:
        return {
            "cpu_cores": round(self.cpu_cores, 4),
            "memory_bytes": self.memory_bytes,
            "throughput_bps": round(self.throughput_bps, 1),
            "connections": self.connections,
            "online_users": self.online_users,
        }


def _moved(before: int | None, after: int) -> int:
    """Bytes counted between the looks; a counter that went down restarted from zero."""
    if before is None or after < before:
        return after
    return after - before


def load_between(before: Snapshot, after: Snapshot) -> Load:
    """The load over the interval; ``ValueError`` unless ``after`` is later than ``before``."""
    elapsed = after.at_s - before.at_s
    if elapsed <= 0:
        raise ValueError("the second look must come after the first")
    moved = {
        user: _moved(before.user_bytes.get(user), count) for user, count in after.user_bytes.items()
    }
    cpu = after.cpu_seconds - before.cpu_seconds
    return Load(
        cpu_cores=max(cpu, 0.0) / elapsed,  # Xray restarted: its CPU time began again
        memory_bytes=after.memory_bytes,
        throughput_bps=sum(moved.values()) / elapsed,
        connections=after.connections,
        online_users=sum(1 for count in moved.values() if count > 0),
    )
