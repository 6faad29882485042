"""The business figures as Prometheus gauges.

Only the subscription read API exports them (:func:`register_business_gauges`), so no
other process shows a misleading 0; it refreshes them from the database."""

from __future__ import annotations

from prometheus_client import REGISTRY, Gauge

USERS = Gauge("keyland_users", "Registered users.", registry=None)
ACTIVE_SUBSCRIPTIONS = Gauge(
    "keyland_active_subscriptions", "Users with access now.", registry=None
)
TRIALS = Gauge("keyland_trials", "Users who took the trial.", registry=None)
PAID_USERS = Gauge("keyland_paid_users", "Users who paid at least once.", registry=None)
TRIAL_TO_PAID = Gauge(
    "keyland_trial_to_paid_ratio", "Share of trial users who paid later.", registry=None
)
REVENUE = Gauge("keyland_revenue", "Paid minus refunded, by currency.", ["currency"], registry=None)
_BUSINESS = (USERS, ACTIVE_SUBSCRIPTIONS, TRIALS, PAID_USERS, TRIAL_TO_PAID, REVENUE)
_business_registered: list[bool] = []


def register_business_gauges() -> None:
    """Export the business gauges from this process (once; again is a no-op)."""
    if not _business_registered:
        for gauge in _BUSINESS:
            REGISTRY.register(gauge)
        _business_registered.append(True)
