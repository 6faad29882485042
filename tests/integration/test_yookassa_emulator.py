"""The YooKassa emulator, driven by the real ``yookassa`` SDK over real HTTP on loopback.

The emulator stands in for a third-party SaaS, so nothing here needs Kafka or the
database. Notifications go to a small local receiver that records what it gets.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from yookassa import Configuration, Payment, Refund
from yookassa.domain.exceptions import BadRequestError, NotFoundError, UnauthorizedError
from yookassa.domain.notification import RefundWebhookNotification, WebhookNotificationFactory

from emulators.serving import BackgroundServer
from emulators.yookassa import DeliveryPolicy, EmulatorConfig, build_app
from emulators.yookassa.idempotency import IdempotenceKeys
from tests.processes import ROOT

SHOP_ID, SECRET_KEY = "100500", "test_secret_key"
RETURN_URL = "https://t.me/keyland_bot"
CLI = [sys.executable, "-m", "emulators.yookassa"]


class WebhookReceiver:
    """Stands in for our webhook endpoint: records every POST and answers as told."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes, str | None]] = []
        self.answers: deque[int] = deque()

    def answer_next(self, *statuses: int) -> None:
        self.answers.extend(statuses)

    def bodies(self, path: str = "/yookassa") -> list[bytes]:
        return [body for at, body, _ in self.received if at == path]

    def notifications(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body in self.bodies()]

    def reset(self) -> None:
        self.received.clear()
        self.answers.clear()

    def app(self) -> Starlette:
        async def receive(request: Request) -> Response:
            body = await request.body()
            self.received.append((request.url.path, body, request.headers.get("content-type")))
            return Response(status_code=self.answers.popleft() if self.answers else 200)

        return Starlette(routes=[Route("/{path:path}", receive, methods=["POST"])])


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[WebhookReceiver, str]]:
    hook = WebhookReceiver()
    with BackgroundServer() as server:
        server.start(hook.app())
        yield hook, server.url


@pytest.fixture(scope="module")
def emulator_url(receiver: tuple[WebhookReceiver, str]) -> Iterator[str]:
    with BackgroundServer() as server:
        config = EmulatorConfig(
            shop_id=SHOP_ID,
            secret_key=SECRET_KEY,
            public_url=server.url,
            webhook_url=f"{receiver[1]}/yookassa",
            delivery=DeliveryPolicy(attempts=4, base_delay_s=0.05),
        )
        server.start(build_app(config))
        yield server.url


@pytest.fixture(scope="module")
def control(emulator_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator_url, timeout=30) as client:
        yield client


@pytest.fixture(autouse=True)
def hook(
    receiver: tuple[WebhookReceiver, str], emulator_url: str, control: httpx.Client
) -> Iterator[WebhookReceiver]:
    """The SDK points at the emulator; each test starts with a quiet, clean receiver."""
    Configuration.configure(SHOP_ID, SECRET_KEY, api_url=f"{emulator_url}/v3")
    yield receiver[0]
    control.put("/emulator/webhook", json={"url": f"{receiver[1]}/yookassa"})
    control.get("/emulator/deliveries", params={"wait": "true"})
    receiver[0].reset()


def create_payment(key: str | None = None, capture: bool = True, **changes: Any) -> Any:
    params = {
        "amount": {"value": "199.00", "currency": "RUB"},
        "capture": capture,
        "confirmation": {"type": "redirect", "return_url": RETURN_URL},
        "description": "Keyland, 30 days",
        "metadata": {"telegram_id": "42", "plan": "month"},
    } | changes
    return Payment.create(params, key or str(uuid.uuid4()))


def act(control: httpx.Client, path: str, **params: str) -> dict[str, Any]:
    response = control.post(f"/emulator{path}", params={"wait": "true", **params})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


