"""Only the user's own /start registers them; money for someone who never started the
bot is held as their credit and applied by that /start (pure: no fixtures)."""

from __future__ import annotations

from datetime import timedelta

from events import Event
from events.subscriptions import (
    AdjustmentRejected,
    CreditHeld,
    ExtensionReason,
    ReferralBonusEarned,
    SubscriptionExtended,
    UserRegistered,
)
from services.subscription.domain.facts import facts_for
from services.subscription.domain.fold import fold
from services.subscription.domain.ledger import Entry
from services.subscription.domain.state import Effect
from tests.unit.subscription.builders import (
    adjusted,
    at,
    paid,
    provisioned,
    purged,
    referral,
    refunded,
    started,
    trial,
)
from tests.unit.subscription.test_fold import RULES, USER


def facts(ledger: list[Entry], entry: Entry) -> list[Event]:
    return facts_for(entry, fold(USER, ledger, RULES), fold(USER, [*ledger, entry], RULES), 1)


class TestPaymentBeforeStart:
    def test_payment_for_an_id_that_never_started_is_held_not_registered(self) -> None:
        payment = paid(day=0, months=12, payment="p1")
        state = fold(USER, [payment], RULES)
        assert not state.registered
        assert state.until is None
        assert state.purchases == 0
        assert set(state.held) == {"p1"}
        assert state.outcomes[payment.event_id].effect is Effect.HELD

    def test_held_payment_tells_the_owner_and_nothing_else(self) -> None:
        told = facts([], paid(day=0, months=3, payment="p1"))
        assert [type(f) for f in told] == [CreditHeld]
        assert isinstance(told[0], CreditHeld)
        assert (told[0].payment_id, told[0].months) == ("p1", 3)

    def test_own_start_applies_the_held_credit_from_the_registration(self) -> None:
        payment, start = paid(day=0, months=1, payment="p1"), started(day=10)
        state = fold(USER, [payment, start], RULES)
        assert state.registered
        assert state.registered_at == at(10)
        assert state.until == at(10).replace(month=3, day=10)  # 10 Feb + 1 month
        assert state.purchases == 1
        assert not state.held

    def test_the_registration_publishes_registration_then_a_paid_extension(self) -> None:
        told = facts([paid(day=0, payment="p1")], started(day=2))
        assert [type(f) for f in told] == [UserRegistered, SubscriptionExtended]
        extended = told[1]
        assert isinstance(extended, SubscriptionExtended)
        assert extended.reason is ExtensionReason.PAYMENT
        assert (extended.payment_id, extended.first_purchase) == ("p1", True)

    def test_held_credit_earns_the_referrer_once_applied(self) -> None:
        told = facts([paid(day=0, months=2, payment="p1")], started(day=1, referrer=7))
        earned = [f for f in told if isinstance(f, ReferralBonusEarned)]
        assert [(e.telegram_id, e.payment_id, e.days) for e in earned] == [(7, "p1", 20)]

    def test_a_start_arriving_after_a_later_payment_tells_a_paid_extension(self) -> None:
        # the payment was made after the /start, but its topic came first: held, then
        # credited from its own time once the /start is known
        told = facts([paid(day=3, payment="p1")], started(day=2, referrer=7))
        assert [type(f) for f in told] == [
            UserRegistered,
            ReferralBonusEarned,
            SubscriptionExtended,
        ]
        extended = told[2]
        assert isinstance(extended, SubscriptionExtended)
        assert extended.reason is ExtensionReason.PAYMENT
        assert (extended.payment_id, extended.first_purchase) == ("p1", True)

    def test_refunded_before_start_is_not_applied(self) -> None:
        ledger: list[Entry] = [paid(day=0, payment="p1"), refunded("p1", day=1), started(day=2)]
        state = fold(USER, ledger, RULES)
        assert state.registered
        assert state.until is None
        assert not state.held

    def test_half_refunded_before_start_applies_half(self) -> None:
        ledger: list[Entry] = [paid(day=0, payment="p1"), refunded("p1", 1, "99.50"), started(2)]
        state = fold(USER, ledger, RULES)
        full = fold(USER, [paid(day=0, payment="p1"), started(day=2)], RULES)
        assert state.until is not None
        assert full.until is not None
        assert state.until - at(2) == (full.until - at(2)) / 2


