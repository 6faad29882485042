"""Request bodies of the v3 API, checked as YooKassa checks them.

Each failure names the offending parameter, as YooKassa's error objects do.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from emulators.yookassa.state import Money, NewPayment, invalid_request

CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_DESCRIPTION = {"payment": 128, "refund": 250}
MAX_METADATA_KEYS, MAX_METADATA_KEY, MAX_METADATA_VALUE = 16, 32, 512
# Fields that change how YooKassa charges; silently ignoring them would lie to the caller.
UNSUPPORTED = ("payment_token", "payment_method_data", "deal", "transfers")
MAX_METHOD_ID = 64


def json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object; an empty body (the SDK's cancel) is an empty object."""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise invalid_request(f"Request body is not valid JSON: {error}") from error
    if not isinstance(body, dict):
        raise invalid_request("Request body must be a JSON object")
    return body


def money(raw: object, parameter: str) -> Money:
    """``{"value": "199.00", "currency": "RUB"}``: positive, at most two decimal places."""
    if not isinstance(raw, dict):
        raise invalid_request("Amount must be an object with value and currency", parameter)
    value, currency = raw.get("value"), raw.get("currency")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid_request("Amount value must be a decimal string", f"{parameter}.value")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as error:
        raise invalid_request(f"Invalid amount value {value!r}", f"{parameter}.value") from error
    exponent = amount.as_tuple().exponent
    if not amount.is_finite() or amount <= 0 or (isinstance(exponent, int) and exponent < -2):
        raise invalid_request(f"Invalid amount value {value!r}", f"{parameter}.value")
    if not isinstance(currency, str) or not CURRENCY.match(currency):
        raise invalid_request(f"Invalid currency {currency!r}", f"{parameter}.currency")
    return Money(amount.quantize(Decimal("0.01")), currency)


def metadata(raw: object) -> dict[str, str]:
    """Up to 16 string values under keys of up to 32 characters, as the API documents."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or len(raw) > MAX_METADATA_KEYS:
        raise invalid_request(f"Metadata must be an object of up to {MAX_METADATA_KEYS} keys")
    for key, value in raw.items():
        if len(key) > MAX_METADATA_KEY:
            raise invalid_request(f"Metadata key {key!r} is too long", "metadata")
        if not isinstance(value, str) or len(value) > MAX_METADATA_VALUE:
            raise invalid_request(
                f"Metadata value of {key!r} must be a string of up to {MAX_METADATA_VALUE} "
                "characters",
                f"metadata.{key}",
            )
    return dict(raw)


def description(raw: object, kind: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > MAX_DESCRIPTION[kind]:
        raise invalid_request(
            f"Description must be a string of up to {MAX_DESCRIPTION[kind]} characters",
            "description",
        )
    return raw


def new_payment(body: dict[str, Any]) -> NewPayment:
    for name in UNSUPPORTED:
        if body.get(name):
            raise invalid_request(f"{name} is not supported by the emulator", name)
    capture, save = body.get("capture", False), body.get("save_payment_method", False)
    if not isinstance(capture, bool):
        raise invalid_request("capture must be true or false", "capture")
    if not isinstance(save, bool):
        raise invalid_request("save_payment_method must be true or false", "save_payment_method")
    method_id = body.get("payment_method_id")
    if method_id is not None and (
        not isinstance(method_id, str) or not 0 < len(method_id) <= MAX_METHOD_ID
    ):
        raise invalid_request("payment_method_id must be a saved method's id", "payment_method_id")
    if method_id is not None and save:
        raise invalid_request(
            "save_payment_method cannot be used with payment_method_id", "save_payment_method"
        )
    return NewPayment(
        amount=money(body.get("amount"), "amount"),
        description=description(body.get("description"), "payment"),
        metadata=metadata(body.get("metadata")),
        capture=capture,
        return_url=_return_url(body.get("confirmation")),
        save_payment_method=save,
        payment_method_id=method_id,
    )


def _return_url(raw: object) -> str | None:
    """Only the redirect scenario exists here: the payer goes to our checkout page."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or raw.get("type") != "redirect":
        raise invalid_request(
            "Only confirmation type redirect is supported by the emulator", "confirmation.type"
        )
    return_url = raw.get("return_url")
    if not isinstance(return_url, str) or not return_url:
        raise invalid_request("return_url is required for redirect", "confirmation.return_url")
    return return_url


def refund_request(body: dict[str, Any]) -> tuple[str, Money, str | None, dict[str, str]]:
    """``payment_id``, ``amount`` (required by the API) and optional description, metadata."""
    payment_id = body.get("payment_id")
    if not isinstance(payment_id, str) or not payment_id:
        raise invalid_request("payment_id is required", "payment_id")
    return (
        payment_id,
        money(body.get("amount"), "amount"),
        description(body.get("description"), "refund"),
        metadata(body.get("metadata")),
    )


def capture_amount(body: dict[str, Any]) -> Money | None:
    return None if body.get("amount") is None else money(body["amount"], "amount")
