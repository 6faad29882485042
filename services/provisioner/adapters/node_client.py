"""The node agents' HTTP API (``services/node_agent``), one client per node.

Every call has a timeout; anything but the answer we expect (the agent or its Xray down,
a refused token, a timeout) is :class:`NodeUnavailable`, which the caller retries later
with backoff. One ``aiohttp.ClientSession`` (one connection pool) serves every node;
aiohttp rather than httpx because the agents are called on every user change, and it
spends ~140 µs of CPU per call where httpx spent ~1,800 µs (20 concurrent calls).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Self

import aiohttp
from pydantic import SecretStr, ValidationError

from services.provisioner.config import NodeAccessSettings
from services.provisioner.domain.capacity import NodeLoad
from services.provisioner.domain.subscription_page import Usage
from services.provisioner.domain.traffic import Bytes, Reading

# The node agent's bound on one batch (``services/node_agent/domain/batch.py``).
MAX_KEYS_PER_CALL = 1000

# Idle connections are dropped before the agent's uvicorn drops them (after 5 s), so that
# a call never goes out on a connection the agent is closing (aiohttp retries no PATCH).
KEEPALIVE_S = 4.0


class NodeUnavailable(ConnectionError):
    """The node did not do what was asked; the message says how it failed."""


@dataclass(frozen=True)
class NodeAnswer:
    """What a node did with a batch: each enabled key's link, each refused key's reason
    (every other key of the batch was done)."""

    links: dict[uuid.UUID, str]
    refused: dict[uuid.UUID, str]


class NodeClient:
    """Change and list keys on one node agent."""

    def __init__(
        self,
        http: Callable[[], aiohttp.ClientSession],
        address: str,
        token: SecretStr,
        scheme: str = "http",
    ) -> None:
        self._http = http
        self.address = address
        self._base = f"{scheme}://{address}"
        self._headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
        self._listed: tuple[str, frozenset[uuid.UUID]] | None = None  # last list, its tag
        self._known: dict[str, uuid.UUID] = {}  # the last list's keys by their text

    async def change(
        self, enable: Collection[uuid.UUID], disable: Collection[uuid.UUID]
    ) -> NodeAnswer:
        """Enable and disable many keys in one call (idempotent; at most
        :data:`MAX_KEYS_PER_CALL`): the link of each enabled key, and the keys the node
        refused with its reason."""
        body = {"enable": [str(k) for k in enable], "disable": [str(k) for k in disable]}
        answer = await self._call("PATCH", "/v1/users", body)
        try:
            links = {uuid.UUID(k): str(v) for k, v in dict(answer.get("enabled", {})).items()}
            refused = {uuid.UUID(k): str(v) for k, v in dict(answer.get("refused", {})).items()}
        except (TypeError, ValueError) as error:
            raise NodeUnavailable(f"{self.address}: unexpected batch answer: {error}") from error
        unanswered = [k for k in enable if not links.get(k) and k not in refused]
        if unanswered:
            raise NodeUnavailable(f"{self.address}: enabling {unanswered[0]} answered no link")
        return NodeAnswer(links, refused)

    async def enabled_keys(self) -> frozenset[uuid.UUID]:
        """The keys enabled on the node (anything that is not a UUID is left out).

        The list is asked with the version the agent tagged the last one with: while the
        agent's record is unchanged it answers 304 and the very set returned last time is
        returned again, so the caller can tell "unchanged" by identity, and neither side
        spends anything on a list of every key (an agent without tags answers in full)."""
        headers = dict(self._headers)
        if self._listed is not None:
            headers["If-None-Match"] = self._listed[0]
        status, content, tag = await self._request("GET", "/v1/users", headers=headers)
        if status == 304 and self._listed is not None:
            return self._listed[1]
        answer = self._answer("GET /v1/users", status, content)
        # A key listed last time is given back as the same object: parsing is skipped, and
        # comparing this list with the last one compares by identity.
        known, fresh = self._known, {}
        for text in map(str, answer.get("key_ids", [])):
            key = known.get(text)
            if key is None:
                try:
                    key = uuid.UUID(text)
                except ValueError:
                    continue
            fresh[text] = key
        listed = frozenset(fresh.values())
        self._known = fresh
        self._listed = None if tag is None else (tag, listed)
        return listed

    async def usage(self, key_id: uuid.UUID) -> Usage:
        """Bytes ``key_id`` moved through this node since its Xray started."""
        answer = await self._call("GET", f"/v1/users/{key_id}/traffic")
        return Usage(int(answer.get("uplink_bytes", 0)), int(answer.get("downlink_bytes", 0)))

    async def traffic(self) -> Reading:
        """Every key's bytes through this node since its Xray started, in one call (a key
        that is not a UUID is left out)."""
        answer = await self._call("GET", "/v1/traffic")
        counters: dict[uuid.UUID, Bytes] = {}
        try:
            uptime_s = int(answer["xray_uptime_s"])
            for text, bytes_ in dict(answer.get("users", {})).items():
                with contextlib.suppress(ValueError):
                    counters[uuid.UUID(str(text))] = Bytes(
                        int(bytes_.get("uplink_bytes", 0)), int(bytes_.get("downlink_bytes", 0))
                    )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise NodeUnavailable(f"{self.address}: unexpected traffic answer: {error}") from error
        return Reading(uptime_s, counters)

    async def load(self) -> dict[str, Any]:
        """The node's load over its agent's last measuring interval (``GET /v1/load``)."""
        return await self._call("GET", "/v1/load")

    async def _call(self, method: str, path: str, body: object = None) -> dict[str, Any]:
        status, content, _ = await self._request(method, path, body)
        return self._answer(f"{method} {path}", status, content)

    async def _request(
        self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, str | None]:
        """The answer's status, body and ``ETag``; :class:`NodeUnavailable` when none came."""
        try:
            async with self._http().request(
                method,
                self._base + path,
                headers=self._headers if headers is None else headers,
                json=body,
                allow_redirects=False,
            ) as response:
                return response.status, await response.read(), response.headers.get("ETag")
        except (aiohttp.ClientError, TimeoutError) as error:
            reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            raise NodeUnavailable(f"{self.address}: {method} {path}: {reason}") from error

    def _answer(self, what: str, status: int, content: bytes) -> dict[str, Any]:
        request = f"{self.address}: {what}"
        if status != 200:
            text = content.decode("utf-8", "replace")[:200]
            raise NodeUnavailable(f"{request} answered {status}: {text}")
        try:
            answer = json.loads(content)
        except ValueError as error:
            raise NodeUnavailable(f"{request}: not JSON") from error
        if not isinstance(answer, dict):
            raise NodeUnavailable(f"{request}: not a JSON object")
        return answer