class TestPayments:
    def test_new_payment_is_pending_with_metadata_and_a_checkout_link(
        self, emulator_url: str
    ) -> None:
        payment = create_payment()

        assert payment.status == "pending"
        assert payment.paid is False
        assert payment.test is True
        assert payment.amount.value == Decimal("199.00")
        assert payment.amount.currency == "RUB"
        assert payment.description == "Keyland, 30 days"
        assert payment.metadata["telegram_id"] == "42"
        assert payment.metadata["plan"] == "month"
        assert payment.recipient.account_id == SHOP_ID
        assert payment.confirmation.confirmation_url == f"{emulator_url}/checkout/{payment.id}"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", payment.created_at)
        assert Payment.find_one(payment.id).status == "pending"

    def test_same_idempotence_key_and_body_give_the_same_payment(self) -> None:
        key = str(uuid.uuid4())

        first, second = create_payment(key), create_payment(key)

        assert second.id == first.id

    def test_same_idempotence_key_with_another_body_is_refused(self) -> None:
        key = str(uuid.uuid4())
        create_payment(key)

        with pytest.raises(BadRequestError) as refused:
            create_payment(key, amount={"value": "299.00", "currency": "RUB"})

        assert refused.value.content["code"] == "invalid_request"
        assert refused.value.content["parameter"] == "Idempotence-Key"

    @pytest.mark.parametrize("headers", [{}, {"Idempotence-Key": "k" * 65}])
    def test_request_without_a_usable_idempotence_key_is_refused(
        self, control: httpx.Client, headers: dict[str, str]
    ) -> None:
        response = control.post(
            "/v3/payments",
            auth=(SHOP_ID, SECRET_KEY),
            headers=headers,
            json={"amount": {"value": "1.00", "currency": "RUB"}},
        )

        assert response.status_code == 400
        assert response.json()["type"] == "error"
        assert response.json()["parameter"] == "Idempotence-Key"

    @pytest.mark.parametrize(
        ("body", "parameter"),
        [
            ({"amount": {"value": "0.001", "currency": "RUB"}}, "amount.value"),
            ({"amount": {"value": "-5", "currency": "RUB"}}, "amount.value"),
            ({"amount": {"value": "5.00", "currency": "rub"}}, "amount.currency"),
            ({"amount": {"value": "5.00", "currency": "RUB"}, "metadata": {"n": 1}}, "metadata.n"),
        ],
    )
    def test_invalid_payment_is_refused_naming_the_parameter(
        self, control: httpx.Client, body: dict[str, Any], parameter: str
    ) -> None:
        response = control.post(
            "/v3/payments",
            auth=(SHOP_ID, SECRET_KEY),
            headers={"Idempotence-Key": str(uuid.uuid4())},
            json=body,
        )

        assert response.status_code == 400
        assert response.json()["code"] == "invalid_request"
        assert response.json()["parameter"] == parameter

    def test_wrong_credentials_are_unauthorized(self, emulator_url: str) -> None:
        payment = create_payment()
        Configuration.configure(SHOP_ID, "not-the-key", api_url=f"{emulator_url}/v3")

        with pytest.raises(UnauthorizedError) as refused:
            Payment.find_one(payment.id)

        assert refused.value.content["type"] == "error"
        assert refused.value.content["code"] == "invalid_credentials"
        assert refused.value.content["id"]

    def test_unknown_payment_is_not_found(self) -> None:
        with pytest.raises(NotFoundError) as missing:
            Payment.find_one(str(uuid.uuid4()))

        assert missing.value.content["code"] == "not_found"

    def test_unknown_route_answers_with_an_error_object(self, control: httpx.Client) -> None:
        response = control.get("/v3/receipts/1", auth=(SHOP_ID, SECRET_KEY))

        assert response.status_code == 404
        assert response.json()["type"] == "error"
        assert response.json()["code"] == "not_found"


class TestIdempotenceKeys:
    def test_key_is_forgotten_after_a_day(self) -> None:
        keys, now = IdempotenceKeys(), datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
        keys.remember("k", "first request", {"id": "1"}, now)

        assert keys.recall("k", "first request", now + timedelta(hours=23)) == {"id": "1"}
        assert keys.recall("k", "another request", now + timedelta(hours=24)) is None


