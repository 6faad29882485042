"""``/sub/{token}`` opened in a browser: the subscription page, in the browser's language
(``Accept-Language``), with a policy that lets it load nothing from anywhere else."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from keyland.web.copy import COPY_SCRIPT
from keyland.web.html import content_security_policy
from keyland.web.i18n import preferred_language
from services.provisioner.bootstrap import ApiContainer
from services.provisioner.domain.access import UserAccess
from services.provisioner.domain.subscription_page import Profile
from services.provisioner.handlers.web_page import SubscriptionPages

HEADERS = {
    "cache-control": "no-store",
    "content-security-policy": content_security_policy(scripts=[COPY_SCRIPT]),
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "vary": "User-Agent, Accept, Accept-Language",
}


class BrowserPage:
    """Answers a browser at a genuine token whose user is known."""

    def __init__(self, container: ApiContainer, profile: Profile) -> None:
        settings = container.settings
        self._base = f"{settings.public_url.rstrip('/')}/sub/"
        self._pages = SubscriptionPages(
            container.records, container.traffic, profile, settings.zone
        )

    async def __call__(self, request: Request, key_id: uuid.UUID, access: UserAccess) -> Response:
        url = self._base + request.path_params["token"]
        language = preferred_language(request.headers.get("accept-language"))
        page = await self._pages.page(key_id, access, url, language, datetime.now(UTC))
        return HTMLResponse(page, headers={**HEADERS, "content-language": language})