class NodeClients:
    """Clients for any node, sharing one connection pool and the configured tokens.

    The pool is opened on the first call, inside the running event loop (``bootstrap``
    builds this before there is one); :meth:`close` closes it, if it was ever opened.
    """

    def __init__(self, access: NodeAccessSettings) -> None:
        self._access = access
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, access: NodeAccessSettings) -> Self:
        return cls(access)

    def has_token(self, address: str) -> bool:
        return self._access.token_for(address) is not None

    def for_node(self, address: str) -> NodeClient:
        token = self._access.token_for(address)
        if token is None:
            raise KeyError(f"no token for node {address}")
        return NodeClient(self._http, address, token, self._access.node_scheme)

    async def loads(self, addresses: Collection[str]) -> dict[str, NodeLoad | str]:
        """Every node's current load (``GET /v1/load``), asked at once, or why it has none."""

        async def one(address: str) -> NodeLoad | str:
            if not self.has_token(address):
                return "no token (KEYLAND_PROVISIONER_NODE_TOKEN or _NODE_TOKENS)"
            try:
                answer = await self.for_node(address).load()
            except NodeUnavailable as error:
                return str(error)
            try:
                return NodeLoad.model_validate(answer)
            except ValidationError as error:
                return f"{address}: unexpected load answer ({error.error_count()} errors)"

        asked = list(addresses)
        return dict(zip(asked, await asyncio.gather(*map(one, asked)), strict=True))

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            timeout_s = self._access.node_timeout_s
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S),
                timeout=aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(2.0, timeout_s)),
                cookie_jar=aiohttp.DummyCookieJar(),  # agents set none; no jar to look up
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
