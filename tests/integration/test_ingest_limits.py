"""The real payments ingest against bodies too big, numbers too big and the wrong media type.

The ingest runs as its own process on the module's topics, trusting loopback as YooKassa's
network. The emulator's own deliveries go to a port where nothing listens, so every
notification the ingest sees here is one this module sent.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from emulators.serving import BackgroundServer
from emulators.yookassa import DeliveryPolicy
from events.registry import TopicNames
from keyland.settings import KafkaSettings
from tests.kafka_tail import read_topic
from tests.processes import Program, free_port
from tests.services import payments_ingest, yookassa_emulator

pytestmark = pytest.mark.integration

SHOP, SECRET, TOKEN = "100500", "limits_secret_key", "limits-internal-token"
WEBHOOK = "/webhooks/yookassa"
JSON = {"Content-Type": "application/json"}
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def ingest_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def yookassa() -> Iterator[BackgroundServer]:
    delivery = DeliveryPolicy(attempts=1, base_delay_s=0.1, timeout_s=5)
    with yookassa_emulator((SHOP, SECRET), free_port(), delivery) as server:
        yield server


@pytest.fixture(scope="module")
def ingest(
    service_env: dict[str, str],
    created_topics: TopicNames,
    yookassa: BackgroundServer,
    ingest_port: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Program]:
    with payments_ingest(
        service_env,
        tmp_path_factory.mktemp("ingest"),
        port=ingest_port,
        token=TOKEN,
        shop=(SHOP, SECRET),
        yookassa_url=yookassa.url,
    ) as running:
        yield running.program


@pytest.fixture(scope="module")
def url(ingest: Program, ingest_port: int) -> str:
    return f"http://127.0.0.1:{ingest_port}"


def peak_rss_mib(program: Program) -> float:
    """The process' resident-memory high-water mark (``VmHWM``), in MiB."""
    assert program.process is not None
    status = Path(f"/proc/{program.process.pid}/status").read_text()
    found = re.search(r"^VmHWM:\s+(\d+) kB$", status, re.MULTILINE)
    assert found is not None, status
    return int(found.group(1)) / 1024


def answered_status(sock: socket.socket) -> int:
    """The status of the HTTP answer waiting on ``sock``."""
    sock.settimeout(60)
    head = b""
    while b"\r\n" not in head:
        received = sock.recv(4096)
        assert received, f"connection closed without an answer: {head!r}"
        head += received
    return int(head.split(b" ", 2)[1])


