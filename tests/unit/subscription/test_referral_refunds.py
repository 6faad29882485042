"""A refund takes back the referral days its payment earned, and a refunded payment stops
counting as a purchase (pure: no fixtures)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from events.subscriptions import ReferralBonusEarned, ReferralBonusRevoked, SubscriptionShortened
from services.subscription.domain.facts import facts_for, stamped
from services.subscription.domain.figures import share_of
from services.subscription.domain.fold import fold
from services.subscription.domain.ledger import Entry, ReferralEarned, ReferralRevoked
from services.subscription.domain.rules import Rules
from services.subscription.domain.state import Effect, Subscription
from tests.unit.subscription.builders import (
    at,
    paid,
    referral,
    referral_revoked,
    refunded,
    started,
)

RULES = Rules(
    key_secret=b"unit-test-secret-of-thirty-two-bytes",
    referral_bonus_days_per_month=10,
    max_horizon=timedelta(days=400),
)
REFERRER, INVITEE = 7, 1001


def _fact_of(entries: Sequence[Entry], new: Entry) -> list[object]:
    before, after = fold(INVITEE, entries, RULES), fold(INVITEE, [*entries, new], RULES)
    return list(facts_for(new, before, after, revision=1))


class TestTheInviteesRefund:
    def test_a_refunded_paid_month_takes_back_the_referrers_ten_days(self) -> None:
        ledger: list[Entry] = [started(0, referrer=REFERRER), paid(1, payment="p1")]
        facts = _fact_of(ledger, refunded("p1", 3))
        revoked = [f for f in facts if isinstance(f, ReferralBonusRevoked)]
        assert [(f.telegram_id, f.invitee_id, f.payment_id, f.days) for f in revoked] == [
            (REFERRER, INVITEE, "p1", 10)
        ]

    def test_partial_refunds_take_back_their_share_and_all_of_it_in_the_end(self) -> None:
        ledger: list[Entry] = [
            started(0, referrer=REFERRER),
            paid(1, months=3, payment="p1", amount="300.00"),
        ]
        first = refunded("p1", 2, amount="100.00", refund="r1")
        second = refunded("p1", 3, amount="200.00", refund="r2")
        days = [
            f.days
            for new, before in ((first, ledger), (second, [*ledger, first]))
            for f in _fact_of(before, new)
            if isinstance(f, ReferralBonusRevoked)
        ]
        assert days == [10, 20]

    def test_a_refund_of_a_payment_that_earned_nothing_takes_nothing(self) -> None:
        ledger: list[Entry] = [started(0), paid(1, payment="p1")]
        assert not [
            f for f in _fact_of(ledger, refunded("p1", 2)) if "Referral" in f.__class__.__name__
        ]

    def test_a_second_refund_of_a_fully_refunded_payment_takes_nothing_more(self) -> None:
        ledger: list[Entry] = [
            started(0, referrer=REFERRER),
            paid(1, payment="p1"),
            refunded("p1", 2, refund="r1"),
        ]
        again = refunded("p1", 3, refund="r2")
        assert not [f for f in _fact_of(ledger, again) if isinstance(f, ReferralBonusRevoked)]

    def test_a_payment_refunded_in_part_before_registration_earns_only_what_was_kept(
        self,
    ) -> None:
        held = paid(0, payment="p1", amount="200.00")
        ledger: list[Entry] = [held, refunded("p1", 1, amount="100.00")]
        earned = [
            f
            for f in _fact_of(ledger, started(2, referrer=REFERRER))
            if isinstance(f, ReferralBonusEarned)
        ]
        assert [f.days for f in earned] == [5]
        rest = _fact_of([*ledger, started(2, referrer=REFERRER)], refunded("p1", 3, "100.00", "r2"))
        assert [f.days for f in rest if isinstance(f, ReferralBonusRevoked)] == [5]


class TestPurchasesAndRevenue:
    def test_a_fully_refunded_payment_is_no_longer_a_purchase_nor_revenue(self) -> None:
        entries: list[Entry] = [started(0), paid(1, payment="p1"), refunded("p1", 2)]
        state = fold(INVITEE, entries, RULES)
        assert state.purchases == 0
        figures = share_of(state, entries)
        assert (figures.paid, figures.revenue) == (0, ())

    def test_a_partly_refunded_payment_stays_a_purchase_with_what_was_kept(self) -> None:
        entries: list[Entry] = [
            started(0),
            paid(1, payment="p1", amount="200.00"),
            refunded("p1", 2, amount="50.00"),
        ]
        state = fold(INVITEE, entries, RULES)
        assert state.purchases == 1
        assert share_of(state, entries).revenue == (("RUB", Decimal("150.00")),)

    def test_the_refunded_payment_stays_known_so_it_is_never_credited_again(self) -> None:
        payment = paid(1, payment="p1")
        again = payment.model_copy(update={"event_id": uuid.uuid4(), "at": at(3)})
        state = fold(INVITEE, [started(0), payment, refunded("p1", 2), again], RULES)
        assert state.outcomes[again.event_id].effect is Effect.IGNORED
        assert state.purchases == 0


class TestTheReferrer:
    def credited(self) -> list[Entry]:
        return [started(0), referral(5, INVITEE, 1, payment="p1")]  # until day 15

    def test_the_days_are_taken_back_from_the_referrers_access(self) -> None:
        revoke = referral_revoked(6, INVITEE, "p1")
        state = fold(REFERRER, [*self.credited(), revoke], RULES)
        assert state.until == at(6)
        assert state.referral_days_earned == 0
        assert state.outcomes[revoke.event_id].effect is Effect.SHORTENED

    def test_a_bonus_already_used_up_ends_access_at_the_refund_never_before(self) -> None:
        # on day 10 five of the ten bonus days are used: taking ten would end access on
        # day 5, before the refund; it ends at the refund instead
        revoke = referral_revoked(10, INVITEE, "p1")
        state = fold(REFERRER, [*self.credited(), revoke], RULES)
        assert state.until == at(10)
        assert state.referral_days_earned == 0

    def test_a_bonus_of_access_that_ended_changes_no_date(self) -> None:
        revoke = referral_revoked(30, INVITEE, "p1")
        state = fold(REFERRER, [*self.credited(), revoke], RULES)
        assert state.until == at(15)
        assert state.referral_days_earned == 0

    def test_a_replayed_refund_takes_nothing_twice(self) -> None:
        first = referral_revoked(6, INVITEE, "p1", days=4, refund="r1")
        replayed = first.model_copy(update={"event_id": uuid.uuid4()})
        state = fold(REFERRER, [*self.credited(), first, first, replayed], RULES)
        assert state.until == at(11)
        effects = sorted(state.outcomes[e.event_id].effect for e in (first, replayed))
        assert effects == [Effect.IGNORED, Effect.SHORTENED]

    def test_never_more_than_was_credited_for_the_payment(self) -> None:
        revokes = [referral_revoked(6, INVITEE, "p1", days=8, refund=f"r{n}") for n in (1, 2)]
        state = fold(REFERRER, [*self.credited(), *revokes], RULES)
        assert state.until == at(6)  # 8 days, then the 2 left, never before the refund
        assert state.referral_days_earned == 0

    def test_days_never_credited_are_not_taken(self) -> None:
        revoke = referral_revoked(6, INVITEE, "unknown")
        state = fold(REFERRER, [*self.credited(), revoke], RULES)
        assert state.until == at(15)
        assert state.outcomes[revoke.event_id].effect is Effect.IGNORED

    def test_the_shortening_is_announced_as_a_referral_refund(self) -> None:
        ledger = self.credited()
        revoke = referral_revoked(6, INVITEE, "p1")
        before, after = fold(REFERRER, ledger, RULES), fold(REFERRER, [*ledger, revoke], RULES)
        [fact] = facts_for(revoke, before, after, revision=3)
        assert isinstance(fact, SubscriptionShortened)
        assert (fact.reason, fact.payment_id, fact.until) == ("referral_refund", None, at(6))


# Property: the referrer keeps exactly the days of what the invitee kept ------------------

day = st.integers(min_value=1, max_value=60)


@st.composite
def invitee_history(draw: st.DrawFn) -> tuple[list[Entry], list[Entry]]:
    """The invitee's payments (one event each, as a payment id always names the same
    payment) and refunds of them (each refund id once, never before its payment)."""
    ids = draw(st.sets(st.sampled_from(["p1", "p2"]), min_size=1))
    days = {payment_id: draw(day) for payment_id in ids}
    payments: list[Entry] = [
        paid(days[payment_id], draw(st.integers(1, 3)), payment_id, "300.00")
        for payment_id in sorted(ids)
    ]
    amounts = st.sampled_from(["100.00", "150.00", "300.00"])
    refunds: list[Entry] = []
    for n in range(draw(st.integers(0, 4))):
        payment_id = draw(st.sampled_from(sorted(ids)))
        later = days[payment_id] + draw(st.integers(0, 60))
        refunds.append(refunded(payment_id, later, draw(amounts), f"r{n}"))
    return payments, refunds


def _referrer_entries(arrivals: Sequence[Entry]) -> list[Entry]:
    """The invitee's events applied one at a time, as the processor does (an event in the
    ledger already is skipped), and the referral facts they imply as the referrer's
    entries, under the ids the processor gives them."""
    ledger: list[Entry] = []
    found: dict[uuid.UUID, Entry] = {}
    for new in arrivals:
        if any(e.event_id == new.event_id for e in ledger):
            continue
        before, after = fold(INVITEE, ledger, RULES), fold(INVITEE, [*ledger, new], RULES)
        for told in stamped(new, facts_for(new, before, after, revision=1), after):
            fact_id, moment, fact = told.event_id, told.occurred_at, told.fact
            match fact:
                case ReferralBonusEarned():
                    found[fact_id] = ReferralEarned(
                        event_id=fact_id, at=moment, invitee_id=INVITEE,
                        invitee_registered_at=fact.invitee_registered_at,
                        payment_id=fact.payment_id, days=fact.days,
                    )  # fmt: skip
                case ReferralBonusRevoked():
                    found[fact_id] = ReferralRevoked(
                        event_id=fact_id, at=moment, invitee_id=INVITEE,
                        payment_id=fact.payment_id, refund_id=fact.refund_id, days=fact.days,
                    )  # fmt: skip
        ledger.append(new)
    return list(found.values())


def _in_any_order(entries: list[Entry], data: st.DataObject) -> list[Entry]:
    """Each event once or more, in any order (a refund may come before its payment, a
    payment before the /start)."""
    again = data.draw(st.lists(st.sampled_from(entries), max_size=len(entries)))
    return data.draw(st.permutations(entries + again))


@settings(max_examples=300, deadline=None)
@given(invitee_history(), st.data())
def test_the_referrer_keeps_the_days_of_what_the_invitee_kept(
    history: tuple[list[Entry], list[Entry]], data: st.DataObject
) -> None:
    payments, refunds = history
    invitee_ledger: list[Entry] = [started(0, referrer=REFERRER), *payments, *refunds]
    arrivals = _in_any_order(invitee_ledger, data)
    invitee: Subscription = fold(INVITEE, invitee_ledger, RULES)
    referrer_ledger = [started(-1), paid(0, months=2, payment="own"), *_referrer_entries(arrivals)]
    referrer = fold(REFERRER, referrer_ledger, RULES)

    # what the referrer keeps per payment: its days less the refunded share, rounded down
    kept = [
        r.referral_days - r.referral_days * min(r.refunded, r.amount) // r.amount
        for r in invitee.payments.values()
    ]
    assert referrer.referral_days_earned == sum(kept)
    for entry in referrer_ledger:  # a refund never ends the referrer's access before its time
        outcome = referrer.outcomes[entry.event_id]
        if isinstance(entry, ReferralRevoked) and outcome.until_after is not None:
            assert outcome.until_after >= entry.at
    # purchases and revenue agree: a user pays if and only if some money was kept
    figures = share_of(invitee, invitee_ledger)
    assert invitee.purchases == sum(r.refunded < r.amount for r in invitee.payments.values())
    assert bool(figures.paid) == bool(figures.revenue)
