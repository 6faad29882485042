"""A user's subscription state and what each ledger entry did to it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

KEY_NAMESPACE = uuid.UUID("0b9f4f5e-8f4a-5d86-a1f7-2c0d3f6e9b11")


def key_id_for(telegram_id: int, generation: int) -> uuid.UUID:
    """The user's key id: stable for life, new only after a purge (next generation)."""
    return uuid.uuid5(KEY_NAMESPACE, f"{telegram_id}:{generation}")


class Effect(StrEnum):
    REGISTERED = "registered"
    UPDATED_PROFILE = "updated_profile"
    TRIAL_GRANTED = "trial_granted"
    EXTENDED = "extended"
    SHORTENED = "shortened"
    CREDITED = "credited"
    REJECTED = "rejected"
    IGNORED = "ignored"
    PURGED = "purged"


@dataclass(frozen=True)
class Outcome:
    """What one entry did: its effect, why (for rejections), and the referral it earns."""

    effect: Effect
    reason: str = ""
    until_before: datetime | None = None
    until_after: datetime | None = None
    key_id: uuid.UUID | None = None
    referrer_id: int | None = None
    referral_days: int = 0
    registered_at: datetime | None = None
    first_purchase: bool = False


@dataclass
class PaymentRecord:
    added: timedelta
    amount: Decimal
    refunded: Decimal = Decimal(0)


@dataclass
class Subscription:
    """The state of one Telegram user, as the fold of their ledger leaves it."""

    telegram_id: int
    generation: int = 0
    registered_at: datetime | None = None
    username: str | None = None
    language_code: str | None = None
    referrer_id: int | None = None
    region: str | None = None
    until: datetime | None = None
    trial_used: bool = False
    purchases: int = 0
    last_purchase_at: datetime | None = None
    referral_days_earned: int = 0
    purged_at: datetime | None = None
    payments: dict[str, PaymentRecord] = field(default_factory=dict)
    credited_referrals: set[str] = field(default_factory=set)
    outcomes: dict[uuid.UUID, Outcome] = field(default_factory=dict)

    @property
    def registered(self) -> bool:
        return self.registered_at is not None

    @property
    def key_id(self) -> uuid.UUID:
        return key_id_for(self.telegram_id, self.generation)

    def active_at(self, moment: datetime) -> bool:
        return self.until is not None and self.until > moment
