"""What an operator sees of running services: /health, /metrics and JSON logs with event ids.

A real subscription worker (faust, Kafka, FerretDB) and its read API run as child
processes; the tests read their endpoints and log files as Prometheus and a log shipper
would.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from events import Envelope, Event
from events.bot_actions import TrialRequested, UserStarted
from events.registry import TopicNames
from keyland.kafka.producer import EventPublisher
from tests.processes import Program, free_port, wait_http
from tests.scraping import counted, log_lines, samples, totals
from tests.services import read_api as read_api_running
from tests.services import subscription_worker
from tests.waiting import eventually

API_TOKEN = "read-api-token-for-observability-tests"


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    return {"ops": free_port()}


@pytest.fixture(scope="module")
def worker(
    service_env: dict[str, str],
    created_topics: TopicNames,
    ports: dict[str, int],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Program]:
    ops_port = {"KEYLAND_SUBSCRIPTION_OPS_PORT": str(ports["ops"])}
    with subscription_worker(
        service_env, tmp_path_factory.mktemp("observed"), **ops_port
    ) as program:
        wait_http(f"http://127.0.0.1:{ports['ops']}/health", program, timeout_s=90)
        yield program


@pytest.fixture(scope="module")
def read_api(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    log_dir, often = tmp_path_factory.mktemp("observed-api"), "0.5"
    with read_api_running(
        service_env, log_dir, API_TOKEN, KEYLAND_SUBSCRIPTION_STATS_INTERVAL_S=often
    ) as url:
        yield url


async def trial(publisher: EventPublisher, telegram_id: int) -> Envelope[Event]:
    now = datetime.now(UTC)
    started = Envelope.new(UserStarted(telegram_id=telegram_id), producer="tests", occurred_at=now)
    await publisher.publish(started)
    asked = Envelope.new(
        TrialRequested(telegram_id=telegram_id), producer="tests", occurred_at=now, cause=started
    )
    await publisher.publish(asked)
    return asked


async def test_worker_counts_handled_events_and_logs_them_as_json_with_their_ids_and_no_secret(
    worker: Program, publisher: EventPublisher, ports: dict[str, int], service_env: dict[str, str]
) -> None:
    metrics_url = f"http://127.0.0.1:{ports['ops']}/metrics"
    group = service_env["KEYLAND_SUBSCRIPTION_APP_ID"]
    before = counted(metrics_url, "keyland_events_processed", consumer=group, type="TrialRequested")
    asked = await trial(publisher, 7101)

    def trial_counted() -> bool:
        return (
            counted(metrics_url, "keyland_events_processed", consumer=group, type="TrialRequested")
            == before + 1
        )

    await eventually(trial_counted, worker, timeout_s=60)
    handled = [line for line in log_lines(worker) if line.get("event_id") == str(asked.event_id)]
    assert handled, "no log line carries the handled event's id"
    assert {line["correlation_id"] for line in handled} == {str(asked.correlation_id)}
    assert {line["event_type"] for line in handled} == {"TrialRequested"}
    assert {line["service"] for line in handled} == {"subscription"}
    assert {"time", "level", "logger", "message"} <= handled[0].keys()
    assert service_env["KEYLAND_SUBSCRIPTION_KEY_SECRET"] not in worker.log()


async def test_a_poison_record_is_counted_as_failed_by_error(
    worker: Program,
    publisher: EventPublisher,
    ports: dict[str, int],
    topics: TopicNames,
    service_env: dict[str, str],
) -> None:
    metrics_url = f"http://127.0.0.1:{ports['ops']}/metrics"
    group = service_env["KEYLAND_SUBSCRIPTION_APP_ID"]
    labels = {"consumer": group, "topic": "bot.actions", "type": "undecodable"}
    before = counted(metrics_url, "keyland_events_failed", **labels)
    await publisher.send_raw(topics("bot.actions"), key=b"7103", value=b"{not json", headers=[])
    await eventually(
        lambda: counted(metrics_url, "keyland_events_failed", **labels) == before + 1,
        worker,
        timeout_s=60,
    )
    failed = [
        s
        for s in samples(metrics_url, "keyland_events_failed")
        if s.labels == {**labels, "error": "DecodeError"}
    ]
    assert failed, "the error class is a label"


def test_worker_health_names_its_checks(worker: Program, ports: dict[str, int]) -> None:
    answer = httpx.get(f"http://127.0.0.1:{ports['ops']}/health", timeout=10)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "checks": {"database": "ok", "kafka": "ok"}}


async def test_worker_reports_its_consumer_lag(
    worker: Program, ports: dict[str, int], service_env: dict[str, str]
) -> None:
    metrics_url = f"http://127.0.0.1:{ports['ops']}/metrics"
    group = service_env["KEYLAND_SUBSCRIPTION_APP_ID"]

    def lag_of_bot_actions() -> list[float]:
        return [
            s.value
            for s in samples(metrics_url, "keyland_consumer_lag")
            if s.labels == {"consumer": group, "topic": "bot.actions"}
        ]

    await eventually(lambda: lag_of_bot_actions() == [0.0], worker, timeout_s=60)
    assert samples(metrics_url, "keyland_users") == [], "business gauges are the read API's"


async def test_read_api_metrics_need_the_token_and_carry_business_gauges(
    worker: Program, read_api: str, publisher: EventPublisher
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(f"{read_api}/metrics")).status_code == 401
        health = await client.get(f"{read_api}/health")
    assert health.json() == {"status": "ok", "checks": {"database": "ok"}}
    await trial(publisher, 7104)
    auth = {"Authorization": f"Bearer {API_TOKEN}"}

    def gauges() -> dict[str, float]:
        return totals(f"{read_api}/metrics", auth)

    await eventually(lambda: gauges().get("keyland_trials", 0) >= 1, worker, timeout_s=60)
    # One scrape: two would race the worker counting the module's other users between them.
    scraped = gauges()
    assert scraped["keyland_users"] >= scraped["keyland_trials"]
    assert scraped["keyland_active_subscriptions"] >= 1
