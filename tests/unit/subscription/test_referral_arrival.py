"""An invitee's /start and payments reach the processor on different topics, so in any
order: the referrer's bonus is published once per payment, under one id, whatever the
order and however often each event comes (pure: no fixtures)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from events.subscriptions import ReferralBonusEarned
from services.subscription.domain.facts import facts_for, stamped
from services.subscription.domain.fold import fold
from services.subscription.domain.ledger import Entry, Paid
from services.subscription.domain.rules import Rules
from tests.unit.subscription.builders import paid, started

RULES = Rules(
    key_secret=b"unit-test-secret-of-thirty-two-bytes",
    referral_bonus_days_per_month=10,
    max_horizon=timedelta(days=400),
)
REFERRER, INVITEE = 7, 1001

Bonus = tuple[uuid.UUID, datetime, int, str, int, datetime]


def _bonuses(arrivals: Sequence[Entry]) -> list[Bonus]:
    """The bonuses published when the invitee's events arrive in this order, applied one
    at a time as the processor does (an event in the ledger already is skipped)."""
    ledger: list[Entry] = []
    published: list[Bonus] = []
    for new in arrivals:
        if any(e.event_id == new.event_id for e in ledger):
            continue
        before, after = fold(INVITEE, ledger, RULES), fold(INVITEE, [*ledger, new], RULES)
        published += [
            (told.event_id, told.occurred_at, fact.telegram_id, fact.payment_id, fact.days,
             fact.invitee_registered_at)
            for told in stamped(new, facts_for(new, before, after, 1), after)
            if isinstance(fact := told.fact, ReferralBonusEarned)
        ]  # fmt: skip
        ledger.append(new)
    return published


@st.composite
def invitee_history(draw: st.DrawFn) -> list[Entry]:
    """The invitee's /start (through the referrer's link) and payments, some of them made
    before it (held until it) and some after."""
    start_day = draw(st.integers(0, 30))
    ids = sorted(draw(st.sets(st.sampled_from(["p1", "p2", "p3"]), min_size=1)))
    payments = [paid(draw(st.integers(0, 60)), draw(st.integers(1, 3)), p) for p in ids]
    return [started(start_day, referrer=REFERRER), *payments]


@settings(max_examples=300, deadline=None)
@given(invitee_history(), st.data())
def test_the_bonus_is_the_same_in_any_arrival_order(
    history: list[Entry], data: st.DataObject
) -> None:
    in_order = _bonuses(sorted(history, key=lambda e: e.sort_key()))
    again = data.draw(st.lists(st.sampled_from(history), max_size=len(history)))
    arrivals = data.draw(st.permutations(history + again))
    published = _bonuses(arrivals)
    assert sorted(published, key=str) == sorted(in_order, key=str)
    assert all(n == 1 for n in Counter(fact_id for fact_id, *_ in published).values())
    assert {bonus[3] for bonus in published} == {
        e.payment_id for e in history if isinstance(e, Paid)
    }


def test_a_start_arriving_after_a_later_payment_publishes_its_bonus() -> None:
    start, payment = started(0, referrer=REFERRER), paid(1, months=2, payment="p1")
    [bonus] = _bonuses([payment, start])
    assert bonus[1:] == (payment.at, REFERRER, "p1", 20, start.at)
    assert [bonus] == _bonuses([start, payment])
