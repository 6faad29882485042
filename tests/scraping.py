"""Reading a running service as Prometheus and a log shipper would: its /metrics and
its JSON log lines."""

from __future__ import annotations

import json
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.processes import Program


def _families(url: str, headers: dict[str, str] | None) -> list[Any]:
    """The metric families at ``url``, from one scrape."""
    answer = httpx.get(url, headers=headers or {}, timeout=5)
    answer.raise_for_status()
    return list(text_string_to_metric_families(answer.text))


def samples(url: str, name: str, headers: dict[str, str] | None = None) -> list[Any]:
    """Every sample of metric family ``name`` (without the ``_total`` suffix) at ``url``."""
    return [
        sample
        for family in _families(url, headers)
        if family.name == name
        for sample in family.samples
    ]


def totals(url: str, headers: dict[str, str] | None = None) -> dict[str, float]:
    """Each metric family at ``url`` (without the ``_total`` suffix) with the sum of its
    samples, from one scrape: figures read together."""
    return {
        family.name: sum(float(sample.value) for sample in family.samples)
        for family in _families(url, headers)
    }


def counted(url: str, name: str, **labels: str) -> float:
    return sum(
        float(s.value)
        for s in samples(url, name)
        if s.name.endswith("_total") and labels.items() <= s.labels.items()
    )


def log_lines(program: Program) -> list[dict[str, Any]]:
    found = []
    for line in program.log().splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found
