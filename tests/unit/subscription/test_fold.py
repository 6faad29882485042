"""The subscription rules, one behaviour at a time (pure: no fixtures)."""

from __future__ import annotations

from datetime import timedelta

from services.subscription.domain.fold import fold
from services.subscription.domain.rules import Rules
from services.subscription.domain.state import Effect, key_id_for
from tests.unit.subscription.builders import (
    T0,
    adjusted,
    at,
    paid,
    purged,
    referral,
    refunded,
    started,
    trial,
)

RULES = Rules(
    key_secret=b"unit-test-secret-of-thirty-two-bytes",
    trial=timedelta(days=3),
    referral_bonus_days_per_month=10,
    max_horizon=timedelta(days=365),
)
USER = 1001


class TestPayments:
    def test_payment_extends_from_payment_time_when_expired(self) -> None:
        state = fold(USER, [started(), paid(day=0)], RULES)
        assert state.until == at(28)  # 31 Jan + 1 month = 28 Feb

    def test_payment_extends_from_current_end_when_active(self) -> None:
        state = fold(USER, [started(), trial(0), paid(day=1)], RULES)
        assert state.until == T0.replace(month=3, day=3)  # 3 Feb (trial end) + 1 month

    def test_the_same_payment_counts_once_even_under_two_event_ids(self) -> None:
        first = paid(payment="p1")
        again = first.model_copy(update={"event_id": paid().event_id})
        state = fold(USER, [started(), first, again], RULES)
        assert state.until == at(28)
        effects = sorted(state.outcomes[e.event_id].effect for e in (first, again))
        assert effects == [Effect.EXTENDED, Effect.IGNORED]

    def test_first_purchase_is_marked(self) -> None:
        one, two = paid(day=0), paid(day=1)
        state = fold(USER, [started(), one, two], RULES)
        assert state.outcomes[one.event_id].first_purchase
        assert not state.outcomes[two.event_id].first_purchase


class TestTrial:
    def test_trial_lasts_the_configured_time(self) -> None:
        state = fold(USER, [started(), trial(0)], RULES)
        assert state.until == at(3)
        assert state.trial_used

    def test_second_trial_is_ignored(self) -> None:
        again = trial(10)
        state = fold(USER, [started(), trial(0), again], RULES)
        assert state.until == at(3)
        assert state.outcomes[again.event_id].effect is Effect.IGNORED

    def test_trial_is_refused_while_access_is_active(self) -> None:
        asked = trial(1)
        state = fold(USER, [started(), paid(0), asked], RULES)
        assert state.outcomes[asked.event_id].effect is Effect.IGNORED
        assert not state.trial_used


class TestAdjustments:
    def test_admin_adds_months_and_days(self) -> None:
        state = fold(USER, [started(), adjusted(0, months=1, days=2)], RULES)
        assert state.until == at(30)

    def test_adjustment_past_the_horizon_is_rejected_with_its_reason(self) -> None:
        too_far = adjusted(0, months=13)
        state = fold(USER, [started(), too_far], RULES)
        outcome = state.outcomes[too_far.event_id]
        assert outcome.effect is Effect.REJECTED
        assert "maximum horizon of 365 days" in outcome.reason
        assert state.until is None

    def test_negative_adjustment_shortens_but_not_before_its_time(self) -> None:
        state = fold(USER, [started(), paid(0), adjusted(5, days=-100)], RULES)
        assert state.until == at(5)

    def test_negative_adjustment_without_access_is_rejected(self) -> None:
        cut = adjusted(0, days=-1)
        state = fold(USER, [started(), cut], RULES)
        assert state.outcomes[cut.event_id].effect is Effect.REJECTED

    def test_mixed_signs_are_rejected(self) -> None:
        mixed = adjusted(0, months=1, days=-3)
        assert (
            fold(USER, [started(), mixed], RULES).outcomes[mixed.event_id].effect is Effect.REJECTED
        )


