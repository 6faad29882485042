"""One node as a VPN client's outbound: what every subscription format is built from.

A node agent answers each enabled key with its ``vless://`` share link, and that link is
all the provisioner records of a node (``node_keys``). :func:`outbound_of_link` reads it
once into a :class:`VlessOutbound`; the formats (``domain/formats/``) build from that
value, and :func:`share_link` writes it back exactly as the agent wrote it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

# Where the entry that stands for "no access" points: a closed port on the client itself,
# so a client that tries it reaches nothing, anywhere.
STATUS_HOST = "127.0.0.1"
STATUS_PORT = 1
STATUS_KEY = uuid.UUID(int=0)


class NotAShareLink(ValueError):
    """The text is not a VLESS share link of the shape our node agents write."""


@dataclass(frozen=True)
class Reality:
    """What a client needs to reach a VLESS + REALITY inbound."""

    public_key: str
    short_id: str
    server_name: str
    fingerprint: str


@dataclass(frozen=True)
class VlessOutbound:
    """A VLESS server over TCP, plain or with REALITY; ``name`` is what clients show."""

    name: str
    host: str
    port: int
    key_id: uuid.UUID
    flow: str = ""
    reality: Reality | None = None
    network: Literal["tcp"] = "tcp"

    def named(self, name: str) -> VlessOutbound:
        return VlessOutbound(
            name, self.host, self.port, self.key_id, self.flow, self.reality, self.network
        )


def status_entry(text: str) -> VlessOutbound:
    """An entry that only says ``text``: shown in place of servers to a user without
    access, so the client tells why nothing connects rather than showing an empty list."""
    return VlessOutbound(text, STATUS_HOST, STATUS_PORT, STATUS_KEY)


def _single(query: dict[str, list[str]], name: str, link: str) -> str:
    values = query.get(name)
    if values is None or len(values) != 1 or not values[0]:
        raise NotAShareLink(f"{name!r} missing or repeated in {link!r}")
    return values[0]


def outbound_of_link(link: str) -> VlessOutbound:
    """The outbound a node agent's share link describes; :class:`NotAShareLink` for a
    link of another shape (another protocol, transport or security)."""
    parts = urlsplit(link)
    try:
        port = parts.port
        key_id = uuid.UUID(unquote(parts.username or ""))
    except ValueError as error:
        raise NotAShareLink(f"bad key or port in {link!r}: {error}") from error
    if parts.scheme != "vless" or not parts.hostname or port is None:
        raise NotAShareLink(f"not vless://KEY@HOST:PORT: {link!r}")
    query = parse_qs(parts.query, keep_blank_values=True)
    if _single(query, "encryption", link) != "none" or _single(query, "type", link) != "tcp":
        raise NotAShareLink(f"only encryption=none over type=tcp is served: {link!r}")
    flow = query.get("flow", [""])[0]
    security = _single(query, "security", link)
    reality = None
    if security == "reality":
        reality = Reality(
            public_key=_single(query, "pbk", link),
            short_id=_single(query, "sid", link),
            server_name=_single(query, "sni", link),
            fingerprint=_single(query, "fp", link),
        )
    elif security != "none":
        raise NotAShareLink(f"security must be none or reality: {link!r}")
    name = unquote(parts.fragment) or parts.hostname
    return VlessOutbound(name, parts.hostname, port, key_id, flow, reality)


def share_link(outbound: VlessOutbound) -> str:
    """``vless://KEY@HOST:PORT?...#NAME``, in the node agents' own order of parameters."""
    query = {"encryption": "none", "type": outbound.network}
    if outbound.reality is None:
        query["security"] = "none"
    else:
        query |= {
            "security": "reality",
            "sni": outbound.reality.server_name,
            "fp": outbound.reality.fingerprint,
            "pbk": outbound.reality.public_key,
            "sid": outbound.reality.short_id,
        }
    if outbound.flow:
        query["flow"] = outbound.flow
    host = f"[{outbound.host}]" if ":" in outbound.host else outbound.host
    name = quote(outbound.name, safe="")
    return f"vless://{outbound.key_id}@{host}:{outbound.port}?{urlencode(query)}#{name}"


def distinct_names(outbounds: list[VlessOutbound]) -> list[VlessOutbound]:
    """The same outbounds, a repeated name numbered (``Keyland-finland 2``): Clash and
    sing-box refer to outbounds by name, so two nodes of one country need two names."""
    originals = {o.name for o in outbounds}
    used: set[str] = set()
    named = []
    for outbound in outbounds:
        name, count = outbound.name, 1
        while name in used or (count > 1 and name in originals):
            count += 1
            name = f"{outbound.name} {count}"
        used.add(name)
        named.append(outbound.named(name))
    return named
