"""The agent's connection cutter on real sockets and the real ``ss``: the users named in
the access log lose exactly their connections, on IPv4, IPv6 and dual-stack listeners."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.node_agent.adapters.connections import ConnectionCutter

ALICE = "24a78728-c125-46f0-900f-98a05ecba614"
BOB = "5f0c3c8e-0a57-4d0e-9a39-3b0a3bfbd7a1"


class Listener:
    """An inbound port standing in for Xray's: accepts and keeps every connection."""

    def __init__(self, family: socket.AddressFamily, host: str) -> None:
        self.server = socket.socket(family, socket.SOCK_STREAM)
        if family == socket.AF_INET6:
            self.server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, host != "::")
        self.server.bind((host, 0))
        self.server.listen()
        self.port: int = self.server.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.clients: list[socket.socket] = []

    def connect(self, family: socket.AddressFamily, host: str) -> tuple[socket.socket, str]:
        """A client connection and its address as Xray logs it."""
        client = socket.socket(family, socket.SOCK_STREAM)
        client.connect((host, self.port))
        self.accepted.append(self.server.accept()[0])
        self.clients.append(client)
        ip, port = client.getsockname()[:2]
        return client, f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"

    def close(self) -> None:
        for s in [*self.accepted, *self.clients, self.server]:
            s.close()


def alive(client: socket.socket) -> bool:
    client.settimeout(0.5)
    try:
        return client.recv(1) != b""
    except TimeoutError:
        return True  # nothing to read, and the connection is still there
    except ConnectionError:
        return False


def log_line(address: str, email: str) -> str:
    return (
        f"2026/12/07 18:00:00.000000 from {address} accepted tcp:x:443 [in >> out] email: {email}\n"
    )


@pytest.fixture(params=["ipv4", "ipv6", "dual-stack"])
def setup(request: pytest.FixtureRequest) -> Iterator[tuple[Listener, socket.AddressFamily, str]]:
    if request.param == "ipv4":
        listener = Listener(socket.AF_INET, "127.0.0.1")
        client = (socket.AF_INET, "127.0.0.1")
    elif request.param == "ipv6":
        listener = Listener(socket.AF_INET6, "::1")
        client = (socket.AF_INET6, "::1")
    else:  # Xray listening on "::" sees IPv4 clients as ::ffff:a.b.c.d, and logs a.b.c.d
        listener = Listener(socket.AF_INET6, "::")
        client = (socket.AF_INET, "127.0.0.1")
    yield listener, *client
    listener.close()


async def test_only_the_named_users_connections_end(
    setup: tuple[Listener, socket.AddressFamily, str], tmp_path: Path
) -> None:
    listener, family, host = setup
    log = tmp_path / "access.log"
    cutter = ConnectionCutter.from_path(log, listener.port)
    alices = [listener.connect(family, host) for _ in range(3)]
    bobs = [listener.connect(family, host) for _ in range(2)]
    log.write_text(
        "".join(
            log_line(a, e)
            for (_, a), e in [*((c, ALICE) for c in alices), *((c, BOB) for c in bobs)]
        )
    )
    assert await cutter.cut([ALICE]) == 3
    assert not any(alive(client) for client, _ in alices)
    assert all(alive(client) for client, _ in bobs)


async def test_a_connection_logged_after_the_cut_ends_on_the_next_pass(tmp_path: Path) -> None:
    listener = Listener(socket.AF_INET, "127.0.0.1")
    try:
        log = tmp_path / "access.log"
        cutter = ConnectionCutter.from_path(log, listener.port)
        late, late_address = listener.connect(socket.AF_INET, "127.0.0.1")
        kept, kept_address = listener.connect(socket.AF_INET, "127.0.0.1")
        log.write_text(log_line(kept_address, BOB))
        assert await cutter.cut([ALICE]) == 0  # Alice's line is not written yet
        with log.open("a") as file:
            file.write(log_line(late_address, ALICE))
        assert await cutter.cut_all_but([BOB]) == 1
        assert not alive(late)
        assert alive(kept)
    finally:
        listener.close()
