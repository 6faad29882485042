"""Per-user byte counters, read from Xray's stats names.

Xray names a user's counters ``user>>>{email}>>>traffic>>>uplink`` and ``...>>>downlink``;
every Keyland user's email is its key id. Counters count from Xray's start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.node_agent.domain.keys import KeyId, MalformedKeyId, parse_key_id

USER_STATS_PREFIX = "user>>>"
_TRAFFIC = ">>>traffic>>>"


@dataclass(frozen=True)
class Traffic:
    """Bytes through Xray for one user since Xray started."""

    uplink: int = 0
    downlink: int = 0


def traffic_by_key(stats: Iterable[tuple[str, int]]) -> dict[KeyId, Traffic]:
    """Each user's counters from ``(stat name, value)`` pairs; names that are not a
    Keyland user's traffic counter are left out."""
    counters: dict[KeyId, dict[str, int]] = {}
    for name, value in stats:
        email, separator, direction = name.removeprefix(USER_STATS_PREFIX).partition(_TRAFFIC)
        if not name.startswith(USER_STATS_PREFIX) or not separator:
            continue
        if direction not in ("uplink", "downlink"):
            continue
        try:
            key_id = parse_key_id(email)
        except MalformedKeyId:
            continue
        counters.setdefault(key_id, {})[direction] = max(0, int(value))
    return {
        key: Traffic(uplink=c.get("uplink", 0), downlink=c.get("downlink", 0))
        for key, c in counters.items()
    }
