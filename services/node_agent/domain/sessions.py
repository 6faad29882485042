"""Which open connection belongs to which user, read from Xray's access log.

Removing a user from Xray's inbound stops new connections only: the ones already open
live until the client closes them or Xray's idle timeout. Xray's API names no connection
of a user, but its access log does: each accepted connection is one line with the
client's address and the user's email, e.g.

    2026/12/07 17:56:06.682753 from 203.0.113.7:35086 accepted tcp:example.com:443
    [vless-in >> direct] email: 24a78728-c125-46f0-900f-98a05ecba614

A client address (IP and source port) names one connection at a time; when it is used
again the later line wins, so a reused address is never held against its earlier user.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_ACCEPTED = re.compile(r" from (?:tcp:)?(?P<address>\S+) accepted .* email: (?P<email>\S+)\s*$")


@dataclass(frozen=True, order=True)
class ClientAddress:
    """The client's end of one TCP connection to Xray's inbound."""

    ip: str
    port: int

    def __str__(self) -> str:
        return f"[{self.ip}]:{self.port}" if ":" in self.ip else f"{self.ip}:{self.port}"


def parse_address(text: str) -> ClientAddress | None:
    """``203.0.113.7:35086`` or ``[2001:db8::1]:35086``; None for anything else."""
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or any(ch.isspace() or ch in "[]" for ch in host):
        return None
    return ClientAddress(host, int(port))


def accepted_connection(line: str) -> tuple[ClientAddress, str] | None:
    """The client address and email of an access-log line that accepted a user's
    connection; None for other lines (API calls, rejections, partial lines)."""
    found = _ACCEPTED.search(line)
    if found is None:
        return None
    address = parse_address(found.group("address"))
    if address is None:
        return None
    return address, found.group("email").lower()


@dataclass
class Sessions:
    """Open connections by client address, each with the email it was accepted for."""

    owners: dict[ClientAddress, str] = field(default_factory=dict)

    def read(self, lines: Iterable[str]) -> None:
        """Take in access-log lines in the order Xray wrote them."""
        for line in lines:
            accepted = accepted_connection(line)
            if accepted is not None:
                address, email = accepted
                self.owners[address] = email

    def keep_open(self, open_now: Iterable[ClientAddress]) -> None:
        """Forget the connections that are closed (not in ``open_now``)."""
        still_open = set(open_now)
        self.owners = {a: e for a, e in self.owners.items() if a in still_open}

    def of(self, emails: Iterable[str]) -> list[ClientAddress]:
        """The known connections of these users."""
        wanted = {email.lower() for email in emails}
        return sorted(a for a, e in self.owners.items() if e in wanted)

    def not_of(self, emails: Iterable[str]) -> list[ClientAddress]:
        """The known connections of any user but these."""
        kept = {email.lower() for email in emails}
        return sorted(a for a, e in self.owners.items() if e not in kept)

    def forget(self, addresses: Iterable[ClientAddress]) -> None:
        for address in addresses:
            self.owners.pop(address, None)
