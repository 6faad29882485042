"""A country's node down and back, as its users and the admins hear of it.

The provisioner announces a node unreachable past its threshold (``NodeUnreachable``) and
back once it holds every key again (``NodeRecovered``), both under one id per outage. The
users told are those whose chosen region is the node's country and whose access runs:
each once, with a button per healthy region; and once more, the same users, when the
node is back. Who was told is fixed by the first handling of the outage (see
:mod:`..adapters.outages`), so a redelivery or a replay plans the very same notices,
under the same ids, and tells nobody twice. The admins are alerted both ways.

"Whose access runs" is judged at the announcement's time, by event time. The notifier
reads several topics, each partition at its own pace: a payment made before the node was
announced down may reach it after the announcement. Such a user joins the outage's list
when their profile learns it (:func:`joins`), and hears the same notice, under the same
id, as if they had been counted at once. A user who chose the region or paid after the
announcement is not told.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from events import Envelope, Event
from events.keys import NodeRecovered, NodeUnreachable
from services.notifier.domain.notices import Kind, Notice
from services.notifier.domain.profiles import Profile

NodeEvent = NodeUnreachable | NodeRecovered


@dataclass(frozen=True)
class OpenOutage:
    """An outage announced and not over yet, as the notifier recorded its announcement."""

    key: str
    country: str
    event_id: str
    """The announcement's event id: a late joiner's notice is keyed by it too."""
    announced_at: datetime
    told: frozenset[int]


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


def standing(profile: Profile) -> tuple[bool, str | None, datetime | None]:
    """What decides whether a user is told of an outage (see :func:`affected`)."""
    return profile.registered, profile.region, profile.until


def joins(outage: OpenOutage, learnt: Sequence[tuple[datetime, Profile]]) -> bool:
    """Whether a user not told of ``outage`` yet should be: one of the events just learnt
    of them that moved their :func:`standing` (each with the profile it left), which
    happened before the announcement, left them in its country with access running then.
    An event that moved nothing leaves them as the one before did, judged already."""
    at = outage.announced_at
    return any(
        happened <= at and affected([profile], outage.country, at) for happened, profile in learnt
    )


def down_notice(
    event_id: str, announced_at: datetime, country: str, user: int, regions: Sequence[str]
) -> Notice:
    """The notice to ``user`` that ``country``'s node is down, with a button per other
    region of ``regions``."""
    return Notice(
        f"{event_id}:{Kind.NODE_DOWN}:{user}",
        user,
        Kind.NODE_DOWN,
        announced_at,
        None,
        {"country": country.capitalize()},
        tuple(("region", r) for r in regions if r != country),
    )


def back_notice(event_id: str, back_at: datetime, country: str, user: int) -> Notice:
    """The notice to ``user`` that ``country``'s node works again, with a button back."""
    return Notice(
        f"{event_id}:{Kind.NODE_BACK}:{user}",
        user,
        Kind.NODE_BACK,
        back_at,
        None,
        {"country": country.capitalize()},
        (("region", country),),
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
    alert = Kind.NODE_DOWN_ALERT if down else Kind.NODE_BACK_ALERT
    event_id, at = str(envelope.event_id), envelope.occurred_at
    to_users = [
        down_notice(event_id, at, event.country, user, regions)
        if down
        else back_notice(event_id, at, event.country, user)
        for user in told
    ]
    values: dict[str, str | int] = {
        "country": event.country.capitalize(),
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
