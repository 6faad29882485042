"""Replay proof: the state rebuilt from the topics into an empty database has the same
canonical hash as the original, and replaying the topics into the original changes nothing.

A mixed history (referrals, trials, several plans, a refund, admin adjustments, a region
choice, referral bonuses, a lapse) goes through the real subscription and provisioner
workers (child processes) and two real nodes. Then:

1. fresh workers with new consumer groups and a new, empty database read the same topics
   from the beginning, the provisioner managing the same nodes (its records describe
   those nodes: a database lost in production is rebuilt against the servers that still
   run); the subscription worker in rebuild mode publishes nothing (its facts, decided in
   another interleaving, would reach the live topic under ids that never existed): the
   facts, lapses and referral bonuses it needs are the original ones on the topic;
2. the original groups are rewound to offset 0 (``keyland_tools.ops.replay``) and the original
   workers restarted on the original database, now also reading the rebuild's facts.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pymongo.database import Database

from events import Envelope, Event, external_event_id
from events.admin_commands import SubscriptionAdjusted
from events.bot_actions import RegionChosen, TrialRequested, UserStarted
from events.payments import PaymentSucceeded, RefundSucceeded
from events.registry import TopicNames
from keyland.kafka.admin import extents, plain_consumer
from keyland.kafka.producer import EventPublisher
from keyland.kafka.topics import wait_until_visible
from keyland.mongo import Document, database
from keyland.settings import KafkaSettings, MongoSettings
from keyland_tools.ops.state_hash import (
    BROADCAST_DELIVERIES,
    BROADCASTS,
    NODE_KEYS,
    NOTICE_OUTCOMES,
    NOTICES,
    PAYMENTS,
    USERS,
    StateHash,
    canonical_lines,
    state_hash,
)
from keyland_tools.stack.node import Node
from services.provisioner.bootstrap import INPUT_TOPICS as PROVISIONER_TOPICS
from services.subscription.bootstrap import INPUT_TOPICS as SUBSCRIPTION_TOPICS
from tests.consumer_groups import behind, rewind
from tests.processes import Program
from tests.provisioning import node_tokens, running_nodes, write_countries
from tests.user_docs import user_doc
from tests.waiting import eventually

T0 = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)
REFERRER, INVITEE, SWITCHER, ADJUSTED, LAPSED, SECOND_LEVEL = range(7001, 7007)
ACTIVE = (REFERRER, INVITEE, SWITCHER, ADJUSTED, SECOND_LEVEL)
NODES = ("finland", "germany")
# Six users and five payments; on node_keys six access documents and the enabled key of
# each active user on both nodes. No notifier runs here (its record is never rebuilt).
EXPECTED = {
    USERS: 6,
    PAYMENTS: 5,
    NODE_KEYS: 6 + len(ACTIVE) * len(NODES),
    **dict.fromkeys((NOTICES, NOTICE_OUTCOMES, BROADCASTS, BROADCAST_DELIVERIES), 0),
}


@dataclass(frozen=True)
class Workers:
    """One generation of workers: their consumer groups, database and environments."""

    subscription_env: dict[str, str]
    provisioner_env: dict[str, str]
    logs: Path

    @property
    def groups(self) -> dict[str, tuple[str, ...]]:
        return {
            self.subscription_env["KEYLAND_SUBSCRIPTION_APP_ID"]: SUBSCRIPTION_TOPICS,
            self.provisioner_env["KEYLAND_PROVISIONER_APP_ID"]: PROVISIONER_TOPICS,
        }

    def start(self, round_name: str) -> list[Program]:
        return [
            Program(
                "services.subscription",
                self.subscription_env,
                self.logs / f"subscription-{round_name}.log",
                args=["worker"],
            ).start(),
            Program(
                "services.provisioner",
                self.provisioner_env,
                self.logs / f"provisioner-{round_name}.log",
                args=["worker"],
            ).start(),
        ]


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Node]]:
    with running_nodes(tmp_path_factory.mktemp("nodes"), NODES) as made:
        yield made


def generation(
    service_env: dict[str, str],
    nodes: list[Node],
    countries: Path,
    suffix: str,
    database_name: str,
    tmp_path_factory: pytest.TempPathFactory,
    *,
    rebuild: bool = False,
) -> Workers:
    subscription = {
        **service_env,
        "KEYLAND_SUBSCRIPTION_REBUILD": str(rebuild).lower(),
        "KEYLAND_MONGO_DATABASE": database_name,
        "KEYLAND_SUBSCRIPTION_APP_ID": f"{service_env['KEYLAND_SUBSCRIPTION_APP_ID']}{suffix}",
        "KEYLAND_SUBSCRIPTION_DATA_DIR": str(tmp_path_factory.mktemp(f"subscription{suffix}")),
    }
    provisioner = {
        **subscription,
        "KEYLAND_PROVISIONER_APP_ID": f"{database_name}-provisioner{suffix}",
        "KEYLAND_PROVISIONER_DATA_DIR": str(tmp_path_factory.mktemp(f"provisioner{suffix}")),
        "KEYLAND_PROVISIONER_COUNTRIES_FILE": str(countries),
        "KEYLAND_PROVISIONER_NODE_TOKENS": node_tokens(nodes),
        "KEYLAND_PROVISIONER_RECONCILE_INTERVAL_S": "1",
        "KEYLAND_PROVISIONER_RETRY_MAX_S": "1",
    }
    return Workers(subscription, provisioner, tmp_path_factory.mktemp(f"logs{suffix}"))


@pytest.fixture(scope="module")
def countries(tmp_path_factory: pytest.TempPathFactory, nodes: list[Node]) -> Path:
    path = tmp_path_factory.mktemp("countries") / "countries.json"
    write_countries(path, nodes)
    return path


@pytest.fixture(scope="module")
def rebuilt_db(mongo_settings: MongoSettings) -> Iterator[Database[Document]]:
    settings = MongoSettings(url=mongo_settings.url, database=f"{mongo_settings.database}r")
    handle = database(settings, app_name="tests")
    yield handle
    handle.client.drop_database(handle.name)
    handle.client.close()


@pytest.fixture(scope="module")
async def visible(kafka_settings: KafkaSettings, created_topics: TopicNames) -> TopicNames:
    names = {created_topics(t) for t in (*SUBSCRIPTION_TOPICS, *PROVISIONER_TOPICS)}
    await wait_until_visible(kafka_settings.bootstrap, sorted(names))
    return created_topics


@pytest.fixture
async def running() -> AsyncIterator[list[Program]]:
    """Programs a test starts; each is stopped when the test ends, however it ends."""
    programs: list[Program] = []
    yield programs
    for program in programs:
        program.stop()


# The history -----------------------------------------------------------------------------


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def action(event: Event, minutes: float) -> Envelope[Event]:
    return Envelope.new(event, producer="tests", occurred_at=at(minutes))


def paid(
    telegram_id: int, payment_id: str, months: int, amount: str, minutes: float
) -> Envelope[Event]:
    event = PaymentSucceeded(
        telegram_id=telegram_id, payment_id=payment_id, plan=f"month_{months}", months=months,
        amount=Decimal(amount), currency="RUB", paid_at=at(minutes),
    )  # fmt: skip
    return Envelope.new(
        event,
        producer="tests",
        occurred_at=at(minutes),
        event_id=external_event_id("yookassa", payment_id, event.event_type),
    )


def refunded(telegram_id: int, payment_id: str, amount: str, minutes: float) -> Envelope[Event]:
    event = RefundSucceeded(
        telegram_id=telegram_id, payment_id=payment_id, refund_id=f"refund-{payment_id}",
        amount=Decimal(amount), currency="RUB", refunded_at=at(minutes),
    )  # fmt: skip
    return Envelope.new(
        event,
        producer="tests",
        occurred_at=at(minutes),
        event_id=external_event_id("yookassa", event.refund_id, event.event_type),
    )


def adjusted(
    telegram_id: int, minutes: float, *, months: int = 0, days: int = 0
) -> Envelope[Event]:
    event = SubscriptionAdjusted(telegram_id=telegram_id, months=months, days=days, admin_id=42)
    return action(event, minutes)


# (envelope, referral bonus days the referrer has once it is applied, if it moves them)
HISTORY: list[tuple[Envelope[Event], tuple[int, int] | None]] = [
    (action(UserStarted(telegram_id=REFERRER, username="Rita", language_code="ru"), 0), None),
    (action(TrialRequested(telegram_id=REFERRER), 1), None),
    (action(RegionChosen(telegram_id=REFERRER, region="germany"), 2), None),
    (action(UserStarted(telegram_id=INVITEE, username="anton", referrer_id=REFERRER), 5), None),
    (action(TrialRequested(telegram_id=INVITEE), 6), None),
    (paid(INVITEE, "pay-invitee-1", 1, "199.00", 10), (REFERRER, 10)),
    (action(RegionChosen(telegram_id=INVITEE, region="finland"), 11), None),
    (action(UserStarted(telegram_id=SWITCHER, referrer_id=REFERRER), 15), None),
    (paid(SWITCHER, "pay-switcher-3", 3, "499.00", 20), (REFERRER, 40)),
    (paid(SWITCHER, "pay-switcher-1", 1, "199.00", 30), (REFERRER, 50)),
    (refunded(SWITCHER, "pay-switcher-1", "199.00", 40), (REFERRER, 40)),  # takes back 10
    (action(UserStarted(telegram_id=ADJUSTED, username="Carl"), 45), None),
    (paid(ADJUSTED, "pay-adjusted-12", 12, "1490.00", 50), None),
    (adjusted(ADJUSTED, 55, days=7), None),
    (adjusted(ADJUSTED, 60, months=-1), None),
    (adjusted(ADJUSTED, 62, months=100), None),  # past the horizon: rejected
    (action(UserStarted(telegram_id=LAPSED), 65), None),
    (action(TrialRequested(telegram_id=LAPSED), 66), None),
    (adjusted(LAPSED, 70, days=-10), None),  # ends access at once (two days ago)
    (action(UserStarted(telegram_id=SECOND_LEVEL, referrer_id=INVITEE), 75), None),
    (paid(SECOND_LEVEL, "pay-second-6", 6, "990.00", 80), (INVITEE, 60)),
]


def applied(db: Database[Document], envelope: Envelope[Event]) -> bool:
    user = user_doc(db, int(envelope.payload.partition_key()))
    return str(envelope.event_id) in {e["event_id"] for e in user.get("entries", [])}


def done(db: Database[Document], envelope: Envelope[Event], bonus: tuple[int, int] | None) -> bool:
    """The event is in its user's ledger, and the referral bonus it pays is credited."""
    if bonus is None:
        return applied(db, envelope)
    referrer, days = bonus
    return applied(db, envelope) and user_doc(db, referrer).get("referral_days_earned") == days


