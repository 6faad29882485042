"""Notices and broadcasts as Telegram text and buttons in the user's language."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from events.buttons import MENU_ACTIONS, MenuAction, RegionChoice
from services.notifier.adapters.telegram import LabelledButton
from services.notifier.domain.notices import Button, Kind, Notice, days_left
from services.notifier.locales import text

_MENU_LABELS = {"myKeys": "button_my_keys", "connect": "button_connect", "buy": "button_buy"}


def button(kind: str, value: str, language: str | None) -> LabelledButton:
    if kind == "region":
        return (value.capitalize(), RegionChoice(country=value).pack())
    label = _MENU_LABELS.get(value, f"button_{value}")
    try:
        caption = text(label, language)
    except KeyError:
        caption = value
    return (caption, MenuAction(action=value).pack())


def buttons(named: Sequence[Button], language: str | None) -> list[LabelledButton]:
    return [button(kind, value, language) for kind, value in named]


def notice_text(notice: Notice, language: str | None, now: datetime) -> str:
    values = dict(notice.values)
    if notice.kind is Kind.REMINDER and notice.period_until is not None:
        left = days_left(notice.period_until, now)
        values["days_left"] = (
            text("days_left_1", language) if left == 1 else text("days_left_n", language, n=left)
        )
    return text(f"notice_{notice.kind}", language, **values)


def broadcast_buttons(names: Sequence[str], language: str | None) -> list[LabelledButton]:
    """Admins name buttons after menu actions (``profile myKeys support``)."""
    return [button("menu", name, language) for name in names if name in MENU_ACTIONS]
