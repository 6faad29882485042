"""The provisioner's capacity view (``GET /v1/nodes/capacity``): each node's current load
and, from the last load run, where it saturates and what an active user costs. Asked by
the admins' capacity tool only."""

from __future__ import annotations

from decimal import Decimal
from typing import Self

from pydantic import BaseModel, ConfigDict, ValidationError

from services.bot.adapters.http_api import JsonApi


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class NodeLoad(_Model):
    cpu_cores: float
    memory_bytes: int
    throughput_bps: float
    connections: int
    online_users: int
    host_cpu_cores: int


class NodeCapacity(_Model):
    address: str
    country: str
    down: bool
    load: NodeLoad | None
    load_error: str | None
    saturates_first: str | None
    active_users_held: int | None
    cost_per_active_user: Decimal | None


class LoadRun(_Model):
    measured: bool
    error: str | None = None
    measured_at: str | None = None
    command: str | None = None
    monthly_price: Decimal | None = None


class CapacityView(_Model):
    load_run: LoadRun
    nodes: list[NodeCapacity]


class Capacity:
    def __init__(self, api: JsonApi) -> None:
        self._api = api

    @classmethod
    def from_url(cls, url: str, token: str, timeout_s: float) -> Self:
        return cls(JsonApi.from_url(url, token, service="capacity", timeout_s=timeout_s))

    async def view(self) -> CapacityView:
        response = await self._api.request("GET", "/v1/nodes/capacity")
        if response.status_code != 200:
            raise self._api.unexpected(response)
        try:
            return CapacityView.model_validate_json(response.content)
        except ValidationError as error:
            raise self._api.unexpected(response) from error

    async def close(self) -> None:
        await self._api.close()
