"""Properties of the recorded access: redelivery and replay change nothing, stale expiries
never take access away, a purged key is never enabled."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from services.provisioner.domain.access import (
    Blocked,
    Cause,
    Change,
    KeySeen,
    KeyState,
    Lapsed,
    Purged,
    RegionPicked,
    UntilSet,
    UserAccess,
    record,
)
from tests.unit.provisioner.builders import KEY, NEXT_KEY, USER, at, cause

key = st.sampled_from([KEY, NEXT_KEY])
moment = st.integers(min_value=0, max_value=60).map(at)
change: st.SearchStrategy[Change] = st.one_of(
    st.builds(KeySeen, key),
    st.builds(UntilSet, moment, st.none() | key),
    st.builds(Lapsed, key, moment),
    st.builds(Purged, key),
    st.builds(RegionPicked, st.sampled_from(["finland", "germany"])),
    st.builds(Blocked, st.booleans(), st.integers(0, 20)),
)
events = st.lists(st.builds(lambda c: (cause(), c), change), min_size=1, max_size=12)
nows = [at(day + 0.5) for day in range(-1, 62, 3)]


def fold(delivered: list[tuple[Cause, Change]]) -> UserAccess:
    access = UserAccess(USER)
    for event_cause, event_change in delivered:
        access = record(access, event_change, event_cause)
    return access


def observable(access: UserAccess) -> tuple[object, ...]:
    return (*(access.desired(now) for now in nows), access.region, access.seen)


@settings(max_examples=300, deadline=None)
@given(events, st.data())
def test_redelivered_events_change_nothing(
    sent: list[tuple[Cause, Change]], data: st.DataObject
) -> None:
    delivered = []
    for index, event in enumerate(sent):
        delivered.append(event)
        repeats = data.draw(st.lists(st.integers(0, index), max_size=2))
        delivered += [sent[i] for i in repeats]
    assert observable(fold(delivered)) == observable(fold(sent))


@settings(max_examples=200, deadline=None)
@given(events)
def test_a_replayed_topic_changes_nothing(sent: list[tuple[Cause, Change]]) -> None:
    assert fold(sent + sent) == fold(sent)


@settings(max_examples=300, deadline=None)
@given(events, st.integers(1, 60))
def test_a_stale_expiry_never_takes_access_away(
    sent: list[tuple[Cause, Change]], earlier_by: int
) -> None:
    access = fold(sent)
    if access.key_id is None or access.until is None:
        return
    stale = Lapsed(access.key_id, access.until - (at(earlier_by) - at(0)))
    assert access.ignores(stale)
    after = record(access, stale, cause())
    assert [after.active_at(now) for now in nows] == [access.active_at(now) for now in nows]


@settings(max_examples=300, deadline=None)
@given(events)
def test_expiry_of_the_known_until_ends_access(sent: list[tuple[Cause, Change]]) -> None:
    access = fold(sent)
    if access.key_id is None or access.until is None:
        return
    after = record(access, Lapsed(access.key_id, access.until), cause())
    assert not any(after.active_at(now) for now in nows)


@settings(max_examples=300, deadline=None)
@given(events)
def test_purged_keys_stay_deleted_and_one_key_at_most_is_live(
    sent: list[tuple[Cause, Change]],
) -> None:
    access = fold(sent)
    for now in nows:
        desired = access.desired(now)
        assert all(desired[k] is KeyState.DELETED for k in access.retired_keys)
        assert sum(state is not KeyState.DELETED for state in desired.values()) <= 1


def _run(final: datetime, size: int) -> st.SearchStrategy[list[tuple[int, datetime]]]:
    """One run of the subscription service: its decisions about ``until`` in revision
    order (one per revision), the last one (the full ledger, revision ``size``) carrying
    ``final``."""
    earlier = st.lists(st.tuples(st.integers(1, max(size - 1, 1)), moment), max_size=size - 1)
    return earlier.map(lambda decided: [*sorted(dict(decided).items()), (size, final)])


@settings(max_examples=300, deadline=None)
@given(moment, st.integers(1, 8), st.data())
def test_any_arrival_of_two_runs_decisions_ends_on_the_final_until(
    final: datetime, size: int, data: st.DataObject
) -> None:
    """The original run and a rebuild (its stale decisions from partial ledgers with lower
    revisions, its final one possibly under an id the original used), delivered in any
    order and redelivered, leave the same access as the original run alone."""
    original: list[tuple[Cause, Change]] = [
        (cause(), UntilSet(u, KEY, r)) for r, u in data.draw(_run(final, size))
    ]
    rebuild: list[tuple[Cause, Change]] = [
        (cause(), UntilSet(u, KEY, r)) for r, u in data.draw(_run(final, size))
    ]
    reused = data.draw(st.lists(st.integers(0, len(original) - 1), max_size=2))
    for position in reused:  # a rebuild decision under an id the original used
        index = data.draw(st.integers(0, len(rebuild) - 1))
        rebuild[index] = (original[position][0], rebuild[index][1])
    registered: list[tuple[Cause, Change]] = [(cause(), KeySeen(KEY))]
    mixed = data.draw(st.permutations(registered + original + rebuild + original))
    alone, everything = fold(registered + original), fold(mixed)
    assert (everything.until, everything.key_id) == (alone.until, alone.key_id) == (final, KEY)
    assert everything.revision == alone.revision == size
    assert [everything.desired(now) for now in nows] == [alone.desired(now) for now in nows]