class TestNotifications:
    def test_paid_payment_succeeds_and_is_notified_once(
        self, control: httpx.Client, hook: WebhookReceiver
    ) -> None:
        payment = create_payment()

        act(control, f"/payments/{payment.id}/pay")

        found = Payment.find_one(payment.id)
        assert (found.status, found.paid, found.refundable) == ("succeeded", True, True)
        assert found.captured_at is not None
        assert found.income_amount.value < found.amount.value
        assert found.payment_method.type == "bank_card"
        [(_, body, content_type)] = hook.received
        assert content_type == "application/json"
        notification = WebhookNotificationFactory().create(json.loads(body))
        assert notification.event == "payment.succeeded"
        assert notification.object.id == payment.id
        assert notification.object.status == "succeeded"
        assert notification.object.metadata["telegram_id"] == "42"

    def test_failing_webhook_is_redelivered_until_it_answers_200(
        self, control: httpx.Client, hook: WebhookReceiver
    ) -> None:
        payment = create_payment()
        hook.answer_next(500, 500)

        answer = act(control, f"/payments/{payment.id}/pay")

        [delivery] = answer["deliveries"]
        assert [a["status"] for a in delivery["attempts"]] == [500, 500, 200]
        assert delivery["state"] == "delivered"
        assert len(set(hook.bodies())) == 1
        assert len(hook.bodies()) == 3
        [listed] = control.get("/emulator/deliveries", params={"payment_id": payment.id}).json()[
            "items"
        ]
        assert listed["event"] == "payment.succeeded"
        assert [a["attempt"] for a in listed["attempts"]] == [1, 2, 3]

    def test_control_call_answers_once_queued_without_waiting_for_delivery(
        self, control: httpx.Client, hook: WebhookReceiver
    ) -> None:
        payment = create_payment()
        hook.answer_next(500, 500, 500)

        queued = control.post(f"/emulator/payments/{payment.id}/pay").json()["deliveries"]
        finished = control.get(
            "/emulator/deliveries", params={"payment_id": payment.id, "wait": "true"}
        ).json()["items"]

        assert [(d["state"], d["attempts"]) for d in queued] == [("pending", [])]
        assert [a["status"] for a in finished[0]["attempts"]] == [500, 500, 500, 200]

    def test_copies_deliver_the_same_notification_several_times(
        self, control: httpx.Client, hook: WebhookReceiver
    ) -> None:
        payment = create_payment()

        answer = act(control, f"/payments/{payment.id}/pay", copies="3")

        assert [d["state"] for d in answer["deliveries"]] == ["delivered"] * 3
        assert len(hook.bodies()) == 3
        assert len(set(hook.bodies())) == 1
        refused = control.post(f"/emulator/payments/{payment.id}/refund", params={"copies": "0"})
        assert refused.status_code == 400
        assert refused.json()["parameter"] == "copies"

    def test_unreachable_webhook_is_given_up_after_the_configured_attempts(
        self, control: httpx.Client
    ) -> None:
        payment = create_payment()
        with socket.socket() as bound_not_listening:
            bound_not_listening.bind(("127.0.0.1", 0))
            port = bound_not_listening.getsockname()[1]
            control.put("/emulator/webhook", json={"url": f"http://127.0.0.1:{port}/hook"})

            [delivery] = act(control, f"/payments/{payment.id}/pay")["deliveries"]

        assert delivery["state"] == "failed"
        assert [a["status"] for a in delivery["attempts"]] == [None] * 4
        assert all(a["error"] for a in delivery["attempts"])

    def test_forged_notification_is_sent_byte_for_byte(
        self, control: httpx.Client, hook: WebhookReceiver
    ) -> None:
        forged = b'{"type":"notification","event":"payment.succeeded","object":{"id":"fake"}}'

        response = control.post("/emulator/notifications?wait=true", content=forged)

        assert response.json()["deliveries"][0]["payment_id"] == "fake"
        assert hook.bodies() == [forged]

    def test_earlier_notification_is_redelivered_unchanged(
        self, control: httpx.Client, hook: WebhookReceiver
    ) -> None:
        payment = create_payment()
        [first] = act(control, f"/payments/{payment.id}/pay")["deliveries"]

        again = act(control, f"/deliveries/{first['id']}/redeliver", copies="2")["deliveries"]

        assert [d["event"] for d in again] == ["payment.succeeded"] * 2
        assert len(hook.bodies()) == 3
        assert len(set(hook.bodies())) == 1
        listed = control.get(
            "/emulator/deliveries", params={"payment_id": payment.id, "event": "payment.succeeded"}
        ).json()["items"]
        assert {d["id"] for d in listed} == {first["id"], *(d["id"] for d in again)}

    def test_webhook_url_is_changed_at_runtime(
        self, control: httpx.Client, hook: WebhookReceiver, receiver: tuple[WebhookReceiver, str]
    ) -> None:
        other = f"{receiver[1]}/elsewhere"
        assert control.put("/emulator/webhook", json={"url": other}).json() == {"url": other}
        payment = create_payment()

        act(control, f"/payments/{payment.id}/pay")

        assert hook.bodies() == []
        assert len(hook.bodies("/elsewhere")) == 1
        bad = control.put("/emulator/webhook", json={"url": "ftp://127.0.0.1/x"})
        assert bad.status_code == 400

    def test_without_webhook_nothing_is_delivered(
        self, control: httpx.Client, hook: WebhookReceiver
    ) -> None:
        control.put("/emulator/webhook", json={"url": None})
        payment = create_payment()

        answer = act(control, f"/payments/{payment.id}/pay")

        assert answer["deliveries"] == []
        assert answer["object"]["status"] == "succeeded"
        assert hook.received == []


