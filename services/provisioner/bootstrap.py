"""The one place the provisioner builds its clients: for the worker and for the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from keyland.countries import Countries, CountriesError, CountriesFile
from keyland.indexes import prepared
from keyland.kafka.dlq import DeadLetters
from keyland.kafka.owned_cache import OwnedCache
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document, async_database
from keyland.settings import ConfigError, KafkaSettings, MongoSettings, load
from services.provisioner.adapters.node_client import NodeClients
from services.provisioner.adapters.read_api import TrafficTotals
from services.provisioner.adapters.repository import NodeRecords, UserAccesses
from services.provisioner.config import (
    CapacitySettings,
    CountriesFileSettings,
    NodeAccessSettings,
    ProvisionerSettings,
    SubscriptionPageSettings,
)
from services.provisioner.domain.access_book import AccessBook
from services.provisioner.entrypoints.fleet import Fleet
from services.provisioner.entrypoints.node_loop import Backoff, NodeLoop
from services.provisioner.handlers.converge import NodeConverger
from services.provisioner.handlers.incoming import AccessHandler
from services.provisioner.handlers.traffic import TrafficMeter

COLLECTION = "node_keys"

# The topics the worker reads (each one names it among its consumers in events.registry).
# Co-partitioned (six partitions each, keyed by Telegram id): one user's records from both
# meet in the same agent, so the agent is the one writer of that user's document.
INPUT_TOPICS = ("subscriptions", "bot.actions")


@dataclass(frozen=True)
class Container:
    settings: ProvisionerSettings
    kafka: KafkaSettings
    db: AsyncDatabase[Document]
    publisher: EventPublisher
    accesses: UserAccesses
    records: NodeRecords
    clients: NodeClients
    fleet: Fleet
    handler: AccessHandler
    dead_letters: DeadLetters
    prepare_database: Callable[[], Awaitable[None]]  # its collection and indexes, at start
    # None: each event reads the user's access (one find by _id); the node loops keep
    # their own in-memory book (see services/provisioner/domain/access_book.py).
    owned: tuple[OwnedCache[Any], ...] = ()


def tokens_cover(access: NodeAccessSettings) -> Callable[[Countries], None]:
    """A check that every node of a countries file has a token."""

    def check(countries: Countries) -> None:
        missing = sorted(a for a in countries if access.token_for(a) is None)
        if missing:
            raise CountriesError(
                f"no token for {', '.join(missing)}: set KEYLAND_PROVISIONER_NODE_TOKEN "
                "or add them to KEYLAND_PROVISIONER_NODE_TOKENS"
            )

    return check


def bootstrap(db: AsyncDatabase[Document] | None = None) -> Container:
    """The worker, from the environment; ``db`` replaces the configured database handle
    (a test passes one whose commands it watches)."""
    settings, access = load(ProvisionerSettings), load(NodeAccessSettings)
    kafka, mongo = load(KafkaSettings), load(MongoSettings)
    countries_file = CountriesFile(settings.countries_file)
    usable = tokens_cover(access)
    try:
        countries = countries_file.read()
        usable(countries)
    except CountriesError as error:
        raise ConfigError(
            f"invalid configuration: KEYLAND_PROVISIONER_COUNTRIES_FILE: {error}"
        ) from error

    if db is None:
        db = async_database(mongo, app_name=settings.app_id)
    collection = db[COLLECTION]
    accesses, records = UserAccesses(collection), NodeRecords(collection)
    publisher = EventPublisher.from_settings(kafka, client_id=settings.app_id)
    clients = NodeClients.from_settings(access)
    book = AccessBook()

    def build_loop(address: str, country: str) -> NodeLoop:
        converger = NodeConverger(
            address,
            country,
            clients.for_node(address),
            book=book,
            records=records,
            publisher=publisher,
            unknown_key_grace=timedelta(seconds=settings.unknown_key_grace_s),
            outage_grace=timedelta(seconds=settings.outage_grace_s),
        )
        meter = TrafficMeter(
            address,
            country,
            clients.for_node(address),
            book=book,
            publisher=publisher,
            window=timedelta(seconds=settings.traffic_window_s),
        )
        return NodeLoop(
            converger,
            meter=meter,
            reconcile_interval_s=settings.reconcile_interval_s,
            reload_interval_s=settings.reload_interval_s,
            backoff=Backoff(settings.retry_initial_s, settings.retry_max_s),
        )

    fleet = Fleet(
        countries_file,
        countries,
        build_loop,
        records,
        book=book,
        accesses=accesses,
        usable=usable,
        poll_s=settings.countries_poll_s,
        reload_interval_s=settings.reload_interval_s,
    )
    return Container(
        settings=settings,
        kafka=kafka,
        db=db,
        publisher=publisher,
        accesses=accesses,
        records=records,
        clients=clients,
        fleet=fleet,
        handler=AccessHandler(accesses, fleet.changed),
        dead_letters=DeadLetters(publisher, settings.app_id),
        prepare_database=prepared(accesses.owned(), mongo.postgres_url),
    )


@dataclass(frozen=True)
class ApiContainer:
    settings: SubscriptionPageSettings
    db: AsyncDatabase[Document]
    accesses: UserAccesses
    records: NodeRecords
    clients: NodeClients
    traffic: TrafficTotals | None  # the read API's monthly totals, for the browser page
    countries_file: CountriesFile | None  # the nodes of the capacity view
    capacity: CapacitySettings


def bootstrap_api() -> ApiContainer:
    settings, access, mongo = (
        load(SubscriptionPageSettings),
        load(NodeAccessSettings),
        load(MongoSettings),
    )
    db = async_database(mongo, app_name="keyland-provisioner-api")
    countries_file = load(CountriesFileSettings).countries_file
    return ApiContainer(
        settings=settings,
        db=db,
        accesses=UserAccesses(db[COLLECTION]),
        records=NodeRecords(db[COLLECTION]),
        clients=NodeClients.from_settings(access),
        traffic=TrafficTotals.from_settings(settings),
        countries_file=None if countries_file is None else CountriesFile(countries_file),
        capacity=load(CapacitySettings),
    )
