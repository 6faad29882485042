"""The admin API without Kafka: its OpenAPI document, its token, what it refuses before
anything is published, and the event ids its idempotency keys give."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openapi_spec_validator import validate
from starlette.routing import Route

from events.admin_commands import SubscriptionAdjusted, UserPurgeRequested
from keyland.kafka.producer import EventPublisher
from keyland.settings import KafkaSettings
from services.subscription.entrypoints.admin_api import PREFIX, admin_app, admin_routes
from services.subscription.handlers.admin_orders import AdminOrders, order_event_id

TOKEN = "admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "X-Admin-Id": "7"}


def _orders() -> AdminOrders:
    # Never started: these tests stop every request before it would publish.
    return AdminOrders(EventPublisher(KafkaSettings(bootstrap="127.0.0.1:1"), client_id="t"))


def _client(orders: AdminOrders | None, token: str | None) -> httpx.AsyncClient:
    # Mounted at PREFIX in the read API; here the app alone, as the mount passes paths on.
    transport = httpx.ASGITransport(app=admin_app(orders, token))
    return httpx.AsyncClient(transport=transport, base_url="http://api")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with _client(_orders(), TOKEN) as api:
        yield api


async def test_the_served_document_is_valid_openapi_and_describes_every_route(
    client: httpx.AsyncClient,
) -> None:
    served = await client.get("/openapi.json", headers=AUTH)
    assert served.status_code == 200
    document = served.json()
    validate(document)
    routes = {
        (f"{PREFIX}{route.path}", method.lower())
        for route in admin_routes(_orders())
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }
    described = {(path, method) for path, item in document["paths"].items() for method in item}
    assert described == routes


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/users"),
        ("POST", "/users/5/time"),
        ("DELETE", "/users/5"),
        ("PUT", "/users/5/block"),
        ("DELETE", "/users/5/block"),
        ("GET", "/openapi.json"),
    ],
)
async def test_every_admin_route_needs_the_admin_token(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    for headers in ({}, {"Authorization": "Bearer read-token", "X-Admin-Id": "7"}):
        answer = await client.request(method, path, headers=headers)
        assert answer.status_code == 401
        assert answer.json() == {"error": "missing or wrong bearer token"}


async def test_without_a_token_the_admin_api_is_off() -> None:
    async with _client(None, None) as api:
        answer = await api.post("/users/5/time", headers=AUTH, json={"days": 1})
    assert answer.status_code == 404
    assert "KEYLAND_SUBSCRIPTION_ADMIN_TOKEN is not set" in answer.json()["error"]


@pytest.mark.parametrize(
    ("path", "headers", "body", "status", "says"),
    [
        ("/users/abc/time", AUTH, {"days": 1}, 422, "telegram_id must be a Telegram id"),
        ("/users/0/time", AUTH, {"days": 1}, 422, "telegram_id must be a Telegram id"),
        (f"/users/{2**63}/time", AUTH, {"days": 1}, 422, "telegram_id must be a Telegram id"),
        ("/users/5/time", {**AUTH, "X-Admin-Id": "me"}, {"days": 1}, 422, "X-Admin-Id"),
        ("/users/5/time", {**AUTH, "Idempotency-Key": "a b"}, {"days": 1}, 400, "Idempotency"),
        ("/users/5/time", AUTH, {}, 422, "invalid request"),
        ("/users/5/time", AUTH, {"days": 1, "months": -1}, 422, "invalid request"),
        ("/users/5/time", AUTH, {"days": 99999}, 422, "invalid request"),
        ("/users/5/time", AUTH, {"days": "x"}, 422, "invalid request"),
        ("/users/5/time", AUTH, {"days": 1, "extra": 1}, 422, "invalid request"),
        ("/users/5/time", AUTH, [1], 422, "invalid request"),
        ("/users", AUTH, {"days": 30}, 422, "invalid request"),
        ("/users", AUTH, {"telegram_id": 0, "days": 30}, 422, "invalid request"),
        ("/users", AUTH, {"telegram_id": 2**63, "days": 30}, 422, "invalid request"),
        ("/users", AUTH, {"telegram_id": 5, "days": -1}, 422, "invalid request"),
        ("/users", AUTH, {"telegram_id": 5, "months": 121}, 422, "invalid request"),
    ],
)
async def test_bad_input_is_refused_with_the_reason(
    client: httpx.AsyncClient,
    path: str,
    headers: dict[str, str],
    body: object,
    status: int,
    says: str,
) -> None:
    answer = await client.post(path, headers=headers, json=body)
    assert answer.status_code == status, answer.text
    assert says in answer.json()["error"]
    if status == 422 and says == "invalid request":
        assert answer.json()["errors"]  # each with where and why


async def test_a_body_that_is_not_json_is_refused(client: httpx.AsyncClient) -> None:
    answer = await client.post("/users/5/time", headers=AUTH, content=b"{days: 1")
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("body is not JSON")


ADJUSTED = SubscriptionAdjusted(telegram_id=5, days=1, admin_id=7)
PURGE = UserPurgeRequested(telegram_id=5, admin_id=7)
keys = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=255)


@given(key=keys, user=st.integers(1, 2**40))
def test_the_same_key_user_and_command_give_the_same_event_id(key: str, user: int) -> None:
    assert order_event_id(key, user, ADJUSTED) == order_event_id(key, user, ADJUSTED)
    assert order_event_id(key, user, ADJUSTED) != order_event_id(key, user, PURGE)
    assert order_event_id(key, user, ADJUSTED) != order_event_id(key, user + 1, ADJUSTED)
    assert order_event_id(key, user, ADJUSTED) != order_event_id(f"{key}!", user, ADJUSTED)


def test_without_a_key_every_order_is_new() -> None:
    assert order_event_id(None, 5, ADJUSTED) != order_event_id(None, 5, ADJUSTED)
