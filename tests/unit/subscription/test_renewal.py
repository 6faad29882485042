"""When a saved method is charged to renew, and how declines are retried."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.subscription.domain.fold import fold
from services.subscription.domain.ledger import Entry
from services.subscription.domain.renewal import Charge, RenewalRules, next_charge, retry_delay
from services.subscription.domain.rules import Rules
from tests.unit.subscription import builders as b

USER = 1001
RENEWAL = RenewalRules(lead=timedelta(days=1), attempts=3, backoff=timedelta(hours=6))
RULES = Rules(renewal=RENEWAL)


def charge_after(entries: list[Entry], rules: Rules = RULES) -> Charge | None:
    return next_charge(fold(USER, entries, rules), rules.renewal)


BOUGHT: list[Entry] = [b.started(0), b.paid(0, payment="p"), b.saved(0)]


def _end() -> datetime:
    until = fold(USER, BOUGHT, RULES).until
    assert until is not None
    return until


END = _end()


class TestDue:
    def test_a_saved_method_is_charged_lead_before_the_end(self) -> None:
        assert charge_after(BOUGHT) == Charge(END, 0, END - RENEWAL.lead, "m1", "month_1")

    def test_without_a_saved_method_nothing_is_due(self) -> None:
        assert charge_after([b.started(0), b.paid(0, payment="p")]) is None

    def test_turned_off_nothing_is_due_until_a_method_is_saved_again(self) -> None:
        assert charge_after([*BOUGHT, b.renewal_off(2)]) is None
        again = charge_after([*BOUGHT, b.renewal_off(2), b.saved(3, method="m2")])
        assert again is not None
        assert again.method_id == "m2"

    def test_a_purge_forgets_the_method(self) -> None:
        assert charge_after([*BOUGHT, b.purged(2)]) is None

    def test_a_method_saved_before_registration_is_not_kept(self) -> None:
        assert charge_after([b.saved(0), b.started(1), b.paid(1, payment="p")]) is None

    def test_a_paid_renewal_moves_the_charge_to_the_next_end_at_attempt_zero(self) -> None:
        renewed = [*BOUGHT, b.declined(END, 0, b.at(29)), b.paid(29.5, payment="p2")]
        state = fold(USER, renewed, RULES)
        charge = next_charge(state, RENEWAL)
        assert state.until is not None
        assert charge == Charge(state.until, 0, state.until - RENEWAL.lead, "m1", "month_1")


class TestRetries:
    def test_a_decline_is_retried_after_the_backoff_doubling_each_time(self) -> None:
        first = b.at(29)
        once = charge_after([*BOUGHT, b.declined(END, 0, first)])
        assert once == Charge(END, 1, first + RENEWAL.backoff, "m1", "month_1")
        second = first + timedelta(hours=7)
        twice = charge_after([*BOUGHT, b.declined(END, 0, first), b.declined(END, 1, second)])
        assert twice == Charge(END, 2, second + 2 * RENEWAL.backoff, "m1", "month_1")

    def test_after_the_last_attempt_nothing_more_is_charged_for_that_end(self) -> None:
        declines = [b.declined(END, n, b.at(29 + n)) for n in range(RENEWAL.attempts)]
        assert charge_after([*BOUGHT, *declines]) is None

    def test_a_decline_for_another_end_does_not_count(self) -> None:
        other = END - timedelta(days=30)
        charge = charge_after([*BOUGHT, b.declined(other, 0, b.at(1))])
        assert charge is not None
        assert charge.attempt == 0


@given(
    attempts=st.integers(1, 6),
    backoff_minutes=st.integers(1, 10_000),
    gaps=st.lists(st.integers(0, 10_000), max_size=8),
    order=st.randoms(use_true_random=False),
)
def test_attempts_stay_bounded_and_each_waits_longer_than_the_last(
    attempts: int, backoff_minutes: int, gaps: list[int], order: random.Random
) -> None:
    """Whatever the declines and their arrival order: at most ``attempts`` charges per end,
    numbered in turn, each due a doubled backoff after the decline before it."""
    rules = Rules(
        renewal=RenewalRules(
            lead=timedelta(days=1), attempts=attempts, backoff=timedelta(minutes=backoff_minutes)
        )
    )
    entries: list[Entry] = list(BOUGHT)
    charges: list[Charge] = []
    at = b.at(29)
    for gap in gaps:
        charge = charge_after(entries, rules)
        if charge is None:
            break
        charges.append(charge)
        at = max(at, charge.at) + timedelta(minutes=gap)
        entries.append(b.declined(charge.period_end, charge.attempt, at))
    shuffled = list(entries)
    order.shuffle(shuffled)
    assert charge_after(shuffled, rules) == charge_after(entries, rules)
    assert len(charges) <= attempts
    assert [c.attempt for c in charges] == list(range(len(charges)))
    waits = [retry_delay(n, rules.renewal.backoff) for n in range(len(charges))]
    assert waits == sorted(waits)
    if len(gaps) >= attempts:
        assert charge_after(entries, rules) is None