class TestNothingButStartRegisters:
    def test_trial_adjustment_and_referral_register_nobody(self) -> None:
        state = fold(USER, [trial(0), adjusted(1, days=5), referral(2, 8, 1)], RULES)
        assert not state.registered
        assert state.until is None
        assert state.referral_days_earned == 0

    def test_referral_bonus_for_an_unregistered_referrer_earns_nothing_later(self) -> None:
        bonus = referral(day=1, invitee=8, invitee_registered=0)
        state = fold(USER, [bonus, started(day=5)], RULES)
        assert state.outcomes[bonus.event_id].effect is Effect.IGNORED
        assert state.until is None
        assert state.referral_days_earned == 0

    def test_someone_referred_to_before_starting_keeps_their_own_referrer(self) -> None:
        ledger: list[Entry] = [referral(1, invitee=8, invitee_registered=0), started(3, referrer=9)]
        assert fold(USER, ledger, RULES).referrer_id == 9

    def test_admin_adjustment_for_an_unregistered_id_is_rejected_with_the_reason(self) -> None:
        adjustment = adjusted(0, days=5)
        outcome = fold(USER, [adjustment], RULES).outcomes[adjustment.event_id]
        assert outcome.effect is Effect.REJECTED
        assert "not started" in outcome.reason


class TestAccountAnAdminCreated:
    def test_the_grant_waits_for_the_first_start_and_registers_nobody(self) -> None:
        grant = provisioned(day=0, days=30)
        state = fold(USER, [grant], RULES)
        assert not state.registered
        assert state.until is None
        assert state.provisioned_at == at(0)
        assert state.grant_pending
        assert state.outcomes[grant.event_id].effect is Effect.HELD
        assert facts([], grant) == []

    def test_the_first_start_applies_the_grant_from_the_registration(self) -> None:
        grant, start = provisioned(day=0, months=1, days=2), started(day=10)
        state = fold(USER, [grant, start], RULES)
        assert state.registered_at == at(10)
        assert state.until == at(10).replace(month=3, day=12)  # 10 Feb + 1 month + 2 days
        assert not state.grant_pending
        assert state.purchases == 0  # a gift, not a sale

    def test_the_registration_tells_an_admin_extension_not_a_purchase(self) -> None:
        told = facts([provisioned(day=0, days=7)], started(day=1))
        assert [type(f) for f in told] == [UserRegistered, SubscriptionExtended]
        extended = told[1]
        assert isinstance(extended, SubscriptionExtended)
        assert extended.reason is ExtensionReason.ADMIN
        assert not extended.first_purchase
        assert extended.until == at(8)

    def test_held_credit_and_a_grant_both_apply_at_the_start(self) -> None:
        ledger: list[Entry] = [paid(day=0, months=1, payment="p1"), provisioned(day=1, days=5)]
        state = fold(USER, [*ledger, started(day=10)], RULES)
        assert state.until == at(10).replace(month=3, day=10) + timedelta(days=5)
        assert state.purchases == 1

    def test_for_a_registered_user_the_grant_applies_at_once(self) -> None:
        grant = provisioned(day=3, days=10)
        state = fold(USER, [started(day=0), grant], RULES)
        assert state.until == at(13)
        assert state.outcomes[grant.event_id].effect is Effect.EXTENDED

    def test_a_grant_past_the_horizon_is_rejected_with_the_reason(self) -> None:
        grant = provisioned(day=0, months=120)
        state = fold(USER, [grant, started(day=1)], RULES)
        assert state.until is None
        told = facts([], grant)
        assert [type(f) for f in told] == [AdjustmentRejected]

    def test_deleting_the_account_before_the_start_drops_the_grant_not_held_money(self) -> None:
        ledger: list[Entry] = [
            paid(day=0, payment="p1"),
            provisioned(day=0, days=30),
            purged(day=1),
        ]
        state = fold(USER, [*ledger, started(day=2)], RULES)
        assert state.purchases == 1
        assert state.until == at(2).replace(month=3, day=2)  # the month paid, no 30 days
