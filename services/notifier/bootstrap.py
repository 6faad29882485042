"""The one place the notifier builds its clients."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from keyland.indexes import prepared
from keyland.kafka.dlq import DeadLetters
from keyland.kafka.owned_cache import OwnedCache
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document, async_database
from keyland.settings import KafkaSettings, MongoSettings, load
from keyland.telegram.client import make_bot
from keyland.turns import Turns
from services.notifier.adapters.broadcasts import Broadcasts
from services.notifier.adapters.claims import Claims
from services.notifier.adapters.notices import Notices
from services.notifier.adapters.outages import Outages
from services.notifier.adapters.pending import PendingNotices
from services.notifier.adapters.telegram import TelegramSender
from services.notifier.adapters.users import Users
from services.notifier.config import NotifierSettings
from services.notifier.domain.profiles import Profile
from services.notifier.handlers.broadcaster import Broadcaster
from services.notifier.handlers.delivery import NoticeSender
from services.notifier.handlers.incoming import NotifierHandler
from services.notifier.handlers.redelivery import Redelivery
from services.notifier.handlers.scheduler import Scheduler

# The topics the worker reads (each one names it among its consumers in events.registry):
# facts that make notices, admins' broadcasts and test notices, and users talking to the
# bot (a visit sends what was kept for them), and nodes going down and coming back.
INPUT_TOPICS = ("subscriptions", "payments", "admin.commands", "bot.actions", "keys")

# Profiles the consumer remembers while it owns their partitions (a few hundred bytes
# each; see keyland.kafka.owned_cache).
OWNED_PROFILES = 50_000


@dataclass(frozen=True)
class Container:
    settings: NotifierSettings
    kafka: KafkaSettings
    db: AsyncDatabase[Document]
    publisher: EventPublisher
    dead_letters: DeadLetters
    notices: Notices
    pending: PendingNotices
    broadcasts: Broadcasts
    handler: NotifierHandler
    scheduler: Scheduler
    broadcaster: Broadcaster
    sender: TelegramSender
    prepare_database: Callable[[], Awaitable[None]]  # its collections and indexes, at start
    owned: tuple[OwnedCache[Any], ...]  # emptied when partitions move


def bootstrap() -> Container:
    settings, kafka, mongo = load(NotifierSettings), load(KafkaSettings), load(MongoSettings)
    db = async_database(mongo, app_name=settings.app_id)
    publisher = EventPublisher.from_settings(kafka, client_id=settings.app_id)
    sender = TelegramSender(
        make_bot(settings.bot_token.get_secret_value(), settings.telegram_api_url),
        per_second=settings.messages_per_second,
        per_chat_per_second=settings.messages_per_chat_per_second,
    )
    notices, claims = (
        Notices(db["notices"], db["notice_outcomes"], db["notice_schedule"]),
        Claims(db["claims"], settings.instance),
    )
    owned_profiles: OwnedCache[Profile] = OwnedCache(OWNED_PROFILES)
    users = Users(db["profiles"], db["recipients"], owned_profiles)
    pending = PendingNotices(db["pending_notices"])
    outages = Outages(db["node_outages"])
    broadcasts = Broadcasts(db["broadcasts"], db["broadcast_deliveries"])
    lease = timedelta(seconds=settings.claim_lease_s)
    notice_sender = NoticeSender(sender, users)
    scheduler = Scheduler(notices, claims, users, notice_sender, lease, pending=pending)
    broadcasting = Turns(
        db["turns"],
        "broadcasts",
        settings.instance,
        timedelta(seconds=settings.broadcast_term_s),
    )
    return Container(
        settings=settings,
        kafka=kafka,
        db=db,
        publisher=publisher,
        dead_letters=DeadLetters(publisher, settings.app_id),
        notices=notices,
        pending=pending,
        broadcasts=broadcasts,
        handler=NotifierHandler(
            notices,
            users,
            broadcasts,
            settings.reminders(),
            settings.regions(),
            alert_ids=settings.alert_ids,
            redelivery=Redelivery(
                pending, claims, users, notices, notice_sender, claim_lease=lease
            ),
            outages=outages,
            on_planned=scheduler.offer,
        ),
        scheduler=scheduler,
        broadcaster=Broadcaster(
            broadcasts,
            claims,
            users,
            sender,
            lambda: datetime.now(UTC),
            claim_lease=lease,
            senders=settings.broadcast_senders,
            turn=broadcasting.holds,
        ),
        sender=sender,
        prepare_database=prepared(
            [
                *notices.owned(),
                *pending.owned(),
                *claims.owned(),
                *users.owned(),
                *broadcasts.owned(),
                *outages.owned(),
                *broadcasting.owned(),
            ],
            mongo.postgres_url,
        ),
        owned=(owned_profiles,),
    )
