"""The demo's timeline: each step when it was seen and how long after its cause.

``at`` counts from the start of the demo; ``latency`` from what caused the step (the
click, the payment, the operator's order), so steps that follow one cause each show
how long that cause took to reach them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

HEADER = "      at    latency  step"


@dataclass(frozen=True)
class Step:
    what: str
    at_s: float
    latency_s: float


def duration(seconds: float) -> str:
    """``412 ms`` below ten seconds, ``12.3 s`` from there on."""
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def format_step(step: Step) -> str:
    return f"{step.at_s:7.2f}s  {duration(step.latency_s):>9}  {step.what}"


def format_summary(steps: list[Step]) -> str:
    if not steps:
        return "no step completed"
    slowest = max(steps, key=lambda s: s.latency_s)
    return (
        f"{len(steps)} steps in {duration(steps[-1].at_s)}; "
        f"slowest: {slowest.what} ({duration(slowest.latency_s)})"
    )


class Timeline:
    """Steps as they are seen, each written out at once through ``out``."""

    def __init__(
        self,
        out: Callable[[str], None] = print,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.out = out
        self.clock = clock
        self.began = clock()
        self.steps: list[Step] = []

    def now(self) -> float:
        """A moment to measure a later step from."""
        return self.clock()

    def record(self, what: str, since: float) -> Step:
        seen = self.clock()
        step = Step(what, seen - self.began, seen - since)
        self.steps.append(step)
        self.out(format_step(step))
        return step
