"""The owned users' wanted keys kept user by user: after any run of changes and passing
time, the same as deriving them afresh from every user, and every key that moved is
named for the check to compare."""

from __future__ import annotations

import uuid
from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from services.provisioner.domain.access import KeyState, UserAccess
from services.provisioner.domain.plan import Wanted, wanted_keys
from services.provisioner.domain.wanted_view import WantedView
from tests.unit.provisioner.builders import KEY, USER, at

USERS = range(USER, USER + 5)


def key_of(telegram_id: int, generation: int) -> uuid.UUID:
    return uuid.UUID(int=telegram_id * 10 + generation)


def owned(telegram_id: int) -> bool:
    return telegram_id % 2 == 0


hour = st.integers(min_value=0, max_value=96).map(lambda h: at(h / 24))


@st.composite
def accesses(draw: st.DrawFn) -> UserAccess:
    """A user's access, their keys their own (a key id belongs to one user)."""
    telegram_id = draw(st.sampled_from(USERS))
    current = draw(st.none() | st.integers(0, 3))
    retired = draw(st.frozensets(st.integers(0, 3), max_size=2)) - {current}
    return UserAccess(
        telegram_id,
        key_id=None if current is None else key_of(telegram_id, current),
        until=draw(st.none() | hour),
        lapsed_until=draw(st.none() | hour),
        retired_keys=frozenset(key_of(telegram_id, g) for g in retired),
        blocked=draw(st.booleans()),
    )


def afresh(
    book: dict[int, UserAccess], now: datetime
) -> tuple[dict[uuid.UUID, Wanted], set[uuid.UUID]]:
    mine = [a for a in book.values() if owned(a.telegram_id)]
    theirs = {
        key
        for a in book.values()
        if not owned(a.telegram_id)
        for key in (*a.retired_keys, *([] if a.key_id is None else [a.key_id]))
    }
    return wanted_keys(mine, now), theirs


@given(
    st.lists(accesses(), max_size=5),
    st.lists(st.tuples(st.lists(accesses(), max_size=3), st.integers(0, 48)), max_size=6),
)
def test_kept_user_by_user_it_is_what_deriving_afresh_gives(
    first: list[UserAccess], steps: list[tuple[list[UserAccess], int]]
) -> None:
    now = at(0)
    book = {a.telegram_id: a for a in first}
    view = WantedView(book.values(), owned, now)
    assert (view.wanted, set(view.theirs)) == afresh(book, now)
    for changed, hours in steps:
        before_wanted, before_theirs = dict(view.wanted), set(view.theirs)
        for access in changed:
            book[access.telegram_id] = access
        now = now + (at(hours / 24) - at(0))
        touched = view.refresh([a.telegram_id for a in changed], book.get, now)
        wanted, theirs = afresh(book, now)
        assert view.wanted == wanted
        assert set(view.theirs) == theirs
        moved = {
            key
            for key in wanted.keys() | before_wanted.keys()
            if wanted.get(key) != before_wanted.get(key)
        } | (theirs ^ before_theirs)
        assert moved <= touched


def test_a_key_whose_until_passes_is_named_without_any_change() -> None:
    access = UserAccess(USER * 2, key_id=KEY, until=at(2))
    view = WantedView([access], owned, at(1))
    assert view.refresh([], {access.telegram_id: access}.get, at(1.5)) == set()
    assert view.refresh([], {access.telegram_id: access}.get, at(2)) == {KEY}
    assert view.wanted[KEY].state is KeyState.DISABLED
