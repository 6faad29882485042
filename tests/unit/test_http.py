"""Shared HTTP pieces: the bearer token, the streamed body limit and JSON that refuses
insane numbers."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.types import Message, Receive, Scope, Send

from keyland.http import (
    MAX_NUMBER_CHARS,
    BearerTokenMiddleware,
    BodyLimitMiddleware,
    BodyTooLarge,
    NotJson,
    parse_json,
)

LIMIT = 1000


def request(headers: dict[str, str] | None = None) -> Scope:
    encoded = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return {"type": "http", "method": "POST", "path": "/", "headers": encoded}


class Client:
    """Sends ``chunks`` of ``size`` bytes as the server would hand them over; keeps the
    answer."""

    def __init__(self, chunks: int, size: int) -> None:
        self.left, self.size = chunks, size
        self.pulled = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        self.pulled += 1
        self.left -= 1
        return {"type": "http.request", "body": b"x" * self.size, "more_body": self.left > 0}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])


async def reads_everything(scope: Scope, receive: Receive, send: Send) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(len(body)).encode()})


async def answers_itself(scope: Scope, receive: Receive, send: Send) -> None:
    try:
        await reads_everything(scope, receive, send)
    except BodyTooLarge:
        await send({"type": "http.response.start", "status": 499, "headers": []})
        await send({"type": "http.response.body", "body": b""})


class TestBodyLimit:
    async def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(self) -> None:
        client = Client(chunks=100_000, size=300)
        await BodyLimitMiddleware(reads_everything, LIMIT)(request(), client.receive, client.send)
        assert client.status == 413
        assert client.pulled == 4  # 1,200 bytes: the first chunk past the limit
        assert json.loads(client.sent[1]["body"]) == {"error": f"body over {LIMIT} bytes"}

    async def test_a_declared_oversized_body_is_refused_before_any_byte_is_read(self) -> None:
        client = Client(chunks=1, size=LIMIT + 1)
        scope = request({"Content-Length": str(LIMIT + 1)})
        await BodyLimitMiddleware(reads_everything, LIMIT)(scope, client.receive, client.send)
        assert (client.status, client.pulled) == (413, 0)

    async def test_a_body_within_the_limit_reaches_the_app(self) -> None:
        client = Client(chunks=4, size=LIMIT // 4)
        scope = request({"Content-Length": str(LIMIT)})
        await BodyLimitMiddleware(reads_everything, LIMIT)(scope, client.receive, client.send)
        assert (client.status, client.sent[1]["body"]) == (200, str(LIMIT).encode())

    async def test_a_route_may_answer_the_refusal_itself(self) -> None:
        client = Client(chunks=10, size=LIMIT)
        await BodyLimitMiddleware(answers_itself, LIMIT)(request(), client.receive, client.send)
        assert [m["type"] for m in client.sent] == ["http.response.start", "http.response.body"]
        assert client.status == 499


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


class TestParseJson:
    @given(json_values)
    def test_sane_documents_read_as_json_loads_reads_them(self, value: Any) -> None:
        raw = json.dumps(value).encode()
        assert parse_json(raw) == json.loads(raw)

    @given(
        st.integers(min_value=MAX_NUMBER_CHARS + 1, max_value=20_000),
        st.sampled_from(["", "-"]),
        st.sampled_from(["[{}]", '{"a": {"b": [1, {}]}}', "{}"]),
    )
    def test_a_too_long_integer_anywhere_is_refused(
        self, digits: int, sign: str, document: str
    ) -> None:
        literal = sign + "9" * digits
        raw = document.replace("{}", f'{{"n": {literal}}}').encode()
        with pytest.raises(NotJson, match="number"):
            parse_json(raw)

    @pytest.mark.parametrize(
        "literal", ["1e309", "-1e400", "1E+99999", "NaN", "Infinity", "-Infinity", "0." + "1" * 80]
    )
    def test_huge_or_non_finite_floats_are_refused(self, literal: str) -> None:
        with pytest.raises(NotJson, match="number"):
            parse_json(f'{{"amount": [{literal}]}}'.encode())

    def test_the_largest_sane_numbers_are_read(self) -> None:
        assert parse_json(b"[" + b"9" * MAX_NUMBER_CHARS + b", 1.7e308]") == [
            10**MAX_NUMBER_CHARS - 1,
            1.7e308,
        ]
        assert math.isfinite(parse_json(b"-1.7976931348623157e308"))

    @pytest.mark.parametrize("raw", [b"[" * 100_000 + b"]" * 100_000, b"\xff", b"{", b""])
    def test_what_is_no_json_at_all_is_refused(self, raw: bytes) -> None:
        with pytest.raises(NotJson, match="not JSON"):
            parse_json(raw)


class TestBearerToken:
    @pytest.mark.parametrize(
        ("path", "token", "status"),
        [
            ("/v1/stats", None, 401),
            ("/v1/stats", "read", 200),
            ("/v1/admin/users", None, 200),  # delegated: the mounted app checks its own
            ("/v1/adminx", None, 401),  # a prefix is a whole path segment
            ("/v1/admin", None, 401),
            ("/health", None, 200),
        ],
    )
    async def test_paths_under_a_delegated_prefix_pass_to_the_app(
        self, path: str, token: str | None, status: int
    ) -> None:
        app = BearerTokenMiddleware(reads_everything, "read", delegated=["/v1/admin"])
        client = Client(chunks=1, size=0)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        await app({**request(headers), "path": path}, client.receive, client.send)
        assert client.status == status
