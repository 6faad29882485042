"""The Telegram Bot API emulator, driven by the real aiogram ``Bot`` and ``Dispatcher``.

The emulator stands in for a third-party SaaS, so nothing here needs Kafka or the
database. Users are played through the control routes; waits go through the emulator's
own waiting routes, never through sleeps.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandObject, CommandStart
from aiogram.methods import SendMessage
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LabeledPrice,
    MenuButtonCommands,
    MenuButtonWebApp,
    Message,
    TransactionPartnerUser,
    WebAppInfo,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from emulators.serving import BackgroundServer
from emulators.telegram import BotAccount, EmulatorConfig, WebhookPolicy, build_app
from emulators.telegram.web_apps import sign
from tests.processes import ROOT

TOKEN, OTHER_TOKEN = "123456:ABC-emulated_token", "654321:other-bot-token"
ANN: dict[str, Any] = {"id": 4242, "first_name": "Ann", "username": "ann", "language_code": "en"}
BOB: dict[str, Any] = {"id": 5151, "first_name": "Bob", "language_code": "ru"}
BOT_PATH = "/emulator/bots/keyland_test_bot"
CLI = [sys.executable, "-m", "emulators.telegram"]


def png(width: int, height: int) -> bytes:
    """A real PNG image, red all over."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    config = EmulatorConfig(
        bots=(BotAccount(TOKEN, "keyland_test_bot"), BotAccount(OTHER_TOKEN, "other_test_bot")),
        webhook=WebhookPolicy(attempts=2, base_delay_s=0.05, timeout_s=10),
    )
    with BackgroundServer() as server:
        server.start(build_app(config))
        yield server.url


