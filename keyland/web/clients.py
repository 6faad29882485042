"""One-tap import links: a subscription URL wrapped in each VPN app's own URL scheme, so a
tap on a phone opens the app with the subscription added.

The apps fetch the URL themselves and get their format by ``User-Agent`` (the
provisioner's ``domain/formats``), so every link carries the same URL.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class ImportLink:
    app: str
    url: str


def _encoded(text: str) -> str:
    return quote(text, safe="")


def import_links(subscription_url: str, title: str) -> list[ImportLink]:
    """The import links of ``subscription_url`` (named ``title`` where the app takes a
    name), in the order the page shows them."""
    url, name = _encoded(subscription_url), _encoded(title)
    return [
        # https://github.com/2dust/v2rayNG/blob/master/V2rayNG/app/src/main/java/com/v2ray/ang/ui/UrlSchemeActivity.kt
        ImportLink("v2rayNG", f"v2rayng://install-sub?url={url}#{name}"),
        # https://github.com/hiddify/hiddify-app/wiki/URL-Scheme
        ImportLink("Hiddify", f"hiddify://import/{subscription_url}#{name}"),
        # https://github.com/remnawave/subscription-page/blob/main/frontend/public/assets/app-config.json
        ImportLink("Happ", f"happ://add/{subscription_url}"),
        # https://github.com/DigneZzZ/remnawave-scripts/blob/main/remnawave.sh
        ImportLink("v2RayTun", f"v2raytun://import/{subscription_url}"),
        # https://github.com/remnawave/subscription-page/blob/main/frontend/public/assets/app-config.json
        ImportLink("Streisand", f"streisand://import/{subscription_url}#{name}"),
        # https://github.com/remnawave/subscription-page/blob/main/frontend/public/assets/app-config.json
        ImportLink("Shadowrocket", f"sub://{base64.b64encode(subscription_url.encode()).decode()}"),
        # https://sing-box.sagernet.org/clients/general/
        ImportLink("sing-box", f"sing-box://import-remote-profile?url={url}#{name}"),
        # https://github.com/remnawave/subscription-page/blob/main/frontend/public/assets/app-config.json
        ImportLink("Clash / mihomo", f"clash://install-config?url={url}&name={name}"),
    ]
