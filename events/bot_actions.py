"""``bot.actions``: what users did in the bot. Written by services/bot."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from events.base import Event, PromoCode, TelegramId

TOPIC = "bot.actions"


class UserStarted(Event):
    """A user sent /start; ``referrer_id`` comes from the deep link, if any."""

    event_type: ClassVar[str] = "UserStarted"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    username: str | None = None
    first_name: str | None = None
    language_code: str | None = None
    referrer_id: TelegramId | None = Field(default=None, gt=0)


class TrialRequested(Event):
    """A user asked for the free trial."""

    event_type: ClassVar[str] = "TrialRequested"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)


class RegionChosen(Event):
    """A user picked the country they prefer (shown first in their links)."""

    event_type: ClassVar[str] = "RegionChosen"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    region: str = Field(min_length=1, max_length=64)


class UserSeen(Event):
    """A user wrote to the bot or pressed one of its buttons (at most one a minute per
    user: the bot paces them). Tells the notifier the user can be reached again."""

    event_type: ClassVar[str] = "UserSeen"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)


class RenewalTurnedOff(Event):
    """A user turned automatic renewal off: the saved payment method is forgotten and
    nothing is charged any more."""

    event_type: ClassVar[str] = "RenewalTurnedOff"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)


class PromoCodeEntered(Event):
    """A user entered a promo code (``/promo CODE`` or the ``promo_CODE`` deep link), or
    opened a gift's link (``gift_CODE``: ``gift`` true).

    Keyed by the code, not the user: every redemption of one code goes to one partition,
    so one worker decides them one at a time, in order (see
    ``services/subscription/handlers/promos.py``); the user hears the outcome as
    ``PromoCodeRedeemed`` or ``PromoCodeRefused``.
    """

    event_type: ClassVar[str] = "PromoCodeEntered"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    code: PromoCode
    gift: bool = False

    def partition_key(self) -> str:
        return self.code
