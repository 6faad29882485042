"""The notifier's own profile of a user, learnt from events in whatever order the topics
interleave (pure: no fixtures)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from itertools import permutations

from events import Event
from events import subscriptions as facts
from events.bot_actions import UserSeen, UserStarted
from services.notifier.domain.profiles import Profile, learn

USER, KEY = 7001, uuid.uuid4()
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def learnt(*events: tuple[Event, datetime]) -> Profile:
    profile = Profile(USER)
    for event, moment in events:
        profile = learn(profile, event, moment)
    return profile


def started(language: str | None) -> UserStarted:
    return UserStarted(telegram_id=USER, language_code=language)


def registered(language: str | None = "en") -> facts.UserRegistered:
    return facts.UserRegistered(telegram_id=USER, key_id=KEY, language_code=language)


def extended(until: datetime, revision: int | None) -> facts.SubscriptionExtended:
    return facts.SubscriptionExtended(
        telegram_id=USER,
        key_id=KEY,
        previous_until=None,
        until=until,
        revision=revision,
        reason=facts.ExtensionReason.PAYMENT,
    )


class TestLanguage:
    def test_the_latest_start_that_gave_one_wins_whatever_the_arrival_order(self) -> None:
        events = [(registered("en"), at(0)), (started("en"), at(0)), (started("ru"), at(1))]
        for order in permutations(events):
            assert learnt(*order).language_code == "ru"

    def test_a_start_without_a_language_keeps_the_known_one(self) -> None:
        assert learnt((registered("de"), at(0)), (started(None), at(1))).language_code == "de"

    def test_a_purge_forgets_it_unless_a_later_start_gave_it_again(self) -> None:
        purge = (facts.UserPurged(telegram_id=USER, key_id=KEY), at(5))
        assert learnt((started("en"), at(0)), purge).language_code is None
        for order in permutations([(started("en"), at(0)), purge, (started("ru"), at(6))]):
            assert learnt(*order).language_code == "ru"


class TestUntil:
    def test_every_fact_that_sets_the_end_moves_it(self) -> None:
        changes: list[Event] = [
            facts.TrialActivated(telegram_id=USER, key_id=KEY, until=at(3), revision=2),
            extended(at(33), 3),
            facts.SubscriptionShortened(
                telegram_id=USER,
                key_id=KEY,
                previous_until=at(33),
                until=at(20),
                reason="refund",
                revision=4,
            ),
            facts.ReferralBonusCredited(
                telegram_id=USER,
                invitee_id=USER + 1,
                payment_id="p",
                days=10,
                until=at(30),
                revision=5,
            ),
        ]
        profile = Profile(USER)
        for fact in changes:
            profile = learn(profile, fact, at(1))
            assert isinstance(
                fact,
                facts.TrialActivated
                | facts.SubscriptionExtended
                | facts.SubscriptionShortened
                | facts.ReferralBonusCredited,
            )
            assert profile.until == fact.until

    def test_the_newest_decision_wins_whatever_the_arrival_order(self) -> None:
        profile = learnt((extended(at(60), 7), at(2)), (extended(at(30), 5), at(1)))
        assert (profile.until, profile.revision) == (at(60), 7)

    def test_a_shortening_with_a_newer_revision_applies(self) -> None:
        profile = learnt((extended(at(60), 7), at(2)), (extended(at(10), 8), at(3)))
        assert profile.until == at(10)

    def test_a_fact_without_revision_applies_by_arrival(self) -> None:
        profile = learnt((extended(at(60), 7), at(2)), (extended(at(10), None), at(3)))
        assert (profile.until, profile.revision) == (at(10), 7)


class TestRegistration:
    def test_registered_from_registration_to_purge_and_again(self) -> None:
        purge = (facts.UserPurged(telegram_id=USER, key_id=KEY), at(200))
        assert learnt((registered(), at(0))).registered
        gone = learnt((registered(), at(0)), (extended(at(30), 2), at(1)), purge)
        assert (gone.registered, gone.until, gone.revision) == (False, None, 2)
        back = learn(gone, registered(), at(201))
        assert back.registered
        assert learn(back, extended(at(30), 2), at(1)).until is None  # older than the purge

    def test_the_same_events_again_change_nothing(self) -> None:
        events = ((registered(), at(0)), (started("ru"), at(1)), (extended(at(30), 2), at(1)))
        once = learnt(*events)
        assert learnt(*events, *events) == once

    def test_other_events_leave_it_as_it_is(self) -> None:
        profile = learnt((registered(), at(0)))
        assert learn(profile, UserSeen(telegram_id=USER), at(1)) is profile