@pytest.fixture
async def control(emulator_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The control API; every test starts from an emulator that has seen nothing."""
    async with httpx.AsyncClient(base_url=emulator_url, timeout=60) as client:
        (await client.post("/emulator/reset")).raise_for_status()
        yield client


def make_bot(url: str, token: str = TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(url)))


@pytest.fixture
async def bot(emulator_url: str) -> AsyncIterator[Bot]:
    made = make_bot(emulator_url)
    try:
        yield made
    finally:
        await made.session.close()


async def post(control: httpx.AsyncClient, path: str, **body: Any) -> dict[str, Any]:
    response = await control.post(f"{BOT_PATH}{path}", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def user_says(control: httpx.AsyncClient, text: str, user: dict[str, Any] = ANN) -> Any:
    return (await post(control, "/messages", user=user, text=text))["update"]


async def chat(control: httpx.AsyncClient, chat_id: int, **params: Any) -> dict[str, Any]:
    response = await control.get(f"{BOT_PATH}/chats/{chat_id}/messages", params=params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


class TestMessages:
    async def test_get_me_describes_the_bot(self, bot: Bot) -> None:
        me = await bot.get_me()

        assert (me.id, me.is_bot, me.username) == (123456, True, "keyland_test_bot")

    async def test_unknown_token_is_unauthorized(self, emulator_url: str) -> None:
        stranger = make_bot(emulator_url, "123456:not-the-secret")
        try:
            with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
                await stranger.get_me()
        finally:
            await stranger.session.close()

    async def test_unknown_method_is_not_found(self, control: httpx.AsyncClient) -> None:
        response = await control.post(f"/bot{TOKEN}/sendTelepathy", data={"chat_id": "1"})

        assert response.status_code == 404
        assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}

    async def test_inline_keyboard_message_is_edited(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        await user_says(control, "hello")
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Buy", callback_data="menu:buy")]]
        )

        sent = await bot.send_message(ANN["id"], "Pick a plan", reply_markup=keyboard)
        edited = await bot.edit_message_text(
            "Month chosen", chat_id=ANN["id"], message_id=sent.message_id, reply_markup=keyboard
        )

        assert sent.message_id == 2  # after the user's message in the same chat
        assert sent.from_user is not None
        assert sent.from_user.id == 123456
        assert (sent.chat.id, sent.chat.type) == (ANN["id"], "private")
        assert sent.reply_markup is not None
        assert sent.reply_markup.model_dump() == keyboard.model_dump()
        assert isinstance(edited, Message)
        assert (edited.text, edited.message_id) == ("Month chosen", sent.message_id)
        assert edited.edit_date is not None
        [said, shown] = (await chat(control, ANN["id"]))["messages"]
        assert (said["sender"], said["text"]) == ("user", "hello")
        assert shown["text"] == "Month chosen"
        assert shown["buttons"] == [[{"text": "Buy", "callback_data": "menu:buy"}]]
        assert [e["text"] for e in shown["edits"]] == ["Pick a plan"]
        with pytest.raises(TelegramBadRequest, match="message is not modified"):
            await bot.edit_message_text(
                "Month chosen", chat_id=ANN["id"], message_id=sent.message_id, reply_markup=keyboard
            )

    async def test_markup_is_removed_and_message_deleted(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        await user_says(control, "hi")
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Site", url="https://example.org")]]
        )
        sent = await bot.send_message(ANN["id"], "Links", reply_markup=keyboard)

        bare = await bot.edit_message_reply_markup(chat_id=ANN["id"], message_id=sent.message_id)
        deleted = await bot.delete_message(ANN["id"], sent.message_id)

        assert isinstance(bare, Message)
        assert bare.reply_markup is None
        assert deleted is True
        [_, gone] = (await chat(control, ANN["id"]))["messages"]
        assert gone["deleted"] is True
        with pytest.raises(TelegramBadRequest, match="message to delete not found"):
            await bot.delete_message(ANN["id"], sent.message_id)

    async def test_chat_that_never_wrote_is_not_found(self, bot: Bot) -> None:
        with pytest.raises(TelegramBadRequest, match="chat not found"):
            await bot.send_message(999_000_111, "Hello?")

    async def test_each_bot_has_its_own_chats(
        self, bot: Bot, control: httpx.AsyncClient, emulator_url: str
    ) -> None:
        await user_says(control, "hi")
        other = make_bot(emulator_url, OTHER_TOKEN)
        try:
            with pytest.raises(TelegramBadRequest, match="chat not found"):
                await other.send_message(ANN["id"], "Hello from the other bot")
        finally:
            await other.session.close()

    async def test_bad_text_is_refused_as_telegram_refuses_it(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        await user_says(control, "hi")

        with pytest.raises(TelegramBadRequest, match="message text is empty"):
            await bot.send_message(ANN["id"], "   ")
        with pytest.raises(TelegramBadRequest, match="message is too long"):
            await bot.send_message(ANN["id"], "x" * 4097)
        with pytest.raises(TelegramBadRequest, match="can't parse entities"):
            await bot.send_message(ANN["id"], "<b>unclosed", parse_mode="HTML")
        with pytest.raises(TelegramBadRequest, match=r"Character '\.' is reserved"):
            await bot.send_message(ANN["id"], "Done.", parse_mode="MarkdownV2")
        with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
            await bot.send_message(
                ANN["id"],
                "Too much data",
                reply_markup=InlineKeyboardMarkup(
                    inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="d" * 65)]]
                ),
            )

    async def test_formatted_text_becomes_plain_text_and_entities(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        await user_says(control, "hi")

        html = await bot.send_message(
            ANN["id"],
            "<b>Key</b> for <a href='https://k.example/x'>you</a> &amp; me",
            parse_mode="HTML",
        )
        markdown = await bot.send_message(ANN["id"], r"*Paid* until 1\.12", parse_mode="MarkdownV2")

        assert html.text == "Key for you & me"
        assert [(e.type, e.offset, e.length) for e in html.entities or []] == [
            ("bold", 0, 3),
            ("text_link", 8, 3),
        ]
        assert markdown.text == "Paid until 1.12"
        assert [(e.type, e.offset, e.length) for e in markdown.entities or []] == [("bold", 0, 4)]

    async def test_json_and_query_string_calls_work_as_on_telegram(
        self, control: httpx.AsyncClient
    ) -> None:
        await user_says(control, "hi")
        keyboard = {"inline_keyboard": [[{"text": "Buy", "callback_data": "menu:buy"}]]}

        as_json = await control.post(
            f"/bot{TOKEN}/sendMessage",
            json={"chat_id": ANN["id"], "text": "JSON", "reply_markup": keyboard},
        )
        as_query = await control.get(
            f"/bot{TOKEN}/sendMessage", params={"chat_id": ANN["id"], "text": "query"}
        )

        assert as_json.json()["result"]["reply_markup"] == keyboard
        assert as_query.json()["result"]["text"] == "query"

    async def test_waiting_for_messages_that_never_come_answers_408(
        self, control: httpx.AsyncClient
    ) -> None:
        await user_says(control, "anyone there?")

        response = await control.get(
            f"{BOT_PATH}/chats/{ANN['id']}/messages",
            params={"sender": "bot", "min_count": 1, "timeout": 0.2},
        )

        assert response.status_code == 408
        assert response.json()["messages"] == []

    async def test_commands_are_set(self, bot: Bot) -> None:
        commands = [BotCommand(command="start", description="Open the menu")]

        assert await bot.set_my_commands(commands) is True
        assert [c.model_dump() for c in await bot.get_my_commands()] == [
            c.model_dump() for c in commands
        ]


class TestPhotosAndPayments:
    async def test_uploaded_photo_is_recorded_with_size_and_digest(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        await user_says(control, "hi")
        image = png(640, 480)

        sent = await bot.send_photo(
            ANN["id"], BufferedInputFile(image, "key.png"), caption="Scan me"
        )
        again = await bot.send_photo(ANN["id"], sent.photo[-1].file_id if sent.photo else "")

        assert sent.photo is not None
        assert again.photo == sent.photo
        assert (sent.photo[-1].width, sent.photo[-1].height) == (640, 480)
        assert [p.width for p in sent.photo] == [90, 320, 640]
        assert sent.caption == "Scan me"
        shown = (await chat(control, ANN["id"], sender="bot"))["messages"][0]
        assert shown["photo"]["size"] == len(image)
        assert shown["photo"]["sha256"] == hashlib.sha256(image).hexdigest()
        assert shown["photo"]["filename"] == "key.png"
        assert shown["caption"] == "Scan me"

    async def test_file_that_is_no_image_is_refused(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        await user_says(control, "hi")

        with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
            await bot.send_photo(ANN["id"], BufferedInputFile(b"not a picture", "x.png"))

    async def test_stars_invoice_is_paid_and_refunded(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        await user_says(control, "/buy")
        price = [LabeledPrice(label="30 days", amount=150)]

        invoice = await bot.send_invoice(
            ANN["id"], "Keyland, 30 days", "VPN access", "plan:month_1", "XTR", price
        )
        query = await post(control, "/pre-checkout-queries", user_id=ANN["id"], message_id=2)
        await bot.answer_pre_checkout_query(query["pre_checkout_query_id"], ok=True)
        paid = await post(
            control,
            "/payments",
            user_id=ANN["id"],
            pre_checkout_query_id=query["pre_checkout_query_id"],
        )
        refunded = await bot.refund_star_payment(ANN["id"], paid["telegram_payment_charge_id"])

        assert invoice.invoice is not None
        assert (invoice.invoice.currency, invoice.invoice.total_amount) == ("XTR", 150)
        assert query["update"]["pre_checkout_query"]["invoice_payload"] == "plan:month_1"
        [payment] = [
            u.message.successful_payment
            for u in await bot.get_updates()
            if u.message is not None and u.message.successful_payment is not None
        ]
        assert payment.telegram_payment_charge_id == paid["telegram_payment_charge_id"]
        assert (payment.total_amount, payment.invoice_payload) == (150, "plan:month_1")
        assert refunded is True
        with pytest.raises(TelegramBadRequest, match="CHARGE_ALREADY_REFUNDED"):
            await bot.refund_star_payment(ANN["id"], paid["telegram_payment_charge_id"])

    async def test_star_transactions_list_payments_and_refunds_newest_first(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        await user_says(control, "/buy")
        await user_says(control, "/buy", BOB)
        charges = [
            (await post(control, "/payments", **terms))["telegram_payment_charge_id"]
            for terms in (
                {
                    "user_id": ANN["id"],
                    "currency": "XTR",
                    "total_amount": 150,
                    "invoice_payload": "a",
                },
                {
                    "user_id": BOB["id"],
                    "currency": "XTR",
                    "total_amount": 400,
                    "invoice_payload": "b",
                },
                {
                    "user_id": ANN["id"],
                    "currency": "RUB",
                    "total_amount": 900,
                    "invoice_payload": "c",
                    "provider_payment_charge_id": "yk-1",
                },
            )
        ]
        await bot.refund_star_payment(ANN["id"], charges[0])

        everything = (await bot.get_star_transactions()).transactions
        first = (await bot.get_star_transactions(limit=2)).transactions
        rest = (await bot.get_star_transactions(offset=2, limit=2)).transactions

        # The refund keeps its payment's id; the payment in roubles is no Star transaction.
        assert [t.id for t in everything] == [charges[0], charges[1], charges[0]]
        assert [t.id for t in first + rest] == [t.id for t in everything]
        refund, bobs, anns = everything
        assert refund.source is None
        assert isinstance(refund.receiver, TransactionPartnerUser)
        assert refund.receiver.user.id == ANN["id"]
        assert isinstance(anns.source, TransactionPartnerUser)
        assert (anns.source.user.id, anns.source.invoice_payload, anns.amount) == (
            ANN["id"],
            "a",
            150,
        )
        assert anns.source.transaction_type == "invoice_payment"
        assert anns.receiver is None
        assert isinstance(bobs.source, TransactionPartnerUser)
        assert (bobs.source.user.id, bobs.amount) == (BOB["id"], 400)
        assert (await bot.get_star_transactions(offset=3)).transactions == []
        # Out of range, as the Bot API server takes them: clamped.
        assert len((await bot.get_star_transactions(offset=-5, limit=0)).transactions) == 1
        assert len((await bot.get_star_transactions(limit=500)).transactions) == 3

    async def test_stars_invoice_needs_exactly_one_price(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        await user_says(control, "/buy")
        prices = [LabeledPrice(label="a", amount=1), LabeledPrice(label="b", amount=2)]

        with pytest.raises(TelegramBadRequest, match="STARS_INVOICE_INVALID"):
            await bot.send_invoice(ANN["id"], "Plan", "VPN", "plan:x", "XTR", prices)

    async def test_payment_needs_an_approved_pre_checkout(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        await user_says(control, "/buy")
        await bot.send_invoice(
            ANN["id"], "Plan", "VPN", "plan:x", "XTR", [LabeledPrice(label="a", amount=5)]
        )
        query = await post(control, "/pre-checkout-queries", user_id=ANN["id"], message_id=2)
        await bot.answer_pre_checkout_query(
            query["pre_checkout_query_id"], ok=False, error_message="Sold out"
        )

        refused = await control.post(
            f"{BOT_PATH}/payments",
            json={"user_id": ANN["id"], "pre_checkout_query_id": query["pre_checkout_query_id"]},
        )
        answer = await control.get(
            f"{BOT_PATH}/pre-checkout-queries/{query['pre_checkout_query_id']}"
        )

        assert refused.status_code == 409
        assert answer.json()["answer"] == {"ok": False, "error_message": "Sold out"}


class TestWebApps:
    async def test_menu_button_opens_the_web_app_with_signed_init_data(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        await user_says(control, "/start")
        app = WebAppInfo(url="http://127.0.0.1:8084/app?v=1")
        await bot.set_chat_menu_button(menu_button=MenuButtonWebApp(text="Cabinet", web_app=app))

        opened = await post(control, "/web-app", user_id=ANN["id"])

        url, _, fragment = opened["url"].partition("#")
        launch = dict(parse_qsl(fragment))
        fields = dict(parse_qsl(launch["tgWebAppData"]))
        assert url == "http://127.0.0.1:8084/app?v=1"
        assert launch["tgWebAppData"] == opened["init_data"]
        assert json.loads(fields["user"])["id"] == ANN["id"]
        assert abs(int(fields["auth_date"]) - time.time()) < 60
        unsigned = {k: v for k, v in fields.items() if k != "hash"}
        assert dict(parse_qsl(sign(TOKEN, unsigned))) == fields  # Telegram's HMAC, recomputed
        assert dict(parse_qsl(sign(OTHER_TOKEN, unsigned)))["hash"] != fields["hash"]
        shown = await bot.get_chat_menu_button(chat_id=ANN["id"])
        assert isinstance(shown, MenuButtonWebApp)
        assert shown.web_app.url == app.url

    async def test_without_a_web_app_button_nothing_opens(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        await user_says(control, "/start")
        await bot.set_chat_menu_button(menu_button=MenuButtonCommands())

        refused = await control.post(f"{BOT_PATH}/web-app", json={"user_id": ANN["id"]})

        assert refused.status_code == 409
        assert isinstance(await bot.get_chat_menu_button(), MenuButtonCommands)

    async def test_invoice_link_is_paid_like_an_invoice(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        await user_says(control, "/start")
        price = [LabeledPrice(label="30 days", amount=150)]

        link = await bot.create_invoice_link("Keyland", "VPN access", "plan:week", "XTR", price)
        query = await post(control, "/pre-checkout-queries", user_id=ANN["id"], invoice_link=link)
        unknown = await control.post(
            f"{BOT_PATH}/pre-checkout-queries",
            json={"user_id": ANN["id"], "invoice_link": "https://t.me/$nothing"},
        )

        assert link.startswith("https://t.me/$")
        assert query["update"]["pre_checkout_query"]["invoice_payload"] == "plan:week"
        assert query["update"]["pre_checkout_query"]["total_amount"] == 150
        assert unknown.status_code == 404
        with pytest.raises(TelegramBadRequest, match="STARS_INVOICE_INVALID"):
            await bot.create_invoice_link("K", "V", "p", "XTR", [*price, *price])


class TestBlockingAndLimits:
    async def test_blocked_user_is_forbidden_until_unblocked(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        await user_says(control, "hi")

        blocked = await post(control, f"/users/{ANN['id']}/block")
        with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
            await bot.send_message(ANN["id"], "Your subscription ends tomorrow")
        await post(control, f"/users/{ANN['id']}/unblock")
        sent = await bot.send_message(ANN["id"], "Welcome back")

        assert blocked["update"]["my_chat_member"]["new_chat_member"]["status"] == "kicked"
        assert sent.text == "Welcome back"
        assert (await chat(control, ANN["id"]))["blocked"] is False

    async def test_burst_to_one_chat_is_told_to_retry_after(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        await user_says(control, "hi", ANN)
        await user_says(control, "hi", BOB)
        limits = await control.put(f"{BOT_PATH}/rate-limits", json={"enabled": True})
        assert limits.json()["per_chat"] == 1

        burst = await asyncio.gather(
            *(bot.send_message(ANN["id"], f"Notice {n}") for n in range(5)), return_exceptions=True
        )

        throttled = [r for r in burst if isinstance(r, TelegramRetryAfter)]
        assert throttled, burst
        assert all(r.retry_after >= 1 for r in throttled)
        assert all("Too Many Requests: retry after" in r.message for r in throttled)
        assert [r for r in burst if not isinstance(r, (Message, TelegramRetryAfter))] == []
        assert (await chat(control, ANN["id"]))["throttled"] == len(throttled)
        counts = (await control.get(f"{BOT_PATH}/rate-limits")).json()["throttled"]
        assert counts == {str(ANN["id"]): len(throttled), str(BOB["id"]): 0}

    async def test_broadcast_beyond_the_overall_limit_is_throttled(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        await user_says(control, "hi", ANN)
        await user_says(control, "hi", BOB)
        await control.put(
            f"{BOT_PATH}/rate-limits", json={"enabled": True, "per_chat": 10, "overall": 3}
        )

        burst = await asyncio.gather(
            *(bot.send_message([ANN, BOB][n % 2]["id"], "Broadcast") for n in range(6)),
            return_exceptions=True,
        )

        throttled = [r for r in burst if isinstance(r, TelegramRetryAfter)]
        assert throttled, burst
        counts = (await control.get(f"{BOT_PATH}/rate-limits")).json()["throttled"]
        assert sum(counts.values()) == len(throttled)


class TestUpdates:
    async def test_long_poll_answers_as_soon_as_an_update_arrives(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        polling = asyncio.create_task(bot.get_updates(timeout=30))

        update = await user_says(control, "/start ref_123")
        [received] = await polling

        assert received.update_id == update["update_id"]
        assert received.message is not None
        assert received.message.text == "/start ref_123"
        assert await bot.get_updates(offset=received.update_id + 1) == []

    async def test_updates_of_kinds_not_asked_for_are_not_created(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        assert await bot.get_updates(allowed_updates=["callback_query"]) == []

        assert await user_says(control, "ignored") is None
        assert await bot.get_updates() == []

    async def test_newer_get_updates_terminates_the_waiting_one(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        polls = {asyncio.create_task(bot.get_updates(timeout=30)) for _ in range(2)}

        # Whichever arrives second ends the first one; only then does anything finish.
        done, waiting = await asyncio.wait(polls, return_when=asyncio.FIRST_COMPLETED)
        await user_says(control, "for the newer poll")
        [received] = await waiting.pop()

        [terminated] = done
        with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
            terminated.result()
        assert received.message is not None
        assert received.message.text == "for the newer poll"

    async def test_dispatcher_handles_deep_link_and_button_press(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        router = Router(name="test")

        @router.message(CommandStart(deep_link=True))
        async def start(message: Message, command: CommandObject) -> None:
            button = InlineKeyboardButton(text="Connect", callback_data="menu:connect")
            await message.answer(
                f"Welcome, invited by {command.args}",
                reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]),
            )

        @router.callback_query(F.data == "menu:connect")
        async def connect(query: CallbackQuery) -> None:
            await query.answer("Keys are on their way")
            assert isinstance(query.message, Message)
            await query.message.edit_text("Your keys: vless://...")

        dispatcher = Dispatcher()
        dispatcher.include_router(router)
        polling = asyncio.create_task(
            dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False)
        )
        try:
            await user_says(control, "/start ref_123")
            greeted = await chat(control, ANN["id"], min_count=2, timeout=30)
            pressed = await post(
                control, "/callbacks", user_id=ANN["id"], message_id=2, data="menu:connect"
            )
            answered = await control.get(
                f"{BOT_PATH}/callbacks/{pressed['callback_query_id']}", params={"timeout": 30}
            )
        finally:
            await dispatcher.stop_polling()
            await polling

        assert greeted["messages"][1]["text"] == "Welcome, invited by ref_123"
        assert answered.status_code == 200
        assert answered.json()["answer"]["text"] == "Keys are on their way"
        [_, reply] = (await chat(control, ANN["id"]))["messages"]
        assert reply["text"] == "Your keys: vless://..."
        assert reply["buttons"] == []  # edit_text without a keyboard drops it, as on Telegram

    async def test_press_of_a_button_the_message_lacks_is_refused(
        self, bot: Bot, control: httpx.AsyncClient
    ) -> None:
        await user_says(control, "hi")
        await bot.send_message(ANN["id"], "No buttons here")

        refused = await control.post(
            f"{BOT_PATH}/callbacks",
            json={"user_id": ANN["id"], "message_id": 2, "data": "menu:buy"},
        )

        assert refused.status_code == 409
        assert "no callback button" in refused.json()["error"]


class Receiver:
    """Our bot's webhook endpoint: aiogram's own handler on an aiohttp server."""

    def __init__(self, bot: Bot, secret: str) -> None:
        router = Router(name="webhook")

        @router.message(F.text == "ping")
        async def ping(message: Message) -> SendMessage:
            return message.answer("pong")  # not awaited: it goes back in the webhook reply

        self.dispatcher = Dispatcher()
        self.dispatcher.include_router(router)
        self.app = web.Application()
        handler = SimpleRequestHandler(
            self.dispatcher, bot, handle_in_background=False, secret_token=secret
        )
        self.app.router.add_route("POST", "/telegram", handler.handle)
        self.runner = web.AppRunner(self.app)
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}/telegram"

    async def start(self) -> None:
        await self.runner.setup()
        await web.SockSite(self.runner, self.socket).start()

    async def stop(self) -> None:
        await self.runner.cleanup()
        self.socket.close()


@pytest.fixture
async def receiver(bot: Bot) -> AsyncIterator[Receiver]:
    hook = Receiver(bot, secret="s3cret-token")
    await hook.start()
    try:
        yield hook
    finally:
        await hook.stop()


class TestWebhook:
    async def test_webhook_gets_updates_and_its_reply_is_executed(
        self, bot: Bot, control: httpx.AsyncClient, receiver: Receiver
    ) -> None:
        assert await bot.set_webhook(receiver.url, secret_token="s3cret-token") is True

        await user_says(control, "ping")
        replies = await chat(control, ANN["id"], min_count=1, sender="bot", timeout=30)
        info = await bot.get_webhook_info()

        assert [m["text"] for m in replies["messages"]] == ["pong"]
        assert (info.url, info.pending_update_count) == (receiver.url, 0)
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()

    async def test_refused_delivery_shows_in_webhook_info_and_polling_resumes(
        self, bot: Bot, control: httpx.AsyncClient, receiver: Receiver
    ) -> None:
        await bot.set_webhook(receiver.url, secret_token="not-the-receivers-secret")

        await user_says(control, "ping")
        delivered = await control.get(f"{BOT_PATH}/webhook", params={"timeout": 30})
        info = await bot.get_webhook_info()
        await bot.delete_webhook()
        await user_says(control, "after the webhook")
        [update] = await bot.get_updates()

        [delivery] = delivered.json()["deliveries"]
        assert delivery["state"] == "failed"
        assert [a["status"] for a in delivery["attempts"]] == [401, 401]
        assert info.last_error_message == "Wrong response from the webhook: 401 Unauthorized"
        assert update.message is not None
        assert update.message.text == "after the webhook"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], check=False, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


class TestCommandLine:
    @pytest.mark.parametrize(
        ("args", "named"),
        [
            (["--port", "0"], "--token"),
            (["--port", "0", "--token", "not-a-token"], "--token"),
            (["--port", "70000", "--token", TOKEN], "--port"),
            (["--port", "0", "--token", TOKEN, "--bot-username", "keyland"], "--bot-username"),
            (["--port", "0", "--token", TOKEN, "--token", TOKEN], "same bot id"),
            (["--port", "0", "--token", TOKEN, "--per-chat-limit", "0"], "per_chat"),
        ],
    )
    def test_bad_arguments_stop_start_up_naming_the_argument(
        self, args: list[str], named: str
    ) -> None:
        result = run_cli(*args)

        assert result.returncode == 2
        assert named in result.stderr

    def test_started_from_the_command_line_it_serves_the_bot_api(self, tmp_path: Path) -> None:
        log_path = tmp_path / "emulator.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [*CLI, "--port", "0", "--token", TOKEN, "--bot-username", "cli_test_bot"],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            url = wait_until_serving(process, log_path)
            me = httpx.post(f"{url}/bot{TOKEN}/getMe", timeout=10).json()
            assert me["ok"] is True
            assert me["result"]["username"] == "cli_test_bot"
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
        found = re.search(r"API at (http://\S+)", log_path.read_text())
        if found:
            try:
                httpx.get(f"{found[1]}/emulator/bots", timeout=5).raise_for_status()
            except httpx.HTTPError:
                pass
            else:
                return found[1]
        time.sleep(0.05)
    raise AssertionError(f"the emulator did not start:\n{log_path.read_text()}")
