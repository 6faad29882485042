"""What a payments ingest use case answers: what it did, or why it refused.

The use cases speak of outcomes only; the HTTP entry point turns them into statuses
(:mod:`..entrypoints.http`), so a refusal means the same whatever carries it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Problem(StrEnum):
    """Why a use case refused; nothing was published."""

    MALFORMED = "malformed"
    """The notification is not well formed (the sender should not send it again)."""
    INVALID = "invalid"
    """A caller's request names what cannot be: an unknown plan, a malformed id."""
    UNCONFIRMED = "unconfirmed"
    """The provider's API does not confirm it, or it can never be credited."""
    CONFLICT = "conflict"
    """The object is not in the state asked for (yet: it may still change)."""
    UNAVAILABLE = "unavailable"
    """The provider's API, the order store or Kafka is away: ask again later."""


@dataclass(frozen=True)
class Refused:
    problem: Problem
    message: str


@dataclass(frozen=True)
class Accepted:
    """A notification handled: its event acknowledged by Kafka, or nothing needed."""

    what: Literal["published", "ignored"]


@dataclass(frozen=True)
class PaymentCreated:
    payment_id: str
    status: str
    confirmation_url: str
    gift_code: str | None = None
    """For a gift, the code of its link (``start=gift_<code>``): it works once paid."""


@dataclass(frozen=True)
class RefundCreated:
    refund_id: str
    status: str
