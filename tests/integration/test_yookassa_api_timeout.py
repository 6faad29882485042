"""A YooKassa API that accepts a connection and never answers does not hold the ingest.

The SDK sets no HTTP timeout of its own; the adapter's calls must give up, both for the
caller (503 "unavailable") and in the worker thread (the socket is closed), or every
stalled call would keep a thread until the pool is used up.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from services.payments_ingest.adapters.yookassa_api import YooKassaApi, YooKassaUnavailable


class SilentServer:
    """Accepts connections, reads the request, never answers; records when clients leave."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.given_up = threading.Semaphore(0)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._hold, args=(connection,), daemon=True).start()

    def _hold(self, connection: socket.socket) -> None:
        with connection:
            while connection.recv(65536):  # until the client closes its end
                pass
        self.given_up.release()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


async def test_a_silent_api_is_unavailable_and_the_sdk_call_lets_go(silent: SilentServer) -> None:
    api = YooKassaApi.configure(
        "shop", "secret-key", f"http://127.0.0.1:{silent.port}/v3", timeout_s=0.5
    )
    for _ in range(3):
        with pytest.raises(YooKassaUnavailable):
            await api.payment("2f0d6b1c-000f-5000-9000-1b4a8e1c2d3e")
    for _ in range(3):  # each worker thread's request gave up and closed its socket
        assert silent.given_up.acquire(timeout=10), "an SDK request still waits on the API"
