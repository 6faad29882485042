"""Mini Apps: the chat menu button, invoice links, and what Telegram hands a web app.

``setChatMenuButton`` / ``getChatMenuButton`` keep one button per chat and a default;
``createInvoiceLink`` answers a ``https://t.me/$<slug>`` link whose invoice a user can
then pay (pre-checkout and payment by ``invoice_link``). Opening a web app (a control
route, as a user tapping the menu button) gives its URL with the signed launch data in
the fragment, as Telegram does: ``#tgWebAppData=<initData>&tgWebAppVersion=...``, where
initData's ``hash`` is the hex HMAC-SHA256 of its other fields (sorted ``key=value``
lines) under the key HMAC-SHA256("WebAppData", bot token).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from emulators.telegram import wire
from emulators.telegram.errors import ControlError, bad_request
from emulators.telegram.params import Params
from emulators.telegram.payments import invoice_of
from emulators.telegram.state import BotState, Person

WEB_APP_VERSION = "8.0"
INVOICE_LINK = "https://t.me/$"
DEFAULT_BUTTON: dict[str, Any] = {"type": "commands"}


def sign(bot_token: str, fields: dict[str, str]) -> str:
    """``fields`` as initData: a query string with their ``hash`` added."""
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    checked = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    digest = hmac.new(secret, checked.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest}, quote_via=quote)


def menu_button(raw: object) -> dict[str, Any]:
    """A MenuButton as Telegram accepts it: commands, default, or a web app with a text
    and an http(s) URL (Telegram wants https; locally plain http is allowed)."""
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind in {"commands", "default"}:
        return {"type": kind}
    if kind != "web_app" or not isinstance(raw, dict):
        raise bad_request("can't parse menu button JSON object")
    text, app = raw.get("text"), raw.get("web_app")
    url = app.get("url") if isinstance(app, dict) else None
    if not isinstance(text, str) or not 1 <= len(text) <= 64:
        raise bad_request("BUTTON_TEXT_INVALID")
    if not isinstance(url, str) or urlsplit(url).scheme not in {"http", "https"}:
        raise bad_request("BUTTON_URL_INVALID")
    return {"type": "web_app", "text": text, "web_app": {"url": url}}


def set_chat_menu_button(bot: BotState, params: Params, now: float) -> Any:
    chat_id = params.integer("chat_id")
    if chat_id is not None:
        bot.chat(chat_id)
    button = menu_button(params.structure("menu_button", "menu button") or DEFAULT_BUTTON)
    if button["type"] == "default":
        bot.menu_buttons.pop(chat_id, None)
    else:
        bot.menu_buttons[chat_id] = button
    return True


def shown_button(bot: BotState, chat_id: int | None) -> dict[str, Any]:
    """The button a chat shows: its own, else the bot's default, else the commands."""
    return bot.menu_buttons.get(chat_id) or bot.menu_buttons.get(None) or DEFAULT_BUTTON


def get_chat_menu_button(bot: BotState, params: Params, now: float) -> Any:
    chat_id = params.integer("chat_id")
    if chat_id is not None:
        bot.chat(chat_id)
    return shown_button(bot, chat_id)


def create_invoice_link(bot: BotState, params: Params, now: float) -> Any:
    slug = secrets.token_urlsafe(12)
    bot.invoice_links[slug] = invoice_of(params)
    return INVOICE_LINK + slug


def opened(bot: BotState, who: Person, now: float, auth_date: int | None) -> dict[str, Any]:
    """The user taps the menu button: the web app's URL with the launch data in its
    fragment, and the initData alone. ``auth_date`` plays an app opened earlier."""
    button = shown_button(bot, who.id)
    if button["type"] != "web_app":
        raise ControlError(409, f"chat {who.id} shows no web app menu button")
    fields = {
        "query_id": f"AAE{secrets.token_urlsafe(18)}",
        "user": json.dumps(
            wire.person(who) | {"allows_write_to_pm": True},
            separators=(",", ":"),
            ensure_ascii=False,
        ),
        "auth_date": str(int(now) if auth_date is None else auth_date),
    }
    init_data = sign(bot.account.token, fields)
    launch = urlencode(
        {
            "tgWebAppData": init_data,
            "tgWebAppVersion": WEB_APP_VERSION,
            "tgWebAppPlatform": "web",
        },
        quote_via=quote,
    )
    url = button["web_app"]["url"]
    return {"url": f"{url.partition('#')[0]}#{launch}", "init_data": init_data}


def invoice_by_link(bot: BotState, link: object) -> dict[str, Any]:
    """The invoice a ``createInvoiceLink`` link stands for."""
    if isinstance(link, str) and link.startswith(INVOICE_LINK):
        found = bot.invoice_links.get(link.removeprefix(INVOICE_LINK))
        if found is not None:
            return found
    raise ControlError(404, f"no invoice link {link!r}")


METHODS = {
    "setchatmenubutton": set_chat_menu_button,
    "getchatmenubutton": get_chat_menu_button,
    "createinvoicelink": create_invoice_link,
}
