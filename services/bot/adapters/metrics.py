"""The bot's Prometheus metrics, exported at the process's ``GET /metrics``
(:mod:`keyland.observability.ops_server`). The names are what ``infra/prometheus`` scrapes."""

from __future__ import annotations

from prometheus_client import Counter

BOT_UPDATES = Counter(
    "keyland_bot_updates", "Telegram updates handled, by type and result.", ["type", "result"]
)
