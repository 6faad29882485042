"""The user view: one user as the subscription service shows them to everyone else.

The subscription service owns it. Its read API answers ``GET /v1/users/{id}`` and
``GET /v1/users?username=`` with it; the bot parses those answers into it, and the
operator tools get it from the service's own adapter. No other service reads the
subscription's ``users`` collection.

Readers ignore fields they do not know, so a field added here reaches them before they
use it; renaming or removing one is a change for every reader at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from events.base import TelegramId


class UserView(BaseModel):
    """One user: who they are, until when they have access, what they bought and earned."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)

    telegram_id: TelegramId = Field(gt=0)
    key_id: uuid.UUID | None = None
    """The user's key in this generation (a purge starts a new one)."""
    registered: bool = False
    """The user started the bot and was not purged since."""
    registered_at: AwareDatetime | None = None
    username: str | None = None
    """Telegram username without ``@``, as the latest /start gave it."""
    language_code: str | None = None
    """Telegram's language code from the latest /start that carried one."""
    referrer_id: TelegramId | None = Field(default=None, gt=0)
    region: str | None = Field(default=None, min_length=1, max_length=64)
    """The country the user prefers, listed first in their links."""
    until: AwareDatetime | None = None
    """Access ends then (None: never had access, or purged)."""
    trial_used: bool = False
    purchases: int = Field(default=0, ge=0)
    """Payments credited as plans."""
    last_purchase_at: AwareDatetime | None = None
    referral_days_earned: int = Field(default=0, ge=0)
    """Bonus days earned by inviting friends, all told."""
    purged_at: AwareDatetime | None = None
    """The latest purge of the user's data, if any."""
    auto_renewal: bool = False
    """A saved payment method renews the user's plan (until they turn it off)."""
    renews_at: AwareDatetime | None = None
    """When the saved method is next charged to renew (None: no charge is due)."""
    blocked: bool = False
    """An admin blocked access: keys disabled on every node until the block is lifted."""
    provisioned_at: AwareDatetime | None = None
    """When an admin last created the account (in this generation)."""
    grant_pending: bool = False
    """Time an admin granted waits for the user's first /start."""

    def active_at(self, moment: datetime) -> bool:
        return self.until is not None and self.until > moment


class UserTraffic(BaseModel):
    """The bytes one user moved through every node in one calendar month (UTC), as the
    subscription service counted them (``GET /v1/users/{id}/traffic``)."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)

    telegram_id: TelegramId = Field(gt=0)
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    """``YYYY-MM``."""
    uplink_bytes: int = Field(default=0, ge=0)
    downlink_bytes: int = Field(default=0, ge=0)

    @property
    def total_bytes(self) -> int:
        return self.uplink_bytes + self.downlink_bytes
