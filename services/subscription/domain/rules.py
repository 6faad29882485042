"""The business parameters of subscriptions (set from configuration)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from services.subscription.domain.renewal import RenewalRules

DEFAULT_RENEWAL = RenewalRules(lead=timedelta(days=1), attempts=3, backoff=timedelta(hours=6))


@dataclass(frozen=True)
class Rules:
    trial: timedelta = timedelta(days=3)
    referral_bonus_days_per_month: int = 10
    max_horizon: timedelta = timedelta(days=5 * 365)
    key_secret: bytes = field(default=b"", repr=False)
    renewal: RenewalRules = field(default_factory=lambda: DEFAULT_RENEWAL)
