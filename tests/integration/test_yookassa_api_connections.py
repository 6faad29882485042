"""The SDK's calls keep their connections: the ingest does not open a new TCP connection
to YooKassa for every webhook's confirmation (the SDK alone would)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.payments_ingest.adapters.yookassa_api import YooKassaApi

PAYMENT_ID = "2f0d6b1c-000f-5000-9000-1b4a8e1c2d3e"


class CountingServer(ThreadingHTTPServer):
    """Answers every GET with a payment and counts the connections it accepted."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _PaymentAnswer)
        self.connections = 0
        self.requests = 0

    def get_request(self) -> tuple[object, object]:  # type: ignore[override]
        accepted = super().get_request()
        self.connections += 1
        return accepted


class _PaymentAnswer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as YooKassa's API does

    def do_GET(self) -> None:
        assert isinstance(self.server, CountingServer)
        self.server.requests += 1
        body = json.dumps(
            {
                "id": self.path.rsplit("/", 1)[-1],
                "status": "succeeded",
                "paid": True,
                "amount": {"value": "199.00", "currency": "RUB"},
                "created_at": "2026-12-01T10:00:00.000Z",
                "test": True,
                "refundable": True,
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        """Quiet."""


@pytest.fixture
def counting() -> Iterator[CountingServer]:
    server = CountingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def test_calls_one_after_another_reuse_a_kept_connection(counting: CountingServer) -> None:
    port = counting.server_address[1]
    api = YooKassaApi.configure(
        "shop", "secret-key", f"http://127.0.0.1:{port}/v3", timeout_s=5, threads=2
    )
    for _ in range(10):
        payment = await api.payment(PAYMENT_ID)
        assert payment is not None
        assert payment["id"] == PAYMENT_ID
    assert counting.requests == 10
    # The API's two threads each keep one connection (the SDK alone opened 10).
    assert counting.connections <= 2, counting.connections


async def test_a_new_configuration_is_used_by_threads_that_served_the_old_one(
    counting: CountingServer,
) -> None:
    other = CountingServer()
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        first = YooKassaApi.configure(
            "shop", "key", f"http://127.0.0.1:{counting.server_address[1]}/v3", timeout_s=5
        )
        assert await first.payment(PAYMENT_ID) is not None
        second = YooKassaApi.configure(
            "shop", "key", f"http://127.0.0.1:{other.server_address[1]}/v3", timeout_s=5
        )
        assert await second.payment(PAYMENT_ID) is not None
        assert (counting.requests, other.requests) == (1, 1)
    finally:
        other.shutdown()
        other.server_close()