class TestRefundsAndCancellations:
    def test_refund_of_a_succeeded_payment_is_notified(
        self, control: httpx.Client, hook: WebhookReceiver
    ) -> None:
        payment = create_payment()
        act(control, f"/payments/{payment.id}/pay")
        hook.reset()

        refund = Refund.create(
            {"payment_id": payment.id, "amount": {"value": "99.00", "currency": "RUB"}},
            str(uuid.uuid4()),
        )

        assert refund.status == "succeeded"
        assert Refund.find_one(refund.id).payment_id == payment.id
        assert Payment.find_one(payment.id).refunded_amount.value == Decimal("99.00")
        control.get("/emulator/deliveries", params={"wait": "true"})
        [body] = hook.bodies()
        notification = WebhookNotificationFactory().create(json.loads(body))
        assert isinstance(notification, RefundWebhookNotification)
        assert notification.event == "refund.succeeded"
        assert notification.object.id == refund.id
        assert notification.object.amount.value == Decimal("99.00")

    def test_repeated_refund_request_refunds_once(self, control: httpx.Client) -> None:
        payment = create_payment()
        act(control, f"/payments/{payment.id}/pay")
        params = {"payment_id": payment.id, "amount": {"value": "10.00", "currency": "RUB"}}
        key = str(uuid.uuid4())

        first, second = Refund.create(params, key), Refund.create(params, key)

        assert second.id == first.id
        assert Payment.find_one(payment.id).refunded_amount.value == Decimal("10.00")

    def test_refund_beyond_what_was_paid_is_refused(self, control: httpx.Client) -> None:
        payment = create_payment()
        act(control, f"/payments/{payment.id}/pay")
        act(control, f"/payments/{payment.id}/refund", amount="150.00")

        with pytest.raises(BadRequestError) as refused:
            Refund.create(
                {"payment_id": payment.id, "amount": {"value": "50.00", "currency": "RUB"}},
                str(uuid.uuid4()),
            )

        assert refused.value.content["parameter"] == "amount"

    def test_pending_payment_cannot_be_refunded(self) -> None:
        payment = create_payment()

        with pytest.raises(BadRequestError):
            Refund.create(
                {"payment_id": payment.id, "amount": {"value": "1.00", "currency": "RUB"}},
                str(uuid.uuid4()),
            )

    def test_refund_from_the_control_route_defaults_to_the_whole_payment(
        self, control: httpx.Client, hook: WebhookReceiver
    ) -> None:
        payment = create_payment()
        act(control, f"/payments/{payment.id}/pay")

        answer = act(control, f"/payments/{payment.id}/refund")

        assert answer["object"]["amount"] == {"value": "199.00", "currency": "RUB"}
        assert [n["event"] for n in hook.notifications()] == [
            "payment.succeeded",
            "refund.succeeded",
        ]
        assert Payment.find_one(payment.id).refundable is False

    def test_declined_payment_is_canceled_and_notified(
        self, control: httpx.Client, hook: WebhookReceiver
    ) -> None:
        payment = create_payment()

        unknown = control.post(
            f"/emulator/payments/{payment.id}/cancel", params={"reason": "bored"}
        )
        act(control, f"/payments/{payment.id}/cancel", reason="insufficient_funds")

        found = Payment.find_one(payment.id)
        assert found.status == "canceled"
        assert found.cancellation_details.reason == "insufficient_funds"
        assert found.cancellation_details.party == "yoo_money"
        assert unknown.status_code == 400
        [notification] = hook.notifications()
        parsed = WebhookNotificationFactory().create(notification)
        assert parsed.event == "payment.canceled"
        assert parsed.object.id == payment.id

    def test_two_stage_payment_waits_for_capture(
        self, control: httpx.Client, hook: WebhookReceiver
    ) -> None:
        held, dropped = create_payment(capture=False), create_payment(capture=False)
        act(control, f"/payments/{held.id}/pay")
        act(control, f"/payments/{dropped.id}/pay")
        assert Payment.find_one(held.id).status == "waiting_for_capture"

        captured = Payment.capture(held.id, {"amount": {"value": "150.00", "currency": "RUB"}})
        canceled = Payment.cancel(dropped.id)

        assert (captured.status, captured.paid) == ("succeeded", True)
        assert captured.amount.value == Decimal("150.00")
        assert canceled.status == "canceled"
        assert canceled.cancellation_details.party == "merchant"
        control.get("/emulator/deliveries", params={"wait": "true"})
        events = {(n["object"]["id"], n["event"]) for n in hook.notifications()}
        assert events == {
            (held.id, "payment.waiting_for_capture"),
            (held.id, "payment.succeeded"),
            (dropped.id, "payment.waiting_for_capture"),
            (dropped.id, "payment.canceled"),
        }

    def test_merchant_cannot_cancel_a_pending_payment(self) -> None:
        payment = create_payment()

        with pytest.raises(BadRequestError):
            Payment.cancel(payment.id)


