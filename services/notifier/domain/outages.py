"""A country's node down and back, as its users and the admins hear of it.

The provisioner announces a node unreachable past its threshold (``NodeUnreachable``) and
back once it holds every key again (``NodeRecovered``), both under one id per outage. The
users told are those whose chosen region is the node's country and whose access runs:
each once, with a button per healthy region; and once more, the same users, when the
node is back. Who was told is fixed by the first handling of the outage (see
:mod:`..adapters.outages`), so a redelivery or a replay plans the very same notices,
under the same ids, and tells nobody twice. The admins are alerted both ways.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from events import Envelope, Event
from events.keys import NodeRecovered, NodeUnreachable
from services.notifier.domain.notices import Kind, Notice
from services.notifier.domain.profiles import Profile

NodeEvent = NodeUnreachable | NodeRecovered


def outage_key(event: NodeEvent) -> str:
    """One outage of one node: what its announcement and its recovery have in common."""
    return f"{event.node}@{event.since.isoformat()}"


def affected(profiles: Iterable[Profile], country: str, at: datetime) -> list[int]:
    """The users to tell of ``country``'s node: those who chose it and have access at ``at``."""
    return sorted(
        p.telegram_id
        for p in profiles
        if p.region == country and p.registered and p.until is not None and p.until > at
    )


def node_notices(
    envelope: Envelope[Event],
    told: Sequence[int],
    regions: Sequence[str],
    admin_ids: Sequence[int],
) -> list[Notice]:
    """The notices of a node going down or coming back: one to each user ``told`` (on
    the way down, with a button per other region of ``regions``; on the way back, one to
    return), and an alert to each admin."""
    event = envelope.payload
    if not isinstance(event, NodeEvent):
        return []
    down = isinstance(event, NodeUnreachable)
    kind, alert = (
        (Kind.NODE_DOWN, Kind.NODE_DOWN_ALERT) if down else (Kind.NODE_BACK, Kind.NODE_BACK_ALERT)
    )
    buttons = (
        tuple(("region", r) for r in regions if r != event.country)
        if down
        else (("region", event.country),)
    )
    country: dict[str, str | int] = {"country": event.country.capitalize()}
    to_users = [
        Notice(
            f"{envelope.event_id}:{kind}:{user}",
            user,
            kind,
            envelope.occurred_at,
            None,
            country,
            buttons,
        )
        for user in told
    ]
    values: dict[str, str | int] = {
        **country,
        "node": event.node,
        "since": f"{event.since:%d.%m.%Y %H:%M:%S} UTC",
        "users": len(told),
    }
    if isinstance(event, NodeUnreachable):
        values["error"] = event.error or "—"
    to_admins = [
        Notice(
            f"{envelope.event_id}:{alert}:{admin}", admin, alert, envelope.occurred_at, None, values
        )
        for admin in admin_ids
    ]
    return [*to_admins, *to_users]
