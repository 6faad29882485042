"""Fuzzed admin commands through the real bot: aiogram polling the Telegram emulator, the
read API and the subscription worker on the module's database and topics.

In every step of every admin flow an admin sends a few dozen generated malformed inputs:
each is answered with the refusal that explains it, nothing reaches ``admin.commands``,
and a valid command afterwards still works (and is the only thing published). A
non-admin gets refusals only. Poison records on ``admin.commands`` go to its DLQ and
change nothing. The pure parsers' properties are in tests/unit/bot/test_admin_fuzz.py.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from pymongo.database import Database

from emulators.serving import BackgroundServer
from emulators.telegram import BotAccount, EmulatorConfig
from emulators.telegram import build_app as telegram_app
from events import Envelope, Event
from events.admin_commands import (
    BroadcastRequested,
    SubscriptionAdjusted,
    TestNotificationRequested,
)
from events.bot_actions import UserStarted
from events.buttons import MENU_ACTIONS
from events.registry import TopicNames
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document
from keyland.settings import KafkaSettings, MongoSettings
from keyland_tools.ops import dlq
from services.bot.callbacks import BroadcastDecision
from services.bot.config import BotSettings
from services.bot.domain.admin_input import (
    Invalid,
    Target,
    broadcast_text,
    is_exit,
    parse_adjustment,
    parse_buttons,
    parse_delay,
    parse_target,
    parse_target_with_adjustment,
    parse_target_with_delay,
)
from services.bot.locales import text
from tests.bot_harness import PollingBot
from tests.kafka_tail import read_topic
from tests.processes import Program
from tests.services import read_api as read_api_running
from tests.telegram_chat import TelegramUser, text_of
from tests.unit.bot.test_admin_fuzz import button_lines, lines, numbers, spaces
from tests.user_docs import user_doc
from tests.waiting import eventually

pytestmark = pytest.mark.integration

TOKEN, BOT_USERNAME, READ_TOKEN = "720001:admin-fuzz-test", "keyland_fuzz_bot", "fuzz-read"
TARGET, TARGET_NAME, POISONED = 730001, "fuzz_target", 730002
STRANGER = 740001
INPUTS_PER_STEP = 24
HORIZON_DAYS = 400  # not the default, so a refusal naming it proves the setting is read


def says(key: str, **values: Any) -> str:
    return text(key, "ru", **values)


# --- the world around the bot ------------------------------------------------------


@pytest.fixture(scope="module")
def telegram() -> Iterator[BackgroundServer]:
    server = BackgroundServer()
    server.start(telegram_app(EmulatorConfig(bots=(BotAccount(TOKEN, BOT_USERNAME),))))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def read_api(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with read_api_running(service_env, tmp_path_factory.mktemp("read-api"), READ_TOKEN) as url:
        yield url


@dataclass(frozen=True)
class Step:
    """One step of an admin flow: how to reach it, what the admin might type there and
    how the bot must refuse it, and a valid input that ends the flow."""

    admin: int
    reach: tuple[str, ...]
    typed: st.SearchStrategy[str]
    refusal: Callable[[str], str | None]  # None: the input is valid here (not sent)
    valid: tuple[str, ...]  # then, for a broadcast, "Send" is pressed under the preview
    published: type[Event] | None
    done: Callable[[list[Event]], str]  # the bot's last answer, given what was published
    count: int = INPUTS_PER_STEP


def _refused(parse: Callable[[str], object], typed: str) -> str | None:
    try:
        parse(typed)
    except Invalid as error:
        return says(error.key, **error.values)
    return None


def _unknown_user(parse: Callable[[str], Any], typed: str) -> str | None:
    """Refusals of a step that names a user: malformed, or nobody the read model knows."""
    try:
        parsed = parse(typed)
    except Invalid as error:
        return says(error.key, **error.values)
    target: Target = parsed[0] if isinstance(parsed, tuple) else parsed
    if str(target).lower() in {f"tgid={TARGET}", f"username={TARGET_NAME}"}:
        return None
    return says("admin_user_not_found", target=str(target))


targets = st.one_of(
    lines,
    st.tuples(st.sampled_from(["tgid=", "id=", "username=", "username=@"]), numbers, spaces).map(
        "".join
    ),
    st.text(max_size=40),
)
too_long = st.integers(min_value=3801, max_value=4096).map(lambda n: "ж" * n)
WHO = f"{TARGET} @{TARGET_NAME}"


def _sent(key: str, **values: Any) -> Callable[[list[Event]], str]:
    return lambda _: says(key, user=WHO, **values)


def _broadcast_sent(published: list[Event]) -> str:
    assert isinstance(published[0], BroadcastRequested)
    return says("admin_broadcast_sent", broadcast_id=published[0].broadcast_id)


STEPS: dict[str, Step] = {
    "find": Step(
        520001,
        ("/find",),
        targets,
        lambda typed: _unknown_user(parse_target, typed),
        (f"tgid={TARGET}",),
        None,
        lambda _: says("admin_menu"),  # after the user's card
    ),
    "addtime user": Step(
        520002,
        ("/addtime",),
        st.one_of(targets, targets.map(lambda t: f"tgid={TARGET} {t}")),
        lambda typed: _unknown_user(
            lambda t: parse_target_with_adjustment(t, HORIZON_DAYS, datetime.now(UTC)), typed
        ),
        (f"tgid={TARGET} days+=1",),
        SubscriptionAdjusted,
        _sent("admin_adjustment_sent", months=0, days=1),
    ),
    "addtime amounts": Step(
        520003,
        ("/addtime", f"username={TARGET_NAME}"),
        lines,
        lambda typed: _refused(
            lambda t: parse_adjustment(t, HORIZON_DAYS, datetime.now(UTC)), typed
        ),
        ("months+=1",),
        SubscriptionAdjusted,
        _sent("admin_adjustment_sent", months=1, days=0),
    ),
    "broadcast text": Step(
        520004,
        ("/broadcast",),
        too_long,
        lambda typed: _refused(broadcast_text, typed),
        ("Новости Keyland", "нет"),
        BroadcastRequested,
        _broadcast_sent,
        count=4,  # the one way to get it wrong here: too long
    ),
    "broadcast buttons": Step(
        520005,
        ("/broadcast", "Скидка <b>20%</b> {name} %s"),
        button_lines,
        lambda typed: _refused(lambda t: parse_buttons(t, MENU_ACTIONS), typed),
        ("Кнопки: profile, myKeys",),
        BroadcastRequested,
        _broadcast_sent,
    ),
    "test user": Step(
        520006,
        ("/test",),
        st.one_of(targets, st.tuples(numbers, spaces).map(lambda p: f"tgid={TARGET} {p[0]}{p[1]}")),
        lambda typed: _unknown_user(parse_target_with_delay, typed),
        (f"tgid={TARGET} 5",),
        TestNotificationRequested,
        _sent("admin_test_sent", seconds=5),
    ),
    "test delay": Step(
        520007,
        ("/test", f"tgid={TARGET}"),
        st.one_of(numbers, lines),
        lambda typed: _refused(parse_delay, typed),
        ("0",),
        TestNotificationRequested,
        _sent("admin_test_sent", seconds=0),
    ),
}


def generated(step: Step, count: int) -> list[tuple[str, str]]:
    """``count`` distinct inputs the bot must refuse at ``step``, with the refusal: the
    same ones every run. Commands and EXIT leave the step, so they are not among them."""
    found: dict[str, str] = {}

    @settings(
        derandomize=True, database=None, deadline=None, max_examples=count * 10,
        phases=[Phase.generate],
    )  # fmt: skip
    @given(typed=step.typed)
    def collect(typed: str) -> None:
        if len(found) >= count or not typed.strip() or typed.startswith("/") or is_exit(typed):
            return
        refusal = step.refusal(typed)
        if refusal is not None:
            found.setdefault(typed, refusal)

    collect()
    return list(found.items())


@pytest.fixture(scope="module")
async def bot(
    telegram: BackgroundServer,
    read_api: str,
    kafka_settings: KafkaSettings,
    mongo_settings: MongoSettings,
    created_topics: TopicNames,
) -> AsyncIterator[PollingBot]:
    settings = BotSettings(
        token=SecretStr(TOKEN),
        telegram_api_url=telegram.url,
        admin_ids=[step.admin for step in STEPS.values()],
        read_api_url=read_api,
        read_api_token=SecretStr(READ_TOKEN),
        payments_token=SecretStr("unused"),
        links_token=SecretStr("unused"),
        http_timeout_s=10,
        max_horizon_days=HORIZON_DAYS,
    )
    running = PollingBot(settings, kafka_settings, mongo_settings)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture(scope="module")
async def emulator(telegram: BackgroundServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=telegram.url, timeout=70) as client:
        yield client


async def register(publisher: EventPublisher, db: Database[Document], **started: Any) -> None:
    await publisher.publish(
        Envelope.new(UserStarted(**started), producer="tests", occurred_at=datetime.now(UTC))
    )
    await eventually(lambda: user_doc(db, started["telegram_id"]).get("registered") is True)


@pytest.fixture
async def known(publisher: EventPublisher, db: Database[Document], worker: Program) -> None:
    """The users the admins' valid commands name, known to the read model."""
    if not user_doc(db, TARGET).get("registered"):
        await register(publisher, db, telegram_id=TARGET, username=TARGET_NAME, first_name="T")
    if not user_doc(db, POISONED).get("registered"):
        await register(publisher, db, telegram_id=POISONED, first_name="P")


