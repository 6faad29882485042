"""Ledger entries: what happened to one user, each entry from one event (its ``event_id``).

A user's state is a fold of their entries in time order (see :mod:`.fold`), so the same
set of entries gives the same state whatever order they arrived in and however often.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID
    at: AwareDatetime

    def sort_key(self) -> tuple[AwareDatetime, int, str]:
        """Time order; at the same instant causes before effects (a payment before its
        refund, a registration before anything else), then the event id."""
        return (self.at, _RANK[self.kind], str(self.event_id))  # type: ignore[attr-defined]


class Started(_Entry):
    """The user sent /start (the first one fixes the referrer)."""

    kind: Literal["started"] = "started"
    username: str | None = None
    language_code: str | None = None
    referrer_id: int | None = None


class RegionPicked(_Entry):
    kind: Literal["region"] = "region"
    region: str


class TrialAsked(_Entry):
    kind: Literal["trial"] = "trial"


class Paid(_Entry):
    kind: Literal["paid"] = "paid"
    payment_id: str
    plan: str
    months: int
    days: int
    amount: Decimal
    currency: str


class Refunded(_Entry):
    kind: Literal["refunded"] = "refunded"
    payment_id: str
    refund_id: str
    amount: Decimal


class Adjusted(_Entry):
    kind: Literal["adjusted"] = "adjusted"
    months: int
    days: int
    admin_id: int


class Granted(_Entry):
    """Time given away: a promo code's use (``grant_id`` ``promo:<code>``) or a gift
    (``gift:<code>``), once per ``grant_id``; held until the user's /start if they never
    sent one."""

    kind: Literal["granted"] = "granted"
    grant_id: str
    months: int = 0
    days: int


class Provisioned(_Entry):
    """An admin created the account, granting time from the user's first /start."""

    kind: Literal["provisioned"] = "provisioned"
    months: int
    days: int
    admin_id: int


class BlockSet(_Entry):
    """An admin blocked the user (``blocked``) or lifted the block."""

    kind: Literal["block"] = "block"
    blocked: bool
    admin_id: int


class ReferralEarned(_Entry):
    """An invitee's payment earned this user (the referrer) bonus days."""

    kind: Literal["referral"] = "referral"
    invitee_id: int
    invitee_registered_at: AwareDatetime
    payment_id: str
    days: int


class ReferralRevoked(_Entry):
    """A refund of an invitee's payment takes back the bonus days it earned this user."""

    kind: Literal["referral_revoked"] = "referral_revoked"
    invitee_id: int
    payment_id: str
    refund_id: str
    days: int


class Lapsed(_Entry):
    """The expiry sweep announced that access lasting until ``until`` has lapsed (it
    counts for the figures only: access ended at ``until`` whether announced or not)."""

    kind: Literal["lapsed"] = "lapsed"
    until: AwareDatetime


class MethodSaved(_Entry):
    """A paid payment saved the user's method: it renews ``plan`` automatically."""

    kind: Literal["method_saved"] = "method_saved"
    payment_id: str
    method_id: str
    plan: str


class RenewalDeclined(_Entry):
    """The renewal charge ``attempt`` for access ending at ``period_end`` was declined."""

    kind: Literal["renewal_declined"] = "renewal_declined"
    period_end: AwareDatetime
    attempt: int


class RenewalOff(_Entry):
    """The user turned automatic renewal off: the saved method is forgotten."""

    kind: Literal["renewal_off"] = "renewal_off"


class Purged(_Entry):
    kind: Literal["purged"] = "purged"
    reason: str


_RANK = {
    kind: rank
    for rank, kind in enumerate(
        [
            "started",
            "region",
            "trial",
            "paid",
            "method_saved",
            "adjusted",
            "granted",
            "provisioned",
            "block",
            "referral",
            "refunded",
            "referral_revoked",
            "lapsed",
            "renewal_declined",
            "renewal_off",
            "purged",
        ]
    )
}

Entry = Annotated[
    Started
    | RegionPicked
    | TrialAsked
    | Paid
    | Refunded
    | Adjusted
    | Granted
    | Provisioned
    | BlockSet
    | ReferralEarned
    | ReferralRevoked
    | Lapsed
    | MethodSaved
    | RenewalDeclined
    | RenewalOff
    | Purged,
    Field(discriminator="kind"),
]
