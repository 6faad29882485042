"""Who may call the webhook: YooKassa's networks (from its SDK's ``SecurityHelper``), plus
networks added by configuration.

The client address is the direct peer, unless the peer is a configured trusted proxy:
then it is the right-most ``X-Forwarded-For`` address that is not itself a trusted
proxy (anything left of it could have been written by the client).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

Network = IPv4Network | IPv6Network


def networks(specs: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ip_network(spec, strict=False) for spec in specs)


def _within(address: str, nets: Sequence[Network]) -> bool:
    try:
        ip = ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in nets)


def client_address(
    peer: str | None, forwarded_for: str | None, proxies: Sequence[Network]
) -> str | None:
    """The address that made the request, as far as we can trust the chain."""
    if peer is None or not _within(peer, proxies) or not forwarded_for:
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not _within(hop, proxies):
            return hop
    return peer


def is_trusted(address: str | None, trusted: Sequence[Network]) -> bool:
    return address is not None and _within(address, trusted)
