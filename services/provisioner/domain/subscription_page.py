"""The subscription page a VPN client polls: every country server of one user, in one URL.

The URL is ``/sub/{token}``. The token is the key id followed by an HMAC of it under a
secret only the provisioner holds, in URL-safe base64 (43 characters): it cannot be
guessed or derived from a Telegram id, and checking it needs no lookup. Key ids alone
would not do: they are derived from the Telegram id by a public rule.

What the page lists (:func:`page_entries`): the user's servers, preferred country first,
leaving out the nodes announced unreachable (and saying so in ``announce``); or, when
there is nothing to connect to, one entry that says why (access ended, every server is
down, or no server has the key yet), so a client never shows an empty list. The body is in the
format the client reads (``domain/formats/``); the headers (:func:`page_headers`) are the
ones Marzban and Remnawave clients read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.provisioner.domain.outbound import (
    NotAShareLink,
    VlessOutbound,
    outbound_of_link,
    status_entry,
)

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


def ordered_links(links: Iterable[CountryLink], region: str | None) -> list[CountryLink]:
    """The links with the user's preferred country first, then by country and node."""
    return sorted(links, key=lambda c: (c.country != region, c.country, c.node))


@dataclass(frozen=True)
class Usage:
    """Bytes the user moved, summed over the nodes that answered."""

    upload: int = 0
    download: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.upload + other.upload, self.download + other.download)


@dataclass(frozen=True)
class Profile:
    """What the operator sets for every subscription (``SubscriptionPageSettings``)."""

    title: str = "Keyland"
    update_interval_hours: int = 12
    announce_days: int = 3
    bot_username: str | None = None
    support_url: str | None = None
    web_page_url: str | None = None

    @property
    def renew_where(self) -> str:
        return "the bot" if self.bot_username is None else f"@{self.bot_username}"

    def ended(self) -> str:
        return f"Access ended — renew in {self.renew_where}"

    def suspended(self) -> str:
        """An admin blocked the user: renewing would not help, asking would."""
        return f"Access suspended — write to {self.renew_where}"

    def without_access(self, blocked: bool) -> str:
        return self.suspended() if blocked else self.ended()

    @staticmethod
    def unavailable(countries: Iterable[str]) -> str:
        return f"Unavailable now: {', '.join(sorted(set(countries)))} — pick another server"

    def ends_on(self, until: datetime) -> str:
        return (
            f"Access ends {until.astimezone(UTC):%d.%m.%Y %H:%M} UTC — renew in {self.renew_where}"
        )


NO_SERVERS_YET = "No servers yet — update in a minute"


def page_entries(
    active: bool,
    links: Iterable[CountryLink],
    region: str | None,
    profile: Profile,
    *,
    blocked: bool = False,
    down: Collection[str] = frozenset(),
) -> list[VlessOutbound]:
    """What the page lists: the servers of a user with access, preferred country first,
    without those on the nodes ``down`` (announced unreachable); else one status entry
    saying that access ended (or is suspended, ``blocked``), that every server is down, or
    that no server has the key yet. A link of a shape we cannot read is left out
    (:class:`NotAShareLink`)."""
    if not active:
        return [status_entry(profile.without_access(blocked))]
    links = list(links)
    up = [link for link in links if link.node not in down]
    if links and not up:
        return [status_entry(profile.unavailable(link.country for link in links))]
    outbounds = []
    for link in ordered_links(up, region):
        try:
            outbounds.append(outbound_of_link(link.link))
        except NotAShareLink:
            continue
    return outbounds or [status_entry(NO_SERVERS_YET)]


def _base64_text(text: str) -> str:
    return "base64:" + base64.b64encode(text.encode()).decode()


def announcement(
    until: datetime | None,
    active: bool,
    now: datetime,
    profile: Profile,
    *,
    blocked: bool = False,
    down_countries: Collection[str] = (),
) -> str | None:
    """What to tell the user above the servers: that access is suspended (``blocked``), or
    ended (``active`` is false: past ``until``, or ended early by an expiry); else, for a
    user with access, which countries' servers are down (``down_countries``) and when
    access ends if that is within ``announce_days``; nothing otherwise, nor when there
    never was access."""
    if blocked:
        return profile.suspended()
    if until is None:
        return None
    if not active:
        return profile.ended()
    lines = []
    if down_countries:
        lines.append(profile.unavailable(down_countries))
    if until - now <= timedelta(days=profile.announce_days):
        lines.append(profile.ends_on(until))
    return " · ".join(lines) or None


def page_headers(
    profile: Profile,
    usage: Usage,
    until: datetime | None,
    active: bool,
    now: datetime,
    *,
    blocked: bool = False,
    down_countries: Collection[str] = (),
) -> dict[str, str]:
    """``profile-title`` (``base64:`` + the title), ``profile-update-interval`` (hours),
    ``subscription-userinfo`` (bytes up and down; ``total=0``: plans have no traffic
    quota, and 0 is what clients read as unlimited; ``expire`` in unix seconds, left out
    when the user never had access), ``announce`` (``base64:``, see :func:`announcement`; ``down_countries``: the countries
    of the user's servers left out as down),
    and ``support-url`` and ``profile-web-page-url`` when the operator set them."""
    userinfo = f"upload={usage.upload}; download={usage.download}; total=0"
    if until is not None:
        userinfo += f"; expire={int(until.timestamp())}"
    headers = {
        "profile-title": _base64_text(profile.title),
        "profile-update-interval": str(profile.update_interval_hours),
        "subscription-userinfo": userinfo,
    }
    announce = announcement(
        until, active, now, profile, blocked=blocked, down_countries=down_countries
    )
    if announce is not None:
        headers["announce"] = _base64_text(announce)
    if profile.support_url is not None:
        headers["support-url"] = profile.support_url
    if profile.web_page_url is not None:
        headers["profile-web-page-url"] = profile.web_page_url
    return headers
