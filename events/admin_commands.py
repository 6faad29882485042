"""``admin.commands``: what admins asked for, from the bot's admin menu or the CLI."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import ClassVar

from pydantic import AwareDatetime, Field, model_validator

from events.base import Event, PromoCode, TelegramId

TOPIC = "admin.commands"
# How much one adjustment may carry either way (the bot's admin panel checks the same).
MAX_ADJUSTMENT_MONTHS = 120
MAX_ADJUSTMENT_DAYS = 3660
MAX_PROMO_USES = 100_000


class SubscriptionAdjusted(Event):
    """An admin adds (or with negatives, removes) months and days of a user's access."""

    event_type: ClassVar[str] = "SubscriptionAdjusted"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    months: int = Field(default=0, ge=-MAX_ADJUSTMENT_MONTHS, le=MAX_ADJUSTMENT_MONTHS)
    days: int = Field(default=0, ge=-MAX_ADJUSTMENT_DAYS, le=MAX_ADJUSTMENT_DAYS)
    admin_id: TelegramId = Field(gt=0)
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _changes_something(self) -> SubscriptionAdjusted:
        if self.months == 0 and self.days == 0:
            raise ValueError("an adjustment needs months or days")
        return self


class BroadcastRequested(Event):
    """An admin sends a message with named buttons to every user."""

    event_type: ClassVar[str] = "BroadcastRequested"
    topic: ClassVar[str] = TOPIC

    broadcast_id: uuid.UUID
    admin_id: TelegramId = Field(gt=0)
    text: str = Field(min_length=1, max_length=4096)
    buttons: tuple[str, ...] = ()

    def partition_key(self) -> str:
        return str(self.broadcast_id)


class TestNotificationRequested(Event):
    """An admin asks for a test message to a user after ``delay_seconds``."""

    __test__ = False  # not a pytest test class, whatever its name says

    event_type: ClassVar[str] = "TestNotificationRequested"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    admin_id: TelegramId = Field(gt=0)
    delay_seconds: int = Field(ge=0, le=7 * 24 * 3600)
    text: str = Field(min_length=1, max_length=4096)


class UserPurgeRequested(Event):
    """Purge a user's keys and personal data: an admin's order, or the cleanup job's
    (``admin_id`` None) for users long inactive."""

    event_type: ClassVar[str] = "UserPurgeRequested"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    admin_id: TelegramId | None = Field(default=None, gt=0)
    reason: str = Field(default="admin", min_length=1, max_length=200)


class HeldPaymentGranted(Event):
    """An admin credits a held payment as ``plan`` (``months``/``days``) to the user.

    Its event id is derived from the payment id, so granting one payment twice (two
    taps, two admins) is one event; the processor credits a payment id once anyway.
    """

    event_type: ClassVar[str] = "HeldPaymentGranted"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    payment_id: str = Field(min_length=1, max_length=128)
    provider: str = Field(default="yookassa", min_length=1)
    plan: str = Field(min_length=1, max_length=64)
    months: int = Field(ge=0, le=120)
    days: int = Field(default=0, ge=0, le=3660)
    amount: Decimal = Field(ge=0, decimal_places=2)
    currency: str = Field(min_length=3, max_length=3)
    admin_id: TelegramId = Field(gt=0)


class PromoCodeCreated(Event):
    """An admin creates a promo code: ``days`` of access for each of up to ``max_uses``
    users (each user once), redeemable until ``expires_at``.

    Keyed by the code, like every redemption of it (``PromoCodeEntered``), so the code's
    creation and its redemptions land on the same partition number and one worker decides
    them. The first creation of a name wins; a later one under the same name is ignored.
    """

    event_type: ClassVar[str] = "PromoCodeCreated"
    topic: ClassVar[str] = TOPIC

    code: PromoCode
    days: int = Field(ge=1, le=MAX_ADJUSTMENT_DAYS)
    max_uses: int = Field(ge=1, le=MAX_PROMO_USES)
    expires_at: AwareDatetime
    admin_id: TelegramId = Field(gt=0)

    def partition_key(self) -> str:
        return self.code


class UserProvisioned(Event):
    """An admin creates an account for a Telegram id, granting ``months`` and ``days``.

    Only the user's own /start registers anyone, so the account waits for it: the grant
    applies from their first /start, like credit held for them. For a user registered
    already it applies at once, like an adjustment. A grant past the maximum horizon is
    refused (``AdjustmentRejected``, told to the admin).
    """

    event_type: ClassVar[str] = "UserProvisioned"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    months: int = Field(default=0, ge=0, le=MAX_ADJUSTMENT_MONTHS)
    days: int = Field(default=0, ge=0, le=MAX_ADJUSTMENT_DAYS)
    admin_id: TelegramId = Field(gt=0)
    note: str | None = Field(default=None, max_length=500)


class UserBlockRequested(Event):
    """An admin blocks a user's access (``blocked``), or lifts the block.

    A blocked user's keys are disabled on every node whatever time they have; their time
    keeps running, payments still extend it, and lifting the block enables the keys again
    if time is left. The block outlasts a purge: it belongs to the Telegram id.
    """

    event_type: ClassVar[str] = "UserBlockRequested"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    blocked: bool
    admin_id: TelegramId = Field(gt=0)
    reason: str | None = Field(default=None, max_length=500)
