"""``subscriptions``: facts about users' access, written only by services/subscription.

Each fact's id is derived from the event that caused it, so a re-emission after a crash
or a replay is recognisable downstream.

A fact that says where access ends (``until``) also carries the ``revision`` of the user's
subscription state it was decided from: the number of the user's ledger entries that can
move access which the subscription processor had applied. It only grows, so a consumer
keeps the ``until`` of the highest revision it has seen, whatever order facts arrive in
(a processor that read one input topic ahead of another decides some facts from a
partial ledger, and its final decision later). ``None``: a fact written before
revisions existed. A rebuild of the subscription service publishes no facts here.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field, model_validator

from events.base import Event, PromoCode, TelegramId

TOPIC = "subscriptions"


class ExtensionReason(StrEnum):
    PAYMENT = "payment"
    TRIAL = "trial"
    REFERRAL = "referral"
    ADMIN = "admin"
    PROMO = "promo"
    GIFT = "gift"


class PromoRefusal(StrEnum):
    """Why a promo code gave nothing."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED_UP = "used_up"
    ALREADY_USED = "already_used"
    OWN_GIFT = "own_gift"


class UserRegistered(Event):
    """A new user, with the key id they keep for life."""

    event_type: ClassVar[str] = "UserRegistered"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    key_id: uuid.UUID
    username: str | None = None
    language_code: str | None = None
    referrer_id: TelegramId | None = None


class CreditHeld(Event):
    """A paid payment for a Telegram id that has never started the bot: kept as credit
    for that id, applied when the user's own /start registers them."""

    event_type: ClassVar[str] = "CreditHeld"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    payment_id: str = Field(min_length=1)
    plan: str = Field(min_length=1, max_length=64)
    months: int = Field(ge=0, le=120)
    days: int = Field(default=0, ge=0, le=3660)
    amount: Decimal = Field(ge=0, decimal_places=2)
    currency: str = Field(min_length=3, max_length=3)


class TrialActivated(Event):
    """The user's one free trial started."""

    event_type: ClassVar[str] = "TrialActivated"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    key_id: uuid.UUID
    until: AwareDatetime
    revision: int | None = Field(default=None, ge=1)


class SubscriptionExtended(Event):
    """Access now lasts until ``until`` (a payment, trial, referral bonus or admin)."""

    event_type: ClassVar[str] = "SubscriptionExtended"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    key_id: uuid.UUID
    previous_until: AwareDatetime | None
    until: AwareDatetime
    revision: int | None = Field(default=None, ge=1)
    reason: ExtensionReason
    payment_id: str | None = None
    first_purchase: bool = False


class SubscriptionShortened(Event):
    """Access was cut back (a refund, or an admin removing time)."""

    event_type: ClassVar[str] = "SubscriptionShortened"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    key_id: uuid.UUID
    previous_until: AwareDatetime
    until: AwareDatetime
    revision: int | None = Field(default=None, ge=1)
    reason: str = Field(min_length=1)
    payment_id: str | None = None


class AdjustmentRejected(Event):
    """An admin's adjustment was refused; ``reason`` says why, for the admin."""

    event_type: ClassVar[str] = "AdjustmentRejected"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    admin_id: TelegramId = Field(gt=0)
    reason: str = Field(min_length=1)


class ReferralBonusEarned(Event):
    """An invitee's payment earned their referrer (``telegram_id``) bonus days.

    Keyed by the referrer, so the referrer's own partition applies it (one writer per
    user); it becomes :class:`ReferralBonusCredited` there.
    """

    event_type: ClassVar[str] = "ReferralBonusEarned"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    invitee_id: TelegramId = Field(gt=0)
    invitee_registered_at: AwareDatetime
    payment_id: str = Field(min_length=1)
    days: int = Field(gt=0)


class ReferralBonusRevoked(Event):
    """A refund of an invitee's payment takes back the bonus days it earned their
    referrer (``telegram_id``): ``days`` for the share refunded by ``refund_id``.

    Keyed by the referrer, like :class:`ReferralBonusEarned`; the referrer's partition
    takes back at most what it credited for the payment, once per refund, and never ends
    access before the refund's time.
    """

    event_type: ClassVar[str] = "ReferralBonusRevoked"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    invitee_id: TelegramId = Field(gt=0)
    payment_id: str = Field(min_length=1)
    refund_id: str = Field(min_length=1)
    days: int = Field(gt=0)


class ReferralBonusCredited(Event):
    """The referrer (``telegram_id``) earned days for an invitee's payment."""

    event_type: ClassVar[str] = "ReferralBonusCredited"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    invitee_id: TelegramId = Field(gt=0)
    payment_id: str = Field(min_length=1)
    days: int = Field(gt=0)
    until: AwareDatetime
    revision: int | None = Field(default=None, ge=1)


class SubscriptionExpired(Event):
    """Access that lasted until ``until`` has lapsed; emitted once per (user, until).

    A consumer that already knows a later ``until`` for the user ignores it (the user
    renewed while the expiry was on its way).
    """

    event_type: ClassVar[str] = "SubscriptionExpired"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    key_id: uuid.UUID
    until: AwareDatetime


class UserPurged(Event):
    """The user's keys and personal data are to be deleted everywhere."""

    event_type: ClassVar[str] = "UserPurged"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    key_id: uuid.UUID


class RenewalDue(Event):
    """Access ending at ``period_end`` is to be renewed by charging the user's saved
    method for ``plan``: attempt ``attempt`` (0 first, then retries after declines).
    Emitted once per (user, period_end, attempt), under an id derived from them; the
    charge made for it is keyed by them too, so it is made once however often this is
    read."""

    event_type: ClassVar[str] = "RenewalDue"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    period_end: AwareDatetime
    attempt: int = Field(ge=0)
    method_id: str = Field(min_length=1, max_length=64)
    plan: str = Field(min_length=1, max_length=64)


class PromoCodeRedeemed(Event):
    """The user won one use of a promo code, or a gift (``gift``): ``months`` and
    ``days`` for them, credited on their own partition (keyed by the user) once per code,
    held until their /start if they never sent one."""

    event_type: ClassVar[str] = "PromoCodeRedeemed"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    code: PromoCode
    months: int = Field(default=0, ge=0, le=120)
    days: int = Field(ge=0, le=3660)
    gift: bool = False

    @model_validator(mode="after")
    def _gives_something(self) -> PromoCodeRedeemed:
        if self.months == 0 and self.days == 0:
            raise ValueError("a redemption gives months or days")
        return self


class PromoCodeRefused(Event):
    """A promo code the user entered (a gift's link they opened: ``gift``) gave
    nothing; ``reason`` says why."""

    event_type: ClassVar[str] = "PromoCodeRefused"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    code: PromoCode
    reason: PromoRefusal
    gift: bool = False


class UserBlockChanged(Event):
    """Whether the user is blocked now (an admin's block or its lifting): a blocked user's
    keys stay disabled on every node, whatever ``until`` says. Stamped with the revision
    it was decided from, like ``until``: a consumer keeps the newest."""

    event_type: ClassVar[str] = "UserBlockChanged"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    blocked: bool
    revision: int = Field(ge=0)
