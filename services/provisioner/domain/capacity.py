"""What the admins' capacity view shows per node (pure): its current load as its agent
measured it, and from the last load run (:mod:`keyland.load_run`) which resource
saturates first, at how many active users, and the cost per active user at a node's
monthly price. The load run names its nodes by country, so a node is compared with the
measured node of its country."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from keyland.capacity import Resource, cost_per_user
from keyland.countries import Countries
from keyland.load_run import Report


class NodeLoad(BaseModel):
    """An agent's ``GET /v1/load`` answer (the fields ``NodeLoadReported`` carries)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    cpu_cores: float = Field(ge=0)
    memory_bytes: int = Field(ge=0)
    throughput_bps: float = Field(ge=0)
    connections: int = Field(ge=0)
    online_users: int = Field(ge=0)
    host_cpu_cores: int = Field(gt=0)
    host_memory_bytes: int = Field(gt=0)


@dataclass(frozen=True)
class NodeCapacity:
    address: str
    country: str
    down: bool  # announced unreachable (NodeUnreachable) and not back yet
    load: NodeLoad | None
    load_error: str | None  # why there is no load, when there is none
    saturates_first: Resource | None  # None: no load run measured a node of this country
    active_users_held: int | None  # None: never saturates, or not measured
    cost_per_active_user: Decimal | None

    def as_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "country": self.country,
            "down": self.down,
            "load": None if self.load is None else self.load.model_dump(),
            "load_error": self.load_error,
            "saturates_first": self.saturates_first,
            "active_users_held": self.active_users_held,
            "cost_per_active_user": (
                None if self.cost_per_active_user is None else str(self.cost_per_active_user)
            ),
        }


def node_capacities(
    countries: Countries,
    loads: Mapping[str, NodeLoad | str],
    down: set[str],
    run: Report | None,
    monthly_price: Decimal,
) -> list[NodeCapacity]:
    """Every node of the countries file, by country then address; ``loads`` holds each
    node's load, or why it has none (a node missing from it: "not asked")."""
    views = []
    for address, country in sorted(countries.items(), key=lambda item: (item[1], item[0])):
        load = loads.get(address, "not asked")
        measured = None if run is None else run.node(country)
        held = None if measured is None else measured.capacity.active_users
        views.append(
            NodeCapacity(
                address=address,
                country=country,
                down=address in down,
                load=load if isinstance(load, NodeLoad) else None,
                load_error=load if isinstance(load, str) else None,
                saturates_first=None if measured is None else measured.capacity.first.resource,
                active_users_held=held,
                cost_per_active_user=cost_per_user(monthly_price, held) if held else None,
            )
        )
    return views
