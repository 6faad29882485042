"""The node agent's own Prometheus metrics, exported at its ``GET /metrics``: the load
the sampler (``entrypoints/load_sampler.py``) measured over its last interval."""

from __future__ import annotations

from prometheus_client import Gauge

XRAY_CPU_CORES = Gauge("keyland_node_xray_cpu_cores", "CPU Xray used, in cores.")
XRAY_MEMORY_BYTES = Gauge("keyland_node_xray_memory_bytes", "Xray's resident memory.")
THROUGHPUT_BPS = Gauge(
    "keyland_node_throughput_bytes_per_second", "Users' bytes through Xray, both directions."
)
VLESS_CONNECTIONS = Gauge("keyland_node_vless_connections", "Open connections to Xray's VLESS.")
ONLINE_USERS = Gauge("keyland_node_online_users", "Users whose traffic moved in the interval.")
HOST_CPU_CORES = Gauge("keyland_node_host_cpu_cores", "The host's logical cores.")
HOST_MEMORY_BYTES = Gauge("keyland_node_host_memory_bytes", "The host's total memory.")
