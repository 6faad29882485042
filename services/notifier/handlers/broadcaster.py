"""Broadcasts: fan-out to every reachable user at Telegram's ceiling, resumable.

Each delivery is claimed just before its send and finished right after, so a restarted
notifier continues with the pending ones and messages nobody twice; a delivery whose
sender died mid-send is counted *unconfirmed* after the lease (at most once). The admin
sees progress in one message, edited as it goes.

Telegram's ceiling (about 30 messages a second) is the bot's, whatever the number of
notifier instances, so one instance broadcasts at a time: the one whose ``turn`` it is
(see :mod:`keyland.turns`), asked before a broadcast is prepared and before each
delivery. When the holder dies, the next holder carries on with the deliveries still
pending, under the same claims.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from keyland.mongo import Document
from services.notifier.adapters import metrics
from services.notifier.adapters.broadcasts import PENDING, Broadcasts
from services.notifier.adapters.claims import Claims
from services.notifier.adapters.rendering import broadcast_buttons
from services.notifier.adapters.telegram import Outcome, TelegramSender
from services.notifier.adapters.users import Users
from services.notifier.locales import text

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Turn = Callable[[datetime], Awaitable[bool]]


async def always(_: datetime) -> bool:
    """The turn of a notifier that runs alone."""
    return True


class Broadcaster:
    def __init__(
        self,
        broadcasts: Broadcasts,
        claims: Claims,
        users: Users,
        sender: TelegramSender,
        clock: Clock,
        *,
        claim_lease: timedelta,
        senders: int = 8,
        progress_every_s: float = 2.0,
        turn: Turn = always,
    ) -> None:
        self._broadcasts = broadcasts
        self._claims = claims
        self._users = users
        self._sender = sender
        self._clock = clock
        self._lease = claim_lease
        self._senders = senders
        self._progress_every_s = progress_every_s
        self._turn = turn

    async def run_once(self) -> None:
        if not await self._turn(self._clock()):
            return
        for broadcast in await self._broadcasts.unfinished():
            await self._run(broadcast)

    async def _run(self, broadcast: Document) -> None:
        broadcast_id = str(broadcast["_id"])
        if broadcast["status"] == "preparing":
            recipients = await self._users.reachable()
            await self._broadcasts.add_recipients(broadcast_id, recipients)
            progress = await self._sender.send(
                broadcast["admin_id"], self._progress_text({}, len(recipients), False)
            )
            await self._broadcasts.update(
                broadcast_id,
                status="sending",
                total=len(recipients),
                progress_message_id=progress.message_id,
            )
            broadcast = {
                **broadcast,
                "total": len(recipients),
                "progress_message_id": progress.message_id,
            }
        queue: asyncio.Queue[Document] = asyncio.Queue()
        for delivery in await self._broadcasts.pending(broadcast_id, limit=1_000_000):
            queue.put_nowait(delivery)
        workers = [
            asyncio.create_task(self._deliver(broadcast, queue)) for _ in range(self._senders)
        ]
        reporter = asyncio.create_task(self._report(broadcast))
        try:
            await asyncio.gather(*workers)
        finally:
            reporter.cancel()
        counts = await self._broadcasts.counts(broadcast_id)
        if counts[PENDING] == 0:
            await self._broadcasts.update(broadcast_id, status="done", finished_at=self._clock())
            await self._edit_progress(broadcast, done=True)
            log.info("broadcast %s done: %s", broadcast_id, dict(counts))

    async def _deliver(self, broadcast: Document, queue: asyncio.Queue[Document]) -> None:
        buttons = broadcast.get("buttons") or []
        while not queue.empty():
            delivery = queue.get_nowait()
            now = self._clock()
            if not await self._turn(now):
                return  # unclaimed, it stays pending for the instance whose turn it is
            if not await self._claims.claim("delivery", delivery["_id"], now):
                claimed_at = await self._claims.claimed_at("delivery", delivery["_id"])
                if claimed_at is not None and claimed_at < now - self._lease:
                    await self._broadcasts.finish_delivery(delivery["_id"], "unconfirmed", now)
                continue
            recipient, language = delivery["telegram_id"], delivery.get("language_code")
            result = await self._sender.send(
                recipient, broadcast["text"], broadcast_buttons(buttons, language)
            )
            await self._broadcasts.finish_delivery(
                delivery["_id"],
                str(result.outcome),
                self._clock(),
                message_id=result.message_id,
                error=result.error,
            )
            if result.outcome is Outcome.BLOCKED:
                await self._users.mark_blocked(recipient, True, self._clock())

    async def _report(self, broadcast: Document) -> None:
        while True:
            await asyncio.sleep(self._progress_every_s)
            await self._edit_progress(broadcast, done=False)

    async def _edit_progress(self, broadcast: Document, *, done: bool) -> None:
        message_id = broadcast.get("progress_message_id")
        if message_id is None:
            return
        counts = await self._broadcasts.counts(str(broadcast["_id"]))
        for state, count in {**counts, "total": broadcast["total"]}.items():
            metrics.BROADCAST_DELIVERIES.labels(state).set(count)
        await self._sender.edit(
            broadcast["admin_id"], message_id, self._progress_text(counts, broadcast["total"], done)
        )

    @staticmethod
    def _progress_text(counts: dict[str, int], total: int, done: bool) -> str:
        return text(
            "broadcast_progress",
            None,
            sent=counts.get("sent", 0),
            total=total,
            blocked=counts.get("blocked", 0),
            failed=counts.get("failed", 0) + counts.get("unconfirmed", 0),
            done=text("broadcast_done") if done else "",
        )
