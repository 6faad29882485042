"""A user's subscription state and what each ledger entry did to it."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from services.subscription.domain.ledger import Granted, Paid, Provisioned


def key_id_for(telegram_id: int, generation: int, secret: bytes) -> uuid.UUID:
    """The user's key id: stable for life, new only after a purge (next generation).

    It is the VLESS credential itself, so it must not be computable from the Telegram id:
    an HMAC under the deployment's secret makes it unguessable, yet the same on every
    replay (as long as the secret stays).
    """
    digest = hmac.new(secret, f"key:{telegram_id}:{generation}".encode(), hashlib.sha256).digest()
    return uuid.UUID(bytes=digest[:16], version=4)


class Effect(StrEnum):
    REGISTERED = "registered"
    HELD = "held"
    UPDATED_PROFILE = "updated_profile"
    BLOCK_SET = "block_set"
    TRIAL_GRANTED = "trial_granted"
    EXTENDED = "extended"
    SHORTENED = "shortened"
    CREDITED = "credited"
    REJECTED = "rejected"
    IGNORED = "ignored"
    PURGED = "purged"
    LAPSED = "lapsed"
    RENEWAL = "renewal"


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
    """A credited payment: its entry (``paid_by``), the time access was extended from
    for it (``credited_at``: its own, or the registration that applied it held), what it
    added, what was refunded of it."""

    paid_by: uuid.UUID
    credited_at: datetime
    added: timedelta
    amount: Decimal
    refunded: Decimal = Decimal(0)
    referrer_id: int | None = None
    referral_days: int = 0
    """Who earned referral days for this payment, and how many."""
    registered_at: datetime | None = None
    """When the payer registered, as of its crediting (what the referrer's bonus names)."""

    @property
    def referral_taken(self) -> int:
        """The referral days its refunds take back: the refunded share of the days earned,
        rounded down, so a full refund takes all. A function of the amount refunded alone,
        so the same refunds take the same days in whatever order they are applied."""
        if not self.referral_days or not self.amount:
            return 0
        refunded = min(self.refunded, self.amount)
        return int(self.referral_days * refunded // self.amount)


@dataclass
class ReferralCredit:
    """Referral days credited for one invitee payment, in the referrer's ``generation``;
    ``days``: those its refunds have not taken back."""

    generation: int
    days: int


@dataclass
class HeldCredit:
    """A payment held for a user who has not registered: the entry and what was refunded
    of it meanwhile."""

    entry: Paid
    refunded: Decimal = Decimal(0)


@dataclass
class Subscription:
    """The state of one Telegram user, as the fold of their ledger leaves it."""

    telegram_id: int
    key_secret: bytes = field(default=b"", repr=False)
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
    lapsed_until: datetime | None = None
    """The latest access end the expiry sweep announced as lapsed."""
    payments: dict[str, PaymentRecord] = field(default_factory=dict)
    credited_referrals: dict[str, ReferralCredit] = field(default_factory=dict)
    """Per invitee payment, the referral days credited for it."""
    revoked_referrals: set[tuple[str, str]] = field(default_factory=set)
    """(invitee payment, refund) whose referral days were taken back."""
    held: dict[str, HeldCredit] = field(default_factory=dict)
    """Paid before the user ever started the bot: applied by their registration."""
    renewal_method: str | None = None
    """The saved payment method that renews ``renewal_plan`` (None: no automatic renewal)."""
    renewal_plan: str | None = None
    declined: dict[datetime, dict[int, datetime]] = field(default_factory=dict)
    """Per access end, the renewal attempts declined for it and when."""
    blocked: bool = False
    """An admin blocked access (the latest block or unblock wins; a purge keeps it)."""
    provisioned_at: datetime | None = None
    """When an admin last created the account (:class:`Provisioned`)."""
    grants: list[Provisioned] = field(default_factory=list)
    """Time an admin granted before the user ever started the bot: applied by their
    registration."""
    promo_grants: set[str] = field(default_factory=set)
    """The grants (promo code uses, gifts) credited, by grant id: each once."""
    held_promos: dict[str, Granted] = field(default_factory=dict)
    """Promo codes and gifts won before the user ever started the bot: applied by their
    registration."""
    outcomes: dict[uuid.UUID, Outcome] = field(default_factory=dict)

    @property
    def registered(self) -> bool:
        return self.registered_at is not None

    @property
    def auto_renewal(self) -> bool:
        return self.renewal_method is not None

    @property
    def grant_pending(self) -> bool:
        return bool(self.grants)

    @property
    def key_id(self) -> uuid.UUID:
        return key_id_for(self.telegram_id, self.generation, self.key_secret)

    def active_at(self, moment: datetime) -> bool:
        return self.until is not None and self.until > moment
