"""The background loop that notices an Xray restart and re-applies every enabled user.

Xray keeps API-added users in memory only, so after a restart (systemd, a crash, an
operator) its inbound is empty. Every ``interval_s`` the watcher asks Xray for its users
and reconciles them with the record; it also logs what it noticed: Xray unreachable,
reachable again, or restarted (its uptime went down).
"""

from __future__ import annotations

import asyncio
import logging

from services.node_agent.adapters.xray_api import XrayRejected, XrayUnavailable
from services.node_agent.handlers import NodeUsers

log = logging.getLogger(__name__)


class XrayWatcher:
    """Keeps Xray's users equal to the record, without being asked."""

    def __init__(self, users: NodeUsers, interval_s: float) -> None:
        self.users = users
        self.interval_s = interval_s
        self._last_uptime_s: int | None = None
        self._reachable = True

    async def run(self) -> None:
        """Check forever; cancel the task to stop."""
        while True:
            await self.check()
            await asyncio.sleep(self.interval_s)

    async def check(self) -> None:
        """One look at Xray: note a restart or an outage, then reconcile."""
        try:
            uptime_s = await self.users.xray_uptime_s()
            self._note_restart(uptime_s)
            changes = await self.users.reconcile()
        except XrayUnavailable as error:
            if self._reachable:
                log.warning("Xray unreachable (%s); will re-apply users when it is back", error)
            self._reachable = False
            return
        except XrayRejected:
            log.exception("Xray refused a reconciliation step; retrying next round")
            return
        if changes:
            log.warning(
                "reconciled Xray with the record: added %d users, removed %d",
                len(changes.to_add),
                len(changes.to_remove),
            )

    def _note_restart(self, uptime_s: int) -> None:
        if not self._reachable:
            log.warning("Xray reachable again (up %d s)", uptime_s)
        elif self._last_uptime_s is not None and uptime_s < self._last_uptime_s:
            log.warning("Xray restarted (up %d s, was %d s)", uptime_s, self._last_uptime_s)
        self._reachable = True
        self._last_uptime_s = uptime_s
