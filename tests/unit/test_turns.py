"""Turn arithmetic: every moment falls in one term, terms follow each other without gaps,
and a holder asks for the next term only in the second half of its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyland.turns import asks_ahead, term_of

moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
terms = st.integers(min_value=1, max_value=3600).map(lambda s: timedelta(seconds=s))


@given(moments, moments, terms)
def test_later_moments_never_fall_in_earlier_terms(
    a: datetime, b: datetime, term: timedelta
) -> None:
    early, late = sorted((a, b))
    assert term_of(early, term) <= term_of(late, term)


@given(moments, terms)
def test_a_term_later_is_the_next_term(now: datetime, term: timedelta) -> None:
    assert term_of(now + term, term) == term_of(now, term) + 1


@given(moments, terms)
def test_a_holder_asks_ahead_in_the_second_half_of_its_term_only(
    now: datetime, term: timedelta
) -> None:
    number = term_of(now, term)
    start = now - (now - datetime(1970, 1, 1, tzinfo=UTC)) % term
    assert term_of(start, term) == number
    assert not asks_ahead(start, term)
    assert asks_ahead(start + term / 2, term)
    assert asks_ahead(now, term) == (now - start >= term / 2)


def test_a_term_of_no_length_is_refused() -> None:
    with pytest.raises(ValueError, match="some time"):
        term_of(datetime.now(UTC), timedelta(0))
