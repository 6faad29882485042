"""The notifier's consumer: events become planned notices and broadcasts, and a user
talking to the bot (``UserStarted``, ``UserSeen``) gets what was kept for them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from events import Envelope, Event
from events.admin_commands import BroadcastRequested
from events.bot_actions import UserSeen, UserStarted
from keyland.mongo import Document
from services.notifier.adapters.notices import Notices
from services.notifier.domain.alerts import alerts
from services.notifier.domain.notices import Notice
from services.notifier.domain.planning import plan
from services.notifier.redelivery import Redelivery


class NotifierHandler:
    def __init__(
        self,
        notices: Notices,
        broadcasts: AsyncCollection[Document],
        reminders: Sequence[timedelta],
        regions: Sequence[str],
        *,
        alert_ids: Sequence[int] = (),
        redelivery: Redelivery,
        on_planned: Callable[[list[Notice]], None] = lambda _: None,
    ) -> None:
        self._on_planned = on_planned
        self._notices = notices
        self._broadcasts = broadcasts
        self._reminders = reminders
        self._regions = regions
        self._alert_ids = alert_ids
        self._redelivery = redelivery

    async def __call__(self, envelope: Envelope[Event]) -> None:
        if isinstance(envelope.payload, BroadcastRequested):
            await self._broadcast(envelope.payload, envelope)
            return
        if isinstance(envelope.payload, UserStarted | UserSeen):
            await self._redelivery.user_seen(
                envelope.payload.telegram_id, envelope.occurred_at, datetime.now(UTC)
            )
            return
        planned = [
            *plan(envelope, self._reminders, self._regions),
            *alerts(envelope, self._alert_ids),
        ]
        if planned:
            await self._notices.plan(planned, planned_at=envelope.occurred_at)
            self._on_planned(planned)

    async def _broadcast(self, request: BroadcastRequested, envelope: Envelope[Event]) -> None:
        with contextlib.suppress(DuplicateKeyError):  # redelivered: already there
            await self._broadcasts.insert_one(
                {
                    "_id": str(request.broadcast_id),
                    "admin_id": request.admin_id,
                    "text": request.text,
                    "buttons": list(request.buttons),
                    "status": "preparing",
                    "requested_at": envelope.occurred_at,
                }
            )
