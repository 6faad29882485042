"""Xray's gRPC API: HandlerService to add and remove users, StatsService for counters.

Each Keyland user is a VLESS client whose email is its key id, so removal, traffic
queries and ``GetInboundUsers`` all address the user by that one stable name.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import grpc
from google.protobuf.message import Message
from xray.app.proxyman.command import command_pb2 as handler_pb2
from xray.app.proxyman.command import command_pb2_grpc as handler_grpc
from xray.app.stats.command import command_pb2 as stats_pb2
from xray.app.stats.command import command_pb2_grpc as stats_grpc
from xray.common.protocol import user_pb2
from xray.common.serial import typed_message_pb2
from xray.proxy.vless import account_pb2

from services.node_agent.domain.keys import KeyId
from services.node_agent.domain.traffic import USER_STATS_PREFIX, Traffic, traffic_by_key

T = TypeVar("T")

# gRPC backs off up to two minutes between reconnects by default; Xray restarting on the
# same host should be noticed within seconds, whatever the length of the outage.
_RECONNECT_QUICKLY = [
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 1000),
]

_UNREACHABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


class XrayUnavailable(ConnectionError):
    """Xray's API did not answer (Xray stopped, restarting, or the address is wrong)."""


class XrayRejected(RuntimeError):
    """Xray answered with an error other than the idempotent ones."""


def _typed(message: Message) -> typed_message_pb2.TypedMessage:
    return typed_message_pb2.TypedMessage(
        type=message.DESCRIPTOR.full_name, value=message.SerializeToString()
    )


class XrayApi:
    """Calls to one Xray process, for the users of one VLESS inbound."""

    def __init__(
        self, channel: grpc.aio.Channel, *, inbound_tag: str, flow: str, timeout_s: float
    ) -> None:
        self._channel = channel
        self._handler = handler_grpc.HandlerServiceStub(channel)
        self._stats = stats_grpc.StatsServiceStub(channel)
        self.inbound_tag = inbound_tag
        self.flow = flow
        self.timeout_s = timeout_s

    @classmethod
    def from_address(
        cls, address: str, *, inbound_tag: str, flow: str = "", timeout_s: float = 5.0
    ) -> XrayApi:
        """A client for ``host:port`` of Xray's API inbound (connects lazily)."""
        return cls(
            grpc.aio.insecure_channel(address, options=_RECONNECT_QUICKLY),
            inbound_tag=inbound_tag,
            flow=flow,
            timeout_s=timeout_s,
        )

    async def close(self) -> None:
        await self._channel.close()

    async def add_user(self, key_id: KeyId) -> None:
        """Enable ``key_id`` on the inbound; a user already there counts as done."""
        account = account_pb2.Account(id=key_id, flow=self.flow, encryption="none")
        user = user_pb2.User(level=0, email=key_id, account=_typed(account))
        operation = handler_pb2.AddUserOperation(user=user)
        await self._alter(operation, tolerated="already exists")

    async def remove_user(self, email: str) -> None:
        """Disable the user; a user already gone counts as done."""
        operation = handler_pb2.RemoveUserOperation(email=email)
        await self._alter(operation, tolerated="not found")

    async def users(self) -> list[str]:
        """Emails of the users Xray has on the inbound right now."""
        request = handler_pb2.GetInboundUserRequest(tag=self.inbound_tag)
        response = await self._call(self._handler.GetInboundUsers(request, timeout=self.timeout_s))
        return [user.email for user in response.users]

    async def traffic(self, key_id: KeyId) -> Traffic:
        """Uplink and downlink bytes of ``key_id`` (zero before its first connection)."""
        prefix = f"user>>>{key_id}>>>traffic>>>"
        request = stats_pb2.QueryStatsRequest(pattern=prefix, reset=False)
        response = await self._call(self._stats.QueryStats(request, timeout=self.timeout_s))
        counters = {stat.name.removeprefix(prefix): int(stat.value) for stat in response.stat}
        return Traffic(uplink=counters.get("uplink", 0), downlink=counters.get("downlink", 0))

    async def traffic_of_all(self) -> dict[KeyId, Traffic]:
        """Every user's uplink and downlink bytes, in one call (users that never connected
        may be absent: they count zero)."""
        request = stats_pb2.QueryStatsRequest(pattern=USER_STATS_PREFIX, reset=False)
        response = await self._call(self._stats.QueryStats(request, timeout=self.timeout_s))
        return traffic_by_key((stat.name, int(stat.value)) for stat in response.stat)

    async def bytes_by_user(self) -> dict[str, int]:
        """Every user's uplink plus downlink bytes since Xray started, in one call."""
        request = stats_pb2.QueryStatsRequest(pattern="user>>>", reset=False)
        response = await self._call(self._stats.QueryStats(request, timeout=self.timeout_s))
        totals: dict[str, int] = {}
        for stat in response.stat:
            _, user, _ = stat.name.split(">>>", 2)
            totals[user] = totals.get(user, 0) + int(stat.value)
        return totals

    async def uptime_s(self) -> int:
        """Seconds since Xray started: a smaller value than before means it restarted."""
        request = stats_pb2.SysStatsRequest()
        response = await self._call(self._stats.GetSysStats(request, timeout=self.timeout_s))
        return int(response.Uptime)

    async def _alter(self, operation: Message, *, tolerated: str) -> None:
        request = handler_pb2.AlterInboundRequest(tag=self.inbound_tag, operation=_typed(operation))
        try:
            await self._call(self._handler.AlterInbound(request, timeout=self.timeout_s))
        except XrayRejected as error:
            if tolerated not in str(error):
                raise

    @staticmethod
    async def _call(call: Awaitable[T]) -> T:
        try:
            return await call
        except grpc.aio.AioRpcError as error:
            if error.code() in _UNREACHABLE:
                raise XrayUnavailable(error.details() or str(error.code())) from error
            raise XrayRejected(error.details() or str(error.code())) from error
