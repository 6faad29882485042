"""The emulated Telegram as a whole: every configured bot, and the one way to call a method."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Any

from emulators.telegram import messages, payments, polling, web_apps
from emulators.telegram.delivery import WebhookPolicy, WebhookSender
from emulators.telegram.errors import ApiError, ControlError
from emulators.telegram.limits import RateLimits
from emulators.telegram.params import Params
from emulators.telegram.polling import Described
from emulators.telegram.runtime import Disconnected, Runtime
from emulators.telegram.state import BotAccount

METHODS: dict[str, messages.Method] = {
    **messages.METHODS,
    **payments.METHODS,
    **polling.METHODS,
    **web_apps.METHODS,
}


class Emulator:
    def __init__(
        self,
        accounts: Iterable[BotAccount],
        clock: Callable[[], float],
        limits: RateLimits,
        webhook_policy: WebhookPolicy,
    ) -> None:
        self.clock = clock
        self.runtimes = {account.id: Runtime(account, limits) for account in accounts}
        self.webhooks = WebhookSender(webhook_policy, clock, self.invoke)

    def by_token(self, token: str) -> Runtime | None:
        bot_id, _, _ = token.partition(":")
        runtime = self.runtimes.get(int(bot_id)) if bot_id.isdigit() else None
        if runtime is None or not secrets.compare_digest(token, runtime.account.token):
            return None
        return runtime

    def find(self, name: str) -> Runtime:
        """A bot by id or username (with or without ``@``), for the control routes."""
        for runtime in self.runtimes.values():
            account = runtime.account
            if name in {str(account.id), account.username, f"@{account.username}"}:
                return runtime
        raise ControlError(404, f"no bot {name!r}; configured: {sorted(self.runtimes)}")

    def changed(self, runtime: Runtime) -> None:
        """Wake whoever waits on this bot, and send pending updates to its webhook."""
        runtime.changes.announce()
        self.webhooks.kick(runtime)

    async def reset(self) -> None:
        for bot_id, runtime in self.runtimes.items():
            await self.webhooks.stop(bot_id)
            runtime.reset()

    async def invoke(
        self, runtime: Runtime, method: str, params: Params, gone: Disconnected | None = None
    ) -> Any:
        """Run a Bot API method; its result, or a :class:`Described` one. Raises ApiError."""
        name = method.lower()
        try:
            if name == "getupdates":
                return await polling.get_updates(runtime, params, self.clock, gone)
            if name not in METHODS:
                raise ApiError(404, "Not Found")
            result = METHODS[name](runtime.state, params, self.clock())
            return result
        finally:
            self.changed(runtime)


def result_body(result: Any) -> dict[str, Any]:
    if isinstance(result, Described):
        return {"ok": True, "result": result.result, "description": result.description}
    return {"ok": True, "result": result}
