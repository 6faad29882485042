"""What each fact puts in a user's inbox, and when (pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from events import Envelope, Event
from events.admin_commands import TestNotificationRequested
from events.payments import PaymentCanceled, RenewalDeclined
from events.subscriptions import (
    AdjustmentRejected,
    ExtensionReason,
    PromoCodeRefused,
    PromoRefusal,
    SubscriptionExtended,
    SubscriptionShortened,
    TrialActivated,
    UserBlockChanged,
)
from services.notifier.domain.notices import Kind, Notice, days_left, still_relevant
from services.notifier.domain.planning import plan

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
KEY = uuid.uuid4()
REMINDERS = [timedelta(days=3), timedelta(days=1)]


def at(event: Event, moment: datetime = NOW) -> Envelope[Event]:
    return Envelope.new(event, producer="tests", occurred_at=moment)


def extended(
    until: datetime, reason: ExtensionReason = ExtensionReason.PAYMENT, first: bool = False
) -> Envelope[Event]:
    return at(
        SubscriptionExtended(
            telegram_id=5,
            key_id=KEY,
            previous_until=None,
            until=until,
            reason=reason,
            first_purchase=first,
        )
    )


class TestPeriods:
    def test_a_month_gets_two_reminders_and_the_expiry_notice(self) -> None:
        until = NOW + timedelta(days=30)
        period = [n for n in plan(extended(until), REMINDERS, []) if n.period_until]
        assert [(n.kind, n.due) for n in period] == [
            (Kind.REMINDER, until - timedelta(days=3)),
            (Kind.REMINDER, until - timedelta(days=1)),
            (Kind.EXPIRED, until),
        ]

    def test_a_three_day_trial_skips_the_reminder_already_past(self) -> None:
        until = NOW + timedelta(days=2)
        kinds = [
            n.kind
            for n in plan(at(TrialActivated(telegram_id=5, key_id=KEY, until=until)), REMINDERS, [])
        ]
        assert kinds == [Kind.TRIAL, Kind.REMINDER, Kind.EXPIRED]

    def test_same_period_same_ids_new_period_new_ids(self) -> None:
        until = NOW + timedelta(days=30)
        first = {n.id for n in plan(extended(until), REMINDERS, []) if n.period_until}
        again = {n.id for n in plan(extended(until), REMINDERS, []) if n.period_until}
        renewed = {
            n.id
            for n in plan(extended(until + timedelta(days=30)), REMINDERS, [])
            if n.period_until
        }
        assert first == again
        assert not first & renewed

    def test_redelivered_event_plans_the_same_immediate_notice(self) -> None:
        envelope = extended(NOW + timedelta(days=30))
        assert plan(envelope, REMINDERS, []) == plan(envelope, REMINDERS, [])


def shortened(until: datetime, reason: str = "admin") -> Envelope[Event]:
    return at(
        SubscriptionShortened(
            telegram_id=5,
            key_id=KEY,
            previous_until=NOW + timedelta(days=30),
            until=until,
            reason=reason,
        )
    )


class TestShortenings:
    def test_an_admin_cut_into_a_reminder_window_reminds_at_once(self) -> None:
        until = NOW + timedelta(days=2)
        notices = plan(shortened(until), REMINDERS, [])
        assert [(n.kind, n.due) for n in notices] == [
            (Kind.REMINDER, NOW),
            (Kind.REMINDER, until - timedelta(days=1)),
            (Kind.EXPIRED, until),
        ]

    def test_a_cut_inside_every_window_reminds_once_for_the_tightest(self) -> None:
        until = NOW + timedelta(hours=12)
        reminders = [n for n in plan(shortened(until), REMINDERS, []) if n.kind is Kind.REMINDER]
        assert [(n.id.split(":")[2], n.due) for n in reminders] == [("86400", NOW)]

    def test_a_cut_far_from_the_end_keeps_the_usual_reminders(self) -> None:
        until = NOW + timedelta(days=10)
        assert [n.due for n in plan(shortened(until), REMINDERS, [])] == [
            until - timedelta(days=3),
            until - timedelta(days=1),
            until,
        ]

    def test_a_cut_to_now_only_announces_the_end(self) -> None:
        assert [(n.kind, n.due) for n in plan(shortened(NOW), REMINDERS, [])] == [
            (Kind.EXPIRED, NOW)
        ]

    def test_a_refund_tells_the_new_end_without_an_extra_reminder(self) -> None:
        notices = plan(shortened(NOW + timedelta(days=2), "refund"), REMINDERS, [])
        assert [n.kind for n in notices] == [Kind.REFUND, Kind.REMINDER, Kind.EXPIRED]
        assert notices[1].due == NOW + timedelta(days=1)


class TestImmediate:
    def test_first_purchase_asks_for_a_region(self) -> None:
        notices = plan(
            extended(NOW + timedelta(days=30), first=True), REMINDERS, ["finland", "germany"]
        )
        assert notices[0].kind is Kind.FIRST_PAYMENT
        assert notices[0].buttons == (("region", "finland"), ("region", "germany"))

    def test_renewal_says_keys_work_again(self) -> None:
        assert plan(extended(NOW + timedelta(days=30)), REMINDERS, [])[0].kind is Kind.RENEWAL

    def test_referral_extension_has_no_message_of_its_own(self) -> None:
        notices = plan(extended(NOW + timedelta(days=30), ExtensionReason.REFERRAL), REMINDERS, [])
        assert all(n.period_until for n in notices)

    def test_canceled_payment_tells_what_to_do(self) -> None:
        notices = plan(at(PaymentCanceled(telegram_id=5, payment_id="p")), REMINDERS, [])
        assert [(n.kind, n.buttons) for n in notices] == [(Kind.CANCELED, (("menu", "buy"),))]

    def test_a_declined_renewal_is_told_once_with_a_pay_button(self) -> None:
        end = NOW + timedelta(days=1)
        told = [
            plan(at(RenewalDeclined(telegram_id=5, payment_id=f"p{n}", period_end=end, attempt=n)),
                 REMINDERS, [])
            for n in range(4)
        ]  # fmt: skip
        assert [[(n.kind, n.buttons) for n in notices] for notices in told] == [
            [(Kind.RENEWAL_DECLINED, (("menu", "buy"),))],
            [],
            [],
            [],
        ]
        assert told[0][0].values["until"] == "28.11.2026 12:00 UTC"

    def test_a_block_and_its_lifting_are_told_once_each(self) -> None:
        block = at(UserBlockChanged(telegram_id=5, blocked=True, revision=3))
        lift = at(UserBlockChanged(telegram_id=5, blocked=False, revision=4))
        [suspended] = plan(block, REMINDERS, [])
        [restored] = plan(lift, REMINDERS, [])
        assert (suspended.kind, suspended.telegram_id) == (Kind.SUSPENDED, 5)
        assert restored.kind is Kind.RESTORED
        assert restored.buttons == (("menu", "connect"), ("menu", "profile"))
        assert plan(block, REMINDERS, []) == [suspended]  # redelivered: the same notice id

    def test_rejected_adjustment_goes_to_the_admin(self) -> None:
        notices = plan(
            at(AdjustmentRejected(telegram_id=5, admin_id=42, reason="too far")), REMINDERS, []
        )
        assert [(n.telegram_id, n.values["reason"]) for n in notices] == [(42, "too far")]

    def test_a_promo_extension_says_the_code_was_applied(self) -> None:
        notices = plan(extended(NOW + timedelta(days=14), ExtensionReason.PROMO), REMINDERS, [])
        assert notices[0].kind is Kind.PROMO

    def test_a_refused_promo_code_tells_the_user_why(self) -> None:
        kinds = {
            reason: [
                (n.telegram_id, n.kind, n.values["code"])
                for n in plan(
                    at(PromoCodeRefused(telegram_id=5, code="WINTER", reason=reason)), REMINDERS, []
                )
            ]
            for reason in PromoRefusal
        }
        assert kinds == {
            PromoRefusal.UNKNOWN: [(5, Kind.PROMO_UNKNOWN, "WINTER")],
            PromoRefusal.EXPIRED: [(5, Kind.PROMO_EXPIRED, "WINTER")],
            PromoRefusal.USED_UP: [(5, Kind.PROMO_USED_UP, "WINTER")],
            PromoRefusal.ALREADY_USED: [(5, Kind.PROMO_ALREADY_USED, "WINTER")],
            PromoRefusal.OWN_GIFT: [(5, Kind.GIFT_OWN, "WINTER")],
        }

    def test_a_refused_gift_link_is_told_in_the_words_of_gifts(self) -> None:
        kinds = {
            reason: [
                n.kind
                for n in plan(
                    at(PromoCodeRefused(telegram_id=5, code="K7Q2", reason=reason, gift=True)),
                    REMINDERS,
                    [],
                )
            ]
            for reason in PromoRefusal
        }
        assert kinds == {
            PromoRefusal.UNKNOWN: [Kind.GIFT_UNKNOWN],
            PromoRefusal.EXPIRED: [Kind.GIFT_UNKNOWN],
            PromoRefusal.USED_UP: [Kind.GIFT_CLAIMED],
            PromoRefusal.ALREADY_USED: [Kind.GIFT_CLAIMED],
            PromoRefusal.OWN_GIFT: [Kind.GIFT_OWN],
        }

    def test_a_gift_extension_says_a_gift_was_received(self) -> None:
        notices = plan(extended(NOW + timedelta(days=30), ExtensionReason.GIFT), REMINDERS, [])
        assert notices[0].kind is Kind.GIFT

    def test_test_notification_is_due_after_its_delay(self) -> None:
        request = TestNotificationRequested(telegram_id=5, admin_id=42, delay_seconds=30, text="hi")
        assert [n.due for n in plan(at(request), REMINDERS, [])] == [NOW + timedelta(seconds=30)]


class TestSendTime:
    notice = Notice("n", 5, Kind.REMINDER, NOW, period_until=NOW + timedelta(days=1))

    def test_unchanged_period_is_sent(self) -> None:
        assert still_relevant(self.notice, NOW + timedelta(days=1), NOW) is None

    def test_renewed_user_is_skipped(self) -> None:
        assert still_relevant(self.notice, NOW + timedelta(days=31), NOW) is not None

    def test_expiry_notice_waits_for_the_end(self) -> None:
        expired = Notice("e", 5, Kind.EXPIRED, NOW, period_until=NOW + timedelta(hours=1))
        assert still_relevant(expired, NOW + timedelta(hours=1), NOW) == "access has not ended yet"

    def test_days_left_rounds_up(self) -> None:
        assert days_left(NOW + timedelta(hours=23), NOW) == 1
        assert days_left(NOW + timedelta(days=2, minutes=1), NOW) == 3
