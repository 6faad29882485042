"""What to change on a node: drift repaired both ways, news announced once."""

from __future__ import annotations

import uuid
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.provisioner.domain.access import KeyState, UntilSet, UserAccess
from services.provisioner.domain.plan import (
    Action,
    Applied,
    Wanted,
    due_evictions,
    plan_node,
    record_view,
    wanted_keys,
)
from services.provisioner.domain.wanted_view import WantedView
from tests.unit.provisioner.builders import KEY, NEXT_KEY, USER, at, fold

STRANGER = uuid.UUID("00000000-0000-4000-8000-00000000beef")


def want(key: uuid.UUID, state: KeyState) -> dict[uuid.UUID, Wanted]:
    return {key: Wanted(key, USER, state, at(3))}


def applied(key: uuid.UUID, state: KeyState) -> dict[uuid.UUID, Applied]:
    return {key: Applied(key, state, "vless://link" if state is KeyState.ENABLED else None)}


class TestRepairs:
    def test_new_key_is_enabled_and_announced(self) -> None:
        [step] = plan_node(want(KEY, KeyState.ENABLED), {}, set())
        assert (step.action, step.announce) == (Action.ENABLE, True)

    def test_key_lost_by_the_node_is_enabled_again_without_news(self) -> None:
        [step] = plan_node(want(KEY, KeyState.ENABLED), applied(KEY, KeyState.ENABLED), set())
        assert (step.action, step.announce) == (Action.ENABLE, False)

    def test_lapsed_key_on_the_node_is_revoked_and_announced(self) -> None:
        recorded = applied(KEY, KeyState.ENABLED)
        [step] = plan_node(want(KEY, KeyState.DISABLED), recorded, {KEY})
        assert (step.action, step.announce) == (Action.REVOKE, True)

    def test_key_the_node_already_lost_is_only_recorded(self) -> None:
        recorded = applied(KEY, KeyState.ENABLED)
        [step] = plan_node(want(KEY, KeyState.DISABLED), recorded, set())
        assert (step.action, step.announce, step.calls_node) == (Action.RECORD, True, False)

    def test_disabled_key_purged_later_is_recorded_deleted(self) -> None:
        recorded = applied(KEY, KeyState.DISABLED)
        [step] = plan_node(want(KEY, KeyState.DELETED), recorded, set())
        assert step.action is Action.RECORD

    def test_key_nobody_owns_is_evicted_quietly(self) -> None:
        [step] = plan_node({}, {}, {STRANGER})
        assert (step.action, step.announce) == (Action.EVICT, False)

    def test_a_node_in_line_needs_nothing(self) -> None:
        assert plan_node(want(KEY, KeyState.ENABLED), applied(KEY, KeyState.ENABLED), {KEY}) == []
        assert plan_node(want(KEY, KeyState.DISABLED), {}, set()) == []

    def test_revocations_come_before_enablings(self) -> None:
        wanted = want(KEY, KeyState.ENABLED) | want(NEXT_KEY, KeyState.DISABLED)
        steps = plan_node(wanted, {}, {NEXT_KEY, STRANGER})
        assert [s.action for s in steps] == [Action.REVOKE, Action.EVICT, Action.ENABLE]

    def test_the_record_view_is_what_the_record_says_is_enabled(self) -> None:
        recorded = applied(KEY, KeyState.ENABLED) | applied(NEXT_KEY, KeyState.DISABLED)
        assert record_view(recorded) == {KEY}


def test_wanted_keys_carry_the_owner_and_until() -> None:
    access = fold(UntilSet(at(3), KEY))
    assert wanted_keys([access, UserAccess(7)], at(1)) == {
        KEY: Wanted(KEY, USER, KeyState.ENABLED, at(3), access.last_cause)
    }


def test_unknown_keys_are_evicted_after_the_grace_only() -> None:
    grace = timedelta(seconds=60)
    due, seen = due_evictions({STRANGER}, {}, at(0), grace)
    assert (due, seen) == (set(), {STRANGER: at(0)})
    due, seen = due_evictions({STRANGER}, seen, at(0) + grace, grace)
    assert due == {STRANGER}
    assert due_evictions(set(), seen, at(1), grace) == (set(), {})


keys = st.sampled_from([uuid.UUID(int=i) for i in range(1, 7)])
states = st.sampled_from(list(KeyState))


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(keys, states),
    st.dictionaries(keys, states),
    st.sets(keys),
)
def test_one_plan_converges_and_a_second_finds_nothing(
    wanted_states: dict[uuid.UUID, KeyState],
    recorded_states: dict[uuid.UUID, KeyState],
    on_node: set[uuid.UUID],
) -> None:
    wanted = {k: Wanted(k, USER, s, at(3)) for k, s in wanted_states.items()}
    recorded = {k: Applied(k, s) for k, s in recorded_states.items()}
    node = set(on_node)
    for step in plan_node(wanted, recorded, node):
        if step.action is Action.ENABLE:
            node.add(step.key_id)
        elif step.action in (Action.REVOKE, Action.EVICT):
            node.discard(step.key_id)
        if step.wanted is not None:
            recorded[step.key_id] = Applied(step.key_id, step.wanted.state)
    assert node == {k for k, s in wanted_states.items() if s is KeyState.ENABLED}
    assert plan_node(wanted, recorded, node) == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.uuids(version=4), st.booleans(), st.booleans(), st.booleans()),
        max_size=12,
        unique_by=lambda user: user[0],
    ),
    st.sets(st.uuids(version=4), max_size=3),
)
def test_two_instances_each_touch_only_their_users_keys_and_together_converge(
    users: list[tuple[uuid.UUID, bool, bool, bool]], strangers: set[uuid.UUID]
) -> None:
    """Users are (key, active, purged, owned by instance A); the node has every key."""
    accesses = []
    for n, (key, active, purged, _) in enumerate(users):
        until = at(3) if active else at(-1)
        access = UserAccess(USER + n, key_id=key, until=until)
        if purged:
            access = UserAccess(USER + n, retired_keys=frozenset({key}), until=until)
        accesses.append(access)
    in_a = {USER + n for n, user in enumerate(users) if user[3]}
    node = {key for key, *_ in users} | strangers
    touched: dict[uuid.UUID, str] = {}
    for name, owned in (("a", in_a.__contains__), ("b", lambda t: t not in in_a)):
        view = WantedView(accesses, owned, at())
        assert all(owned(wanted.telegram_id) for wanted in view.wanted.values())
        assert all(not owned(telegram_id) for telegram_id in view.theirs.values())
        for step in plan_node(view.wanted, {}, node - view.theirs.keys()):
            if step.action is Action.EVICT:
                continue  # the node's duty, not a user's
            assert step.key_id not in touched, "a key planned by both instances"
            touched[step.key_id] = name
            if step.action is Action.ENABLE:
                node.add(step.key_id)
            elif step.action is Action.REVOKE:
                node.discard(step.key_id)
    for key, active, purged, owned_by_a in users:
        assert (key in node) == (active and not purged)
        if key in touched:
            assert touched[key] == ("a" if owned_by_a else "b")
