"""A listening socket several instances of one service can bind at once (``SO_REUSEPORT``).

The payments ingest and the bot's webhook scale out on one host by running several
instances on the same port: the kernel spreads new connections over the live listeners,
and one that dies simply stops getting any, so the address YooKassa or Telegram posts to
stays one. Across hosts a proxy in front does the same (see ``infra/``). Only processes
of the same user may share a port this way (Linux).

The socket is made with the protocol named (``IPPROTO_TCP``), not left at 0: asyncio
turns Nagle's algorithm off (``TCP_NODELAY``) only on connections accepted from such a
socket. Without it, an answer written in two parts (uvicorn writes the head, then the
body) waits for the client's delayed acknowledgement, about 40 ms on every request of a
kept-alive connection after its first few.
"""

from __future__ import annotations

import socket


def shared_listener(host: str, port: int) -> socket.socket:
    """A bound TCP socket on ``host:port`` that other instances may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind((host, port))
    except OSError:
        listener.close()
        raise
    listener.set_inheritable(True)
    return listener
