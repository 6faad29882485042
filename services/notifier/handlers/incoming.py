"""The notifier's consumer: events become users' profiles, planned notices and
broadcasts, and a user talking to the bot (``UserStarted``, ``UserSeen``) gets what was
kept for them. A node down or back (``keys``) is told to the users of its region and
the admins (:mod:`..domain.outages`).

A batch of records is applied with the fewest round trips. First each user's profile
(:mod:`.domain.profiles`) learns from the batch's events: users side by side, per user
one read by ``_id`` and, if it changed, one whole-document write, whatever the number
of their events in the batch; before any notice of the batch is offered for sending, so
a send due at once sees the access end its own event set. A user these events place on
an open outage's list, though the notifier learnt of them after its announcement, is
told of it too (one indexed read of the open outages per batch that taught a profile a
region and access; see :mod:`..domain.outages`). Then every notice the batch
plans is written in one unordered insert (those stored already, from a redelivery, are
left alone), then each user's visits run in order, users side by side. Planning writes
only ``notices``; a visit reads and writes only ``pending_notices``, ``recipients`` and
the claims and outcomes of kept notices: no outcome depends on the order between the
two, so writing the batch's notices first keeps each user's order where it matters.
Every step is idempotent (profiles learn the same twice, unique notice ids, claimed
sends), so a batch applied again, whole or record by record (see
:mod:`keyland.kafka.batches`), changes nothing more.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from events import Envelope, Event
from events.admin_commands import BroadcastRequested
from events.bot_actions import UserSeen, UserStarted
from events.keys import NodeRecovered, NodeUnreachable
from keyland.kafka.batches import side_by_side
from services.notifier.adapters.broadcasts import Broadcasts
from services.notifier.adapters.notices import Notices
from services.notifier.adapters.outages import Outages
from services.notifier.adapters.users import Users, as_stored
from services.notifier.domain.alerts import alerts
from services.notifier.domain.notices import Notice
from services.notifier.domain.outages import (
    NodeEvent,
    OpenOutage,
    affected,
    down_notice,
    joins,
    node_notices,
    outage_key,
    standing,
)
from services.notifier.domain.planning import plan
from services.notifier.domain.profiles import LEARNT_FROM, Profile, learn
from services.notifier.handlers.redelivery import Redelivery


class NotifierHandler:
    def __init__(
        self,
        notices: Notices,
        users: Users,
        broadcasts: Broadcasts,
        reminders: Sequence[timedelta],
        regions: Sequence[str],
        *,
        alert_ids: Sequence[int] = (),
        redelivery: Redelivery,
        outages: Outages,
        on_planned: Callable[[list[Notice]], None] = lambda _: None,
    ) -> None:
        self._on_planned = on_planned
        self._notices = notices
        self._users = users
        self._broadcasts = broadcasts
        self._reminders = reminders
        self._regions = regions
        self._alert_ids = alert_ids
        self._redelivery = redelivery
        self._outages = outages

    async def __call__(self, envelope: Envelope[Event]) -> None:
        await self.handle_batch([envelope])

    async def handle_batch(self, envelopes: Sequence[Envelope[Event]]) -> None:
        planned: list[tuple[Notice, datetime]] = []
        visits: dict[int, list[Envelope[Event]]] = defaultdict(list)
        learnt: dict[int, list[Envelope[Event]]] = defaultdict(list)
        for envelope in envelopes:
            payload = envelope.payload
            if isinstance(payload, LEARNT_FROM):
                learnt[int(payload.partition_key())].append(envelope)
            if isinstance(payload, BroadcastRequested):
                await self._broadcast(payload, envelope)  # an admin's, rare
            elif isinstance(payload, UserStarted | UserSeen):
                visits[payload.telegram_id].append(envelope)
            elif isinstance(payload, NodeEvent):
                notices = await self._node_notices(payload, envelope)  # rare
                planned += [(notice, envelope.occurred_at) for notice in notices]
            else:
                notices = [
                    *plan(envelope, self._reminders, self._regions),
                    *alerts(envelope, self._alert_ids),
                ]
                planned += [(notice, envelope.occurred_at) for notice in notices]
        histories = await side_by_side(learnt.items(), lambda item: self._learn(*item))
        joined = await self._late_joiners(dict(zip(learnt, histories, strict=True)))
        planned += [
            (
                down_notice(o.event_id, o.announced_at, o.country, user, self._regions),
                o.announced_at,
            )
            for o, users in joined.items()
            for user in users
        ]
        if planned:
            await self._notices.plan(planned)
            self._on_planned([notice for notice, _ in planned])
        for outage, users in joined.items():  # after their notices: a retry finds them again
            await self._outages.join(outage.key, users)
        # Every user's visits end before a failure is raised: a retry of the batch must
        # never overlap a send still under way for the same user.
        outcomes = await asyncio.gather(
            *(self._visits(seen) for seen in visits.values()), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _node_notices(self, event: NodeEvent, envelope: Envelope[Event]) -> list[Notice]:
        """Who is told of a node outage is fixed when it is announced; its end goes to
        the same users (nobody, when its announcement was never handled)."""
        outage = outage_key(event)
        if isinstance(event, NodeRecovered):
            told = await self._outages.close(outage)
        else:
            told = await self._outages.told(outage)
        if told is None and isinstance(event, NodeUnreachable):
            at = envelope.occurred_at
            candidates = affected(await self._users.in_region(event.country), event.country, at)
            announced = OpenOutage(
                outage, event.country, str(envelope.event_id), at, frozenset(candidates)
            )
            told = await self._outages.fix_told(announced, datetime.now(UTC))
        return node_notices(envelope, told or [], self._regions, self._alert_ids)

    async def _late_joiners(
        self, learnt: dict[int, list[tuple[datetime, Profile]]]
    ) -> dict[OpenOutage, list[int]]:
        """The users this batch's events place on an open outage's list (see
        :func:`..domain.outages.joins`). One indexed read, and only when an event moved a
        profile to a region and access: nothing else can join."""
        if not any(p.region and p.until for history in learnt.values() for _, p in history):
            return {}
        joined = {
            outage: [
                user
                for user, history in learnt.items()
                if user not in outage.told and joins(outage, history)
            ]
            for outage in await self._outages.open()
        }
        return {outage: users for outage, users in joined.items() if users}

    async def _learn(
        self, telegram_id: int, envelopes: list[Envelope[Event]]
    ) -> list[tuple[datetime, Profile]]:
        """Learn the user's events; the time of each that moved the user's standing
        toward outages, with the profile it left (what :meth:`_late_joiners` judges)."""
        loaded = profile = await self._users.profile(telegram_id)
        history = []
        for envelope in envelopes:
            learnt = learn(profile, envelope.payload, envelope.occurred_at)
            if standing(learnt) != standing(profile):
                history.append((envelope.occurred_at, learnt))
            profile = learnt
        if as_stored(profile) != loaded:
            await self._users.save_profile(profile)
        return history

    async def _visits(self, seen: list[Envelope[Event]]) -> None:
        for envelope in seen:
            assert isinstance(envelope.payload, UserStarted | UserSeen)
            await self._redelivery.user_seen(
                envelope.payload.telegram_id, envelope.occurred_at, datetime.now(UTC)
            )

    async def _broadcast(self, request: BroadcastRequested, envelope: Envelope[Event]) -> None:
        await self._broadcasts.request(
            str(request.broadcast_id),
            request.admin_id,
            request.text,
            list(request.buttons),
            envelope.occurred_at,
        )
