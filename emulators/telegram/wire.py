"""Bot API objects (User, Chat, Message, ...) as JSON, and the control routes' views.

Only fields Telegram would send are present, so aiogram's types parse them unchanged.
"""

from __future__ import annotations

import hashlib
from typing import Any

from emulators.telegram import markup
from emulators.telegram.state import BotAccount, BotState, Chat, Content, Message, Person

Json = dict[str, Any]


def bot_user(account: BotAccount) -> Json:
    return {
        "id": account.id,
        "is_bot": True,
        "first_name": account.first_name,
        "username": account.username,
    }


def me(account: BotAccount) -> Json:
    return bot_user(account) | {
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def person(who: Person) -> Json:
    body: Json = {"id": who.id, "is_bot": False, "first_name": who.first_name}
    for name in ("last_name", "username", "language_code"):
        if getattr(who, name) is not None:
            body[name] = getattr(who, name)
    return body


def private_chat(who: Person) -> Json:
    body: Json = {"id": who.id, "type": "private", "first_name": who.first_name}
    for name in ("last_name", "username"):
        if getattr(who, name) is not None:
            body[name] = getattr(who, name)
    return body


def chat_instance(bot_id: int, chat_id: int) -> str:
    """Stable for one chat, different across chats, as Telegram's is."""
    digest = hashlib.sha256(f"{bot_id}/{chat_id}".encode()).digest()
    return str(int.from_bytes(digest[:8], "big", signed=True))


def message(bot: BotState, chat: Chat, found: Message, *, nested: bool = False) -> Json:
    sender = bot_user(bot.account) if found.sender == "bot" else person(chat.person)
    body: Json = {
        "message_id": found.message_id,
        "from": sender,
        "chat": private_chat(chat.person),
        "date": found.date,
    }
    if found.edit_date is not None:
        body["edit_date"] = found.edit_date
    replied = chat.message(found.reply_to)
    if replied is not None and not nested:
        body["reply_to_message"] = message(bot, chat, replied, nested=True)
    body |= _content(found.content)
    if found.photo is not None:
        body["photo"] = list(found.photo.sizes)
    if found.invoice is not None:
        body["invoice"] = {k: v for k, v in found.invoice.items() if k not in {"payload", "prices"}}
    if found.service is not None:
        body |= found.service
    return body


def _content(content: Content) -> Json:
    body: Json = {}
    if content.text is not None:
        body["text"] = content.text
        if content.entities:
            body["entities"] = list(content.entities)
    if content.caption is not None:
        body["caption"] = content.caption
        if content.caption_entities:
            body["caption_entities"] = list(content.caption_entities)
    if content.reply_markup is not None:
        body["reply_markup"] = content.reply_markup
    return body


def version(content: Content) -> Json:
    """One version of a message's content, for the control view."""
    return {
        "date": content.date,
        "text": content.text,
        "entities": list(content.entities),
        "caption": content.caption,
        "buttons": markup.buttons(content.reply_markup),
    }


def view(found: Message) -> Json:
    """A message as tests see it: what it shows now, how it looked before, what it carries."""
    photo = found.photo
    return version(found.content) | {
        "message_id": found.message_id,
        "sender": found.sender,
        "date": found.date,
        "reply_keyboard": found.keyboard,
        "reply_to_message_id": found.reply_to,
        "photo": None
        if photo is None
        else {
            "file_id": photo.file_id,
            "size": photo.size,
            "sha256": photo.sha256,
            "width": photo.width,
            "height": photo.height,
            "filename": photo.filename,
        },
        "invoice": found.invoice,
        "service": found.service,
        "edit_date": found.edit_date,
        "edits": [version(content) for content in found.earlier],
        "deleted": found.deleted,
    }
