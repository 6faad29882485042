"""The subscription page a VPN client polls: every country link of one user, in one URL.

The URL is ``/sub/{token}``. The token is the key id followed by an HMAC of it under a
secret only the provisioner holds, in URL-safe base64 (43 characters): it cannot be
guessed or derived from a Telegram id, and checking it needs no lookup. Key ids alone
would not do: they are derived from the Telegram id by a public rule.

The body follows the v2rayN/v2rayNG convention (links one per line, then base64); the
headers are the ones Marzban and Remnawave clients read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

_MAC_BYTES = 16
_CONTEXT = b"keyland-subscription:"


def _mac(key_id: uuid.UUID, secret: bytes) -> bytes:
    return hmac.new(secret, _CONTEXT + key_id.bytes, hashlib.sha256).digest()[:_MAC_BYTES]


def _encoded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def subscription_token(key_id: uuid.UUID, secret: bytes) -> str:
    """The unguessable token of ``key_id``'s subscription URL."""
    return _encoded(key_id.bytes + _mac(key_id, secret))


def key_of_token(token: str, secret: bytes) -> uuid.UUID | None:
    """The key id a genuine token names, or None for anything else (checked in constant time).

    Only the canonical encoding counts: the decoder also takes ``+``/``/`` for ``-``/``_``
    and ignores the two spare bits of the last letter: without the comparison several URLs
    would open one subscription, and each subscription must have exactly one."""
    if len(token) != 43:
        return None
    try:
        raw = base64.b64decode(token + "=", altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 16 + _MAC_BYTES or _encoded(raw) != token:
        return None
    key_id = uuid.UUID(bytes=raw[:16])
    if not hmac.compare_digest(raw[16:], _mac(key_id, secret)):
        return None
    return key_id


@dataclass(frozen=True)
class CountryLink:
    country: str
    node: str
    link: str


def ordered_links(links: Iterable[CountryLink], region: str | None) -> list[str]:
    """The links with the user's preferred country first, then by country and node."""
    ranked = sorted(links, key=lambda c: (c.country != region, c.country, c.node))
    return [c.link for c in ranked]


def page_body(links: Iterable[str]) -> bytes:
    """Links one per line, base64-encoded (an empty list gives an empty body)."""
    return base64.b64encode("\n".join(links).encode())


@dataclass(frozen=True)
class Usage:
    """Bytes the user moved, summed over the nodes that answered."""

    upload: int = 0
    download: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.upload + other.upload, self.download + other.download)


def page_headers(
    title: str, update_interval_hours: int, usage: Usage, expire: datetime | None
) -> dict[str, str]:
    """``profile-title`` (``base64:`` + the title), ``profile-update-interval`` (hours) and
    ``subscription-userinfo`` (``total=0``: no traffic limit; ``expire`` in unix seconds,
    left out when the user never had access)."""
    userinfo = f"upload={usage.upload}; download={usage.download}; total=0"
    if expire is not None:
        userinfo += f"; expire={int(expire.timestamp())}"
    return {
        "profile-title": "base64:" + base64.b64encode(title.encode()).decode(),
        "profile-update-interval": str(update_interval_hours),
        "subscription-userinfo": userinfo,
    }