def stream_chunked(port: int, path: str, headers: dict[str, str], total: int) -> int:
    """POST ``total`` bytes in 64 KiB chunks, all of them whatever the server says
    meanwhile (as a hostile client would), then read the answer; its status."""
    chunk = b" " * (64 * 1024)
    framed = b"%x\r\n%b\r\n" % (len(chunk), chunk)
    lines = [f"POST {path} HTTP/1.1", "Host: ingest", "Transfer-Encoding: chunked"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            for _ in range(total // len(chunk)):
                sock.sendall(framed)
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may hang up on a refused body; its answer was sent first
        return answered_status(sock)


def metric(url: str, name: str, status: int) -> float:
    text = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    found = re.search(rf'^{name}{{status="{status}"}} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def webhook_count(url: str, status: int) -> float:
    return metric(url, "keyland_webhooks_total", status)


@pytest.mark.parametrize(
    ("path", "headers"),
    [(WEBHOOK, JSON), ("/payments", {**JSON, "Authorization": f"Bearer {TOKEN}"})],
    ids=["webhook", "payments"],
)
def test_a_200_mib_chunked_body_is_refused_with_flat_memory(
    ingest: Program, ingest_port: int, path: str, headers: dict[str, str]
) -> None:
    before = peak_rss_mib(ingest)
    assert stream_chunked(ingest_port, path, headers, 200 * MIB) == 413
    assert peak_rss_mib(ingest) - before < 50, (before, peak_rss_mib(ingest))


def test_a_declared_oversized_body_is_refused_before_it_is_sent(
    ingest: Program, ingest_port: int
) -> None:
    head = f"POST {WEBHOOK} HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\n"
    with socket.create_connection(("127.0.0.1", ingest_port)) as sock:
        sock.sendall(f"{head}Content-Length: {200 * MIB}\r\n\r\n".encode())
        assert answered_status(sock) == 413


@pytest.mark.parametrize(
    "body",
    [
        b'{"type": "notification", "event": "payment.succeeded", "object": {"id": '
        + b"9" * 5000
        + b"}}",
        b'{"type": "notification", "event": "x", "object": {"id": "a", "amount": -'
        + b"1" * 5000
        + b"}}",
        b'{"deep": ' + b"[" * 200 + b"1" * 5000 + b"]" * 200 + b"}",
        b'{"type": "notification", "event": "x", "object": {"id": "a", "test": 1e400}}',
        b'{"type": "notification", "event": "x", "object": {"id": "a", "test": -Infinity}}',
        b'{"type": "notification", "event": "x", "object": {"id": "a", "test": NaN}}',
    ],
    ids=["5000-digit id", "5000-digit amount", "deep 5000-digit", "1e400", "-Infinity", "NaN"],
)
def test_numbers_beyond_any_sane_size_are_a_counted_400(url: str, body: bytes) -> None:
    counted = webhook_count(url, 400)
    answer = httpx.post(f"{url}{WEBHOOK}", content=body, headers=JSON)
    assert answer.status_code == 400, answer.text
    assert "number" in answer.json()["status"]
    assert webhook_count(url, 400) == counted + 1


def _paid_payment(url: str, yookassa: BackgroundServer, telegram_id: int) -> str:
    order = {"telegram_id": telegram_id, "plan": "month_1", "order_id": f"limits-{telegram_id}"}
    created = httpx.post(
        f"{url}/payments", json=order, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert created.status_code == 201, created.text
    payment_id = str(created.json()["payment_id"])
    paid = httpx.post(
        f"{yookassa.url}/emulator/payments/{payment_id}/pay", params={"wait": "true"}, timeout=30
    )
    assert paid.status_code == 200, paid.text
    return payment_id


@pytest.mark.parametrize(
    ("content_type", "telegram_id"),
    [
        (None, 830001),
        ("text/plain", 830002),
        ("application/x-www-form-urlencoded", 830003),
        ("application/jsonx", 830004),
    ],
)
def test_a_notification_not_sent_as_json_is_refused_and_publishes_nothing(
    url: str,
    yookassa: BackgroundServer,
    kafka_settings: KafkaSettings,
    topics: TopicNames,
    content_type: str | None,
    telegram_id: int,
) -> None:
    payment_id = _paid_payment(url, yookassa, telegram_id)
    body = {"type": "notification", "event": "payment.succeeded", "object": {"id": payment_id}}
    sent = {} if content_type is None else {"Content-Type": content_type}
    counted = webhook_count(url, 415)
    refused = httpx.post(f"{url}{WEBHOOK}", content=json.dumps(body).encode(), headers=sent)
    assert refused.status_code == 415, refused.text
    assert "application/json" in refused.json()["status"]
    assert webhook_count(url, 415) == counted + 1
    # The same notification as JSON is published: exactly once, so the 415 added nothing
    # (each answer comes after Kafka acknowledged what it published).
    accepted = httpx.post(
        f"{url}{WEBHOOK}",
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert accepted.json() == {"status": "published"}
    events = asyncio.run(
        read_topic(
            kafka_settings.bootstrap,
            topics("payments"),
            until=lambda found: any(
                getattr(e.payload, "payment_id", None) == payment_id for e in found
            ),
            timeout_s=10,
        )
    )
    assert [getattr(e.payload, "payment_id", None) for e in events].count(payment_id) == 1
