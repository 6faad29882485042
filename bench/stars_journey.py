"""A Stars payment's journey, as the bench measures it: each user opens the plans, taps
a plan's Stars button and presses Pay on the invoice (the bot approves the pre-checkout
query); then all pay at once in the Telegram emulator. From the moment each
``successful_payment`` update is there for the bot to take ('paid'): the user's key on
every node ('usable'), the bot's "choose a region" message ('messaged').

Apart from :mod:`bench.journey_latency` (which reads the local stack's settings when
imported), so that a test can run it against services it starts itself.
"""

from __future__ import annotations

import asyncio
import time

from bench.local import has_button, next_bot_message
from bench.measure import Marks, NodeWatcher
from services.bot.keyboards.callbacks import BuyStars
from tests.telegram_chat import TelegramUser

STARS_PLAN = "month_1"


async def messaged(user: TelegramUser, mark: dict[str, float], deadline: float) -> None:
    """Marks when the bot's "choose a region" (or "connect") message reaches ``user``."""
    while (message := await next_bot_message(user, deadline)) is not None:
        if has_button(message, "region:") or has_button(message, "menu:connect"):
            mark["messaged"] = time.perf_counter()
            return


async def approved_invoice(user: TelegramUser, plan: str) -> str:
    """The user opens the plans, taps ``plan``'s Stars button and presses Pay on the
    invoice; the pre-checkout query the bot approved."""
    [plans] = await user.ask("/buy")
    await user.press(plans, BuyStars(plan=plan).pack())
    invoice = await user.reply()
    queries = f"/emulator/bots/{user.bot}/pre-checkout-queries"
    asked = await user.emulator.post(
        queries, json={"user_id": user.id, "message_id": invoice["message_id"]}
    )
    asked.raise_for_status()
    query_id = str(asked.json()["pre_checkout_query_id"])
    answer = await user.emulator.get(f"{queries}/{query_id}", params={"timeout": 10})
    answer.raise_for_status()
    if answer.json()["answer"]["ok"] is not True:
        raise RuntimeError(f"user {user.id}: the bot refused the invoice it made")
    return query_id


async def stars_journey(
    users: dict[int, TelegramUser],
    keys: dict[int, str],
    watcher: NodeWatcher,
    deadline: float,
    plan: str = STARS_PLAN,
) -> Marks:
    """Every user approved an invoice of ``plan``, then all pay at once; from each
    payment ('paid'): the key on every node ('usable'), the region message ('messaged')."""
    approved = await asyncio.gather(*(approved_invoice(u, plan) for u in users.values()))
    queries = dict(zip(users, approved, strict=True))
    marks: Marks = {telegram_id: {} for telegram_id in users}

    async def pay(user: TelegramUser) -> None:
        marks[user.id]["paid"] = time.perf_counter()
        answer = await user.emulator.post(
            f"/emulator/bots/{user.bot}/payments",
            json={"user_id": user.id, "pre_checkout_query_id": queries[user.id]},
        )
        answer.raise_for_status()

    watcher.expect(keys.values())
    await asyncio.gather(
        *(pay(u) for u in users.values()),
        *(messaged(u, marks[u.id], deadline) for u in users.values()),
        return_exceptions=True,
    )
    await watcher.wait(keys.values(), enabled=True, timeout_s=deadline - time.monotonic())
    for telegram_id, key in keys.items():
        if (usable := watcher.usable_at(key)) is not None:
            marks[telegram_id]["usable"] = usable
    return marks
