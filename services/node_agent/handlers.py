"""What the node agent does for each request, and how it brings Xray back in line.

The durable record is the truth. A change is written to the record first and then to
Xray, and every change (requests and reconciliation alike) holds one lock, so a
reconciliation never acts on a record that a request is halfway through changing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field

from services.node_agent.adapters.connections import ConnectionCutter, CutFailed
from services.node_agent.adapters.user_store import UserStore
from services.node_agent.adapters.xray_api import XrayApi, XrayRejected
from services.node_agent.domain.batch import Batch
from services.node_agent.domain.keys import KeyId
from services.node_agent.domain.links import LinkTemplate, connection_link
from services.node_agent.domain.reconcile import Changes, changes_needed
from services.node_agent.domain.traffic import Traffic

log = logging.getLogger(__name__)

# Xray calls of one batch in flight at once: a batch of hundreds takes a few round trips
# time instead of hundreds, without flooding Xray's API.
XRAY_CALLS_AT_ONCE = 16


@dataclass(frozen=True)
class BatchResult:
    """Per key: its link (enabled), disabled, or why Xray refused it."""

    links: dict[KeyId, str] = field(default_factory=dict)
    disabled: tuple[KeyId, ...] = ()
    refused: dict[KeyId, str] = field(default_factory=dict)


class NodeUsers:
    """The users of this node, kept identical in the record and in Xray."""

    def __init__(
        self,
        xray: XrayApi,
        store: UserStore,
        links: LinkTemplate,
        connections: ConnectionCutter | None = None,
    ) -> None:
        self.xray = xray
        self.store = store
        self.links = links
        self.connections = connections
        self._lock = asyncio.Lock()

    async def enable(self, key_id: KeyId) -> str:
        """Enable ``key_id`` (idempotent) and answer its connection link for this node.

        When Xray is unreachable the key stays recorded and :class:`XrayUnavailable`
        propagates; the watcher applies the key as soon as Xray answers again.
        """
        result = await self.apply(Batch(enable=(key_id,)))
        if key_id in result.refused:
            raise XrayRejected(result.refused[key_id])
        return result.links[key_id]

    async def disable(self, key_id: KeyId) -> None:
        """Disable ``key_id`` (idempotent): no new connection is accepted after this, and
        its open connections are ended (when the agent knows Xray's access log)."""
        result = await self.apply(Batch(disable=(key_id,)))
        if key_id in result.refused:
            raise XrayRejected(result.refused[key_id])

    async def apply(self, batch: Batch) -> BatchResult:
        """Enable and disable many keys (idempotent), recorded in one transaction.

        A key Xray refuses is answered as refused and the others still apply; the record
        keeps it as asked, so the watcher retries it. Xray unreachable raises
        :class:`XrayUnavailable` once every call of the batch ended, as :meth:`enable`.
        """
        async with self._lock:
            self.store.change(batch.enable, batch.disable)
            calls: dict[KeyId, Awaitable[None]] = {
                **{key: self.xray.add_user(key) for key in batch.enable},
                **{key: self.xray.remove_user(key) for key in batch.disable},
            }
            outcomes = await _bounded(list(calls.values()), XRAY_CALLS_AT_ONCE)
            refused: dict[KeyId, str] = {}
            for key, outcome in zip(calls, outcomes, strict=True):
                if isinstance(outcome, XrayRejected):
                    refused[key] = str(outcome)
                elif isinstance(outcome, BaseException):
                    raise outcome
            disabled = tuple(key for key in batch.disable if key not in refused)
            await self._end_connections(list(disabled))
        return BatchResult(
            links={
                key: connection_link(key, self.links) for key in batch.enable if key not in refused
            },
            disabled=disabled,
            refused=refused,
        )

    def enabled(self) -> list[KeyId]:
        return self.store.all()

    def is_enabled(self, key_id: KeyId) -> bool:
        return key_id in self.store

    async def traffic(self, key_id: KeyId) -> Traffic:
        return await self.xray.traffic(key_id)

    async def traffic_of_all(self) -> dict[KeyId, Traffic]:
        return await self.xray.traffic_of_all()

    async def xray_uptime_s(self) -> int:
        return await self.xray.uptime_s()

    async def reconcile(self) -> Changes:
        """Add recorded users missing from Xray, remove users the record does not hold,
        and end the open connections of users the record does not hold."""
        async with self._lock:
            changes = changes_needed(self.store.all(), await self.xray.users())
            for key_id in changes.to_add:
                await self.xray.add_user(key_id)
            for email in changes.to_remove:
                await self.xray.remove_user(email)
            await self._end_unrecorded_connections()
        return changes

    async def _end_unrecorded_connections(self) -> None:
        if self.connections is None:
            return
        try:
            ended = await self.connections.cut_all_but(list(self.store.all()))
        except CutFailed:
            log.exception("could not end the connections of disabled users")
            return
        if ended:
            log.warning("ended %d connections of users the record does not hold", ended)

    async def _end_connections(self, emails: list[str]) -> None:
        """Best effort: a failure leaves the connections to Xray's idle timeout."""
        if self.connections is None or not emails:
            return
        try:
            await self.connections.cut(emails)
        except CutFailed:
            log.exception("could not end the connections of %d disabled users", len(emails))


async def _bounded(calls: list[Awaitable[None]], at_once: int) -> list[BaseException | None]:
    """Await ``calls``, at most ``at_once`` at a time; each one's exception or None."""
    gate = asyncio.Semaphore(at_once)

    async def one(call: Awaitable[None]) -> None:
        async with gate:
            await call

    return await asyncio.gather(*(one(c) for c in calls), return_exceptions=True)
