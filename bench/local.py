"""The running local stack (``make up``) as the benchmarks use it: its tokens and node
agents, simulated Telegram users, users' key ids, and removing the benchmark's users."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from dotenv import dotenv_values

from bench.measure import Activations, Agent, NodeWatcher
from events import Envelope
from events.admin_commands import UserPurgeRequested
from keyland.kafka.producer import EventPublisher
from keyland.settings import KafkaSettings, MongoSettings, load
from keyland_tools.stack.local_env import EMULATED_BOT_USERNAME, TELEGRAM_EMULATOR_PORT
from keyland_tools.stack.postgres import PostgreSQL
from keyland_tools.stack.settings import StackSettings
from services.subscription.domain.state import key_id_for
from tests.telegram_chat import ChatError, EmulatorClient, TelegramUser

TELEGRAM_EMULATOR = f"http://127.0.0.1:{TELEGRAM_EMULATOR_PORT}"
Message = dict[str, Any]


@dataclass(frozen=True)
class LocalStack:
    stack: StackSettings
    tokens: dict[str, str]
    agents: list[Agent]

    @classmethod
    def load(cls) -> LocalStack:
        stack = load(StackSettings)
        tokens = {k: v for k, v in dotenv_values(stack.state_dir / "local.env").items() if v}
        countries = json.loads((stack.state_dir / "countries.json").read_text())
        token = tokens["KEYLAND_PROVISIONER_NODE_TOKEN"]
        agents = [
            Agent(country, f"http://{address}", token)
            for country, addresses in sorted(countries.items())
            for address in addresses
        ]
        return cls(stack, tokens, agents)

    @contextlib.asynccontextmanager
    async def watching(self, client: httpx.AsyncClient) -> AsyncIterator[NodeWatcher]:
        """A watcher of the stack's nodes whose keys are usable at their ``KeyActivated``
        (see :class:`bench.measure.Activations`). Its polls of the agents only tell when
        to stop waiting, so they come twice a second: each lists every key of a node."""
        async with (
            Activations(load(KafkaSettings)) as activations,
            NodeWatcher(client, self.agents, 0.5, activations) as watcher,
        ):
            yield watcher

    def key_of(self, telegram_id: int) -> str:
        """The key id the subscription service gives a new user (first generation)."""
        secret = self.tokens["KEYLAND_SUBSCRIPTION_KEY_SECRET"].encode()
        return str(key_id_for(telegram_id, 0, secret))

    async def purge(self, telegram_ids: list[int], watcher: NodeWatcher) -> int:
        """Ask for every user's purge (as an admin would) and wait until their keys are
        off every node; how many keys are still on some node after two minutes."""
        publisher = EventPublisher.from_settings(load(KafkaSettings), client_id="bench")
        try:
            now = datetime.now(UTC)
            for telegram_id in telegram_ids:
                request = UserPurgeRequested(telegram_id=telegram_id, reason="benchmark user")
                await publisher.publish(Envelope.new(request, producer="bench", occurred_at=now))
        finally:
            await publisher.close()
        keys = [self.key_of(t) for t in telegram_ids]
        return await watcher.wait(keys, enabled=False, timeout_s=120)


def shared_database() -> MongoSettings:
    """The database settings every benchmark uses, for both Keyland and the baseline. On
    the local stack, where FerretDB runs on the stack's PostgreSQL, ``postgres_url``
    defaults to that cluster (``KEYLAND_MONGO_POSTGRES_URL`` overrides it), so a
    benchmark's databases get the pushdown indexes Keyland's services create."""
    mongo = load(MongoSettings)
    if mongo.postgres_url:
        return mongo
    postgres = PostgreSQL(load(StackSettings))
    if postgres.daemon.pid() is None:
        return mongo
    return mongo.model_copy(update={"postgres_url": postgres.url})


def database_env(mongo: MongoSettings) -> dict[str, str]:
    """The variables a service started by a benchmark needs to reach ``mongo``."""
    return {
        "KEYLAND_MONGO_URL": mongo.url,
        "KEYLAND_MONGO_DATABASE": mongo.database,
        "KEYLAND_MONGO_POSTGRES_URL": mongo.postgres_url,
    }


def new_telegram_ids(count: int) -> list[int]:
    """Ids no earlier run used (a random block far above real users' ids)."""
    base = 6_000_000_000 + secrets.randbelow(1_000_000) * 10_000
    return [base + i for i in range(count)]


def simulated_user(emulator: EmulatorClient, telegram_id: int) -> TelegramUser:
    return TelegramUser(
        emulator, EMULATED_BOT_USERNAME, telegram_id, first_name="Bench", language_code="en"
    )


async def next_bot_message(user: TelegramUser, deadline: float) -> Message | None:
    """The bot's next message to ``user`` (waiting until ``deadline``, monotonic), or None."""
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            messages = await user.bot_messages(user.seen + 1, timeout_s=min(remaining, 30))
        except ChatError:  # 408: nothing yet; anything else: try again shortly
            await asyncio.sleep(0.05)
            continue
        user.seen += 1
        return messages[user.seen - 1]
    return None


def has_button(message: Message, prefix: str) -> bool:
    return any(
        str(button.get("callback_data", "")).startswith(prefix)
        for row in message.get("buttons") or []
        for button in row
    )