class TestSavedMethods:
    def test_payment_with_save_payment_method_saves_it_when_paid(
        self, control: httpx.Client, hook: WebhookReceiver
    ) -> None:
        payment = create_payment(save_payment_method=True)
        assert payment.payment_method is None

        act(control, f"/payments/{payment.id}/pay")

        found = Payment.find_one(payment.id)
        assert (found.payment_method.saved, found.payment_method.type) == (True, "bank_card")
        [notification] = hook.notifications()
        parsed = WebhookNotificationFactory().create(notification)
        assert parsed.object.payment_method.saved is True
        assert parsed.object.payment_method.id == found.payment_method.id

    def test_payment_without_save_payment_method_saves_nothing(self, control: httpx.Client) -> None:
        payment = create_payment()
        act(control, f"/payments/{payment.id}/pay")
        method = Payment.find_one(payment.id).payment_method

        assert method.saved is False
        with pytest.raises(BadRequestError):
            charge(method.id)

    def test_saved_method_is_charged_at_once_without_the_payer(
        self, control: httpx.Client, hook: WebhookReceiver
    ) -> None:
        method_id = saved_method(control, hook)

        renewal = charge(method_id)
        control.get("/emulator/deliveries", params={"wait": "true"})

        assert (renewal.status, renewal.paid, renewal.confirmation) == ("succeeded", True, None)
        assert renewal.payment_method.id == method_id
        [notification] = hook.notifications()
        assert notification["event"] == "payment.succeeded"
        assert notification["object"]["id"] == renewal.id

    def test_same_idempotence_key_charges_the_saved_method_once(
        self, control: httpx.Client, hook: WebhookReceiver
    ) -> None:
        method_id, key = saved_method(control, hook), str(uuid.uuid4())

        first = charge(method_id, key)
        again = charge(method_id, key)
        control.get("/emulator/deliveries", params={"wait": "true"})

        assert first.id == again.id
        assert [n["object"]["id"] for n in hook.notifications()] == [first.id]

    def test_declines_on_demand_then_charges_again(
        self, control: httpx.Client, hook: WebhookReceiver
    ) -> None:
        method_id = saved_method(control, hook)
        told = control.post(
            f"/emulator/payment_methods/{method_id}/decline",
            params={"times": "1", "reason": "card_expired"},
        )

        declined = charge(method_id)
        charged = charge(method_id)
        control.get("/emulator/deliveries", params={"wait": "true"})

        assert told.json() == {"id": method_id, "declines": 1, "reason": "card_expired"}
        assert (declined.status, declined.paid) == ("canceled", False)
        assert declined.cancellation_details.reason == "card_expired"
        assert charged.status == "succeeded"
        events = [(n["event"], n["object"]["id"]) for n in hook.notifications()]
        assert events == [("payment.canceled", declined.id), ("payment.succeeded", charged.id)]

    def test_unknown_method_is_refused(self, control: httpx.Client) -> None:
        answer = control.post("/emulator/payment_methods/nope/decline")

        assert answer.status_code == 400
        with pytest.raises(BadRequestError):
            charge("nope")


