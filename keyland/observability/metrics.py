"""The Prometheus metrics every stream consumer exports (:mod:`keyland.kafka`).

A process exports the ones it touches at ``GET /metrics`` (see :mod:`.ops_server`). Each
service's own metrics are in its ``adapters/metrics.py``. Label values are bounded sets:
consumer group, topic, event type, node address, notice kind, answer status — never a
user id.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
