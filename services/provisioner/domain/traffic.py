"""Turning a node's running byte counters into bytes counted per window.

The node agent answers every user's counters since Xray started (never reset, so that
reading them changes nothing). The bytes of a window are the growth since the previous
reading; Xray restarting (its uptime went down) or a counter going down means the
counters began again from zero, and the bytes since then are the counter itself. The
first reading after the provisioner starts only sets the baseline: what came before it
is not known to belong to any window not yet counted.

Windows are fixed slices of time, ``window`` long from the epoch; a node is read at most
once per window, so (node, key, window start) names one count, whatever retries and
restarts happen.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from events import derived_event_id
from events.traffic import TrafficCounted

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Bytes:
    uplink: int = 0
    downlink: int = 0

    def __bool__(self) -> bool:
        return self.uplink > 0 or self.downlink > 0


@dataclass(frozen=True)
class Reading:
    """A node's counters at one moment: Xray's uptime and each key's bytes since then."""

    uptime_s: int
    counters: Mapping[uuid.UUID, Bytes] = field(default_factory=dict)


def window_start(now: datetime, window: timedelta) -> datetime:
    """The start of the window holding ``now``."""
    if window <= timedelta(0):
        raise ValueError(f"a window must last some time, not {window}")
    return now - (now - _EPOCH) % window


def _grown(before: int, after: int) -> int:
    return after - before if after >= before else after


def counted(previous: Reading | None, current: Reading) -> dict[uuid.UUID, Bytes]:
    """Bytes each key moved between ``previous`` and ``current`` (keys that moved none
    are left out; without a previous reading, nothing is counted)."""
    if previous is None:
        return {}
    restarted = current.uptime_s < previous.uptime_s
    moved: dict[uuid.UUID, Bytes] = {}
    for key, now in current.counters.items():
        before = Bytes() if restarted else previous.counters.get(key, Bytes())
        grown = Bytes(_grown(before.uplink, now.uplink), _grown(before.downlink, now.downlink))
        if grown:
            moved[key] = grown
    return moved


def traffic_facts(
    moved: Mapping[uuid.UUID, Bytes],
    owners: Mapping[uuid.UUID, int],
    *,
    country: str,
    node: str,
    start: datetime,
) -> Iterable[tuple[TrafficCounted, uuid.UUID]]:
    """One :class:`TrafficCounted` per key with an owner, with its id from (key, node,
    window start); a key nobody owns (evicted, or a stranger's) is left out."""
    for key, grown in moved.items():
        owner = owners.get(key)
        if owner is None:
            continue
        event = TrafficCounted(
            telegram_id=owner,
            key_id=key,
            country=country,
            node=node,
            window_start=start,
            uplink_bytes=grown.uplink,
            downlink_bytes=grown.downlink,
        )
        yield event, derived_event_id(key, event.event_type, f"{node}|{start.isoformat()}")
