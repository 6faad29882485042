"""What users do, played by tests and the demo: write, press buttons, pay, block the bot.

Pure: each action changes the bot's state and returns the update it caused, or None when
the bot does not receive that kind of update (``allowed_updates``). Refusals raise
:class:`ControlError`.
"""

from __future__ import annotations

import secrets
from typing import Any

from emulators.telegram import markup, web_apps, wire
from emulators.telegram.errors import ControlError
from emulators.telegram.formatting import utf16_len
from emulators.telegram.state import (
    BotState,
    CallbackQuery,
    Charge,
    Chat,
    Content,
    Person,
    PreCheckout,
)

Update = dict[str, Any] | None
PROFILE_FIELDS = ("first_name", "last_name", "username", "language_code")


def person_from(raw: object) -> Person:
    """A user as the control API describes one: ``id`` and ``first_name`` at least."""
    if not isinstance(raw, dict):
        raise ControlError(400, "user must be an object with id and first_name")
    user_id, first_name = raw.get("id"), raw.get("first_name")
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 < user_id < 2**52:
        raise ControlError(400, "user.id must be a positive integer")
    if not isinstance(first_name, str) or not first_name:
        raise ControlError(400, "user.first_name must be a non-empty string")
    extra = {name: raw.get(name) for name in PROFILE_FIELDS[1:]}
    if not all(value is None or isinstance(value, str) for value in extra.values()):
        raise ControlError(400, "user.last_name, username and language_code must be strings")
    return Person(user_id, first_name, **extra)


def known_or_new(bot: BotState, raw: object) -> Person:
    """The user described; a known user may be named by ``{"id": ...}`` alone."""
    if isinstance(raw, dict) and "first_name" not in raw and raw.get("id") in bot.chats:
        return bot.chats[raw["id"]].person
    return person_from(raw)


def chat_of(bot: BotState, user_id: int) -> Chat:
    if user_id not in bot.chats:
        raise ControlError(404, f"user {user_id} has never talked to the bot")
    return bot.chats[user_id]


def user_sends(bot: BotState, who: Person, text: str, now: float) -> Update:
    """A private message; ``/command`` at the start is marked as a bot_command entity."""
    if not text.strip():
        raise ControlError(400, "text must not be empty")
    chat = bot.chats.setdefault(who.id, Chat(who))
    if chat.blocked:
        raise ControlError(409, f"user {who.id} has blocked the bot; unblock first")
    chat.person = who
    entities: tuple[dict[str, Any], ...] = ()
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        entities = ({"type": "bot_command", "offset": 0, "length": utf16_len(command)},)
    found = chat.add("user", int(now), Content(int(now), text=text, entities=entities))
    return bot.updates.add("message", wire.message(bot, chat, found), now)


def user_presses(
    bot: BotState, user_id: int, message_id: int, now: float, *, data: str | None, text: str | None
) -> tuple[str, Update]:
    """A press of an inline callback button of one of the bot's messages."""
    chat = chat_of(bot, user_id)
    found = chat.message(message_id)
    if found is None or found.sender != "bot":
        raise ControlError(404, f"chat {user_id} has no bot message {message_id}")
    button = markup.find_callback(found.content.reply_markup, data, text)
    if button is None:
        wanted = f"callback_data {data!r}" if data is not None else f"text {text!r}"
        raise ControlError(409, f"message {message_id} has no callback button with {wanted}")
    query = CallbackQuery(str(secrets.randbits(63)), user_id, message_id, button["callback_data"])
    bot.callbacks[query.id] = query
    payload = {
        "id": query.id,
        "from": wire.person(chat.person),
        "message": wire.message(bot, chat, found),
        "chat_instance": wire.chat_instance(bot.account.id, user_id),
        "data": query.data,
    }
    return query.id, bot.updates.add("callback_query", payload, now)


