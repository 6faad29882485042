"""The bot reports a user as seen at most once per interval, whatever they send."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from services.bot.domain.seen import SeenPace

EVERY_S = 60.0


def played(pace: SeenPace, updates: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Updates (user, monotonic time, in time order) through ``pace``: the reports."""
    reports = []
    for user, now in updates:
        if pace.due(user, now):
            pace.reported(user, now)
            reports.append((user, now))
    return reports


updates = st.lists(
    st.tuples(st.integers(1, 5), st.floats(0, 1000, allow_nan=False)), max_size=60
).map(lambda found: sorted(found, key=lambda update: update[1]))


@given(updates)
def test_reports_of_one_user_are_an_interval_apart_and_each_user_is_reported(
    sent: list[tuple[int, float]],
) -> None:
    reports = played(SeenPace(EVERY_S), sent)
    for user in {u for u, _ in sent}:
        times = [t for u, t in reports if u == user]
        assert times, "a user who wrote is reported"
        assert all(later - earlier >= EVERY_S for earlier, later in itertools.pairwise(times))
        # Nothing is held back longer than the interval: every update of the user lies
        # within EVERY_S after some report.
        assert all(any(0 <= t - r < EVERY_S for r in times) for u, t in sent if u == user)


def test_a_user_is_reported_again_once_the_interval_passed() -> None:
    assert played(SeenPace(EVERY_S), [(7, 0.0), (7, 59.9), (7, 60.0)]) == [(7, 0.0), (7, 60.0)]


def test_an_unreported_update_leaves_the_user_due() -> None:
    pace = SeenPace(EVERY_S)
    assert pace.due(7, 0.0)
    assert pace.due(7, 1.0), "nothing reached Kafka yet"


def test_memory_is_bounded_by_forgetting_the_oldest() -> None:
    pace = SeenPace(EVERY_S, remember=4)
    played(pace, [(user, 0.0) for user in range(1, 6)])
    assert pace.due(1, 1.0), "the oldest was forgotten"
    assert not pace.due(5, 1.0), "the newest is remembered"


def test_a_claim_holds_off_a_concurrent_update_and_a_failed_one_is_given_back() -> None:
    pace = SeenPace(EVERY_S)
    assert pace.claim(7, 0.0)
    assert not pace.claim(7, 0.1), "the first is still being published: one report"
    pace.unclaim(7, 0.0)  # it did not reach Kafka
    assert pace.claim(7, 0.2)
    pace.unclaim(7, 0.0)  # a stale give-back leaves the later report alone
    assert not pace.due(7, 0.3)
