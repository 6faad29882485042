"""How many active users a node holds, and what each one costs (pure; no I/O).

A load run (``bench.capacity``) measures a node at a few levels of active users: the
CPU its Xray uses (in cores), Xray's resident memory and the bytes per second through
it. Each resource is fitted with a straight line, ``use = base + per_user * users``
(least squares over the levels); the users at which the line meets the node's limit is
that resource's capacity, and the smallest of them is where the node saturates first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum


class Resource(StrEnum):
    CPU = "cpu"
    MEMORY = "memory"
    NETWORK = "network"


class BadLoadRun(ValueError):
    """The levels cannot give a capacity (too few, or impossible figures)."""


@dataclass(frozen=True)
class Level:
    """A node's use, measured while ``active_users`` users each moved traffic."""

    active_users: int
    cpu_cores: float
    memory_bytes: float
    throughput_bps: float  # bytes per second, both directions together

    def use(self, resource: Resource) -> float:
        return {
            Resource.CPU: self.cpu_cores,
            Resource.MEMORY: self.memory_bytes,
            Resource.NETWORK: self.throughput_bps,
        }[resource]


@dataclass(frozen=True)
class Limits:
    """What one node has: cores, memory and link bandwidth (bytes per second)."""

    cpu_cores: float
    memory_bytes: float
    network_bps: float

    def of(self, resource: Resource) -> float:
        return {
            Resource.CPU: self.cpu_cores,
            Resource.MEMORY: self.memory_bytes,
            Resource.NETWORK: self.network_bps,
        }[resource]


@dataclass(frozen=True)
class Fit:
    """One resource's line and the users at which it meets the limit (None: never)."""

    resource: Resource
    base: float
    per_user: float
    users_at_limit: int | None


@dataclass(frozen=True)
class Capacity:
    fits: tuple[Fit, ...]

    @property
    def first(self) -> Fit:
        """The resource that saturates first (the first of several that never do)."""
        return min(
            self.fits,
            key=lambda fit: math.inf if fit.users_at_limit is None else fit.users_at_limit,
        )

    @property
    def active_users(self) -> int | None:
        """Active users the node holds when its first resource saturates."""
        return self.first.users_at_limit


def _check(levels: Sequence[Level], limits: Limits) -> None:
    if len({level.active_users for level in levels}) < 2:
        raise BadLoadRun("at least two levels with different numbers of active users")
    for level in levels:
        figures = (level.cpu_cores, level.memory_bytes, level.throughput_bps)
        if level.active_users < 0 or any(not math.isfinite(x) or x < 0 for x in figures):
            raise BadLoadRun(f"impossible figures in {level}")
    if any(not math.isfinite(limits.of(r)) or limits.of(r) <= 0 for r in Resource):
        raise BadLoadRun(f"every limit must be positive: {limits}")


def fit(levels: Sequence[Level], limits: Limits, resource: Resource) -> Fit:
    """The least-squares line of ``resource`` over ``levels`` and where it meets the limit."""
    xs = [float(level.active_users) for level in levels]
    ys = [level.use(resource) for level in levels]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    per_user = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    base = mean_y - per_user * mean_x
    limit = limits.of(resource)
    if per_user <= 0:
        return Fit(resource, base, per_user, None)
    held = (limit - base) / per_user
    return Fit(resource, base, per_user, max(0, math.floor(held + 1e-9 * max(1.0, held))))


def capacity(levels: Sequence[Level], limits: Limits) -> Capacity:
    """Every resource's fit; :class:`BadLoadRun` when the levels cannot give one."""
    _check(levels, limits)
    return Capacity(tuple(fit(levels, limits, resource) for resource in Resource))


def cost_per_user(monthly_price: Decimal, active_users: int) -> Decimal:
    """A node's monthly price shared by the active users it holds, to 1/100 of a cent
    (a node holds hundreds of users: their share is a fraction of a cent)."""
    if monthly_price < 0:
        raise ValueError("a monthly price cannot be negative")
    if active_users <= 0:
        raise ValueError("a node holding no active user has no cost per user")
    return (monthly_price / active_users).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
