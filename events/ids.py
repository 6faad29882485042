"""Deterministic event ids, so a redelivered cause yields the same id downstream."""

from __future__ import annotations

import uuid

# Fixed forever: changing it would make replays produce new ids.
KEYLAND_NAMESPACE = uuid.UUID("6f1c3a52-8d0e-5b7a-9c44-2e4b1f0d9a61")


def external_event_id(source: str, external_id: str, event_type: str) -> uuid.UUID:
    """Id of an event caused by the outside world, e.g. ``("yookassa", payment_id, ...)``."""
    return uuid.uuid5(KEYLAND_NAMESPACE, f"{source}:{external_id}:{event_type}")


def derived_event_id(cause: uuid.UUID, event_type: str, discriminator: str = "") -> uuid.UUID:
    """Id of an event emitted because of ``cause``; the same cause gives the same id."""
    return uuid.uuid5(cause, f"{event_type}:{discriminator}")
