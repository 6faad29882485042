"""The provisioner's Prometheus metrics, exported at the process's ``GET /metrics``
(:mod:`keyland.observability.ops_server`). The names are what ``infra/prometheus`` scrapes."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from keyland.observability.metrics import LATENCY_BUCKETS

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
