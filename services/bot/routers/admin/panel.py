"""``/admin``: the tools menu (also ``/find``, ``/broadcast``, ``/addtime``, ``/test``,
``/stats``, ``/held``, ``/newpromo``, ``/block``, ``/capacity``); ``EXIT`` leaves any tool at any step. Registered before the tools' steps,
so these win over a step that takes any text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from services.bot.adapters.capacity import Capacity
from services.bot.adapters.read_api import ReadApi
from services.bot.domain.admin_input import is_exit
from services.bot.keyboards.admin import admin_menu
from services.bot.keyboards.callbacks import AdminMenu, AdminTool
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.admin import (
    add_time,
    block,
    broadcast,
    find_user,
    held_payments,
    new_promo,
    node_capacity,
    stats,
    test_notification,
)
from services.bot.routers.admin.common import AdminApis
from services.bot.routers.admin.states import ADMIN_FLOWS
from services.bot.routers.common import Trigger, clear, respond

Begin = Callable[[Trigger, Bot, Viewer, FSMContext, AdminApis], Awaitable[None]]
TOOLS: dict[AdminTool, Begin] = {
    AdminTool.FIND: find_user.begin,
    AdminTool.BROADCAST: broadcast.begin,
    AdminTool.ADD_TIME: add_time.begin,
    AdminTool.TEST: test_notification.begin,
    AdminTool.STATS: stats.begin,
    AdminTool.HELD: held_payments.begin,
    AdminTool.PROMO: new_promo.begin,
    AdminTool.BLOCK: block.begin,
    AdminTool.CAPACITY: node_capacity.begin,
}


async def show_panel(trigger: Trigger, bot: Bot, viewer: Viewer, state: FSMContext) -> None:
    await clear(state)
    await respond(trigger, bot, viewer.t("admin_menu"), reply_markup=admin_menu(viewer))


async def leave(message: Message, viewer: Viewer, state: FSMContext) -> None:
    await clear(state)
    await message.answer(viewer.t("admin_cancelled"), reply_markup=admin_menu(viewer))


async def open_tool(
    callback: CallbackQuery,
    *,
    callback_data: AdminMenu,
    bot: Bot,
    viewer: Viewer,
    state: FSMContext,
    read_api: ReadApi,
    capacity: Capacity,
) -> None:
    await clear(state)
    await TOOLS[callback_data.tool](callback, bot, viewer, state, AdminApis(read_api, capacity))


async def tool_command(
    message: Message,
    *,
    command: CommandObject,
    bot: Bot,
    viewer: Viewer,
    state: FSMContext,
    read_api: ReadApi,
    capacity: Capacity,
) -> None:
    await clear(state)
    apis = AdminApis(read_api, capacity)
    await TOOLS[AdminTool(command.command)](message, bot, viewer, state, apis)


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(leave, StateFilter(*ADMIN_FLOWS), F.text.func(is_exit))
    router.message.register(show_panel, Command("admin"))
    router.message.register(tool_command, Command(*AdminTool))
    router.callback_query.register(open_tool, AdminMenu.filter())
    return router
