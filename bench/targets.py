"""The issue's targets, judged from the benchmarks' own results: one row each, with the
figure measured, the figure wanted and PASS or MISS (``-`` when not measured)."""

from __future__ import annotations

from dataclasses import dataclass

from bench.flat_cost import TARGET_RATIO, Run
from bench.measure import Marks, quantile
from bench.users import LEVEL_TIMEOUT_S, Level
from keyland.load_run import Report
from tests.faults import Summary

USERS_SPEEDUP = 3.0  # Keyland users/s against the baseline's, at 100 and 1000 concurrent
USERS_P99_AT_100_S = 2.0
PAYMENT_KEY_P50_S, PAYMENT_KEY_P99_S = 0.150, 0.500
STARS_KEY_P99_RATIO = 1.5  # Stars payment → key p99, against YooKassa's
TELEGRAM_PACE = 30.0  # messages/s
BROADCAST_PACE = (28.0, 29.0)  # the pace held so far, under the 30/s ceiling
NOTICE_LATENESS_P99_MS = 1000.0  # notices go out within the second they fall due
FAULT_DRILL_LIMIT_S = {10_000: 15 * 60.0, 2_000: 3 * 60.0}


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    wanted: str
    met: bool | None  # None: not measured in this run

    def row(self) -> str:
        verdict = "-" if self.met is None else "PASS" if self.met else "MISS"
        return f"{self.name:<44} {self.measured:<34} {self.wanted:<30} {verdict}"


def user_creation(keyland: dict[int, Level], baseline: dict[int, Level]) -> list[Target]:
    rows = []
    for users in (100, 1000):
        k, b = keyland.get(users), baseline.get(users)
        if k is None or b is None:
            rows.append(Target(f"users at {users}: users/s vs baseline", "not run", "", None))
            continue
        speedup = k.throughput() / b.throughput() if b.throughput() else 0.0
        everyone = k.completed == users and not k.failures
        rows.append(
            Target(
                f"users at {users}: users/s vs baseline",
                f"{k.throughput():.1f} vs {b.throughput():.1f} = {speedup:.1f}x",
                f">= {USERS_SPEEDUP:.0f}x",
                speedup >= USERS_SPEEDUP,
            )
        )
        rows.append(
            Target(
                f"users at {users}: every user completed",
                f"{k.completed}/{users}",
                f"all, within {LEVEL_TIMEOUT_S:.0f} s",
                everyone,
            )
        )
    if (k100 := keyland.get(100)) is not None and k100.whole:
        p99 = quantile(k100.whole, 0.99)
        rows.append(
            Target(
                "users at 100: p99 created → key",
                f"{p99:.2f} s",
                f"<= {USERS_P99_AT_100_S:.0f} s",
                p99 <= USERS_P99_AT_100_S,
            )
        )
    return rows


def payment_to_key(marks: Marks) -> list[Target]:
    usable = [m["usable"] - m["paid"] for m in marks.values() if "usable" in m]
    messaged = [m["messaged"] - m["paid"] for m in marks.values() if "messaged" in m]
    if not usable:
        return [Target("payment → key on both nodes", "nothing measured", "", False)]
    p50, p99 = quantile(usable, 0.5), quantile(usable, 0.99)
    late_limit = p99 + len(marks) / TELEGRAM_PACE
    last = max(messaged) if messaged else float("inf")
    return [
        Target(f"payment → key, {len(marks)} concurrent: p50", f"{p50 * 1000:.0f} ms",
               f"<= {PAYMENT_KEY_P50_S * 1000:.0f} ms", p50 <= PAYMENT_KEY_P50_S),
        Target(f"payment → key, {len(marks)} concurrent: p99", f"{p99 * 1000:.0f} ms",
               f"<= {PAYMENT_KEY_P99_S * 1000:.0f} ms", p99 <= PAYMENT_KEY_P99_S),
        Target("payment → last user messaged", f"{last:.2f} s ({len(messaged)} messaged)",
               f"<= key p99 + {len(marks)}/30 s = {late_limit:.2f} s",
               len(messaged) == len(marks) and last <= late_limit),
    ]  # fmt: skip


def stars_to_key(stars: Marks, yookassa: Marks) -> list[Target]:
    """Stars payment → key on both nodes: its p99 within 1.5x of YooKassa's; every
    Stars payment's key usable."""
    name = f"Stars payment → key, {len(stars)} concurrent: p99"
    usable = [m["usable"] - m["paid"] for m in stars.values() if "usable" in m]
    reference = [m["usable"] - m["paid"] for m in yookassa.values() if "usable" in m]
    if not usable or not reference:
        return [Target(name, "nothing measured", "", False)]
    p99, limit = quantile(usable, 0.99), quantile(reference, 0.99) * STARS_KEY_P99_RATIO
    return [
        Target(name, f"{p99 * 1000:.0f} ms ({len(usable)}/{len(stars)} usable)",
               f"<= {STARS_KEY_P99_RATIO}x YooKassa's = {limit * 1000:.0f} ms",
               len(usable) == len(stars) and p99 <= limit),
    ]  # fmt: skip


def flat_cost(runs: list[Run]) -> list[Target]:
    small, large = runs[0], runs[-1]
    ratio = large.per_event_ms / small.per_event_ms
    return [
        Target(
            f"flat cost: per event, {large.users:,} vs {small.users:,} users",
            f"{large.per_event_ms:.1f} vs {small.per_event_ms:.1f} ms = {ratio:.2f}x",
            f"<= {TARGET_RATIO}x",
            ratio <= TARGET_RATIO,
        )
    ]


def notifier(pace: float, lateness_ms: list[float]) -> list[Target]:
    low, high = BROADCAST_PACE
    p99 = quantile(lateness_ms, 0.99)
    return [
        Target("broadcast pace", f"{pace:.1f} msg/s", f"{low:.0f}-{high:.0f} msg/s (ceiling 30)",
               low <= pace <= TELEGRAM_PACE),
        Target("notice lateness p99 (100,000 scheduled)", f"{p99:.0f} ms",
               f"<= {NOTICE_LATENESS_P99_MS:.0f} ms", p99 <= NOTICE_LATENESS_P99_MS),
    ]  # fmt: skip


def fault_drill(summary: Summary) -> list[Target]:
    limit = FAULT_DRILL_LIMIT_S.get(summary.payments)
    wanted = f"no problems, <= {limit / 60:.0f} min" if limit else "no problems"
    in_time = limit is None or summary.total_s <= limit
    return [
        Target(
            f"fault drill, {summary.payments:,} payments",
            f"{len(summary.problems)} problems, {summary.total_s / 60:.1f} min",
            wanted,
            not summary.problems and in_time,
        )
    ]


def print_targets(rows: list[Target]) -> None:
    print(f"\n{'target':<44} {'measured':<34} {'wanted':<30} verdict")
    for row in rows:
        print(row.row())


def capacity(report: Report) -> list[Target]:
    """Each node's measured saturation point and cost per active user (stated: PASS)."""
    rows = []
    for node in report.nodes:
        first, cost = node.capacity.first, report.cost_per_user(node)
        stated = first.users_at_limit is not None and cost is not None
        rows.append(
            Target(
                f"capacity of {node.name}",
                f"{first.resource} at {first.users_at_limit} users, {cost}/user",
                "saturation point and cost stated",
                stated,
            )
        )
    return rows
