"""The one place payments ingest builds its clients."""

from __future__ import annotations

from starlette.applications import Starlette
from yookassa.domain.common import SecurityHelper

from keyland.indexes import prepared
from keyland.kafka.producer import EventPublisher
from keyland.mongo import async_database
from keyland.observability import checks
from keyland.settings import KafkaSettings, MongoSettings, load
from services.payments_ingest.adapters.orders import Orders
from services.payments_ingest.adapters.yookassa_api import YooKassaApi
from services.payments_ingest.config import PaymentsSettings
from services.payments_ingest.domain.trust import networks
from services.payments_ingest.entrypoints.http import build_app
from services.payments_ingest.handlers import IngestHandlers


def bootstrap() -> tuple[PaymentsSettings, Starlette]:
    settings, kafka, mongo = load(PaymentsSettings), load(KafkaSettings), load(MongoSettings)
    db = async_database(mongo, app_name="payments_ingest")
    publisher = EventPublisher.from_settings(kafka, client_id="payments_ingest")
    trusted = [*settings.extra_trusted_networks]
    if settings.trust_yookassa_networks:
        trusted += SecurityHelper.YOOKASSA_NETWORKS
    orders = Orders(db["orders"])
    handlers = IngestHandlers(
        api=YooKassaApi.configure(
            settings.yookassa_shop_id,
            settings.yookassa_secret_key.get_secret_value(),
            settings.yookassa_api_url,
            settings.yookassa_timeout_s,
            settings.yookassa_threads,
        ),
        publisher=publisher,
        orders=orders,
        plans=settings.plan_book(),
        trusted_networks=networks(trusted),
        trusted_proxies=networks(settings.trusted_proxies),
        return_url=settings.return_url,
    )
    app = build_app(
        handlers,
        settings.internal_token.get_secret_value(),
        checks={"kafka": checks.kafka(kafka.bootstrap), "database": checks.database(db)},
        max_body=settings.max_body_bytes,
        prepare=prepared(orders.owned(), mongo.postgres_url),
    )
    return settings, app
