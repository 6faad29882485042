"""Our services as real child processes for a test module: started, ready, stopped.

Each yields what tests talk to (the program, or its base URL) and stops it on exit.
``env`` is the module's ``service_env`` (its topics and database); ``extra`` adds or
overrides variables.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from yookassa import Configuration, Payment

from emulators.serving import BackgroundServer
from emulators.yookassa import DeliveryPolicy, EmulatorConfig, build_app
from tests.processes import Program, free_port, wait_http


@contextmanager
def yookassa_emulator(
    shop: tuple[str, str], ingest_port: int, delivery: DeliveryPolicy
) -> Iterator[BackgroundServer]:
    """The YooKassa API emulator for ``shop`` (id, secret key), delivering its webhooks to
    an ingest on ``ingest_port``."""
    server = BackgroundServer()
    config = EmulatorConfig(
        shop_id=shop[0],
        secret_key=shop[1],
        public_url=server.url,
        webhook_url=f"http://127.0.0.1:{ingest_port}/webhooks/yookassa",
        delivery=delivery,
    )
    server.start(build_app(config))
    try:
        yield server
    finally:
        server.stop()


def shop_payment(
    yookassa_url: str, shop: tuple[str, str], amount: str, metadata: dict[str, str]
) -> str:
    """A payment made on the shop without our POST /payments (an API key, another
    integration, the dashboard), through the official SDK; its id."""
    Configuration.configure(shop[0], shop[1], api_url=f"{yookassa_url}/v3")
    params = {
        "amount": {"value": amount, "currency": "RUB"},
        "capture": True,
        "confirmation": {"type": "redirect", "return_url": "https://example.org/"},
        "metadata": metadata,
    }
    return str(Payment.create(params, uuid.uuid4().hex).id)


@contextmanager
def subscription_worker(env: dict[str, str], log_dir: Path, **extra: str) -> Iterator[Program]:
    program = Program(
        "services.subscription", {**env, **extra}, log_dir / "subscription.log", args=["worker"]
    ).start()
    try:
        yield program
    finally:
        program.stop()


@contextmanager
def read_api(env: dict[str, str], log_dir: Path, token: str, **extra: str) -> Iterator[str]:
    """The subscription read API on a free port, once its /health answers."""
    port = free_port()
    settings = {
        **env,
        "KEYLAND_SUBSCRIPTION_API_PORT": str(port),
        "KEYLAND_SUBSCRIPTION_API_TOKEN": token,
        **extra,
    }
    program = Program("services.subscription", settings, log_dir / "api.log", args=["api"])
    url = f"http://127.0.0.1:{port}"
    program.start()
    try:
        wait_http(f"{url}/health", program)
        yield url
    finally:
        program.stop()


@dataclass
class RunningIngest:
    program: Program
    url: str


@contextmanager
def payments_ingest(
    env: dict[str, str],
    log_dir: Path,
    *,
    port: int,
    token: str,
    shop: tuple[str, str],
    yookassa_url: str,
    **extra: str,
) -> Iterator[RunningIngest]:
    """The payments ingest on ``port`` against a YooKassa emulator (``shop`` = id, secret
    key), trusting loopback as YooKassa's network unless ``extra`` says otherwise."""
    settings = {
        **env,
        "KEYLAND_PAYMENTS_PORT": str(port),
        "KEYLAND_PAYMENTS_YOOKASSA_SHOP_ID": shop[0],
        "KEYLAND_PAYMENTS_YOOKASSA_SECRET_KEY": shop[1],
        "KEYLAND_PAYMENTS_YOOKASSA_API_URL": f"{yookassa_url}/v3",
        "KEYLAND_PAYMENTS_EXTRA_TRUSTED_NETWORKS": '["127.0.0.1/32"]',
        "KEYLAND_PAYMENTS_INTERNAL_TOKEN": token,
        **extra,
    }
    program = Program("services.payments_ingest", settings, log_dir / "ingest.log")
    url = f"http://127.0.0.1:{port}"
    program.start()
    try:
        wait_http(f"{url}/health", program)
        yield RunningIngest(program, url)
    finally:
        program.stop()
