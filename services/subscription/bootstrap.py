"""The one place the subscription service builds its clients."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from pymongo.asynchronous.database import AsyncDatabase

from keyland.indexes import prepared
from keyland.kafka.catch_up import CatchUp
from keyland.kafka.dlq import DeadLetters
from keyland.kafka.owned_cache import Forgets, OwnedCache
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document, async_database
from keyland.settings import KafkaSettings, MongoSettings, load
from keyland.time_buckets import INACTIVITY
from keyland.turns import Turns
from services.subscription.adapters.cleanup_runs import CleanupRuns
from services.subscription.adapters.expiry_marks import ExpiryMarks
from services.subscription.adapters.figure_shards import PARTITIONS, FigureShards
from services.subscription.adapters.payments import Payments
from services.subscription.adapters.payments_api import PaymentsApi
from services.subscription.adapters.promos import Promos
from services.subscription.adapters.schedule import Schedule
from services.subscription.adapters.traffic import TrafficBook
from services.subscription.adapters.user_reads import UserReads
from services.subscription.adapters.users import Users
from services.subscription.config import SubscriptionSettings
from services.subscription.domain.figures import Shard
from services.subscription.handlers.admin_orders import AdminOrders
from services.subscription.handlers.cleanup import InactiveUsers
from services.subscription.handlers.cleanup_timer import CleanupTimer
from services.subscription.handlers.expiry import ExpirySweeper
from services.subscription.handlers.incoming import Schedules, SubscriptionHandler
from services.subscription.handlers.promos import PromoDesk
from services.subscription.handlers.renewal import RenewalSweeper
from services.subscription.handlers.traffic import TrafficTally

# The topics the worker reads (each one names it among its consumers in events.registry):
# those whose events change a user's subscription. ``subscriptions`` carries
# ReferralBonusEarned and ReferralBonusRevoked back to the referrer's own partition and
# SubscriptionExpired back to the user's (for the figures), PromoCodeRedeemed to the
# winner's; other facts there are ignored. Promo codes' records on ``bot.actions`` and
# ``admin.commands`` are keyed by the code and decided by the promo desk.
INPUT_TOPICS = ("bot.actions", "payments", "admin.commands", "subscriptions", "traffic")

# Users (and figure shards) the processor remembers as it last wrote them, while it owns
# their partitions (see keyland.kafka.owned_cache): a document with its bounded ledger is
# a few kB, so at most some tens of MB.
OWNED_USERS = 10_000


@dataclass(frozen=True)
class Container:
    settings: SubscriptionSettings
    kafka: KafkaSettings
    db: AsyncDatabase[Document]
    publisher: EventPublisher
    users: Users
    payments: Payments
    schedule: Schedule
    handler: SubscriptionHandler
    sweeper: ExpirySweeper
    renewals: RenewalSweeper
    payments_api: PaymentsApi | None
    cleanup: InactiveUsers
    cleanup_timer: CleanupTimer
    dead_letters: DeadLetters
    prepare_database: Callable[[], Awaitable[None]]  # its collections and indexes, at start
    owned: tuple[Forgets, ...]  # emptied when partitions move


def bootstrap() -> Container:
    settings, kafka, mongo = load(SubscriptionSettings), load(KafkaSettings), load(MongoSettings)
    db = async_database(mongo, app_name=settings.app_id)
    publisher = EventPublisher.from_settings(kafka, client_id=settings.app_id)
    owned_users: OwnedCache[Document | None] = OwnedCache(OWNED_USERS)
    owned_shards: OwnedCache[Shard] = OwnedCache(PARTITIONS)
    users, payments = Users(db["users"], owned_users), Payments(db["payments"])
    schedule = Schedule(db["expiry_due"])
    renewal_due = Schedule(db["renewal_due"])
    token = settings.payments_token
    payments_api = (
        None
        if token is None
        else PaymentsApi.from_url(
            settings.payments_url, token.get_secret_value(), settings.payments_timeout_s
        )
    )  # The cleanup may run in another process (the CLI), on another clock.
    inactivity = Schedule(db["inactive_due"], INACTIVITY, margin=timedelta(minutes=5))
    shards = FigureShards(db["figures"], owned=owned_shards)
    reads, marks = UserReads(db["users"]), ExpiryMarks(db["expiry_marks"])
    cleanup_after = timedelta(days=settings.cleanup_after_days)
    runs = CleanupRuns(db["cleanup_runs"], settings.instance)
    promos = Promos(db["promo_codes"], db["promo_claims"], db["promo_decisions"])
    traffic = TrafficBook(db["traffic"])
    caught_up = CatchUp(
        kafka.bootstrap, settings.app_id, [publisher.topics(t) for t in INPUT_TOPICS]
    )
    # Of several workers, one sweeps at a time (both sweeps on the same turn).
    sweeps = Turns(
        db["turns"], "sweeps", settings.instance, timedelta(seconds=settings.sweep_term_s)
    )
    sweeper = ExpirySweeper(
        reads,
        marks,
        schedule,
        publisher,
        lookback=timedelta(days=settings.expiry_lookback_days),
        caught_up=caught_up,
        turn=sweeps.holds,
    )
    handler = SubscriptionHandler(
        users,
        payments,
        shards,
        Schedules(schedule, inactivity, cleanup_after, renewal_due),
        publisher,
        settings.rules(),
        PromoDesk(promos, payments, publisher, rebuild=settings.rebuild),
        TrafficTally(traffic),
        payments_api=payments_api,
        rebuild=settings.rebuild,
    )
    return Container(
        settings=settings,
        kafka=kafka,
        db=db,
        publisher=publisher,
        users=users,
        payments=payments,
        schedule=schedule,
        handler=handler,
        sweeper=sweeper,
        renewals=RenewalSweeper(
            reads,
            renewal_due,
            publisher,
            lookback=timedelta(days=settings.expiry_lookback_days),
            caught_up=caught_up,
            turn=sweeps.holds,
        ),
        payments_api=payments_api,
        cleanup=InactiveUsers(reads, inactivity, cleanup_after),
        cleanup_timer=CleanupTimer(
            runs,
            interval=timedelta(seconds=settings.cleanup_interval_s),
            lease=timedelta(seconds=settings.cleanup_lease_s),
        ),
        dead_letters=DeadLetters(publisher, settings.app_id),
        prepare_database=prepared(
            [
                *users.owned(),
                *payments.owned(),
                *schedule.owned(),
                *renewal_due.owned(),
                *marks.owned(),
                *inactivity.owned(),
                *shards.owned(),
                *runs.owned(),
                *promos.owned(),
                *traffic.owned(),
                *sweeps.owned(),
            ],
            mongo.postgres_url,
        ),
        owned=(owned_users, owned_shards, handler),
    )


def admin_orders(kafka: KafkaSettings, app_id: str) -> AdminOrders:
    """The admin API's way to publish admin commands (the read API's process)."""
    return AdminOrders(EventPublisher.from_settings(kafka, client_id=f"{app_id}-admin-api"))
