"""The example Prometheus files name only metrics Keyland exports, and every port is ours."""

from __future__ import annotations

import re

from prometheus_client import REGISTRY

from keyland.observability import metrics
from keyland_tools.stack.local_env import OPS_PORTS, PAYMENTS_PORT, PROVISIONER_API_PORT
from keyland_tools.stack.services import ROOT
from services.bot.adapters import metrics as bot_metrics
from services.notifier.adapters import metrics as notifier_metrics
from services.notifier.adapters.telegram import RETRYABLE
from services.payments_ingest.adapters import metrics as ingest_metrics
from services.provisioner.adapters import metrics as provisioner_metrics

PROMETHEUS = ROOT / "infra" / "prometheus"
# Each catalog registers its metrics when imported (the business gauges only where the
# read API exports them, so the alerts do not use them).
CATALOGS = (metrics, bot_metrics, notifier_metrics, ingest_metrics, provisioner_metrics)


def exported_names() -> set[str]:
    names: set[str] = set()
    for family in REGISTRY.collect():
        names |= {sample.name for sample in family.samples} | {family.name}
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "histogram":
            names |= {f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count")}
    return names


def test_alerts_refer_only_to_exported_metrics() -> None:
    used = set(re.findall(r"\bkeyland_[a-z_]+", (PROMETHEUS / "alerts.yml").read_text()))
    assert used, "the alerts use Keyland's metrics"
    assert used - exported_names() == set()


def test_scrape_targets_are_the_local_stack_ports() -> None:
    config = (PROMETHEUS / "prometheus.yml").read_text()
    for port in [*OPS_PORTS.values(), PAYMENTS_PORT, PROVISIONER_API_PORT]:
        assert f"127.0.0.1:{port}" in config


def test_notices_failing_for_reasons_that_may_pass_are_alerted_on() -> None:
    expressions = re.findall(r"expr: (.*)", (PROMETHEUS / "alerts.yml").read_text())
    [failures] = [e for e in expressions if "keyland_notice_send_failures_total" in e]
    assert all(str(reason) in failures for reason in RETRYABLE)
    assert "blocked" not in failures, "a user blocking the bot is no incident"
