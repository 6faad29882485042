"""The notifier's Prometheus metrics, exported at the process's ``GET /metrics``
(:mod:`keyland.observability.ops_server`). The names are what ``infra/prometheus`` scrapes."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from keyland.observability.metrics import LATENCY_BUCKETS

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
