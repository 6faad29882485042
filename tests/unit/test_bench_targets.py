"""The issue's targets as ``make bench`` judges them."""

from __future__ import annotations

from bench.targets import fault_drill, notifier, payment_to_key, stars_to_key
from tests.faults import Summary


def marks(key_s: float, messaged_s: float, count: int = 100) -> dict[int, dict[str, float]]:
    return {n: {"paid": 0.0, "usable": key_s, "messaged": messaged_s} for n in range(count)}


def test_payment_to_key_passes_within_the_limits_and_messages_at_telegrams_pace() -> None:
    assert [t.met for t in payment_to_key(marks(0.12, 3.0))] == [True, True, True]


def test_payment_to_key_misses_a_slow_key_and_a_late_message() -> None:
    assert [t.met for t in payment_to_key(marks(0.6, 4.0))] == [False, False, False]


def test_a_user_never_messaged_is_a_miss() -> None:
    partial = marks(0.1, 1.0)
    del partial[3]["messaged"]
    assert payment_to_key(partial)[-1].met is False


def test_stars_payment_to_key_passes_within_one_and_a_half_times_yookassas_p99() -> None:
    yookassa = marks(0.4, 3.0)
    assert stars_to_key(marks(0.6, 3.0), yookassa)[0].met is True
    assert stars_to_key(marks(0.61, 3.0), yookassa)[0].met is False


def test_a_stars_key_never_usable_is_a_miss() -> None:
    partial = marks(0.1, 1.0)
    del partial[7]["usable"]
    assert stars_to_key(partial, marks(0.4, 3.0))[0].met is False
    assert stars_to_key({}, marks(0.4, 3.0))[0].met is False


def test_broadcast_pace_must_stay_under_the_ceiling_and_near_it() -> None:
    assert [t.met for t in notifier(28.6, [100.0, 200.0])] == [True, True]
    assert notifier(25.0, [100.0])[0].met is False
    assert notifier(28.6, [5000.0])[1].met is False


def test_the_fault_drill_must_hold_and_finish_in_time() -> None:
    assert fault_drill(Summary(payments=10_000, total_s=800))[0].met is True
    assert fault_drill(Summary(payments=10_000, total_s=1000))[0].met is False
    assert fault_drill(Summary(payments=2_000, total_s=120, problems=["x"]))[0].met is False
