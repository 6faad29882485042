"""What the emulated Telegram knows: bots, the people who talk to them, their private chats.

Pure: no I/O and no clock. A chat exists once its user has written to the bot (or pressed,
paid, ...); a bot can only reach such chats, as on Telegram.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from emulators.telegram.errors import bad_request, forbidden, too_many_requests
from emulators.telegram.limits import Throttle
from emulators.telegram.updates import UpdateQueue

STARS = "XTR"
TOKEN = re.compile(r"^(\d{1,19}):[A-Za-z0-9_-]{1,128}$")
BOT_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{1,28}bot$", re.IGNORECASE)


@dataclass(frozen=True)
class BotAccount:
    """One bot: its token (``<bot id>:<secret>``), username and display name."""

    token: str
    username: str
    first_name: str = "Keyland"

    def __post_init__(self) -> None:
        if not TOKEN.match(self.token):
            raise ValueError(f"token {self.token!r} must look like 123456:ABC-def_1")
        if not BOT_USERNAME.match(self.username):
            raise ValueError(
                f"bot username {self.username!r} must be 5-32 letters, digits or _ ending in 'bot'"
            )

    @property
    def id(self) -> int:
        return int(self.token.partition(":")[0])


@dataclass
class Person:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


@dataclass(frozen=True)
class Photo:
    """An uploaded picture: what was received, and the sizes Telegram made of it."""

    file_id: str
    file_unique_id: str
    width: int
    height: int
    size: int
    sha256: str
    sizes: tuple[dict[str, Any], ...]
    filename: str | None = None


@dataclass(frozen=True)
class Content:
    """What a message shows; an edit replaces it with a new one."""

    date: int
    text: str | None = None
    entities: tuple[dict[str, Any], ...] = ()
    caption: str | None = None
    caption_entities: tuple[dict[str, Any], ...] = ()
    reply_markup: dict[str, Any] | None = None

    def same_as(self, other: Content) -> bool:
        """The same text, caption, entities and keyboard, whenever each was made."""
        return replace(self, date=other.date) == other


@dataclass
class Message:
    message_id: int
    sender: str  # "bot" or "user"
    date: int
    content: Content
    keyboard: dict[str, Any] | None = None  # a reply keyboard, its removal, or force_reply
    reply_to: int | None = None
    photo: Photo | None = None
    invoice: dict[str, Any] | None = None  # Invoice, plus "payload" and "prices"
    service: dict[str, Any] | None = None  # {"successful_payment": {...}} and the like
    edit_date: int | None = None
    earlier: list[Content] = field(default_factory=list)
    deleted: bool = False

    def edit(self, content: Content) -> None:
        self.earlier.append(self.content)
        self.content, self.edit_date = content, content.date


@dataclass
class Chat:
    person: Person
    messages: list[Message] = field(default_factory=list)
    blocked: bool = False
    throttled: int = 0

    def add(self, sender: str, date: int, content: Content, **details: Any) -> Message:
        message = Message(len(self.messages) + 1, sender, date, content, **details)
        self.messages.append(message)
        return message

    def message(self, message_id: int | None) -> Message | None:
        if message_id is None or not 1 <= message_id <= len(self.messages):
            return None
        found = self.messages[message_id - 1]
        return None if found.deleted else found


@dataclass
class CallbackQuery:
    id: str
    user_id: int
    message_id: int
    data: str
    answer: dict[str, Any] | None = None


@dataclass
class PreCheckout:
    id: str
    user_id: int
    currency: str
    total_amount: int
    invoice_payload: str
    created: float
    answer: dict[str, Any] | None = None


@dataclass
class Charge:
    id: str
    user_id: int
    currency: str
    total_amount: int
    invoice_payload: str
    date: int
    refunded: bool = False


@dataclass(frozen=True)
class StarTransfer:
    """Stars moving between a user and the bot: a payment in, or its refund out (with the
    payment's id, as on Telegram)."""

    id: str
    user_id: int
    amount: int
    date: int
    invoice_payload: str
    incoming: bool


@dataclass
class Webhook:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class BotState:
    """Everything one bot has seen and sent."""

    account: BotAccount
    chats: dict[int, Chat] = field(default_factory=dict)
    updates: UpdateQueue = field(default_factory=UpdateQueue)
    throttle: Throttle = field(default_factory=Throttle)
    webhook: Webhook | None = None
    commands: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    callbacks: dict[str, CallbackQuery] = field(default_factory=dict)
    pre_checkouts: dict[str, PreCheckout] = field(default_factory=dict)
    charges: dict[str, Charge] = field(default_factory=dict)
    star_transfers: list[StarTransfer] = field(default_factory=list)  # oldest first
    photos: dict[str, Photo] = field(default_factory=dict)
    menu_buttons: dict[int | None, dict[str, Any]] = field(default_factory=dict)
    """setChatMenuButton's buttons by chat id; ``None``: the bot's default."""
    invoice_links: dict[str, dict[str, Any]] = field(default_factory=dict)
    """createInvoiceLink's invoices by the link's slug."""

    def chat(self, chat_id: int | None) -> Chat:
        """The chat the bot addresses; Telegram's answer when it has never talked there."""
        if chat_id is None:
            raise bad_request("chat_id is empty")
        if chat_id not in self.chats:
            raise bad_request("chat not found")
        return self.chats[chat_id]

    def moved_stars(self, charge: Charge, date: int, *, incoming: bool) -> None:
        """A payment (``incoming``) or its refund, kept for getStarTransactions when it
        was in Stars."""
        if charge.currency == STARS:
            self.star_transfers.append(
                StarTransfer(
                    charge.id,
                    charge.user_id,
                    charge.total_amount,
                    date,
                    charge.invoice_payload,
                    incoming,
                )
            )

    def admit(self, chat: Chat, now: float) -> None:
        """A send to ``chat`` is about to happen: blocked users and flood limits refuse it."""
        if chat.blocked:
            raise forbidden("bot was blocked by the user")
        retry_after = self.throttle.admit(chat.person.id, now)
        if retry_after is not None:
            chat.throttled += 1
            raise too_many_requests(retry_after)
