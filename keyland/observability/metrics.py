"""Every Prometheus metric Keyland exports, in one catalog.

A process exports the ones it touches at ``GET /metrics`` (see :mod:`.ops_server`). Label
values are bounded sets: consumer group, topic, event type, node address, notice kind,
answer status — never a user id.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600)

# Stream processing (every faust agent, keyland.kafka.faust_app.consume)
EVENTS_PROCESSED = Counter(
    "keyland_events_processed",
    "Records handled by a consumer, by source topic and event type.",
    ["consumer", "topic", "type"],
)
EVENTS_FAILED = Counter(
    "keyland_events_failed",
    "Records a consumer dead-lettered, by source topic, event type and error class.",
    ["consumer", "topic", "type", "error"],
)
EVENT_HANDLING_SECONDS = Histogram(
    "keyland_event_handling_seconds",
    "Time to apply one record, retries of transient failures included.",
    ["consumer", "type"],
)
CONSUMER_LAG = Gauge(
    "keyland_consumer_lag",
    "Records in a topic not yet committed by the consumer group (summed over partitions).",
    ["consumer", "topic"],
)

# Payments ingest
WEBHOOKS = Counter(
    "keyland_webhooks", "YooKassa notifications answered, by HTTP status.", ["status"]
)
PAYMENT_EVENTS_PUBLISHED = Counter(
    "keyland_payment_events_published",
    "Payment events acknowledged by Kafka, by type.",
    ["type"],
)

# Provisioner
KEY_USABLE_SECONDS = Histogram(
    "keyland_key_usable_seconds",
    "From the event that granted access (a paid webhook, a trial, an admin's days) "
    "to the key enabled on a node.",
    ["node"],
    buckets=LATENCY_BUCKETS,
)
PROVISIONING_FAILURES = Counter(
    "keyland_provisioning_failures",
    "Node rounds that failed, by node and reason (unreachable, error).",
    ["node", "reason"],
)
NODE_UP = Gauge("keyland_node_up", "1 while the node's last round succeeded.", ["node"])

# Notifier
NOTICES = Counter(
    "keyland_notices",
    "Notices settled, by kind and outcome (sent, blocked, ..., redelivered).",
    ["kind", "outcome"],
)
NOTICE_SEND_FAILURES = Counter(
    "keyland_notice_send_failures",
    "Notice sends Telegram refused, by kind and reason (blocked, deactivated: the user "
    "is skipped from then on; chat_not_found, network, server_error, flood: may pass; "
    "rejected: the message itself).",
    ["kind", "reason"],
)
NOTICE_LATENESS_SECONDS = Histogram(
    "keyland_notice_lateness_seconds",
    "How long after its due time a notice was sent.",
    ["kind"],
    buckets=LATENCY_BUCKETS,
)
BROADCAST_DELIVERIES = Gauge(
    "keyland_broadcast_deliveries",
    "Deliveries of the broadcast in progress, by state; total is the audience.",
    ["state"],
)

# Bot
BOT_UPDATES = Counter(
    "keyland_bot_updates", "Telegram updates handled, by type and result.", ["type", "result"]
)

# Business: only the subscription read API exports them (register_business_gauges), so no
# other process shows a misleading 0; it refreshes them from the database.
USERS = Gauge("keyland_users", "Registered users.", registry=None)
ACTIVE_SUBSCRIPTIONS = Gauge(
    "keyland_active_subscriptions", "Users with access now.", registry=None
)
TRIALS = Gauge("keyland_trials", "Users who took the trial.", registry=None)
PAID_USERS = Gauge("keyland_paid_users", "Users who paid at least once.", registry=None)
TRIAL_TO_PAID = Gauge(
    "keyland_trial_to_paid_ratio", "Share of trial users who paid later.", registry=None
)
REVENUE = Gauge("keyland_revenue", "Paid minus refunded, by currency.", ["currency"], registry=None)
_BUSINESS = (USERS, ACTIVE_SUBSCRIPTIONS, TRIALS, PAID_USERS, TRIAL_TO_PAID, REVENUE)
_business_registered: list[bool] = []


def register_business_gauges() -> None:
    """Export the business gauges from this process (once; again is a no-op)."""
    if not _business_registered:
        for gauge in _BUSINESS:
            REGISTRY.register(gauge)
        _business_registered.append(True)