# Waiting until quiet ---------------------------------------------------------------------


def lapse_announced(db: Database[Document]) -> bool:
    """The expiry sweep announced the lapse of the history's lapsed user (it sweeps on
    its own clock, so the topics can be read to the end before it has)."""
    return any(e.get("kind") == "lapsed" for e in user_doc(db, LAPSED).get("entries", []))


async def quiet_state(
    db: Database[Document],
    kafka: KafkaSettings,
    topics: TopicNames,
    workers: Workers,
    programs: list[Program],
    timeout_s: float = 180,
) -> StateHash:
    """The state hash once every group read its topics to the end, the expected documents
    are there, the lapse is announced and the hash stayed the same over three polls (node
    loops are done)."""
    deadline, previous, steady = time.monotonic() + timeout_s, None, 0
    while steady < 3:
        for program in programs:
            assert program.process is not None, f"{program.module} is not running"
            assert program.process.poll() is None, (
                f"{program.module} exited:\n{program.log()[-4000:]}"
            )
        assert time.monotonic() < deadline, "never quiet:\n" + "".join(
            f"--- {p.module}:\n{p.log()[-3000:]}\n" for p in programs
        )
        current = state_hash(db)
        caught_up = await behind(kafka.bootstrap, topics, workers.groups) == 0
        settled = caught_up and current.counts == EXPECTED and current == previous
        settled = settled and lapse_announced(db)
        steady = steady + 1 if settled else 0
        previous = current
        await asyncio.sleep(1)
    assert previous is not None
    return previous


