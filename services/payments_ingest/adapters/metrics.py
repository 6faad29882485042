"""The payments ingest's Prometheus metrics, exported at the process's ``GET /metrics``
(:mod:`keyland.observability.ops_server`). The names are what ``infra/prometheus`` scrapes."""

from __future__ import annotations

from prometheus_client import Counter

WEBHOOKS = Counter(
    "keyland_webhooks", "YooKassa notifications answered, by HTTP status.", ["status"]
)
PAYMENT_EVENTS_PUBLISHED = Counter(
    "keyland_payment_events_published",
    "Payment events acknowledged by Kafka, by type.",
    ["type"],
)
RENEWALS = Counter(
    "keyland_renewal_requests",
    "Renewal charges asked for: sent to YooKassa (asked), or already made (known).",
    ["outcome"],
)
