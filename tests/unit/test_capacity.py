"""Capacity from a load run: the fitted lines, the first resource to saturate, the cost."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyland.capacity import (
    BadLoadRun,
    Level,
    Limits,
    Resource,
    capacity,
    cost_per_user,
)

LIMITS = Limits(cpu_cores=2.0, memory_bytes=4e9, network_bps=125e6)

per_user_cpu = st.floats(min_value=1e-4, max_value=0.5)
per_user_memory = st.floats(min_value=1e3, max_value=1e7)
per_user_network = st.floats(min_value=1e3, max_value=1e7)
user_counts = st.lists(st.integers(0, 200), min_size=2, max_size=8, unique=True)


def linear_levels(users: list[int], cpu: float, memory: float, network: float) -> list[Level]:
    return [Level(n, 0.01 + cpu * n, 5e7 + memory * n, network * n) for n in users]


@given(user_counts, per_user_cpu, per_user_memory, per_user_network)
def test_the_first_resource_is_the_one_that_holds_the_fewest_users(
    users: list[int], cpu: float, memory: float, network: float
) -> None:
    result = capacity(linear_levels(users, cpu, memory, network), LIMITS)
    held = [fit.users_at_limit for fit in result.fits]
    assert all(n is not None for n in held)
    assert result.active_users == min(n for n in held if n is not None)
    assert result.first.users_at_limit == result.active_users


@given(user_counts, per_user_cpu, per_user_memory, per_user_network)
def test_exact_lines_are_recovered(
    users: list[int], cpu: float, memory: float, network: float
) -> None:
    result = capacity(linear_levels(users, cpu, memory, network), LIMITS)
    cpu_fit = next(fit for fit in result.fits if fit.resource is Resource.CPU)
    assert cpu_fit.per_user == pytest.approx(cpu, rel=1e-6)
    expected = (LIMITS.cpu_cores - 0.01) / cpu
    assert cpu_fit.users_at_limit is not None
    assert abs(cpu_fit.users_at_limit - expected) <= 1 + expected * 1e-6


@given(user_counts, per_user_cpu, per_user_memory, per_user_network, st.floats(1.0, 16.0))
def test_more_of_a_resource_never_holds_fewer_users(
    users: list[int], cpu: float, memory: float, network: float, factor: float
) -> None:
    levels = linear_levels(users, cpu, memory, network)
    bigger = Limits(LIMITS.cpu_cores * factor, LIMITS.memory_bytes, LIMITS.network_bps)
    before, after = capacity(levels, LIMITS).active_users, capacity(levels, bigger).active_users
    assert before is not None
    assert after is not None
    assert after >= before


def test_a_resource_that_does_not_grow_never_saturates() -> None:
    levels = [Level(1, 0.1, 5e7, 1e6), Level(4, 0.4, 5e7, 4e6)]
    result = capacity(levels, LIMITS)
    memory = next(fit for fit in result.fits if fit.resource is Resource.MEMORY)
    assert memory.users_at_limit is None
    assert result.first.resource is Resource.CPU
    assert result.active_users == 20


@pytest.mark.parametrize(
    "levels",
    [
        [Level(2, 0.1, 1e6, 1e6)],
        [Level(2, 0.1, 1e6, 1e6), Level(2, 0.2, 1e6, 1e6)],
        [Level(1, -0.1, 1e6, 1e6), Level(2, 0.2, 1e6, 1e6)],
        [Level(1, float("nan"), 1e6, 1e6), Level(2, 0.2, 1e6, 1e6)],
    ],
)
def test_levels_that_cannot_give_a_capacity_are_refused(levels: list[Level]) -> None:
    with pytest.raises(BadLoadRun):
        capacity(levels, LIMITS)


def test_a_limit_of_zero_is_refused() -> None:
    levels = [Level(1, 0.1, 1e6, 1e6), Level(2, 0.2, 2e6, 2e6)]
    with pytest.raises(BadLoadRun):
        capacity(levels, Limits(cpu_cores=0, memory_bytes=1e9, network_bps=1e6))


@given(st.decimals(min_value=0, max_value=100_000, places=2), st.integers(1, 100_000))
def test_the_cost_per_user_shares_the_price_to_a_hundredth_of_a_cent(
    price: Decimal, users: int
) -> None:
    cost = cost_per_user(price, users)
    assert abs(cost * users - price) <= Decimal("0.00005") * users


@pytest.mark.parametrize(("price", "users"), [(Decimal(-1), 10), (Decimal(10), 0)])
def test_a_cost_that_makes_no_sense_is_refused(price: Decimal, users: int) -> None:
    with pytest.raises(ValueError, match=r"price|user"):
        cost_per_user(price, users)
