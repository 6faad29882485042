"""How updates reach a bot: long polling (getUpdates) or a webhook (setWebhook & co.).

While a webhook is set, getUpdates answers 409, as on Telegram; a newer getUpdates ends an
older one still waiting with 409 "terminated by other getUpdates request".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from emulators.telegram.errors import bad_request, conflict
from emulators.telegram.params import Params
from emulators.telegram.runtime import Disconnected, Runtime
from emulators.telegram.state import BotState, Webhook
from emulators.telegram.updates import allowed_types

MAX_POLL_TIMEOUT_S = 50
SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
WEBHOOK_ACTIVE = "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
TERMINATED = (
    "terminated by other getUpdates request; make sure that only one bot instance is running"
)


@dataclass(frozen=True)
class Described:
    """A result Telegram sends with a ``description`` next to it."""

    result: Any
    description: str


async def get_updates(
    runtime: Runtime, params: Params, clock: Callable[[], float], gone: Disconnected | None
) -> Any:
    if runtime.state.webhook is not None:
        raise conflict(WEBHOOK_ACTIVE)
    offset = params.integer("offset")
    if offset:
        runtime.state.updates.confirm(offset)
    allowed = params.structure("allowed_updates", "allowed updates")
    if allowed is not None:
        runtime.state.updates.allowed = allowed_types(allowed)
    limit = min(max(params.integer("limit") or 100, 1), 100)
    timeout = min(max(params.integer("timeout") or 0, 0), MAX_POLL_TIMEOUT_S)
    runtime.poll_generation += 1
    mine = runtime.poll_generation
    runtime.changes.announce()  # an older poll still waiting learns it is superseded

    def answerable() -> bool:
        return (
            runtime.poll_generation != mine
            or runtime.state.webhook is not None
            or bool(runtime.state.updates.ready(clock(), 1))
        )

    if timeout and not answerable():
        await runtime.changes.until_or_gone(answerable, timeout, gone)
    if runtime.poll_generation != mine:
        raise conflict(TERMINATED)
    if runtime.state.webhook is not None:
        raise conflict(WEBHOOK_ACTIVE)
    return runtime.state.updates.ready(clock(), limit)


def set_webhook(bot: BotState, params: Params, now: float) -> Described:
    url = params.text("url") or ""
    if not url:
        return delete_webhook(bot, params, now)
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise bad_request("bad webhook: invalid webhook URL specified") from error
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.text("secret_token")
    if secret is not None and not SECRET_TOKEN.match(secret):
        raise bad_request("secret token contains unallowed characters")
    max_connections = params.integer("max_connections") or 40
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    allowed = params.structure("allowed_updates", "allowed updates")
    if allowed is not None:
        bot.updates.allowed = allowed_types(allowed)
    if params.flag("drop_pending_updates"):
        bot.updates.clear()
    same = bot.webhook is not None and bot.webhook.url == url
    bot.webhook = Webhook(url, secret, max_connections, params.text("ip_address"))
    return Described(True, "Webhook is already set" if same else "Webhook was set")


def delete_webhook(bot: BotState, params: Params, now: float) -> Described:
    if params.flag("drop_pending_updates"):
        bot.updates.clear()
    existed, bot.webhook = bot.webhook is not None, None
    return Described(True, "Webhook was deleted" if existed else "Webhook is already deleted")


def get_webhook_info(bot: BotState, params: Params, now: float) -> Any:
    hook = bot.webhook
    info: dict[str, Any] = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(bot.updates.ready(now)),
    }
    if hook is not None:
        info["max_connections"] = hook.max_connections
        info["allowed_updates"] = sorted(bot.updates.allowed)
        optional = {
            "ip_address": hook.ip_address,
            "last_error_date": hook.last_error_date,
            "last_error_message": hook.last_error_message,
        }
        info |= {k: v for k, v in optional.items() if v is not None}
    return info


METHODS = {
    "setwebhook": set_webhook,
    "deletewebhook": delete_webhook,
    "getwebhookinfo": get_webhook_info,
}
