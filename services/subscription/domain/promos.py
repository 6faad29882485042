"""Promo codes and gifts: who gets a use of a code, and why the others do not.

A gift is a code of one use named by an unguessable code, created by its payment
(``GiftPurchased``), that its buyer cannot use: the first other user who opens its link
gets its plan.

Why one partition decides: every redemption of a code (``PromoCodeEntered``) and the
code's creation are keyed by the code, so one worker reads them in order and decides one
at a time; FerretDB's conditional updates are no guard against concurrent writers, and a
single writer per code needs none. The worker's records are its claims, each a unique
insert (atomic on FerretDB and MongoDB alike): a use slot per use (``CODE#n``) and a
claim per user (``CODE:user``), both naming the redemption that took them. So even a
second worker that still holds the partition during a rebalance cannot hand out a slot
twice or a user's second use, and a redemption retried after a crash finds its own
claim and is granted again (under the same ids), never refused.

The decision is a pure function of the code, the user's claim and the redemption; the
adapter stores it by the redemption's event id, so a redelivery or a replay of the topic
hears the same answer and grants nothing more.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from events.subscriptions import PromoRefusal

GIFT_VALID = timedelta(days=3660)
"""How long a gift's link can be opened."""


@dataclass(frozen=True)
class PromoCode:
    """A code as created, and how many of its uses are taken (``uses``); a gift names
    its ``buyer``, who cannot use it."""

    code: str
    days: int
    max_uses: int
    expires_at: datetime
    created_at: datetime
    uses: int = 0
    months: int = 0
    buyer: int | None = None


@dataclass(frozen=True)
class Claim:
    """A user's use of a code: the redemption (event id) that won it and its slot."""

    event_id: uuid.UUID
    slot: int


@dataclass(frozen=True)
class Grant:
    """The redemption wins use ``slot`` of the code: ``days`` for the user."""

    slot: int
    days: int
    months: int = 0


Decision = Grant | PromoRefusal


def decide(
    code: PromoCode | None,
    claim: Claim | None,
    event_id: uuid.UUID,
    at: datetime,
    telegram_id: int,
) -> Decision:
    """The answer to redemption ``event_id`` by ``telegram_id``, made at ``at``, of a
    code the user holds ``claim`` of (None: they never won a use of it).

    A redemption that already won (its own claim) wins again, whatever happened to the
    code since; a code created after the redemption was unknown when it was made.
    """
    if claim is not None and claim.event_id == event_id and code is not None:
        return Grant(claim.slot, code.days, code.months)
    if code is None or at < code.created_at:
        return PromoRefusal.UNKNOWN
    if code.buyer == telegram_id:
        return PromoRefusal.OWN_GIFT
    if claim is not None:
        return PromoRefusal.ALREADY_USED
    if at >= code.expires_at:
        return PromoRefusal.EXPIRED
    if code.uses >= code.max_uses:
        return PromoRefusal.USED_UP
    return Grant(code.uses, code.days, code.months)