async def commands_of(
    kafka: KafkaSettings, topics: TopicNames, admin: int, *, until: type[Event] | None = None
) -> list[Event]:
    """What ``admin`` published on admin.commands: read until a ``until`` event shows up
    (everything the admin sent before it is then in the batch read with it)."""

    def mine(found: list[Envelope[Event]]) -> list[Event]:
        return [e.payload for e in found if getattr(e.payload, "admin_id", None) == admin]

    found = await read_topic(
        kafka.bootstrap,
        topics("admin.commands"),
        until=lambda f: until is not None and any(isinstance(e, until) for e in mine(f)),
        timeout_s=20 if until is not None else 3,
    )
    return mine(found)


# --- the properties ----------------------------------------------------------------


@pytest.mark.parametrize("name", list(STEPS))
async def test_generated_malformed_input_is_refused_publishes_nothing_and_the_flow_goes_on(
    name: str,
    known: None,
    bot: PollingBot,
    emulator: httpx.AsyncClient,
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    step = STEPS[name]
    inputs = generated(step, step.count)
    assert len(inputs) == step.count  # enough malformed ones to be a test
    admin = TelegramUser(emulator, BOT_USERNAME, step.admin, "Admin")
    await admin.catch_up()
    for reaching in step.reach:
        await admin.ask(reaching)
    for typed, refusal in inputs:
        [answer] = await admin.ask(typed)
        assert text_of(answer) == refusal, typed

    *before, final = step.valid
    for valid in before:
        await admin.ask(valid)
    last = (await admin.ask(final, 2 if name == "find" else 1))[-1]  # find: card, menu
    if step.published is BroadcastRequested:
        await admin.press(last, BroadcastDecision(send=True).pack())
        last = await admin.reply()
    await admin.quiet()
    published = await commands_of(kafka_settings, topics, step.admin, until=step.published)
    expected = [] if step.published is None else [step.published]
    assert [type(e) for e in published] == expected
    assert text_of(last) == step.done(published)


async def test_anyone_else_sending_admin_commands_and_syntax_is_refused(
    emulator: httpx.AsyncClient, bot: PollingBot, kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    stranger = TelegramUser(emulator, BOT_USERNAME, STRANGER, "Stranger")
    await stranger.catch_up()
    typed = [t for t, _ in generated(STEPS["addtime user"], 12)]
    for command, line in zip(
        ["/admin", "/find", "/broadcast", "/addtime", "/test", "/stats"] * 2, typed, strict=False
    ):
        [refused] = await stranger.ask(command)
        assert text_of(refused) == says("admin_refused"), command
        [answer] = await stranger.ask(line)
        assert text_of(answer) == says("unknown_input"), line
    [answer] = await stranger.ask(f"tgid={TARGET} days+=30")
    assert text_of(answer) == says("unknown_input")
    await stranger.quiet()
    assert await commands_of(kafka_settings, topics, STRANGER) == []


async def test_poison_admin_commands_go_to_the_dlq_and_change_nothing(
    known: None,
    worker: Program,
    publisher: EventPublisher,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
    service_env: dict[str, str],
) -> None:
    """Not covered elsewhere for admin.commands: the subscription worker dead-letters
    what cannot be a command (the generic agent is tested in test_faust_agent.py)."""
    assert user_doc(db, POISONED).get("until") is None
    valid = Envelope.new(
        SubscriptionAdjusted(telegram_id=POISONED, days=1, admin_id=520001),
        producer="tests",
        occurred_at=datetime.now(UTC),
    )
    document = json.loads(valid.model_dump_json())

    def tampered(**payload: Any) -> bytes:
        return json.dumps(
            {
                **document,
                "event_id": str(uuid.uuid4()),
                "payload": {**document["payload"], **payload},
            }
        ).encode()

    poison = [
        b"\x00\xff not even text",
        b'{"type": "SubscriptionAdjusted"',
        tampered(days=3000, admin_id=520001, note="x" * 501),
        tampered(days=0, months=0),
        tampered(days=3000, telegram_id=-5),
        tampered(days=3000, granted_by="me"),
        json.dumps({**document, "version": 99}).encode(),
        Envelope.new(
            UserStarted(telegram_id=POISONED, first_name="P"),
            producer="tests",
            occurred_at=datetime.now(UTC),
        )
        .model_dump_json()
        .encode(),  # a bot action on the wrong topic
    ]
    source = topics("admin.commands")
    for value in poison:
        await publisher.send_raw(source, key=str(POISONED).encode(), value=value, headers=[])
    await publisher.publish(valid)  # same key: it waits behind the poison

    await eventually(lambda: user_doc(db, POISONED).get("until") is not None, worker)
    until = user_doc(db, POISONED)["until"].replace(tzinfo=UTC)
    assert until <= datetime.now(UTC) + timedelta(days=1, minutes=5)  # only the valid day
    letters = await dlq.read(
        kafka_settings.bootstrap, topics.dlq("admin.commands"), only_waiting=False
    )
    assert [letter.value for letter in letters] == poison
    consumer = service_env["KEYLAND_SUBSCRIPTION_APP_ID"].encode()
    assert {letter.headers["dlq.consumer"] for letter in letters} == {consumer}
