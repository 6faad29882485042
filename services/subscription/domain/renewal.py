"""When a user's saved method is charged to renew their access, and when it is retried.

A user with a saved method (see :mod:`.fold`) is charged for its plan ``lead`` before
their access ends: attempt 0 for that end. A declined attempt ``n`` is retried
``backoff · 2ⁿ`` after its decline, up to ``attempts`` charges per end in all; then
nothing more is charged for that end (the user was told of the first decline, and can
pay by hand). A charge that succeeds moves the end, and the next end starts again at
attempt 0. Turning renewal off (or a purge) forgets the method: nothing is due.

A pure function of the state, so every worker, replay and rebuild finds the same charge
due at the same moment, and the charge's identity (user, end, attempt) is what keys its
payment: however often it is found due, it is one charge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.subscription.domain.state import Subscription


@dataclass(frozen=True)
class RenewalRules:
    lead: timedelta
    """How long before the end of access the first charge is due."""
    attempts: int
    """Charges per end of access at most (the first one and its retries)."""
    backoff: timedelta
    """The wait after the first decline; doubled after each further one."""


@dataclass(frozen=True)
class Charge:
    """A renewal charge due at ``at``: attempt ``attempt`` for access ending at
    ``period_end``, of ``plan`` to the saved ``method_id``."""

    period_end: datetime
    attempt: int
    at: datetime
    method_id: str
    plan: str


def retry_delay(declined_attempt: int, backoff: timedelta) -> timedelta:
    """The wait after attempt ``declined_attempt`` was declined."""
    return backoff * (1 << declined_attempt)


def next_charge(state: Subscription, rules: RenewalRules) -> Charge | None:
    """The renewal charge due next for the user, or None when none is."""
    if state.renewal_method is None or state.renewal_plan is None or state.until is None:
        return None
    if not state.registered:
        return None
    declined = state.declined.get(state.until, {})
    attempt = 0
    while attempt in declined:
        attempt += 1
    if attempt >= rules.attempts:
        return None
    if attempt == 0:
        at = state.until - rules.lead
    else:
        at = declined[attempt - 1] + retry_delay(attempt - 1, rules.backoff)
    return Charge(state.until, attempt, at, state.renewal_method, state.renewal_plan)
