"""Payment → key usable on every node → user messaged, at 100 concurrent payments.

Against the running local stack (``make up``): 100 fresh users open the bot (``/start``,
no trial, so none has a key); once registered, each gets a pending month payment at the
ingest (as ``bench.payments`` makes them), then YooKassa (the emulator) marks all 100 paid at once.
For each payment, from the moment it is marked paid:

- webhook answered: the emulator's delivery to the ingest acknowledged (``wait=true``);
- key usable: the user's key enabled on both nodes (the later ``KeyActivated``, see
  ``bench.measure.Activations``);
- user messaged: the bot's "payment received, choose a region" message in the chat.

Then the same in Telegram Stars: 100 other fresh users each open the plans, tap the
month's Stars button and press Pay on the invoice (the bot approves the pre-checkout
query); then all 100 pay at once in the Telegram emulator. From the moment each
``successful_payment`` update is there for the bot to take: key usable, user messaged.

Side by side, the seed-style BASELINE (``bench/baseline/``, not Keyland): 100 concurrent
paid notifications from users it never saw, each answered after the user was written
and the key enabled on both of its nodes; it messages nobody. The users are purged
(Keyland) or deleted (baseline) afterwards.

Run: ``make bench`` or ``.venv/bin/python -m bench.journey_latency [payments]``.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid

import httpx

from bench.baseline.harness import Baseline, running_baseline
from bench.light_client import LightClient
from bench.local import (
    TELEGRAM_EMULATOR,
    LocalStack,
    new_telegram_ids,
    next_bot_message,
    shared_database,
    simulated_user,
)
from bench.measure import SPREAD_HEADER, Marks, quantile, spread_ms
from bench.payments import EMULATOR, create_payments
from bench.stars_journey import messaged, stars_journey
from keyland.mongo import database
from tests.starts import wait_registered
from tests.telegram_chat import TelegramUser

TIMEOUT_S = 180.0


def _after(marks: Marks, stage: str) -> list[float]:
    return [m[stage] - m["paid"] for m in marks.values() if stage in m]


async def registered_users(
    emulator: LightClient, count: int, deadline: float
) -> dict[int, TelegramUser]:
    """``count`` fresh users who opened the bot, once their /start registered them."""
    ids = new_telegram_ids(count)
    users = {telegram_id: simulated_user(emulator, telegram_id) for telegram_id in ids}

    async def opened(telegram_id: int) -> None:
        user = users[telegram_id]
        await user.send("/start")
        if await next_bot_message(user, deadline) is None:
            raise TimeoutError(f"user {telegram_id}: no menu")

    await asyncio.gather(*(opened(t) for t in ids))
    db = database(shared_database(), app_name="bench")
    try:  # paid before their /start registered them, the money would be held
        await wait_registered(db, ids, timeout_s=deadline - time.monotonic())
    finally:
        db.client.close()
    return users


async def keyland_payments(
    stack: LocalStack, emulator: LightClient, client: httpx.AsyncClient, count: int
) -> tuple[Marks, int]:
    deadline = time.monotonic() + TIMEOUT_S
    users = await registered_users(emulator, count, deadline)
    ids = list(users)
    payments = dict(zip(ids, await create_payments(client, count, ids), strict=True))
    keys = {telegram_id: stack.key_of(telegram_id) for telegram_id in ids}
    marks: Marks = {telegram_id: {} for telegram_id in ids}

    async def pay(telegram_id: int) -> None:
        mark = marks[telegram_id]
        mark["paid"] = time.perf_counter()
        answer = await client.post(
            f"{EMULATOR}/emulator/payments/{payments[telegram_id]}/pay", params={"wait": "true"}
        )
        answer.raise_for_status()
        if all(d["state"] == "delivered" for d in answer.json()["deliveries"]):
            mark["webhook"] = time.perf_counter()

    async with stack.watching(client) as watcher:
        watcher.expect(keys.values())
        await asyncio.gather(
            *(pay(t) for t in ids),
            *(messaged(users[t], marks[t], deadline) for t in ids),
            return_exceptions=True,
        )
        await watcher.wait(keys.values(), enabled=True, timeout_s=deadline - time.monotonic())
        for telegram_id, key in keys.items():
            if (usable := watcher.usable_at(key)) is not None:
                marks[telegram_id]["usable"] = usable
        left = await stack.purge(ids, watcher)
    return marks, left


async def stars_payments(
    stack: LocalStack, emulator: LightClient, client: httpx.AsyncClient, count: int
) -> tuple[Marks, int]:
    deadline = time.monotonic() + TIMEOUT_S
    users = await registered_users(emulator, count, deadline)
    keys = {telegram_id: stack.key_of(telegram_id) for telegram_id in users}
    async with stack.watching(client) as watcher:
        marks = await stars_journey(users, keys, watcher, deadline)
        left = await stack.purge(list(users), watcher)
    return marks, left


async def baseline_payments(baseline: Baseline, client: httpx.AsyncClient, count: int) -> Marks:
    ids = new_telegram_ids(count)
    marks: Marks = {telegram_id: {} for telegram_id in ids}

    async def pay(telegram_id: int) -> None:
        mark = marks[telegram_id]
        mark["paid"] = time.perf_counter()
        body = {"telegram_id": telegram_id, "payment_id": uuid.uuid4().hex, "days": 30}
        answer = await client.post(f"{baseline.url}/payments", json=body)
        answer.raise_for_status()
        mark["webhook"] = mark["usable"] = time.perf_counter()

    await asyncio.gather(*(pay(t) for t in ids), return_exceptions=True)
    gate = asyncio.Semaphore(20)

    async def delete(telegram_id: int) -> None:
        async with gate:
            await client.delete(f"{baseline.url}/users/{telegram_id}")

    await asyncio.gather(*(delete(t) for t in ids))
    return marks


def report(title: str, marks: Marks, stages: dict[str, str]) -> None:
    print(f"\n{title}: {len(marks)} concurrent payments, from 'paid' (ms)")
    print(f"{'stage':<34}{'done':>6}{SPREAD_HEADER}")
    for label, stage in stages.items():
        seconds = _after(marks, stage)
        print(f"{label:<34}{len(seconds):>6}{spread_ms(seconds)}")


async def main(count: int) -> tuple[Marks, Marks]:
    """Run every side; Keyland's marks per user (seconds, ``time.perf_counter``), paying
    through YooKassa and in Stars."""
    stack = LocalStack.load()
    limits = httpx.Limits(max_connections=4 * count + 10, keepalive_expiry=1.0)
    async with (
        LightClient(TELEGRAM_EMULATOR, timeout_s=60, connections=4 * count + 10) as emulator,
        httpx.AsyncClient(timeout=60, limits=limits) as client,
    ):
        keyland, left = await keyland_payments(stack, emulator, client, count)
        stars, stars_left = await stars_payments(stack, emulator, client, count)
        async with running_baseline(shared_database()) as running:
            baseline = await baseline_payments(running, client, count)
    report(
        "Keyland, YooKassa webhook → key → message",
        keyland,
        {
            "webhook answered": "webhook",
            "key usable on both nodes": "usable",
            "user messaged": "messaged",
        },
    )
    report(
        "Keyland, Telegram Stars successful_payment → key → message",
        stars,
        {"key usable on both nodes": "usable", "user messaged": "messaged"},
    )
    if left or stars_left:
        print(f"  cleanup: {left + stars_left} keys still on a node after two minutes")
    report(
        "BASELINE (seed-style Flask + pymongo, not Keyland; messages nobody)",
        baseline,
        {"answered = key usable on both nodes": "usable"},
    )
    keyland_usable, baseline_usable = _after(keyland, "usable"), _after(baseline, "usable")
    if keyland_usable and baseline_usable:
        print(
            "key usable, Keyland ÷ baseline: "
            f"p50 {quantile(keyland_usable, 0.5) / quantile(baseline_usable, 0.5):.1f}, "
            f"p99 {quantile(keyland_usable, 0.99) / quantile(baseline_usable, 0.99):.1f}"
        )
    return keyland, stars


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100))
