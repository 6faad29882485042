"""A listening socket several instances of one service can bind at once (``SO_REUSEPORT``).

The payments ingest and the bot's webhook scale out on one host by running several
instances on the same port: the kernel spreads new connections over the live listeners,
and one that dies simply stops getting any, so the address YooKassa or Telegram posts to
stays one. Across hosts a proxy in front does the same (see ``infra/``). Only processes
of the same user may share a port this way (Linux).
"""

from __future__ import annotations

import socket


def shared_listener(host: str, port: int) -> socket.socket:
    """A bound TCP socket on ``host:port`` that other instances may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind((host, port))
    except OSError:
        listener.close()
        raise
    listener.set_inheritable(True)
    return listener
