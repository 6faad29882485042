"""``keyland demo``: a scripted user journey through the running local stack (``make up``),
played against the Telegram and YooKassa emulators, with the time each step took.

A referrer starts the bot; a friend opens their referral link, takes the trial, gets
keys on every country node, buys a month, picks a region; the referrer is credited.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from dotenv import dotenv_values

from keyland.settings import StackSettings, load
from keyland.stack.local_env import (
    EMULATED_BOT_USERNAME,
    PROVISIONER_API_PORT,
    SUBSCRIPTION_API_PORT,
    TELEGRAM_EMULATOR_PORT,
    YOOKASSA_EMULATOR_PORT,
)

TELEGRAM = f"http://127.0.0.1:{TELEGRAM_EMULATOR_PORT}/emulator/bots/{EMULATED_BOT_USERNAME}"
Check = Callable[[], Awaitable[Any]]


class DemoFailed(RuntimeError):
    pass


async def until(check: Check, what: str, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise DemoFailed(f"timed out waiting for: {what}")


async def journey(  # noqa: PLR0915 - one script, read top to bottom
    client: httpx.AsyncClient, tokens: dict[str, str], say: Callable[[str, float], None]
) -> None:
    referrer, friend = 900_000_001, 900_000_002
    read = {"Authorization": f"Bearer {tokens['KEYLAND_SUBSCRIPTION_API_TOKEN']}"}
    links = {"Authorization": f"Bearer {tokens['KEYLAND_PROVISIONER_API_TOKEN']}"}

    async def write(user: int, text: str) -> None:
        body = {
            "user": {"id": user, "first_name": f"Demo{user % 10}", "language_code": "en"},
            "text": text,
        }
        (await client.post(f"{TELEGRAM}/messages", json=body)).raise_for_status()

    async def bot_message(user: int, data: str) -> dict[str, Any] | None:
        answer = await client.get(f"{TELEGRAM}/chats/{user}/messages", params={"sender": "bot"})
        for message in reversed(
            answer.json().get("messages", []) if answer.status_code == 200 else []
        ):
            if any(b.get("callback_data") == data for row in message["buttons"] for b in row):
                return message  # type: ignore[no-any-return]
        return None

    async def press(user: int, message: dict[str, Any], data: str) -> None:
        body = {"user_id": user, "message_id": message["message_id"], "data": data}
        (await client.post(f"{TELEGRAM}/callbacks", json=body)).raise_for_status()

    async def user(telegram_id: int) -> dict[str, Any]:
        answer = await client.get(
            f"http://127.0.0.1:{SUBSCRIPTION_API_PORT}/v1/users/{telegram_id}", headers=read
        )
        return answer.json() if answer.status_code == 200 else {}

    started = time.perf_counter()
    await write(referrer, "/start")
    await until(lambda: bot_message(referrer, "menu:trial"), "the referrer's menu")
    say("referrer starts the bot, sees the menu", started)

    started = time.perf_counter()
    await write(friend, f"/start ref_{referrer}")
    menu = await until(lambda: bot_message(friend, "menu:trial"), "the friend's menu")
    await until(lambda: _has(user(friend), "referrer_id", referrer), "the referral recorded")
    say("friend opens the referral link; referrer recorded", started)

    started = time.perf_counter()
    await press(friend, menu, "menu:trial")
    await until(lambda: _has(user(friend), "trial_used", True), "the trial")
    say("friend takes the free trial", started)

    started = time.perf_counter()

    async def keys() -> dict[str, Any] | None:
        answer = await client.get(
            f"http://127.0.0.1:{PROVISIONER_API_PORT}/v1/users/{friend}/links", headers=links
        )
        found = answer.json() if answer.status_code == 200 else {}
        return found if len(found.get("links", {})) >= 2 else None

    shown = await until(keys, "keys on every node")
    say(f"keys enabled on {', '.join(shown['links'])}", started)

    started = time.perf_counter()
    await press(friend, menu, "menu:buy")
    plans = await until(lambda: bot_message(friend, "buy:month_1"), "the plans")
    await press(friend, plans, "buy:month_1")

    async def confirmation() -> str | None:
        answer = await client.get(f"{TELEGRAM}/chats/{friend}/messages", params={"sender": "bot"})
        urls = [
            b["url"]
            for m in answer.json()["messages"]
            for row in m["buttons"]
            for b in row
            if "url" in b
        ]
        return urls[-1] if urls else None

    url = await until(confirmation, "the payment link")
    say("friend buys a month: YooKassa payment created", started)

    started = time.perf_counter()
    payment_id = url.rsplit("/", 1)[-1]
    (
        await client.post(
            f"http://127.0.0.1:{YOOKASSA_EMULATOR_PORT}/emulator/payments/{payment_id}/pay"
        )
    ).raise_for_status()
    choose = await until(
        lambda: bot_message(friend, f"region:{sorted(shown['links'])[0]}"), "the region prompt"
    )
    say("payment confirmed → access extended → 'choose a region' sent", started)

    started = time.perf_counter()
    region = sorted(shown["links"])[0]
    await press(friend, choose, f"region:{region}")
    await until(lambda: _has(user(friend), "region", region), "the region")
    say(f"friend picks {region}", started)

    started = time.perf_counter()
    await until(lambda: _has(user(referrer), "referral_days_earned", 10), "the referral bonus")
    say("referrer credited 10 bonus days", started)


async def _has(document: Awaitable[dict[str, Any]], field: str, value: Any) -> bool:
    return bool((await document).get(field) == value)


def run() -> None:
    tokens = {
        k: v for k, v in dotenv_values(load(StackSettings).state_dir / "local.env").items() if v
    }
    began = time.perf_counter()

    def say(step: str, started: float) -> None:
        now = time.perf_counter()
        print(f"{now - began:7.2f}s  {1000 * (now - started):8.0f} ms  {step}")

    async def main() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            await journey(client, tokens, say)

    print("   time      step  what happened")
    asyncio.run(main())
