"""The base of every event payload."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field


class Event(BaseModel):
    """A payload: a fact (past tense) or a command (imperative) carried in an Envelope.

    Subclasses set ``event_type``, ``event_version`` and ``topic`` (the registry's base
    name). The partition key is the user's Telegram id so one user's events stay in
    order; events without a user override :meth:`partition_key`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1
    topic: ClassVar[str]

    def partition_key(self) -> str:
        telegram_id = getattr(self, "telegram_id", None)
        if telegram_id is None:
            raise NotImplementedError(f"{type(self).__name__} must define partition_key()")
        return str(telegram_id)


TelegramId = int
PromoCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{3,32}$")]
"""A promo code's name: upper-case letters and digits (what a deep link can carry)."""
MAX_TELEGRAM_ID = 2**53  # Telegram ids have at most 52 significant bits
