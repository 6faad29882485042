"""What the demo drives and watches: people in the emulated Telegram, the stack's own
read-only views (the subscription read API, the node agents) and one Kafka topic."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer

from events import Envelope, Event, decode
from events.codec import DecodeError
from events.registry import TopicNames
from keyland.countries import CountriesFile
from keyland.kafka.admin import extents, plain_consumer
from keyland.settings import KafkaSettings, load
from keyland.texts import LANGUAGES, Texts
from keyland_tools.stack.local_env import (
    DEMO_ADMIN_ID,
    EMULATED_BOT_USERNAME,
    TELEGRAM_EMULATOR_PORT,
    YOOKASSA_EMULATOR_PORT,
    local_env,
)
from keyland_tools.stack.node import OfficialXray, XrayBuild
from keyland_tools.stack.settings import StackSettings

Message = dict[str, Any]
T = TypeVar("T")


class DemoFailed(RuntimeError):
    """A step did not happen in time (or the stack refused the demo's action)."""


async def until(check: Callable[[], Awaitable[T | None]], what: str, timeout_s: float = 60) -> T:
    """Poll ``check`` until it answers something truthy; that answer, or DemoFailed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise DemoFailed(f"{what} did not come within {timeout_s:.0f} s")


def opening(texts: Texts, key: str) -> tuple[str, ...]:
    """How the text ``key`` of ``texts`` (the bot's or the notifier's) begins in each language, up to its first value: enough to
    spot it (the demo's people speak English, but a text may fall back to Russian)."""
    blank = dict.fromkeys(("until", "days_left", "days", "months", "user", "n"), "\0")
    return tuple(texts.text(key, language, **blank).split("\0", 1)[0] for language in LANGUAGES)


def has_button(message: Message, data: str) -> bool:
    return any(b.get("callback_data") == data for row in message.get("buttons") or [] for b in row)


def shown(message: Message) -> str:
    return str(message.get("text") or message.get("caption") or "")


@dataclass
class Person:
    """Someone in a private chat with the bot, played through the emulator."""

    http: httpx.AsyncClient
    bot: str  # the emulator's routes for our bot: .../emulator/bots/<username>
    id: int
    first_name: str

    async def send(self, words: str) -> None:
        user = {"id": self.id, "first_name": self.first_name, "language_code": "en"}
        answer = await self.http.post(f"{self.bot}/messages", json={"user": user, "text": words})
        if answer.status_code != 200:
            raise DemoFailed(f"the Telegram emulator refused a message: {answer.text}")

    async def press(self, message: Message, data: str) -> None:
        body = {"user_id": self.id, "message_id": message["message_id"], "data": data}
        answer = await self.http.post(f"{self.bot}/callbacks", json=body)
        if answer.status_code != 200:
            raise DemoFailed(f"the Telegram emulator refused a button press: {answer.text}")

    async def inbox(self) -> list[Message]:
        """The bot's messages in this chat, oldest first."""
        answer = await self.http.get(
            f"{self.bot}/chats/{self.id}/messages", params={"sender": "bot"}
        )
        return list(answer.json().get("messages", [])) if answer.status_code == 200 else []

    async def received(
        self, wanted: Callable[[Message], bool], what: str, *, after: int = 0, timeout_s: float = 60
    ) -> Message:
        """The latest bot message from the ``after``-th on that is ``wanted``."""

        async def found() -> Message | None:
            return next((m for m in reversed((await self.inbox())[after:]) if wanted(m)), None)

        return await until(found, what, timeout_s)


@dataclass(frozen=True)
class StackView:
    """The stack's read-only views, with the tokens ``make up`` generated."""

    telegram: str  # the Telegram emulator's routes for our bot
    yookassa: str  # the YooKassa emulator
    read_api: str
    read_token: str
    agents: dict[str, tuple[str, str]]  # country -> (agent URL, its token)
    admin_id: int
    kafka: KafkaSettings
    xray: XrayBuild  # what the nodes run; the VLESS client runs it too

    @classmethod
    def local(cls) -> StackView:
        """The stack ``make up`` runs, with the tokens it generated."""
        stack = load(StackSettings)
        env = local_env(stack)
        countries_file = Path(env["KEYLAND_PROVISIONER_COUNTRIES_FILE"])
        if not countries_file.exists():
            raise DemoFailed(f"no countries file at {countries_file}")
        node_token = env["KEYLAND_PROVISIONER_NODE_TOKEN"]
        agents: dict[str, tuple[str, str]] = {}
        for node, country in CountriesFile(countries_file).read().items():
            agents.setdefault(country, (f"http://{node}", node_token))  # its first node
        admins = re.findall(r"\d+", env.get("KEYLAND_BOT_ADMIN_IDS", "")) or [DEMO_ADMIN_ID]
        emulator = f"http://127.0.0.1:{TELEGRAM_EMULATOR_PORT}"
        return cls(
            telegram=f"{emulator}/emulator/bots/{EMULATED_BOT_USERNAME}",
            yookassa=f"http://127.0.0.1:{YOOKASSA_EMULATOR_PORT}",
            read_api=env["KEYLAND_BOT_READ_API_URL"],
            read_token=env["KEYLAND_BOT_READ_API_TOKEN"],
            agents=agents,
            admin_id=int(admins[0]),
            kafka=load(KafkaSettings),
            xray=OfficialXray(stack.cache_dir),
        )

    async def user(self, http: httpx.AsyncClient, telegram_id: int) -> dict[str, Any]:
        """The user as the subscription read API shows them ({} if unknown)."""
        answer = await http.get(
            f"{self.read_api}/v1/users/{telegram_id}", headers=_bearer(self.read_token)
        )
        return dict(answer.json()) if answer.status_code == 200 else {}

    async def enabled_on(self, http: httpx.AsyncClient, key_id: str) -> set[str]:
        """The countries whose node agent has ``key_id`` enabled right now."""
        countries = set()
        for country, (agent, token) in self.agents.items():
            answer = await http.get(f"{agent}/v1/users", headers=_bearer(token))
            if answer.status_code == 200 and key_id in answer.json()["key_ids"]:
                countries.add(country)
        return countries

    async def downlink(self, http: httpx.AsyncClient, country: str, key_id: str) -> int:
        """Bytes the country's node sent to ``key_id`` (its Xray's counter)."""
        agent, token = self.agents[country]
        answer = await http.get(f"{agent}/v1/users/{key_id}/traffic", headers=_bearer(token))
        return int(answer.json()["downlink_bytes"]) if answer.status_code == 200 else 0


class FactWatch:
    """Events of one type landing on their topic from now on (read, never committed)."""

    def __init__(self, consumer: AIOKafkaConsumer, event: type[Event]) -> None:
        self.consumer = consumer
        self.event = event

    @classmethod
    @contextlib.asynccontextmanager
    async def of(cls, kafka: KafkaSettings, event: type[Event]) -> AsyncIterator[FactWatch]:
        async with plain_consumer(kafka.bootstrap) as consumer:
            topic = TopicNames(kafka.topic_prefix).of(event)
            ends = await extents(consumer, topic)
            consumer.assign(list(ends))
            for partition, extent in ends.items():
                consumer.seek(partition, extent.end)
            yield cls(consumer, event)

    async def first(
        self, wanted: Callable[[Event], bool], what: str, timeout_s: float = 60
    ) -> Envelope[Event]:
        """The first such event that is ``wanted``."""

        async def arrived() -> Envelope[Event] | None:
            batches = await self.consumer.getmany(timeout_ms=200)
            for record in (r for batch in batches.values() for r in batch):
                try:
                    envelope = decode(record.value)
                except DecodeError:
                    continue  # not ours to judge: the consumers send it to the DLQ
                if isinstance(envelope.payload, self.event) and wanted(envelope.payload):
                    return envelope
            return None

        return await until(arrived, what, timeout_s)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def moment(value: object) -> datetime | None:
    """A read-API time (ISO, UTC when it carries no offset); None for anything else."""
    if not isinstance(value, str):
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
