"""The one place the bot builds its clients and its dispatcher."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram import Bot, Dispatcher

from keyland.indexes import prepared
from keyland.kafka.producer import EventPublisher
from keyland.mongo import async_client
from keyland.observability import checks as health_checks
from keyland.observability.ops_server import Check
from keyland.settings import KafkaSettings, MongoSettings, load
from keyland.telegram.client import make_bot
from services.bot.adapters.capacity import Capacity
from services.bot.adapters.events import BotEvents
from services.bot.adapters.fsm_storage import FsmStorage
from services.bot.adapters.links import Links
from services.bot.adapters.payments import Payments
from services.bot.adapters.read_api import ReadApi
from services.bot.adapters.regions import Regions
from services.bot.adapters.star_ledger import StarLedger
from services.bot.adapters.telegram_pace import RetryAfter
from services.bot.cabinet.handlers import CabinetDeps
from services.bot.config import BotSettings
from services.bot.domain.seen import SeenPace
from services.bot.domain.stars import Published
from services.bot.entrypoints.commands import publish_commands, publish_menu_button
from services.bot.middlewares.counted import Counted
from services.bot.middlewares.in_flight import InFlight
from services.bot.middlewares.seen import Seen
from services.bot.middlewares.viewer import ViewerMiddleware
from services.bot.routers import root_router

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Container:
    settings: BotSettings
    bot: Bot
    dispatcher: Dispatcher
    events: BotEvents
    read_api: ReadApi
    payments: Payments
    links: Links
    capacity: Capacity
    ledger: StarLedger
    published: Published
    storage: FsmStorage
    in_flight: InFlight
    checks: dict[str, Check]

    async def close(self, drain_timeout_s: float = 20) -> None:
        """Let updates being handled finish, then release every client (the FSM storage
        releases its database client)."""
        if not await self.in_flight.drained(drain_timeout_s):
            log.warning("closing with updates still being handled")
        await self.bot.session.close()
        await self.read_api.close()
        await self.payments.close()
        await self.links.close()
        await self.capacity.close()
        await self.events.close()
        await self.storage.release()


def bootstrap(
    settings: BotSettings | None = None,
    kafka: KafkaSettings | None = None,
    mongo: MongoSettings | None = None,
) -> Container:
    """Everything the bot needs, from the environment unless given."""
    settings = settings or load(BotSettings)
    kafka = kafka or load(KafkaSettings)
    mongo = mongo or load(MongoSettings)
    timeout = settings.http_timeout_s
    bot = make_bot(settings.token.get_secret_value(), settings.telegram_api_url)
    bot.session.middleware(RetryAfter())
    client = async_client(mongo, app_name=settings.app_id)
    storage = FsmStorage(client, db_name=mongo.database, collection_name=settings.fsm_collection)
    read_api = ReadApi.from_url(
        settings.read_api_url, settings.read_api_token.get_secret_value(), timeout
    )
    payments = Payments.from_url(
        settings.payments_url, settings.payments_token.get_secret_value(), timeout
    )
    links = Links.from_url(settings.links_url, settings.links_token.get_secret_value(), timeout)
    # The provisioner asks every agent first, each within its own timeout (5 s by default).
    capacity = Capacity.from_url(
        settings.links_url, settings.links_token.get_secret_value(), timeout * 2
    )
    events = BotEvents(
        EventPublisher.from_settings(kafka, client_id=settings.app_id), bot_id=settings.bot_id
    )
    seen_pace = SeenPace(settings.seen_every_s)
    published = Published()
    dispatcher = Dispatcher(
        storage=storage,
        seen_pace=seen_pace,
        settings=settings,
        read_api=read_api,
        payments=payments,
        links=links,
        capacity=capacity,
        events=events,
        published=published,
        regions=Regions(settings.countries_file),
    )
    in_flight = InFlight()
    dispatcher.update.outer_middleware(Counted())
    dispatcher.update.outer_middleware(in_flight)
    seen = Seen(events, seen_pace)
    viewer = ViewerMiddleware(read_api, settings.admin_ids)
    for observer in (dispatcher.message, dispatcher.callback_query):
        observer.outer_middleware(seen)
        observer.outer_middleware(viewer)
    dispatcher.include_router(root_router())
    dispatcher.startup.register(publish_commands)
    dispatcher.startup.register(publish_menu_button(settings.cabinet_url))
    dispatcher.startup.register(prepared(storage.owned(), mongo.postgres_url))
    return Container(
        settings=settings,
        bot=bot,
        dispatcher=dispatcher,
        events=events,
        read_api=read_api,
        payments=payments,
        links=links,
        capacity=capacity,
        ledger=StarLedger(bot),
        published=published,
        storage=storage,
        in_flight=in_flight,
        checks={
            "database": health_checks.database(client[mongo.database]),
            "kafka": health_checks.kafka(kafka.bootstrap),
        },
    )


@dataclass(frozen=True)
class CabinetContainer:
    """The Mini App cabinet's process: the bot's token and its clients of the services'
    APIs; no Kafka, no database."""

    settings: BotSettings
    deps: CabinetDeps

    async def close(self) -> None:
        await self.deps.bot.session.close()
        await self.deps.read_api.close()
        await self.deps.payments.close()
        await self.deps.links.close()


def bootstrap_cabinet(settings: BotSettings | None = None) -> CabinetContainer:
    """What the cabinet needs, from the environment unless given."""
    settings = settings or load(BotSettings)
    timeout = settings.http_timeout_s
    bot = make_bot(settings.token.get_secret_value(), settings.telegram_api_url)
    bot.session.middleware(RetryAfter())
    deps = CabinetDeps(
        bot=bot,
        read_api=ReadApi.from_url(
            settings.read_api_url, settings.read_api_token.get_secret_value(), timeout
        ),
        links=Links.from_url(settings.links_url, settings.links_token.get_secret_value(), timeout),
        payments=Payments.from_url(
            settings.payments_url, settings.payments_token.get_secret_value(), timeout
        ),
        plans=settings.plans,
        bot_username=settings.username,
        ends_soon_days=settings.cabinet_ends_soon_days,
    )
    return CabinetContainer(settings=settings, deps=deps)
