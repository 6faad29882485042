"""Serve an ASGI app with uvicorn in a background thread, on a free loopback port.

For tests that need a real HTTP server in-process (an emulator, or a webhook receiver)::

    server = BackgroundServer()           # the port is bound and known from here on
    server.start(build_app(..., public_url=server.url))
    ...
    server.stop()
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from types import TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp


class BackgroundServer:
    """One uvicorn server on its own thread and event loop."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._socket = tcp_listener(host, 0)
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, app: ASGIApp, timeout_s: float = 10) -> Self:
        """Serve ``app`` and return once it accepts requests (its lifespan has started)."""
        config = uvicorn.Config(app, log_config=None, log_level="warning", ws="none")
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout_s: float = 10) -> None:
        """Shut down gracefully (the app's lifespan ends) and release the port."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout_s)
        self._socket.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def tcp_listener(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket whose accepted connections answer without delay.

    ``socket.create_server`` leaves the protocol at 0, and asyncio turns Nagle's algorithm
    off (``TCP_NODELAY``) only on connections accepted from a socket made with
    ``IPPROTO_TCP``: uvicorn writes an answer's head and body apart, so the body would wait
    for the client's delayed acknowledgement, about 40 ms per request of a kept-alive
    connection. Real Telegram and YooKassa answer without that stall."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen()
    except OSError:
        listener.close()
        raise
    return listener


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening socket for an emulator's command line; exits naming the address
    when it cannot be had (port taken, bad host)."""
    try:
        return tcp_listener(host, port)
    except OSError as error:
        sys.exit(f"cannot listen on {host}:{port}: {error.strerror or error}")
