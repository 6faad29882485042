"""The admins' capacity view as the bot sends it: a chart, then the lines per node split
into messages within Telegram's limit, a node's lines never split."""

from __future__ import annotations

import io
from typing import Any

from aiogram.types import User
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from services.bot.adapters.capacity import CapacityView
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.admin.node_capacity import chart, details
from services.bot.routers.connect import MESSAGE_LIMIT


def node(
    country: str, number: int, *, held: int | None = 900, down: bool = False
) -> dict[str, Any]:
    return {
        "address": f"node-{number}.example.net:{1000 + number}",
        "country": country,
        "down": down,
        "load": None if down else {
            "cpu_cores": 0.25, "memory_bytes": 50 * 2**20, "throughput_bps": 1.25e6,
            "connections": 7, "online_users": 5, "host_cpu_cores": 4,
        },
        "load_error": "refused" if down else None,
        "saturates_first": "network",
        "active_users_held": held,
        "cost_per_active_user": None if held is None else "0.0056",
    }  # fmt: skip


def viewer(language: str) -> Viewer:
    return Viewer(User(id=1, is_bot=False, first_name="A"), language, True, read_api=None)  # type: ignore[arg-type]


def view(count: int) -> CapacityView:
    return CapacityView.model_validate(
        {
            "load_run": {"measured": True, "measured_at": "2026-12-07", "command": "bench",
                         "monthly_price": "5.00"},
            "nodes": [node("finland", n, down=n % 3 == 0) for n in range(count)],
        }
    )  # fmt: skip


def test_one_node_reads_as_three_lines_after_the_load_run() -> None:
    [message] = details(viewer("en"), view(2))
    head, first, second = message.split("\n\n")
    assert head == "Load run of 2026-12-07 (`bench`); a node costs 5.00 a month."
    assert first == (
        "🔴 finland (node-0.example.net:1000): announced unreachable\n"
        "No load now: refused\n"
        "Saturates first: network, at 900 active users; 0.0056 per active user a month"
    )
    assert second.split("\n")[1] == (
        "Now: 5 users online, 7 connections, CPU 0.25 of 4 cores, memory 50 MiB, 10.00 Mbit/s"
    )


@given(st.integers(min_value=0, max_value=120), st.sampled_from(["ru", "en"]))
def test_messages_stay_within_the_limit_and_keep_each_node_whole(count: int, language: str) -> None:
    messages = details(viewer(language), view(count))
    assert all(len(m) <= MESSAGE_LIMIT for m in messages)
    blocks = [block for m in messages for block in m.split("\n\n")]
    assert len(blocks) == 1 + max(count, 1)  # the load run, then a node each (or "none")


def test_the_chart_names_a_countrys_second_node() -> None:
    picture = Image.open(io.BytesIO(chart(view(2))))
    assert picture.format == "PNG"
    assert picture.size == (800, 480)
