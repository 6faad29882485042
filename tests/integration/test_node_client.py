"""The provisioner's client of the node agents (``NodeClients``): a real agent's answers,
and what every other answer or silence becomes.

The agent is a real node (Xray plus the agent, on loopback). The peers that misbehave are
not agents but local servers sending raw HTTP: a wrong address in the countries file, a
proxy in the way, a stuck process. Neither Kafka nor the database is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import SecretStr

from keyland_tools.stack.node import Node
from services.provisioner.adapters.node_client import NodeClients, NodeUnavailable
from services.provisioner.config import NodeAccessSettings
from services.provisioner.domain.subscription_page import Usage
from tests.nodes import TlsTarget, agent_client, start_node
from tests.processes import free_port
from tests.provisioning import address

TOKEN = SecretStr("a-token-no-agent-here-accepts")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    started = start_node(tmp_path_factory.mktemp("state"), "finland")
    yield started
    started.stop()


@contextlib.asynccontextmanager
async def node_clients(**settings: object) -> AsyncIterator[NodeClients]:
    """Clients whose default token is :data:`TOKEN` unless ``settings`` say otherwise."""
    access = NodeAccessSettings.model_validate({"node_token": TOKEN, **settings})
    clients = NodeClients.from_settings(access)
    try:
        yield clients
    finally:
        await clients.close()


def raw_answer(status: str, body: bytes, *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return "\r\n".join(head).encode() + b"\r\n\r\n" + body


@contextlib.asynccontextmanager
async def peer(answer: bytes | None) -> AsyncIterator[str]:
    """``host:port`` of a server that reads a request's head and sends ``answer``, or,
    without one, never answers."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            if answer is None:
                await reader.read()  # until the client gives up
            else:
                writer.write(answer)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}"


def test_clients_are_built_before_any_event_loop_runs() -> None:
    """As ``bootstrap()`` builds them, ahead of faust's or uvicorn's loop."""
    access = NodeAccessSettings(node_token=TOKEN)
    clients = NodeClients.from_settings(access)
    assert clients.for_node("127.0.0.1:1").address == "127.0.0.1:1"


async def test_unused_clients_close() -> None:
    async with node_clients() as clients:
        clients.for_node("127.0.0.1:1")


async def test_a_batch_is_applied_and_listed_on_a_real_agent(node: Node) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    token = node.agent.environment["KEYLAND_NODE_TOKEN"]
    async with node_clients(node_tokens={address(node): token}) as clients:
        agent = clients.for_node(address(node))
        answer = await agent.change(enable=[first, second], disable=[])
        assert set(answer.links) == {first, second}
        assert answer.refused == {}
        assert all(str(key) in link for key, link in answer.links.items())
        assert {first, second} <= await agent.enabled_keys()
        assert await agent.usage(first) == Usage()

        await agent.change(enable=[], disable=[first, second])
        assert not {first, second} & await agent.enabled_keys()


async def test_an_unchanged_list_comes_back_as_the_same_set_without_being_sent_again(
    node: Node,
) -> None:
    """The agent tags its list; asked with the tag while its record is unchanged it
    answers 304, and the client returns the set it returned last time."""
    token = node.agent.environment["KEYLAND_NODE_TOKEN"]
    key = uuid.uuid4()
    async with node_clients(node_tokens={address(node): token}) as clients:
        agent = clients.for_node(address(node))
        listed = await agent.enabled_keys()
        assert await agent.enabled_keys() is listed
        await agent.change(enable=[key], disable=[])
        grown = await agent.enabled_keys()
        assert grown is not listed
        assert grown == listed | {key}
        assert await agent.enabled_keys() is grown
        await agent.change(enable=[], disable=[key])
        assert await agent.enabled_keys() == listed
    with agent_client(node) as api:
        first = api.get("/v1/users")
        tag = first.headers["ETag"]
        again = api.get("/v1/users", headers={"If-None-Match": tag})
        assert (again.status_code, again.content) == (304, b"")
        stale = api.get("/v1/users", headers={"If-None-Match": '"another-0"'})
        assert stale.status_code == 200
        assert stale.json() == first.json()


async def test_a_refused_token_names_the_node_the_call_and_the_status(node: Node) -> None:
    async with node_clients() as clients:
        with pytest.raises(
            NodeUnavailable, match=rf"^{re.escape(address(node))}: GET /v1/users answered 401"
        ):
            await clients.for_node(address(node)).enabled_keys()


async def test_nothing_listening_is_unavailable() -> None:
    closed = f"127.0.0.1:{free_port()}"
    async with node_clients() as clients:
        with pytest.raises(
            NodeUnavailable, match=rf"^{re.escape(closed)}: GET /v1/users: ClientConnectorError"
        ):
            await clients.for_node(closed).enabled_keys()


async def test_a_silent_peer_is_unavailable_once_the_timeout_passes() -> None:
    async with peer(None) as silent, node_clients(node_timeout_s=0.5) as clients:
        started = time.monotonic()
        with pytest.raises(
            NodeUnavailable, match=rf"^{re.escape(silent)}: GET /v1/users: .*Timeout"
        ):
            await clients.for_node(silent).enabled_keys()
        assert 0.4 < time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (raw_answer("200 OK", b"<html>hello</html>"), ": not JSON$"),
        (raw_answer("200 OK", b'["a list"]'), ": not a JSON object$"),
        (raw_answer("502 Bad Gateway", b"x" * 500), " answered 502: " + "x" * 200 + "$"),
        (raw_answer("307 Temporary Redirect", b"", "Location: /elsewhere"), " answered 307: $"),
    ],
    ids=["text", "json-list", "error-status", "redirect-not-followed"],
)
async def test_anything_but_a_json_object_is_unavailable(answer: bytes, reason: str) -> None:
    async with peer(answer) as wrong, node_clients() as clients:
        with pytest.raises(NodeUnavailable, match=rf"^{re.escape(wrong)}: GET /v1/users{reason}"):
            await clients.for_node(wrong).enabled_keys()


async def test_https_refuses_a_certificate_nobody_vouches_for(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with TlsTarget(tmp_path_factory.mktemp("tls"), "node.example.com") as server:
        unverified = f"127.0.0.1:{server.port}"
        async with node_clients(node_scheme="https") as clients:
            with pytest.raises(NodeUnavailable, match=rf"^{re.escape(unverified)}: .*Certificate"):
                await clients.for_node(unverified).enabled_keys()
