"""The flat-cost benchmark's seeding and counting: users stored as the subscription
service stores them, the same payment shape at every size, handling time read right."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from pydantic import SecretStr

from bench.flat_cost import FIRST_USER, handled, payments_for, stored_user
from services.subscription.adapters.users import _ENTRIES, read_model
from services.subscription.config import SubscriptionSettings
from services.subscription.domain.fold import fold

RULES = SubscriptionSettings(key_secret=SecretStr("k" * 40)).rules()
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_a_stored_user_folds_back_to_its_own_read_model() -> None:
    user, payment, lapse, inactive = stored_user(FIRST_USER + 7, NOW, RULES)
    state = fold(FIRST_USER + 7, _ENTRIES.validate_python(user["entries"]), RULES)
    assert {k: user[k] for k in read_model(state)} == read_model(state)
    assert state.until is not None
    assert state.until > NOW
    assert state.trial_used
    assert payment["telegram_id"] == lapse["telegram_id"] == FIRST_USER + 7
    assert inactive["telegram_id"] == FIRST_USER + 7
    assert lapse["at"] == state.until
    assert inactive["at"] > state.until  # a paid user qualifies for cleanup long after
    assert user["outbox"] == []


def test_every_size_gets_two_payments_each_for_the_same_number_of_stored_users() -> None:
    for users in (1_000, 100_000):
        events = payments_for(users, 2_000, NOW)
        payers = Counter(e.payload.telegram_id for e in events)
        assert len(payers) == 1_000
        assert set(payers.values()) == {2}
        assert all(FIRST_USER <= p < FIRST_USER + users for p in payers)
        first_round = [e.payload.telegram_id for e in events[:1_000]]
        assert len(set(first_round)) == 1_000


def test_handling_time_is_summed_for_the_one_event_type() -> None:
    page = "\n".join(
        [
            "# TYPE keyland_event_handling_seconds histogram",
            'keyland_event_handling_seconds_count{consumer="c",type="PaymentSucceeded"} 4.0',
            'keyland_event_handling_seconds_sum{consumer="c",type="PaymentSucceeded"} 0.5',
            'keyland_event_handling_seconds_count{consumer="c",type="UserStarted"} 9.0',
            'keyland_event_handling_seconds_sum{consumer="c",type="UserStarted"} 3.0',
        ]
    )
    assert handled(page + "\n", "PaymentSucceeded") == (4.0, 0.5)
