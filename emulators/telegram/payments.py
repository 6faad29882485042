"""Payment methods: invoices (Telegram Stars, currency ``XTR``, or a provider's currency),
pre-checkout answers, Star refunds and the bot's Star transactions.

A pre-checkout query must be answered within 10 seconds, as on Telegram; a Star payment
can be refunded once, to the user who paid. ``getStarTransactions`` lists payments in and
refunds out, newest first: ``offset`` skips, ``limit`` (1-100, default 100) takes.
"""

from __future__ import annotations

import re
from typing import Any

from emulators.telegram import markup, wire
from emulators.telegram.errors import bad_request
from emulators.telegram.messages import Method, sent, target
from emulators.telegram.params import Params
from emulators.telegram.state import STARS, BotState, Content, StarTransfer

CURRENCY = re.compile(r"^[A-Z]{3}$")
PRE_CHECKOUT_TIMEOUT_S = 10.0
QUERY_GONE = "query is too old and response timeout expired or query ID is invalid"


def labeled_prices(raw: object) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise bad_request("can't parse prices JSON object")
    prices = []
    for item in raw:
        label = item.get("label") if isinstance(item, dict) else None
        amount = item.get("amount") if isinstance(item, dict) else None
        if not isinstance(label, str) or not isinstance(amount, int) or isinstance(amount, bool):
            raise bad_request("can't parse prices JSON object")
        prices.append({"label": label, "amount": amount})
    return prices


def text_between(params: Params, name: str, low: int, high: int, in_bytes: bool = False) -> str:
    value = params.text(name) or ""
    size = len(value.encode()) if in_bytes else len(value)
    if not low <= size <= high:
        raise bad_request(f"{name.upper()}_INVALID" if value else f"{name} is empty")
    return value


def invoice_of(params: Params) -> dict[str, Any]:
    """The invoice ``sendInvoice`` and ``createInvoiceLink`` describe, checked alike."""
    title = text_between(params, "title", 1, 32)
    description = text_between(params, "description", 1, 255)
    payload = text_between(params, "payload", 1, 128, in_bytes=True)
    currency = params.text("currency") or ""
    if not CURRENCY.match(currency):
        raise bad_request("CURRENCY_INVALID")
    prices = labeled_prices(params.structure("prices", "prices"))
    provider_token = params.text("provider_token")
    if currency == STARS and (provider_token or len(prices) != 1):
        raise bad_request("STARS_INVOICE_INVALID")  # Stars: no provider, exactly one price
    if currency != STARS and not provider_token:
        raise bad_request("PAYMENT_PROVIDER_INVALID")
    total = sum(price["amount"] for price in prices)
    if total <= 0:
        raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
    return {
        "title": title,
        "description": description,
        "start_parameter": params.text("start_parameter") or "",
        "currency": currency,
        "total_amount": total,
        "payload": payload,
        "prices": prices,
    }


def send_invoice(bot: BotState, params: Params, now: float) -> Any:
    chat = target(bot, params)
    invoice = invoice_of(params)
    inline = markup.inline_only(params.structure("reply_markup", "reply keyboard markup"))
    content = Content(int(now), reply_markup=inline)
    return sent(bot, chat, now, content, invoice=invoice)


def answer_pre_checkout_query(bot: BotState, params: Params, now: float) -> Any:
    query = bot.pre_checkouts.get(params.text("pre_checkout_query_id") or "")
    if query is None or query.answer is not None or now - query.created > PRE_CHECKOUT_TIMEOUT_S:
        raise bad_request(QUERY_GONE)
    if "ok" not in params.values:
        raise bad_request('parameter "ok" is required')
    ok = params.flag("ok")
    error_message = params.text("error_message")
    if not ok and not error_message:
        raise bad_request("ERROR_MESSAGE_EMPTY")  # a refusal must tell the user why
    query.answer = {"ok": ok, "error_message": None if ok else error_message}
    return True


def refund_star_payment(bot: BotState, params: Params, now: float) -> Any:
    charge = bot.charges.get(params.text("telegram_payment_charge_id") or "")
    if charge is None or charge.currency != STARS:
        raise bad_request("CHARGE_NOT_FOUND")
    if charge.user_id != params.integer("user_id"):
        raise bad_request("USER_ID_INVALID")
    if charge.refunded:
        raise bad_request("CHARGE_ALREADY_REFUNDED")
    charge.refunded = True
    bot.moved_stars(charge, int(now), incoming=False)
    chat = bot.chat(charge.user_id)
    refunded = {
        "currency": charge.currency,
        "total_amount": charge.total_amount,
        "invoice_payload": charge.invoice_payload,
        "telegram_payment_charge_id": charge.id,
    }
    notice = chat.add("user", int(now), Content(int(now)), service={"refunded_payment": refunded})
    bot.updates.add("message", wire.message(bot, chat, notice), now)
    return True


def star_transaction(bot: BotState, transfer: StarTransfer) -> dict[str, Any]:
    """A StarTransaction: the user is its ``source`` when paying, its ``receiver`` when
    refunded."""
    partner = {
        "type": "user",
        "transaction_type": "invoice_payment",
        "user": wire.person(bot.chats[transfer.user_id].person),
        "invoice_payload": transfer.invoice_payload,
    }
    return {
        "id": transfer.id,
        "amount": transfer.amount,
        "date": transfer.date,
        "source" if transfer.incoming else "receiver": partner,
    }


def get_star_transactions(bot: BotState, params: Params, now: float) -> Any:
    """Out-of-range ``offset`` and ``limit`` are clamped, as the Bot API server does."""
    offset = max(params.integer("offset") or 0, 0)
    asked = params.integer("limit")
    limit = 100 if asked is None else min(max(asked, 1), 100)
    newest_first = bot.star_transfers[::-1]
    page = newest_first[offset : offset + limit]
    return {"transactions": [star_transaction(bot, transfer) for transfer in page]}


METHODS: dict[str, Method] = {
    "sendinvoice": send_invoice,
    "answerprecheckoutquery": answer_pre_checkout_query,
    "refundstarpayment": refund_star_payment,
    "getstartransactions": get_star_transactions,
}
