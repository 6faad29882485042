"""The servers' capacity (``/capacity``): a chart of each node's online users now beside
the active users it holds before a resource saturates (from the last load run), then a
line per node with its load, that resource and the cost per active user. One step, so no
router of its own: the panel opens it."""

from __future__ import annotations

from collections import Counter

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery

from services.bot.adapters.capacity import CapacityView, NodeCapacity
from services.bot.domain.images import bar_chart_png
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.admin.common import AdminApis
from services.bot.routers.common import Trigger, chat_of
from services.bot.routers.connect import MESSAGE_LIMIT


def chart(view: CapacityView) -> bytes:
    """Two bars per node: online users now, and the active users it holds (when a load
    run measured its country), in the order of the lines that follow; a country's second
    node is ``country-2``. Pillow's built-in font is Latin-only, so the labels are country
    names and English words."""
    bars: list[tuple[str, float]] = []
    seen: Counter[str] = Counter()
    for node in view.nodes:
        seen[node.country] += 1
        name = node.country if seen[node.country] == 1 else f"{node.country}-{seen[node.country]}"
        online = 0 if node.load is None else node.load.online_users
        bars.append((f"{name} now", online))
        if node.active_users_held is not None:
            bars.append((f"{name} holds", node.active_users_held))
    return bar_chart_png("Online users now, and active users a node holds", bars)


def _node_text(viewer: Viewer, node: NodeCapacity) -> str:
    lines = [
        viewer.t(
            "admin_capacity_node_down" if node.down else "admin_capacity_node",
            country=node.country,
            address=node.address,
        )
    ]
    if node.load is None:
        lines.append(viewer.t("admin_capacity_no_load", error=node.load_error or "—"))
    else:
        load = node.load
        lines.append(
            viewer.t(
                "admin_capacity_load",
                online=load.online_users,
                connections=load.connections,
                cpu=f"{load.cpu_cores:.2f}",
                cores=load.host_cpu_cores,
                memory=f"{load.memory_bytes / 2**20:.0f}",
                mbps=f"{load.throughput_bps * 8 / 1e6:.2f}",
            )
        )
    if node.saturates_first is None:
        lines.append(viewer.t("admin_capacity_unmeasured"))
    elif node.active_users_held is None:
        lines.append(viewer.t("admin_capacity_never", resource=node.saturates_first))
    else:
        lines.append(
            viewer.t(
                "admin_capacity_limit",
                resource=node.saturates_first,
                held=node.active_users_held,
                cost=node.cost_per_active_user,
            )
        )
    return "\n".join(lines)


def details(viewer: Viewer, view: CapacityView) -> list[str]:
    """The view as messages, each within Telegram's length limit (a node's lines are
    never split)."""
    run = view.load_run
    head = (
        viewer.t(
            "admin_capacity_run",
            measured_at=run.measured_at,
            command=run.command,
            price=run.monthly_price,
        )
        if run.measured
        else viewer.t("admin_capacity_no_run", error=run.error or "—")
    )
    parts = [head, *(_node_text(viewer, node) for node in view.nodes)]
    if not view.nodes:
        parts.append(viewer.t("admin_capacity_no_nodes"))
    messages: list[str] = []
    for part in parts:
        if messages and len(messages[-1]) + 2 + len(part) <= MESSAGE_LIMIT:
            messages[-1] += "\n\n" + part
        else:
            messages.append(part[:MESSAGE_LIMIT])
    return messages


async def begin(
    trigger: Trigger, bot: Bot, viewer: Viewer, state: FSMContext, apis: AdminApis
) -> None:
    view = await apis.capacity.view()
    if isinstance(trigger, CallbackQuery):
        await trigger.answer()
    chat = chat_of(trigger)
    picture = BufferedInputFile(chart(view), filename="keyland-capacity.png")
    await bot.send_photo(chat, picture, caption=viewer.t("admin_capacity_title"))
    for text in details(viewer, view):
        await bot.send_message(chat, text)
