"""One router per feature; :func:`root_router` puts them in the order they must match.

Each feature module builds a fresh ``Router(name=__name__)`` on request (a router has
one parent), so a process may build more than one dispatcher, e.g. across a restart.
"""

from __future__ import annotations

from aiogram import Router

from services.bot.routers import (
    buy,
    connect,
    errors,
    fallback,
    profile,
    promo,
    referral,
    region,
    stars,
    start,
    support,
    trial,
)
from services.bot.routers.admin import admin_router


def root_router() -> Router:
    """Stars payments come first, admin flows before the user features (their steps take any text), the
    fallback last."""
    root = Router(name=__name__)
    root.include_routers(
        errors.build_router(),
        stars.build_router(),  # payments first: an admin's flow step must not take them
        admin_router(),
        start.build_router(),
        trial.build_router(),
        connect.build_router(),
        buy.build_router(),
        profile.build_router(),
        referral.build_router(),
        promo.build_router(),
        region.build_router(),
        support.build_router(),
        fallback.build_router(),
    )
    return root