async def records(kafka: KafkaSettings, topic: str) -> int:
    async with plain_consumer(kafka.bootstrap) as consumer:
        return sum(span.end - span.beginning for span in (await extents(consumer, topic)).values())


def differences(original: Database[Document], other: Database[Document]) -> str:
    """The canonical documents that differ, for the failure message."""
    mine, theirs = canonical_lines(original), canonical_lines(other)
    lines = []
    for name in mine:
        lines += [f"- {name} {line}" for line in sorted(set(mine[name]) - set(theirs[name]))]
        lines += [f"+ {name} {line}" for line in sorted(set(theirs[name]) - set(mine[name]))]
    return "\n".join(lines)


async def test_rebuild_and_replay_reproduce_the_state_hash(
    nodes: list[Node],
    countries: Path,
    service_env: dict[str, str],
    mongo_settings: MongoSettings,
    kafka_settings: KafkaSettings,
    visible: TopicNames,
    publisher: EventPublisher,
    db: Database[Document],
    rebuilt_db: Database[Document],
    running: list[Program],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    original = generation(service_env, nodes, countries, "", db.name, tmp_path_factory)
    programs = original.start("original")
    running += programs
    for envelope, bonus in HISTORY:  # one at a time, as they would happen
        await publisher.publish(envelope)
        await eventually(functools.partial(done, db, envelope, bonus), *programs)
    before = await quiet_state(db, kafka_settings, visible, original, programs)
    assert before.counts == EXPECTED
    for program in programs:
        program.stop()

    facts = await records(kafka_settings, visible("subscriptions"))
    rebuild = generation(
        service_env, nodes, countries, "-rebuild", rebuilt_db.name, tmp_path_factory, rebuild=True
    )
    assert set(rebuild.groups).isdisjoint(original.groups)
    assert state_hash(rebuilt_db).counts == dict.fromkeys(EXPECTED, 0)
    programs = rebuild.start("rebuild")
    running += programs
    rebuilt = await quiet_state(rebuilt_db, kafka_settings, visible, rebuild, programs)
    assert rebuilt == before, differences(db, rebuilt_db)
    assert await records(kafka_settings, visible("subscriptions")) == facts  # none published
    for program in programs:
        program.stop()

    await rewind(kafka_settings, visible, original.groups)
    assert await behind(kafka_settings.bootstrap, visible, original.groups) > 0
    programs = original.start("replay")
    running += programs
    replayed = await quiet_state(db, kafka_settings, visible, original, programs)
    assert replayed == before