class TestRefunds:
    def test_refund_takes_back_what_the_payment_added(self) -> None:
        first, second = paid(0, payment="p1"), paid(1, payment="p2")
        state = fold(USER, [started(), first, second, refunded("p2", day=2)], RULES)
        assert state.until == at(28)

    def test_refund_never_ends_access_before_the_refund_time(self) -> None:
        state = fold(USER, [started(), paid(0, payment="p1"), refunded("p1", day=20)], RULES)
        assert state.until == at(20)

    def test_partial_refund_takes_back_its_share(self) -> None:
        state = fold(
            USER,
            [started(), paid(0, payment="p1", amount="200.00"), refunded("p1", 0, amount="100.00")],
            RULES,
        )
        assert state.until == at(14)

    def test_refund_of_unknown_payment_is_ignored(self) -> None:
        refund = refunded("nope", 1)
        state = fold(USER, [started(), refund], RULES)
        assert state.outcomes[refund.event_id].effect is Effect.IGNORED

    def test_second_full_refund_takes_nothing_more(self) -> None:
        payment = paid(0, payment="p1")
        state = fold(
            USER,
            [started(), paid(0, payment="p0"), payment, refunded("p1", 1), refunded("p1", 2)],
            RULES,
        )
        assert state.until == at(28)


class TestReferrals:
    def test_first_start_fixes_the_referrer(self) -> None:
        state = fold(USER, [started(0, referrer=7), started(1, referrer=8)], RULES)
        assert state.referrer_id == 7

    def test_self_referral_is_refused(self) -> None:
        assert fold(USER, [started(0, referrer=USER)], RULES).referrer_id is None

    def test_each_paid_month_earns_the_referrer_bonus_days(self) -> None:
        payment = paid(1, months=3)
        outcome = fold(USER, [started(0, referrer=7), payment], RULES).outcomes[payment.event_id]
        assert (outcome.referrer_id, outcome.referral_days) == (7, 30)

    def test_payment_without_referrer_earns_nothing(self) -> None:
        payment = paid(1)
        assert (
            fold(USER, [started(0), payment], RULES).outcomes[payment.event_id].referrer_id is None
        )

    def test_referrer_is_credited_the_bonus(self) -> None:
        bonus = referral(day=5, invitee=2002, invitee_registered=1)
        state = fold(USER, [started(0), bonus], RULES)
        assert state.outcomes[bonus.event_id].effect is Effect.CREDITED
        assert state.until == at(15)
        assert state.referral_days_earned == 10

    def test_a_referral_cycle_earns_nothing(self) -> None:
        bonus = referral(day=5, invitee=2002, invitee_registered=1)
        state = fold(USER, [started(0, referrer=2002), bonus], RULES)
        assert state.outcomes[bonus.event_id].effect is Effect.REJECTED

    def test_a_referrer_who_registered_after_the_invitee_earns_nothing(self) -> None:
        bonus = referral(day=5, invitee=2002, invitee_registered=0)
        state = fold(USER, [started(1), bonus], RULES)
        assert state.outcomes[bonus.event_id].effect is Effect.REJECTED


class TestPurge:
    def test_purge_ends_access_and_the_next_start_gets_a_new_key(self) -> None:
        before = fold(USER, [started(0), paid(0)], RULES)
        after = fold(USER, [started(0), paid(0), purged(40), started(50)], RULES)
        assert before.key_id == key_id_for(USER, 0, RULES.key_secret)
        assert after.key_id == key_id_for(USER, 1, RULES.key_secret)
        assert before.key_id != key_id_for(USER, 0, b"another deployment's secret")
        assert after.until is None
        assert after.registered_at == at(50)

    def test_the_trial_stays_used_after_a_purge(self) -> None:
        again = trial(60)
        state = fold(USER, [started(0), trial(0), purged(40), started(50), again], RULES)
        assert state.outcomes[again.event_id].effect is Effect.IGNORED
