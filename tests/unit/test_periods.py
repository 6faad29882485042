from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from keyland.periods import add_months, extend


class TestAddMonths:
    def test_end_of_january_plus_one_month_is_end_of_february(self) -> None:
        assert add_months(datetime(2026, 1, 31, 10, tzinfo=UTC), 1) == datetime(
            2026, 2, 28, 10, tzinfo=UTC
        )

    def test_leap_year_february(self) -> None:
        assert add_months(datetime(2028, 1, 30, tzinfo=UTC), 1) == datetime(2028, 2, 29, tzinfo=UTC)

    def test_twelve_months_cross_the_year(self) -> None:
        assert add_months(datetime(2026, 11, 15, tzinfo=UTC), 12) == datetime(
            2027, 11, 15, tzinfo=UTC
        )

    def test_negative_months_go_back(self) -> None:
        assert add_months(datetime(2026, 3, 31, tzinfo=UTC), -1) == datetime(
            2026, 2, 28, tzinfo=UTC
        )

    @given(
        moment=st.datetimes(
            min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
        ),
        months=st.integers(min_value=0, max_value=120),
    )
    def test_adding_months_never_goes_back_and_keeps_the_time(
        self, moment: datetime, months: int
    ) -> None:
        result = add_months(moment, months)
        assert result >= moment
        assert result.time() == moment.time()
        assert (result.year - moment.year) * 12 + result.month - moment.month == months


def test_extend_adds_months_then_days() -> None:
    assert extend(datetime(2026, 1, 31, tzinfo=UTC), 1, 1) == datetime(2026, 3, 1, tzinfo=UTC)
