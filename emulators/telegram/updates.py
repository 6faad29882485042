"""The queue of updates a bot has not confirmed yet, with getUpdates' offset semantics.

Pure: times are passed in. Updates of types the bot did not ask for (``allowed_updates``)
are never created, as Telegram does; the setting applies from the call that changes it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from emulators.telegram.errors import bad_request

UPDATE_TYPES = frozenset({
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages",
    "message_reaction", "message_reaction_count", "inline_query", "chosen_inline_result",
    "callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media", "poll",
    "poll_answer", "my_chat_member", "chat_member", "chat_join_request", "chat_boost",
    "removed_chat_boost",
})  # fmt: skip
DEFAULT_ALLOWED = UPDATE_TYPES - {"chat_member", "message_reaction", "message_reaction_count"}
LIFETIME_S = 24 * 3600
"""Telegram keeps unconfirmed updates for 24 hours."""


def first_update_id() -> int:
    """Telegram starts a bot's update ids at an arbitrary positive number."""
    return 100_000_000 + secrets.randbelow(800_000_000)


def allowed_types(raw: object) -> frozenset[str]:
    """``allowed_updates`` as a set; an empty list means Telegram's default."""
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        raise bad_request("can't parse allowed updates: must be an Array of String")
    return frozenset(raw) & UPDATE_TYPES if raw else DEFAULT_ALLOWED


@dataclass
class Pending:
    created: float
    update: dict[str, Any]

    @property
    def update_id(self) -> int:
        update_id: int = self.update["update_id"]
        return update_id


@dataclass
class UpdateQueue:
    next_id: int = field(default_factory=first_update_id)
    allowed: frozenset[str] = DEFAULT_ALLOWED
    pending: list[Pending] = field(default_factory=list)

    def add(self, kind: str, payload: dict[str, Any], now: float) -> dict[str, Any] | None:
        """A new update, or None when the bot does not receive this kind."""
        if kind not in self.allowed:
            return None
        update = {"update_id": self.next_id, kind: payload}
        self.next_id += 1
        self.pending.append(Pending(now, update))
        return update

    def confirm(self, offset: int) -> None:
        """Forget updates below ``offset``; a negative one keeps only the last ``-offset``."""
        if offset > 0:
            self.pending = [p for p in self.pending if p.update_id >= offset]
        elif offset < 0:
            self.pending = self.pending[offset:]

    def ready(self, now: float, limit: int = 100) -> list[dict[str, Any]]:
        """The oldest unconfirmed updates, after dropping those older than a day."""
        self.pending = [p for p in self.pending if now - p.created < LIFETIME_S]
        return [p.update for p in self.pending[:limit]]

    def remove(self, update_id: int) -> None:
        self.pending = [p for p in self.pending if p.update_id != update_id]

    def clear(self) -> None:
        self.pending.clear()
