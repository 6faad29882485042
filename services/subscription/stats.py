"""Business figures for admins: users, active, trials, paid, revenue, conversion.

They cost no read of ``users`` or ``payments``: the subscription handler, the one writer
of every user, keeps their totals as it goes, one document per Kafka partition (see
:mod:`.domain.figures` and :mod:`.adapters.figure_shards`), and reading them is one
lookup by ``_id`` per partition. Why counts kept by the writer rather than a projection
the read API rebuilds from Kafka on start: the rules that make a figure (which payment
is credited, what a refund takes back, who counts as registered) live in the fold, and
the writer already has each user's state before and after every event, so a user's share
is a pure function of that state; a projection would repeat the fold and read all of
history on every start.

Users are counted only once registered by their own /start (a paid-for or referred id
that never started the bot is no user yet). Revenue is what was credited, less refunds
(a held payment counts once an admin grants it). Active: registered users whose access
the expiry sweep has not yet announced lapsed; the sweep announces each lapse within
seconds and the handler counts it when ``SubscriptionExpired`` comes back to it, so the
figure never depends on when it is read, and a replay gives the same.
"""

from __future__ import annotations

from typing import Any

from services.subscription.adapters import metrics
from services.subscription.adapters.figure_shards import FigureShards


async def business_stats(shards: FigureShards) -> dict[str, Any]:
    figures = await shards.totals()
    return {
        "users": figures.users,
        "active": figures.active,
        "trials": figures.trials,
        "paid": figures.paid,
        "revenue": {currency: str(amount) for currency, amount in figures.revenue},
        "trial_to_paid": (
            round(figures.paid_after_trial / figures.trials, 4) if figures.trials else 0.0
        ),
    }


def set_business_gauges(stats: dict[str, Any]) -> None:
    """Expose :func:`business_stats` figures as Prometheus gauges."""
    metrics.USERS.set(stats["users"])
    metrics.ACTIVE_SUBSCRIPTIONS.set(stats["active"])
    metrics.TRIALS.set(stats["trials"])
    metrics.PAID_USERS.set(stats["paid"])
    metrics.TRIAL_TO_PAID.set(stats["trial_to_paid"])
    for currency, amount in stats["revenue"].items():
        metrics.REVENUE.labels(currency).set(float(amount))
