"""The subscription page for a browser: what one user's page shows, gathered from the
provisioner's own records and the subscription service's read API, then rendered.

Its cost beyond the VPN clients' path: the same lookups (the user by key id, the key's
applied links, one ``_id`` lookup per node of the key for outages) and one call to the
read API (bounded by ``TRAFFIC_TIMEOUT_S``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from keyland.web.html import Html
from keyland.web.i18n import web_texts
from keyland.web.standing import standing_of
from services.provisioner.adapters.read_api import TrafficTotals
from services.provisioner.adapters.repository import NodeRecords
from services.provisioner.domain.access import UserAccess
from services.provisioner.domain.subscription_page import Profile
from services.provisioner.domain.web_page import PageView, countries_of, render_page


@dataclass(frozen=True)
class SubscriptionPages:
    records: NodeRecords
    traffic: TrafficTotals | None
    profile: Profile
    zone: ZoneInfo

    async def view(
        self, key_id: uuid.UUID, access: UserAccess, url: str, now: datetime
    ) -> PageView:
        active = access.active_at(now)
        links = await self.records.links(key_id) if active else []
        down = await self.records.down(link.node for link in links)
        traffic = None
        if self.traffic is not None:
            traffic = await self.traffic.this_month(access.telegram_id)
        return PageView(
            title=self.profile.title,
            subscription_url=url,
            standing=standing_of(
                access.until,
                active,
                now,
                announce_days=self.profile.announce_days,
                blocked=access.blocked,
            ),
            until=access.until,
            countries=countries_of(links, access.region, down),
            traffic_bytes=None if traffic is None else traffic.total_bytes,
            bot_username=self.profile.bot_username,
        )

    async def page(
        self, key_id: uuid.UUID, access: UserAccess, url: str, language: str, now: datetime
    ) -> Html:
        view = await self.view(key_id, access, url, now)
        return render_page(view, web_texts(), language, self.zone)
