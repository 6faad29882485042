"""A load run's report (``bench.capacity`` writes it as JSON): the conditions, each node's
measured levels and the capacity they give. ``keyland capacity``, the provisioner's
``/v1/nodes/capacity`` and the README's report read it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from keyland.capacity import Capacity, Level, Limits, capacity, cost_per_user


@dataclass(frozen=True)
class NodeReport:
    name: str
    levels: tuple[Level, ...]
    capacity: Capacity


@dataclass(frozen=True)
class Report:
    measured_at: str
    machine: str
    command: str
    user_mbps: float
    window_s: float
    limits: Limits
    monthly_price: Decimal
    nodes: tuple[NodeReport, ...]
    failed_fetches: int

    def cost_per_user(self, node: NodeReport) -> Decimal | None:
        held = node.capacity.active_users
        return cost_per_user(self.monthly_price, held) if held else None

    def as_json(self) -> dict[str, Any]:
        return {
            "measured_at": self.measured_at,
            "machine": self.machine,
            "command": self.command,
            "user_mbps": self.user_mbps,
            "window_s": self.window_s,
            "limits": vars(self.limits),
            "monthly_price": str(self.monthly_price),
            "failed_fetches": self.failed_fetches,
            "nodes": [
                {"name": node.name, "levels": [vars(level) for level in node.levels]}
                for node in self.nodes
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], monthly_price: Decimal | None = None) -> Report:
        """The report as written; ``monthly_price`` replaces the one it was written with."""
        limits = Limits(**data["limits"])
        nodes = []
        for node in data["nodes"]:
            levels = tuple(Level(**level) for level in node["levels"])
            nodes.append(NodeReport(node["name"], levels, capacity(levels, limits)))
        price = Decimal(data["monthly_price"]) if monthly_price is None else monthly_price
        return cls(
            measured_at=data["measured_at"],
            machine=data["machine"],
            command=data["command"],
            user_mbps=data["user_mbps"],
            window_s=data["window_s"],
            limits=limits,
            monthly_price=price,
            nodes=tuple(nodes),
            failed_fetches=data["failed_fetches"],
        )

    def node(self, name: str) -> NodeReport | None:
        """The measured node of that name (the load run names nodes by country)."""
        return next((node for node in self.nodes if node.name == name), None)


class UnreadableReport(ValueError):
    """The report file exists but is not a load run's report."""


def read_report(path: Path, monthly_price: Decimal | None = None) -> Report | None:
    """The report at ``path`` (None when there is none yet), its price replaced by
    ``monthly_price`` when given."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        return Report.from_json(json.loads(text), monthly_price=monthly_price)
    except (ValueError, KeyError, TypeError) as error:
        raise UnreadableReport(f"{path}: not a load run's report: {error}") from error
