"""A rebuild into an empty database publishes nothing to the live topics.

The original processor read a history in the order it happened: the referrer's /start,
the invitee's /start through the referrer's link, then the invitee's payment. A rebuild
reads its four input topics in whatever interleaving the consumer fetches, here the whole
``payments`` topic before ``bot.actions``: the payment then finds no registered user, is
held (``CreditHeld``), and the /start that follows applies it (a ``SubscriptionExtended``
and a ``ReferralBonusEarned`` caused by the /start). Those facts never existed, and on the
live ``subscriptions`` topic the running provisioner, notifier and the referrer's own
partition would act on them. Built the way a worker is (``bootstrap``) with
``KEYLAND_SUBSCRIPTION_REBUILD=true``, the rebuilt processor adds no record to the topic
and still ends on the original state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pymongo.database import Database

from events import Envelope, Event, external_event_id
from events.bot_actions import UserStarted
from events.payments import PaymentSucceeded
from events.registry import TopicNames
from keyland.kafka.topics import wait_until_visible
from keyland.mongo import Document, database
from keyland.settings import KafkaSettings, MongoSettings
from keyland_tools.ops.state_hash import PAYMENTS, USERS, canonical_lines
from services.subscription.bootstrap import INPUT_TOPICS, Container, bootstrap
from tests.kafka_tail import read_topic

T0 = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
REFERRER, INVITEE = 8101, 8102


def _paid() -> Envelope[Event]:
    event = PaymentSucceeded(
        telegram_id=INVITEE, payment_id="pay-rebuild-1", plan="month_1", months=1,
        amount=Decimal("199.00"), currency="RUB", paid_at=T0 + timedelta(minutes=10),
    )  # fmt: skip
    return Envelope.new(
        event,
        producer="tests",
        occurred_at=event.paid_at,
        event_id=external_event_id("yookassa", event.payment_id, event.event_type),
    )


STARTS = [
    Envelope.new(UserStarted(telegram_id=REFERRER, username="rita"), producer="tests", occurred_at=T0),
    Envelope.new(
        UserStarted(telegram_id=INVITEE, referrer_id=REFERRER),
        producer="tests",
        occurred_at=T0 + timedelta(minutes=5),
    ),
]  # fmt: skip
PAYMENT = _paid()


@pytest.fixture(scope="module")
def rebuilt_db(mongo_settings: MongoSettings) -> Iterator[Database[Document]]:
    handle = database(
        MongoSettings(url=mongo_settings.url, database=f"{mongo_settings.database}r"),
        app_name="tests",
    )
    yield handle
    handle.client.drop_database(handle.name)
    handle.client.close()


@pytest.fixture
async def visible(kafka_settings: KafkaSettings, created_topics: TopicNames) -> TopicNames:
    await wait_until_visible(kafka_settings.bootstrap, [created_topics(t) for t in INPUT_TOPICS])
    return created_topics


@pytest.fixture
def processor(service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment ``bootstrap`` reads; a test sets the database and the mode."""
    for name, value in service_env.items():
        monkeypatch.setenv(name, value)
    return service_env


async def _built() -> AsyncIterator[Container]:
    container = bootstrap()
    await container.prepare_database()
    try:
        yield container
    finally:
        await container.publisher.close()
        await container.db.client.close()


async def _subscription_facts(kafka: KafkaSettings, topics: TopicNames) -> list[Envelope[Event]]:
    return await read_topic(kafka.bootstrap, topics("subscriptions"), timeout_s=3)


async def _feed(container: Container, batches: Sequence[Sequence[Envelope[Event]]]) -> None:
    for batch in batches:
        await container.handler.handle_batch(list(batch))


async def test_rebuild_in_another_interleaving_publishes_no_fact(
    processor: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    kafka_settings: KafkaSettings,
    visible: TopicNames,
    db: Database[Document],
    rebuilt_db: Database[Document],
) -> None:
    async for original in _built():
        # As it happened: each /start, then the payment; then the referrer's bonus, which
        # comes back to the processor on the subscriptions topic.
        await _feed(original, [[STARTS[0]], [STARTS[1]], [PAYMENT]])
        earned = [
            e
            for e in await _subscription_facts(kafka_settings, visible)
            if e.type == "ReferralBonusEarned"
        ]
        assert len(earned) == 1
        await _feed(original, [earned])
    published = await _subscription_facts(kafka_settings, visible)
    assert {e.type for e in published} >= {"UserRegistered", "SubscriptionExtended"}

    monkeypatch.setenv("KEYLAND_MONGO_DATABASE", rebuilt_db.name)
    monkeypatch.setenv("KEYLAND_SUBSCRIPTION_REBUILD", "true")
    async for rebuild in _built():
        # payments read before bot.actions, then the subscriptions topic as it is
        await _feed(rebuild, [[PAYMENT], STARTS, published])

    after = await _subscription_facts(kafka_settings, visible)
    new = [
        f"{e.type} {e.event_id}" for e in after if e.event_id not in {p.event_id for p in published}
    ]
    assert new == [], "the rebuild published facts that never existed"
    assert len(after) == len(published)
    mine, rebuilt = canonical_lines(db), canonical_lines(rebuilt_db)
    assert rebuilt[USERS] == mine[USERS]
    assert rebuilt[PAYMENTS] == mine[PAYMENTS]