def charge(method_id: str, key: str | None = None) -> Any:
    """A payment with a saved method: no confirmation, the payer is not asked."""
    params = {
        "amount": {"value": "199.00", "currency": "RUB"},
        "capture": True,
        "payment_method_id": method_id,
        "metadata": {"telegram_id": "42", "plan": "month"},
    }
    return Payment.create(params, key or str(uuid.uuid4()))


def saved_method(control: httpx.Client, hook: WebhookReceiver) -> str:
    """A method saved by a paid payment; the receiver forgets that payment's notification."""
    payment = create_payment(save_payment_method=True)
    act(control, f"/payments/{payment.id}/pay")
    hook.reset()
    return str(Payment.find_one(payment.id).payment_method.id)


class TestCheckout:
    def test_checkout_page_pays_and_sends_the_payer_back(
        self, control: httpx.Client, hook: WebhookReceiver
    ) -> None:
        payment = create_payment()

        page = control.get(f"/checkout/{payment.id}")
        paid = control.post(f"/checkout/{payment.id}/pay")

        assert "199.00 RUB" in page.text
        assert f'action="/checkout/{payment.id}/pay"' in page.text
        assert paid.status_code == 303
        assert paid.headers["location"] == RETURN_URL
        assert Payment.find_one(payment.id).status == "succeeded"
        control.get("/emulator/deliveries", params={"wait": "true"})
        assert [n["event"] for n in hook.notifications()] == ["payment.succeeded"]

    def test_checkout_cancel_lets_the_payment_lapse(self, control: httpx.Client) -> None:
        payment = create_payment()

        abandoned = control.post(f"/checkout/{payment.id}/cancel")

        assert abandoned.headers["location"] == RETURN_URL
        found = Payment.find_one(payment.id)
        assert found.status == "canceled"
        assert found.cancellation_details.reason == "expired_on_confirmation"
        assert "Pay</button>" not in control.get(f"/checkout/{payment.id}").text


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [*CLI, *args]
    return subprocess.run(
        command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


class TestCommandLine:
    @pytest.mark.parametrize(
        ("args", "named"),
        [
            (["--port", "0", "--secret-key", "k"], "--shop-id"),
            (["--port", "70000", "--shop-id", "1", "--secret-key", "k"], "--port"),
            (
                ["--port", "0", "--shop-id", "1", "--secret-key", "k", "--webhook-url", "ftp://x/"],
                "webhook",
            ),
            (
                ["--port", "0", "--shop-id", "1", "--secret-key", "k", "--delivery-attempts", "0"],
                "attempts",
            ),
            (["--port", "0", "--shop-id", "a:b", "--secret-key", "k"], "shop id"),
        ],
    )
    def test_bad_arguments_stop_start_up_naming_the_argument(
        self, args: list[str], named: str
    ) -> None:
        result = run_cli(*args)

        assert result.returncode == 2
        assert named in result.stderr

    def test_started_from_the_command_line_it_serves_the_sdk(self, tmp_path: Path) -> None:
        log_path = tmp_path / "emulator.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [*CLI, "--port", "0", "--shop-id", "777", "--secret-key", "cli_secret"],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            url = wait_until_serving(process, log_path)
            Configuration.configure("777", "cli_secret", api_url=f"{url}/v3")
            payment = create_payment()
            assert Payment.find_one(payment.id).status == "pending"
        finally:
            process.terminate()
            process.wait(30)
        assert process.returncode in {0, -signal.SIGTERM}
        assert "Application shutdown complete" in log_path.read_text()


def wait_until_serving(process: subprocess.Popen[bytes], log_path: Path) -> str:
    """The URL the emulator logged, once it answers there."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log_path.read_text()
        found = re.search(r"API at (http://\S+)/v3", log_path.read_text())
        if found:
            try:
                httpx.get(f"{found[1]}/emulator/webhook", timeout=5).raise_for_status()
            except httpx.HTTPError:
                pass
            else:
                return found[1]
        time.sleep(0.05)
    raise AssertionError(f"the emulator did not start:\n{log_path.read_text()}")
