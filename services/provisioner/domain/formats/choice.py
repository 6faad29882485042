"""Which format a VPN client gets: ``?format=`` when given, else its ``User-Agent``."""

from __future__ import annotations

import re
from enum import StrEnum


class Format(StrEnum):
    BASE64 = "base64"  # share links, one per line, then base64 (v2rayN's convention)
    CLASH = "clash"  # Clash / mihomo YAML
    SING_BOX = "sing-box"  # sing-box JSON
    XRAY = "xray"  # Xray JSON: one whole client config per server


class UnknownFormat(ValueError):
    """``?format=`` names no format we serve."""

    def __init__(self, requested: str) -> None:
        names = ", ".join(f.value for f in Format)
        super().__init__(f"unknown format {requested!r}; one of: {names}")


# Checked in this order, first match wins. The share-link apps come first: Hiddify's
# agent also says "ClashMeta" and "sing-box" ("HiddifyNext/2.5 (android) like ClashMeta
# v2ray sing-box"), and FlClash says "clash-verge".
_AGENTS: tuple[tuple[re.Pattern[str], Format], ...] = (
    (re.compile(r"v2rayng|v2raytun|hiddify|happ|streisand|shadowrocket"), Format.BASE64),
    (re.compile(r"clash|mihomo|stash"), Format.CLASH),
    (re.compile(r"sing-box|^sf[aimt]/"), Format.SING_BOX),
)


def format_for(user_agent: str, requested: str | None = None) -> Format:
    """The format to answer with: ``requested`` (``?format=``) wins over the agent, and
    an unknown agent gets share links; :class:`UnknownFormat` for a format we lack."""
    if requested is not None:
        try:
            return Format(requested.strip().lower())
        except ValueError:
            raise UnknownFormat(requested) from None
    agent = user_agent.lower()
    for pattern, chosen in _AGENTS:
        if pattern.search(agent):
            return chosen
    return Format.BASE64


def wants_page(user_agent: str, accept: str, requested: str | None = None) -> bool:
    """Whether to answer with the HTML page rather than a format: a browser (its agent
    says ``Mozilla/`` and names none of the VPN apps) that accepts ``text/html``, and no
    ``?format=`` asked. VPN apps that borrow a browser's agent still name themselves, and
    none of them asks for HTML."""
    if requested is not None:
        return False
    agent = user_agent.lower()
    if not agent.startswith("mozilla/") or any(p.search(agent) for p, _ in _AGENTS):
        return False
    return any(
        part.split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml")
        for part in accept.split(",")
    )
