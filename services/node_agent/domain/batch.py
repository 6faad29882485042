"""Many users' changes in one request (``PATCH /v1/users``), checked before anything moves.

The provisioner sends every change a node needs in one call rather than one call per
user. A batch is all or nothing at the door: one malformed key id, an unknown field, a
key both enabled and disabled, or more than :data:`MAX_KEYS` keys refuses the whole
request, and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.node_agent.domain.keys import KeyId, MalformedKeyId, parse_key_id

MAX_KEYS = 1000  # bounds the request, and how long one batch holds the agent's lock
_FIELDS = frozenset({"enable", "disable"})


class MalformedBatch(ValueError):
    """The body is not a batch this agent can apply; the message says why."""


@dataclass(frozen=True)
class Batch:
    """Keys to enable and keys to disable, each once, in the order given."""

    enable: tuple[KeyId, ...] = ()
    disable: tuple[KeyId, ...] = ()


def _keys(body: dict[str, Any], field: str) -> tuple[KeyId, ...]:
    given = body.get(field, [])
    if not isinstance(given, list) or not all(isinstance(k, str) for k in given):
        raise MalformedBatch(f"{field!r} must be a list of key ids")
    try:
        return tuple(dict.fromkeys(parse_key_id(k) for k in given))
    except MalformedKeyId as error:
        raise MalformedBatch(f"{field!r}: {error}") from error


def parse_batch(body: object) -> Batch:
    """The batch in ``body`` (decoded JSON), or :class:`MalformedBatch`."""
    if not isinstance(body, dict):
        raise MalformedBatch('expected {"enable": [key ids], "disable": [key ids]}')
    unknown = sorted(str(k) for k in body if k not in _FIELDS)
    if unknown:
        raise MalformedBatch(f"unknown fields {unknown}")
    batch = Batch(_keys(body, "enable"), _keys(body, "disable"))
    both = set(batch.enable) & set(batch.disable)
    if both:
        raise MalformedBatch(f"enabled and disabled at once: {sorted(both)[:5]}")
    if len(batch.enable) + len(batch.disable) > MAX_KEYS:
        raise MalformedBatch(f"more than {MAX_KEYS} keys in one batch")
    return batch
