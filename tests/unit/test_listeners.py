"""The listening sockets our servers and the emulators are handed: every connection
accepted from them has Nagle's algorithm off, as uvicorn's own sockets do.

Without it an answer written in two parts waits for the client's delayed
acknowledgement: about 40 ms on each request of a kept-alive connection (seen on the
payments ingest, the bot's webhook and both emulators)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest

from emulators.serving import tcp_listener
from keyland.shared_port import shared_listener


async def _accepted_nodelay(listener: socket.socket) -> int:
    """TCP_NODELAY of the first connection an asyncio server accepts from ``listener``."""
    seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def accepted(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted_socket = writer.get_extra_info("socket")
        seen.set_result(accepted_socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(accepted, sock=listener)
    async with server:
        host, port = listener.getsockname()[:2]
        _, writer = await asyncio.open_connection(host, port)
        try:
            return await asyncio.wait_for(seen, 5)
        finally:
            writer.close()


@pytest.mark.parametrize(
    "make",
    [
        lambda: shared_listener("127.0.0.1", 0),
        lambda: tcp_listener("127.0.0.1", 0),
    ],
    ids=["shared_listener", "emulator tcp_listener"],
)
def test_accepted_connections_send_without_delay(make: Callable[[], socket.socket]) -> None:
    listener = make()
    listener.listen()
    assert asyncio.run(_accepted_nodelay(listener)) != 0


def test_a_socket_left_at_protocol_zero_would_keep_nagle_on() -> None:
    """The cause, shown: the standard library's ``create_server`` leaves the protocol at 0,
    and asyncio then leaves the accepted connections as the kernel made them."""
    listener = socket.create_server(("127.0.0.1", 0))
    assert asyncio.run(_accepted_nodelay(listener)) == 0
