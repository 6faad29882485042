"""Session fixtures: real Kafka and database, isolated per test module."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Generator, Iterator

import pytest
from pymongo.database import Database

from events.registry import TopicNames
from keyland.kafka.producer import EventPublisher
from keyland.kafka.topics import ensure_topics
from keyland.mongo import Document, database
from keyland.settings import KafkaSettings, MongoSettings
from keyland_tools.stack.chromium import Chromium
from keyland_tools.stack.process import StartError
from tests.browser import Phone, PhoneFactory, artifact_dir, start_phone
from tests.endpoints import Endpoints, real_endpoints
from tests.kafka_tail import delete_topics_starting
from tests.processes import Program
from tests.services import subscription_worker


@pytest.fixture(scope="session")
def endpoints() -> Iterator[Endpoints]:
    with real_endpoints() as found:
        yield found


@pytest.fixture(scope="module")
def isolation() -> str:
    """A short unique name for this module's topics and database."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def kafka_settings(endpoints: Endpoints, isolation: str) -> Iterator[KafkaSettings]:
    """The module's Kafka: its topics start with ``isolation`` (ours, and the faust apps'
    own, whose ids the module's services start with it too). They are deleted when the
    module ends, as its database is dropped, so a long-lived broker does not pile up
    every module's partitions."""
    yield KafkaSettings(
        bootstrap=endpoints.kafka_bootstrap, topic_prefix=f"{isolation}.", publish_timeout_s=10
    )
    asyncio.run(delete_topics_starting(endpoints.kafka_bootstrap, isolation))


@pytest.fixture(scope="module")
def mongo_settings(endpoints: Endpoints, isolation: str) -> MongoSettings:
    return MongoSettings(
        url=endpoints.mongo_url, database=isolation, postgres_url=endpoints.postgres_url
    )


@pytest.fixture(scope="module")
def topics(kafka_settings: KafkaSettings) -> TopicNames:
    return TopicNames(kafka_settings.topic_prefix)


@pytest.fixture(scope="module")
async def created_topics(kafka_settings: KafkaSettings, topics: TopicNames) -> TopicNames:
    await ensure_topics(kafka_settings.bootstrap, topics)
    return topics


@pytest.fixture
async def publisher(
    kafka_settings: KafkaSettings, created_topics: TopicNames
) -> AsyncIterator[EventPublisher]:
    publisher = EventPublisher.from_settings(kafka_settings, client_id="tests")
    yield publisher
    await publisher.close()


@pytest.fixture(scope="module")
def db(mongo_settings: MongoSettings) -> Iterator[Database[Document]]:
    handle = database(mongo_settings, app_name="tests")
    yield handle
    handle.client.drop_database(handle.name)
    handle.client.close()


@pytest.fixture(scope="module")
def service_env(
    kafka_settings: KafkaSettings,
    mongo_settings: MongoSettings,
    isolation: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    """Environment for our services started by this module: its topics and database."""
    return {
        "KEYLAND_KAFKA_BOOTSTRAP": kafka_settings.bootstrap,
        "KEYLAND_KAFKA_TOPIC_PREFIX": kafka_settings.topic_prefix,
        "KEYLAND_KAFKA_PUBLISH_TIMEOUT_S": str(kafka_settings.publish_timeout_s),
        "KEYLAND_MONGO_URL": mongo_settings.url,
        "KEYLAND_MONGO_DATABASE": mongo_settings.database,
        "KEYLAND_MONGO_POSTGRES_URL": mongo_settings.postgres_url,
        "KEYLAND_SUBSCRIPTION_APP_ID": f"{isolation}-subscription",
        "KEYLAND_SUBSCRIPTION_DATA_DIR": str(tmp_path_factory.mktemp("subscription")),
        "KEYLAND_SUBSCRIPTION_KEY_SECRET": f"key-secret-of-{isolation}-for-tests-only",
    }


@pytest.fixture(scope="module")
def worker(
    service_env: dict[str, str],
    created_topics: TopicNames,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Program]:
    """The subscription worker on this module's topics and database (a module may define
    its own ``worker`` instead)."""
    with subscription_worker(service_env, tmp_path_factory.mktemp("worker")) as program:
        yield program


@pytest.fixture(scope="session")
def chromium() -> Chromium:
    """Debian's headless Chromium and chromedriver, installed when missing (``make test``
    installs them first); the test is skipped, saying why, where they cannot be."""
    try:
        return Chromium().fetch()
    except StartError as error:
        pytest.skip(f"no Chromium for the browser tests: {error}")


@pytest.fixture
def phone(chromium: Chromium, request: pytest.FixtureRequest) -> Iterator[PhoneFactory]:
    """Opens phone-sized browser sessions (``phone("ru")``), each closed after the test;
    screenshots land in the test's artifact folder (``tests/browser.py``), and a failed
    test leaves one of each session as it was."""
    sessions: list[Phone] = []

    def open_phone(language: str) -> Phone:
        session = start_phone(chromium, language, artifact_dir(request.node.nodeid))
        sessions.append(session)
        return session

    yield open_phone
    call = getattr(request.node, "rep_call", None)
    for index, session in enumerate(sessions):
        if call is not None and call.failed:  # what the browser showed when the test failed
            session.shot(f"failed-{index}-{session.language}")
        session.driver.quit()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keeps each phase's report on the test item (``rep_call``), for fixtures to see
    whether the test failed."""
    report: pytest.TestReport = yield
    setattr(item, f"rep_{report.when}", report)
    return report
