"""The demo's pure parts: its timeline and how it recognises the bot's texts."""

from __future__ import annotations

import pytest

from keyland_tools.demo.driver import DemoFailed, has_button, opening, shown, until
from keyland_tools.demo.timeline import (
    HEADER,
    Step,
    Timeline,
    duration,
    format_step,
    format_summary,
)
from services.notifier.locales import TEXTS, text


class FakeClock:
    def __init__(self) -> None:
        self.seconds = 100.0

    def __call__(self) -> float:
        return self.seconds


class TestTimeline:
    def test_a_step_counts_from_the_start_and_from_its_cause(self) -> None:
        clock, printed = FakeClock(), list[str]()
        timeline = Timeline(out=printed.append, clock=clock)
        clock.seconds = 101.5
        cause = timeline.now()
        clock.seconds = 103.25
        step = timeline.record("reminder reaches the friend", cause)
        assert step == Step("reminder reaches the friend", 3.25, 1.75)
        assert printed == [format_step(step)]
        assert timeline.steps == [step]

    def test_steps_of_one_cause_each_show_their_own_latency(self) -> None:
        clock = FakeClock()
        timeline = Timeline(out=lambda _: None, clock=clock)
        ordered = timeline.now()
        clock.seconds = 100.5
        first = timeline.record("key disabled", ordered)
        clock.seconds = 101.5
        second = timeline.record("expiry notice", ordered)
        assert (first.latency_s, second.latency_s) == (0.5, 1.5)


class TestFormatting:
    def test_short_latencies_in_milliseconds_long_ones_in_seconds(self) -> None:
        assert duration(0.4124) == "412 ms"
        assert duration(9.9994) == "9999 ms"
        assert duration(12.34) == "12.3 s"

    def test_a_step_line_lines_up_under_the_header(self) -> None:
        line = format_step(Step("friend picks finland", 12.345, 0.0871))
        assert line == "  12.35s      87 ms  friend picks finland"
        assert line.index("friend") == HEADER.index("step")
        assert line.index("ms") + 2 == HEADER.index("latency") + len("latency")

    def test_the_summary_counts_steps_and_names_the_slowest(self) -> None:
        steps = [Step("a", 1.0, 1.0), Step("b", 4.0, 3.0), Step("c", 4.5, 0.5)]
        assert format_summary(steps) == "3 steps in 4500 ms; slowest: b (3000 ms)"

    def test_an_empty_timeline_says_so(self) -> None:
        assert format_summary([]) == "no step completed"


class TestRecognising:
    def test_a_text_is_recognised_by_its_opening(self) -> None:
        for language in ("en", "ru"):
            sent = text("notice_reminder", language, days_left="3", until="30.11.2026 10:00 UTC")
            assert sent.startswith(opening(TEXTS, "notice_reminder"))
            assert not sent.startswith(opening(TEXTS, "notice_expired"))

    def test_buttons_and_captions(self) -> None:
        message = {"caption": "QR", "buttons": [[{"text": "Buy", "callback_data": "menu:buy"}]]}
        assert has_button(message, "menu:buy")
        assert not has_button(message, "menu:trial")
        assert shown(message) == "QR"


class TestWaiting:
    async def test_what_comes_is_handed_back(self) -> None:
        answers = iter([None, None, "links"])

        async def check() -> str | None:
            return next(answers)

        assert await until(check, "the links") == "links"

    async def test_a_step_that_never_comes_fails_the_demo_naming_it(self) -> None:
        async def never() -> bool:
            return False

        with pytest.raises(DemoFailed, match="the reminder did not come within"):
            await until(never, "the reminder", timeout_s=0.3)
