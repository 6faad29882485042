"""``reply_markup``: inline keyboards (echoed in the sent Message) and reply keyboards.

Checked as Telegram checks them: every inline button needs exactly the text and an action,
``callback_data`` is 1-64 bytes, URLs are http(s) or tg.
"""

from __future__ import annotations

from typing import Any

from emulators.telegram.errors import bad_request

INLINE_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)  # fmt: skip
BUTTON_EXTRAS = ("style", "icon_custom_emoji_id")
MAX_BUTTONS = 100
MAX_CALLBACK_DATA = 64


def reply_markup(raw: object) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(inline keyboard, other markup): the first is part of the Message, the second is not."""
    if raw is None:
        return None, None
    if not isinstance(raw, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in raw:
        return inline_keyboard(raw["inline_keyboard"]), None
    if "keyboard" in raw:
        rows = _rows(raw["keyboard"], "keyboard")
        buttons = [[_reply_button(button) for button in row] for row in rows]
        return None, raw | {"keyboard": buttons}
    if raw.get("remove_keyboard") is True or raw.get("force_reply") is True:
        return None, dict(raw)
    raise bad_request("can't parse reply keyboard markup JSON object")


def inline_only(raw: object) -> dict[str, Any] | None:
    inline, other = reply_markup(raw)
    if other is not None:
        raise bad_request("inline keyboard expected")
    return inline


def inline_keyboard(raw: object) -> dict[str, Any]:
    rows = [[_inline_button(button) for button in row] for row in _rows(raw, "inline_keyboard")]
    if sum(len(row) for row in rows) > MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    return {"inline_keyboard": rows}


def buttons(markup: dict[str, Any] | None) -> list[list[dict[str, Any]]]:
    if markup is None:
        return []
    rows: list[list[dict[str, Any]]] = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return rows


def find_callback(
    markup: dict[str, Any] | None, data: str | None, text: str | None
) -> dict[str, Any] | None:
    """The callback button with this data (or this text), if the keyboard has one."""
    for row in buttons(markup):
        for button in row:
            if "callback_data" in button and (
                (data is not None and button["callback_data"] == data)
                or (data is None and button["text"] == text)
            ):
                return button
    return None


def _rows(raw: object, name: str) -> list[list[Any]]:
    if not isinstance(raw, list) or not all(isinstance(row, list) for row in raw):
        raise bad_request(f'field "{name}" must be of type Array of Array')
    return raw


def _inline_button(raw: object) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    if not isinstance(raw.get("text"), str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    actions = [name for name in INLINE_ACTIONS if raw.get(name) not in (None, False)]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = raw.get("callback_data")
    if data is not None and (
        not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA
    ):
        raise bad_request("BUTTON_DATA_INVALID")
    url = raw.get("url")
    if url is not None and (
        not isinstance(url, str) or not url.startswith(("http://", "https://", "tg://"))
    ):
        raise bad_request("BUTTON_URL_INVALID")
    kept = ("text", *BUTTON_EXTRAS, actions[0])
    return {name: raw[name] for name in kept if name in raw}


def _reply_button(raw: object) -> dict[str, Any]:
    if isinstance(raw, str):
        return {"text": raw}
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
        raise bad_request(
            "can't parse keyboard button: KeyboardButton must be a String or an Object"
        )
    return dict(raw)
