"""Bot API methods that send, edit and delete messages in private chats.

Each takes the bot's state, the call's parameters and the time, and returns the result
Telegram would; refusals raise :class:`ApiError` with Telegram's description.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from emulators.telegram import markup, media, wire
from emulators.telegram.errors import bad_request, forbidden
from emulators.telegram.formatting import formatted
from emulators.telegram.params import Params, Upload
from emulators.telegram.state import BotState, Chat, Content, Message

Method = Callable[[BotState, Params, float], Any]
MAX_TEXT, MAX_CAPTION = 4096, 1024
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})  # fmt: skip


def get_me(bot: BotState, params: Params, now: float) -> Any:
    return wire.me(bot.account)


def target(bot: BotState, params: Params) -> Chat:
    chat_id = params.text("chat_id")
    if chat_id is not None and not chat_id.lstrip("-").isdigit():
        raise bad_request("chat not found")  # an @username: no channels or groups here
    return bot.chat(None if chat_id is None else int(chat_id))


def reply_to(chat: Chat, params: Params) -> int | None:
    reply = params.structure("reply_parameters", "reply parameters")
    wanted = reply.get("message_id") if isinstance(reply, dict) else None
    wanted = wanted or params.integer("reply_to_message_id")
    if wanted is not None and chat.message(wanted) is None:
        raise bad_request("message to be replied not found")
    return wanted


def sent(bot: BotState, chat: Chat, now: float, content: Content, **details: Any) -> Any:
    """Admit (blocked, flood limits) and record a message from the bot; its JSON."""
    bot.admit(chat, now)
    return wire.message(bot, chat, chat.add("bot", int(now), content, **details))


def send_message(bot: BotState, params: Params, now: float) -> Any:
    chat = target(bot, params)
    text, entities = formatted(
        params.text("text") or "", params.text("parse_mode"), params.structure("entities"), MAX_TEXT
    )
    inline, keyboard = markup.reply_markup(
        params.structure("reply_markup", "reply keyboard markup")
    )
    content = Content(int(now), text=text, entities=entities, reply_markup=inline)
    return sent(bot, chat, now, content, keyboard=keyboard, reply_to=reply_to(chat, params))


def send_photo(bot: BotState, params: Params, now: float) -> Any:
    chat = target(bot, params)
    given = params.upload("photo")
    if given is None:
        raise bad_request("there is no photo in the request")
    if isinstance(given, Upload):
        photo = media.photo_from_upload(bot.account.id, given)
        bot.photos.update({size["file_id"]: photo for size in photo.sizes})
    elif given in bot.photos:
        photo = bot.photos[given]
    elif given.startswith(("http://", "https://")):
        raise bad_request("failed to get HTTP URL content")  # the emulator fetches nothing
    else:
        raise bad_request("wrong file identifier/HTTP URL specified")
    caption: str | None = None
    entities: tuple[dict[str, Any], ...] = ()
    if params.text("caption"):
        caption, entities = formatted(
            params.text("caption") or "",
            params.text("parse_mode"),
            params.structure("caption_entities"),
            MAX_CAPTION,
            "caption",
        )
    inline, keyboard = markup.reply_markup(
        params.structure("reply_markup", "reply keyboard markup")
    )
    content = Content(int(now), caption=caption, caption_entities=entities, reply_markup=inline)
    return sent(
        bot, chat, now, content, photo=photo, keyboard=keyboard, reply_to=reply_to(chat, params)
    )


def editable(bot: BotState, params: Params) -> tuple[Chat, Message]:
    if params.text("inline_message_id") is not None:
        raise bad_request("MESSAGE_ID_INVALID")  # no inline mode here
    chat = target(bot, params)
    message_id = params.integer("message_id")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    found = chat.message(message_id)
    if found is None:
        raise bad_request("message to edit not found")
    if found.sender != "bot":
        raise bad_request("message can't be edited")
    return chat, found


def edited(bot: BotState, chat: Chat, found: Message, content: Content) -> Any:
    if content.same_as(found.content):
        raise bad_request(NOT_MODIFIED)
    found.edit(content)
    return wire.message(bot, chat, found)


def edit_message_text(bot: BotState, params: Params, now: float) -> Any:
    chat, found = editable(bot, params)
    if found.content.text is None:
        raise bad_request("there is no text in the message to edit")
    text, entities = formatted(
        params.text("text") or "", params.text("parse_mode"), params.structure("entities"), MAX_TEXT
    )
    inline = markup.inline_only(params.structure("reply_markup", "reply keyboard markup"))
    content = Content(int(now), text=text, entities=entities, reply_markup=inline)
    return edited(bot, chat, found, content)


def edit_message_reply_markup(bot: BotState, params: Params, now: float) -> Any:
    chat, found = editable(bot, params)
    inline = markup.inline_only(params.structure("reply_markup", "reply keyboard markup"))
    return edited(bot, chat, found, replace(found.content, date=int(now), reply_markup=inline))


def delete_message(bot: BotState, params: Params, now: float) -> Any:
    found = target(bot, params).message(params.integer("message_id"))
    if found is None:
        raise bad_request("message to delete not found")
    found.deleted = True
    return True


def answer_callback_query(bot: BotState, params: Params, now: float) -> Any:
    query = bot.callbacks.get(params.text("callback_query_id") or "")
    if query is None or query.answer is not None:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = params.text("text")
    if text is not None and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    query.answer = {
        "text": text,
        "show_alert": params.flag("show_alert"),
        "url": params.text("url"),
        "cache_time": params.integer("cache_time") or 0,
    }
    return True


def send_chat_action(bot: BotState, params: Params, now: float) -> Any:
    chat = target(bot, params)
    if params.text("action") not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    if chat.blocked:
        raise forbidden("bot was blocked by the user")
    return True


def commands_key(params: Params) -> str:
    scope = params.structure("scope", "bot command scope") or {"type": "default"}
    scope_type = scope.get("type") if isinstance(scope, dict) else None
    return f"{scope_type}:{params.text('language_code') or ''}"


def set_my_commands(bot: BotState, params: Params, now: float) -> Any:
    raw = params.structure("commands", "bot commands")
    if not isinstance(raw, list) or len(raw) > 100:
        raise bad_request("can't parse bot commands JSON object")
    commands = []
    for item in raw:
        command = item.get("command") if isinstance(item, dict) else None
        description = item.get("description") if isinstance(item, dict) else None
        if not isinstance(command, str) or not COMMAND.match(command.lower()):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description) <= 256:
            raise bad_request("command description must be non-empty")
        commands.append({"command": command.lower(), "description": description})
    bot.commands[commands_key(params)] = commands
    return True


def get_my_commands(bot: BotState, params: Params, now: float) -> Any:
    return bot.commands.get(commands_key(params), [])


def delete_my_commands(bot: BotState, params: Params, now: float) -> Any:
    bot.commands.pop(commands_key(params), None)
    return True


METHODS: dict[str, Method] = {
    "getme": get_me,
    "sendmessage": send_message,
    "sendphoto": send_photo,
    "editmessagetext": edit_message_text,
    "editmessagereplymarkup": edit_message_reply_markup,
    "deletemessage": delete_message,
    "answercallbackquery": answer_callback_query,
    "sendchataction": send_chat_action,
    "setmycommands": set_my_commands,
    "getmycommands": get_my_commands,
    "deletemycommands": delete_my_commands,
}
