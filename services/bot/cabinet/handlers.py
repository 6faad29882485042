"""The Mini App cabinet's use cases: what a user sees, and starting a renewal.

The user is the one Telegram's initData names (checked before these are called). What
they see comes from the owning services' APIs: their account, payments and referrals
from the subscription read API, their links from the provisioner's. A renewal starts the
bot's own payment flows: a YooKassa payment from the payments ingest (its confirmation
URL), or an invoice in Stars, as a link (``createInvoiceLink``) whose payment reaches
the bot like any Stars payment.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from aiogram import Bot
from aiogram.types import LabeledPrice

from events.users import UserView
from keyland.plans import PlanSpec
from keyland.texts import language_of
from keyland.web.standing import Standing, standing_of
from services.bot.adapters.http_api import Unavailable
from services.bot.adapters.links import Links, UserLinks
from services.bot.adapters.payments import Payments, PlanRefused
from services.bot.adapters.read_api import Payment, ReadApi, Referrals
from services.bot.domain import cabinet, stars
from services.bot.domain.display import referral_link
from services.bot.domain.init_data import WebAppUser
from services.bot.keyboards.buy import duration
from services.bot.locales import Speaker

Method = Literal["yookassa", "stars"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CabinetDeps:
    """What the cabinet talks to, built by the bootstrap."""

    bot: Bot
    read_api: ReadApi
    links: Links
    payments: Payments
    plans: Mapping[str, PlanSpec]
    bot_username: str | None
    ends_soon_days: int


@dataclass(frozen=True)
class CabinetView:
    """One user's cabinet, as the page shows it."""

    telegram_id: int
    language: str
    standing: Standing
    until: datetime | None
    now: datetime
    links: UserLinks | None
    links_unavailable: bool
    """The links API did not answer: the rest is shown, and renewing still works."""
    region: str | None
    payments: list[Payment]
    referral_link: str
    referrals: Referrals
    plans: Mapping[str, PlanSpec]


async def view(deps: CabinetDeps, user: WebAppUser, now: datetime | None = None) -> CabinetView:
    """The user's cabinet: four reads, side by side."""
    now = now or datetime.now(UTC)
    account, links, payments, referrals, username = await asyncio.gather(
        deps.read_api.user(user.telegram_id),
        _links(deps, user.telegram_id),
        deps.read_api.payments_of(user.telegram_id),
        deps.read_api.referrals(user.telegram_id),
        _username(deps),
    )
    known = account or UserView(telegram_id=user.telegram_id)
    until = known.until if known.registered else None
    standing = standing_of(
        until,
        until is not None and known.active_at(now),
        now,
        announce_days=deps.ends_soon_days,
        blocked=known.blocked,
    )
    return CabinetView(
        telegram_id=user.telegram_id,
        language=language_of(user.language_code or known.language_code),
        standing=standing,
        until=until,
        now=now,
        links=links if isinstance(links, UserLinks) else None,
        links_unavailable=isinstance(links, Unavailable),
        region=known.region,
        payments=payments,
        referral_link=referral_link(username, user.telegram_id),
        referrals=referrals,
        plans=deps.plans,
    )


async def _links(deps: CabinetDeps, telegram_id: int) -> UserLinks | Unavailable | None:
    try:
        return await deps.links.of(telegram_id)
    except Unavailable as error:
        log.warning("links of %s not shown: %s", telegram_id, error)
        return error


async def _username(deps: CabinetDeps) -> str:
    return deps.bot_username or (await deps.bot.me()).username or ""


class RenewRefused(Exception):
    """The plan is not sold (in that currency); nothing was created."""


@dataclass(frozen=True)
class RenewStart:
    """Where the user pays: a YooKassa confirmation page, or a Telegram invoice link."""

    method: Method
    plan: str
    url: str
    payment_id: str | None = None


async def renew(deps: CabinetDeps, user: WebAppUser, plan: str, method: Method) -> RenewStart:
    """Start paying for ``plan``: the same order for the same opening of the app, so a
    second press gives the same payment. Raises :class:`RenewRefused` for a plan not on
    sale, or not in Stars."""
    spec = deps.plans.get(plan)
    if spec is None:
        raise RenewRefused(f"no plan {plan!r} on sale")
    if method == "stars":
        return RenewStart("stars", plan, await _invoice_link(deps, user, plan, spec))
    try:
        checkout = await deps.payments.create(user.telegram_id, plan, cabinet.order_id(user, plan))
    except PlanRefused as refusal:
        raise RenewRefused(f"the payments ingest does not sell {plan!r}") from refusal
    return RenewStart("yookassa", plan, checkout.confirmation_url, checkout.payment_id)


async def _invoice_link(deps: CabinetDeps, user: WebAppUser, plan: str, spec: PlanSpec) -> str:
    terms = stars.invoice(deps.plans, plan, user.telegram_id)
    if terms is None:
        raise RenewRefused(f"plan {plan!r} is not sold in Stars")
    speaker = Speaker(language_of(user.language_code))
    length = duration(speaker, spec)
    return await deps.bot.create_invoice_link(
        title=speaker.t("stars_invoice_title", duration=length)[: stars.TITLE_MAX],
        description=speaker.t("stars_invoice_description", duration=length),
        payload=terms.payload,
        currency=stars.STARS,
        prices=[LabeledPrice(label=length, amount=terms.stars)],
    )
