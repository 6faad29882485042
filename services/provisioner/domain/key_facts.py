"""What a node round tells ``keys``: each fact and its id.

Ids are derived from what the fact is about, never from when it was seen, so a round
repeated after a crash, a reconciliation or a replay publishes the same fact under the
same id: a key's activation and deactivation from (key, node, ``until``), its deletion
from (key, node), a node's outage and its recovery from (node, outage start), its load
from (node, minute).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from events import Event, derived_event_id, external_event_id
from events.keys import (
    KeyActivated,
    KeyDeactivated,
    KeyDeleted,
    NodeLoadReported,
    NodeRecovered,
    NodeUnreachable,
)
from services.provisioner.domain.access import KeyState
from services.provisioner.domain.plan import Wanted

PRODUCER = "provisioner"


def key_fact(want: Wanted, country: str, node: str, link: str | None) -> tuple[Event, uuid.UUID]:
    """The fact of ``want`` done on ``node`` (``link``: the key's link there, once enabled)."""
    until = want.until.isoformat() if want.until else "-"
    tg, key = want.telegram_id, want.key_id
    event: Event
    if want.state is KeyState.ENABLED:
        assert link is not None
        event = KeyActivated(telegram_id=tg, key_id=key, country=country, node=node, link=link)
        discriminator = f"{node}|{until}"
    elif want.state is KeyState.DISABLED:
        event = KeyDeactivated(telegram_id=tg, key_id=key, country=country, node=node)
        discriminator = f"{node}|{until}"
    else:
        event = KeyDeleted(telegram_id=tg, key_id=key, country=country, node=node)
        discriminator = node
    return event, derived_event_id(key, event.event_type, discriminator)


def outage_fact(
    country: str, node: str, error: str, since: datetime
) -> tuple[NodeUnreachable, uuid.UUID]:
    """The announcement that ``node`` has not answered since ``since``."""
    event = NodeUnreachable(country=country, node=node, error=error[:500], since=since)
    event_id = external_event_id(PRODUCER, f"{node}@{since.isoformat()}", event.event_type)
    return event, event_id


def recovery_fact(
    country: str, node: str, since: datetime, back_at: datetime
) -> tuple[NodeRecovered, uuid.UUID]:
    """The news that ``node``, unreachable since ``since``, is back and in line: one id
    per outage, whenever it is seen to end."""
    event = NodeRecovered(country=country, node=node, since=since, back_at=back_at)
    event_id = external_event_id(PRODUCER, f"{node}@{since.isoformat()}", event.event_type)
    return event, event_id


def load_fact(
    country: str, node: str, minute: datetime, figures: dict[str, Any]
) -> tuple[NodeLoadReported, uuid.UUID]:
    """The node's load as its agent measured it, reported for ``minute`` (one a minute);
    ``ValueError`` (pydantic's) when the agent's figures are not a load."""
    event = NodeLoadReported.model_validate(
        {**figures, "country": country, "node": node, "minute": minute}
    )
    event_id = external_event_id(PRODUCER, f"{node}@{minute.isoformat()}", event.event_type)
    return event, event_id