def invoice_terms(bot: BotState, user_id: int, raw: dict[str, Any]) -> tuple[str, int, str]:
    """(currency, total_amount, invoice_payload): from an invoice message, an invoice
    link, or as given."""
    if raw.get("invoice_link") is not None:
        invoice = web_apps.invoice_by_link(bot, raw["invoice_link"])
        return invoice["currency"], invoice["total_amount"], invoice["payload"]
    if raw.get("message_id") is not None:
        found = chat_of(bot, user_id).message(raw["message_id"])
        if found is None or found.invoice is None:
            raise ControlError(404, f"chat {user_id} has no invoice message {raw['message_id']}")
        invoice = found.invoice
        return invoice["currency"], invoice["total_amount"], invoice["payload"]
    currency, total, payload = (
        raw.get("currency"),
        raw.get("total_amount"),
        raw.get("invoice_payload"),
    )
    if not (isinstance(currency, str) and isinstance(total, int) and isinstance(payload, str)):
        raise ControlError(
            400,
            "give message_id of an invoice, invoice_link, or currency, total_amount and "
            "invoice_payload",
        )
    return currency, total, payload


def user_checks_out(
    bot: BotState, user_id: int, raw: dict[str, Any], now: float
) -> tuple[str, Update]:
    """The user presses Pay: the bot gets a pre_checkout_query to confirm within 10 s."""
    chat = chat_of(bot, user_id)
    currency, total, payload = invoice_terms(bot, user_id, raw)
    query = PreCheckout(str(secrets.randbits(63)), user_id, currency, total, payload, now)
    bot.pre_checkouts[query.id] = query
    body = {
        "id": query.id,
        "from": wire.person(chat.person),
        "currency": currency,
        "total_amount": total,
        "invoice_payload": payload,
    }
    return query.id, bot.updates.add("pre_checkout_query", body, now)


def user_pays(
    bot: BotState, user_id: int, raw: dict[str, Any], now: float
) -> tuple[Charge, Update]:
    """The payment went through: a successful_payment message from the user.

    With ``pre_checkout_query_id`` the bot must have approved that query first.
    """
    chat = chat_of(bot, user_id)
    query = bot.pre_checkouts.get(str(raw.get("pre_checkout_query_id")))
    if raw.get("pre_checkout_query_id") is not None:
        if query is None or query.user_id != user_id:
            raise ControlError(
                404, f"no pre-checkout query {raw['pre_checkout_query_id']} of {user_id}"
            )
        if query.answer is None or not query.answer["ok"]:
            raise ControlError(409, f"the bot has not approved pre-checkout query {query.id}")
        terms = (query.currency, query.total_amount, query.invoice_payload)
    else:
        terms = invoice_terms(bot, user_id, raw)
    charge_id = raw.get("telegram_payment_charge_id") or f"stxK{secrets.token_urlsafe(24)}"
    if not isinstance(charge_id, str) or charge_id in bot.charges:
        raise ControlError(409, f"charge id {charge_id!r} is not a new string")
    charge = Charge(charge_id, user_id, *terms, date=int(now))
    bot.charges[charge.id] = charge
    bot.moved_stars(charge, charge.date, incoming=True)
    payment = {
        "currency": charge.currency,
        "total_amount": charge.total_amount,
        "invoice_payload": charge.invoice_payload,
        "telegram_payment_charge_id": charge.id,
        "provider_payment_charge_id": raw.get("provider_payment_charge_id") or "",
    }
    found = chat.add("user", int(now), Content(int(now)), service={"successful_payment": payment})
    return charge, bot.updates.add("message", wire.message(bot, chat, found), now)


def set_blocked(bot: BotState, user_id: int, blocked: bool, now: float) -> Update:
    """The user blocks (or unblocks) the bot: a my_chat_member update, sends answer 403."""
    chat = chat_of(bot, user_id)
    if chat.blocked == blocked:
        return None
    chat.blocked = blocked
    member = {"status": "member", "user": wire.bot_user(bot.account)}
    kicked = {"status": "kicked", "user": wire.bot_user(bot.account), "until_date": 0}
    body = {
        "chat": wire.private_chat(chat.person),
        "from": wire.person(chat.person),
        "date": int(now),
        "old_chat_member": member if blocked else kicked,
        "new_chat_member": kicked if blocked else member,
    }
    return bot.updates.add("my_chat_member", body, now)
