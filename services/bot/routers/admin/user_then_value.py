"""The shape of two admin tools: name a user, then give a value (or both on one line).

Adding time (``tgid=123 days+=7``) and a test notification (``tgid=123 30``) differ only
in how the value is read, which event it becomes and what the admin is told; the steps
(resolve the user, remember them, ask for the value, publish, confirm) are here once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from aiogram import Bot, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import Message, Update

from events import Event
from services.bot.adapters.events import BotEvents, update_origin
from services.bot.adapters.read_api import ReadApi
from services.bot.config import BotSettings
from services.bot.domain.admin_input import Invalid, Target
from services.bot.keyboards.admin import admin_menu
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.admin.common import AdminApis, label, resolve
from services.bot.routers.common import Trigger, clear, respond

V = TypeVar("V")


@dataclass(frozen=True)
class UserThenValue(Generic[V]):
    """One tool: its two states, prompts (``value_prompt`` gets ``user``), parsers (given
    the bot's settings, for limits), the event a user and a value make, and the
    confirmation the admin reads."""

    asking_user: State
    asking_value: State
    user_prompt: str
    value_prompt: str
    parse_user_and_value: Callable[[str, BotSettings], tuple[Target, V | None]]
    parse_value: Callable[[str, BotSettings], V]
    event: Callable[[Viewer, int, V], Event]
    confirmation: Callable[[Viewer, str, V], str]

    async def begin(
        self, trigger: Trigger, bot: Bot, viewer: Viewer, state: FSMContext, apis: AdminApis
    ) -> None:
        await state.set_state(self.asking_user)
        await respond(trigger, bot, viewer.t(self.user_prompt))

    async def _publish(  # noqa: PLR0917 - one private call shape, used twice
        self,
        message: Message,
        viewer: Viewer,
        state: FSMContext,
        events: BotEvents,
        origin: str,
        user: tuple[int, str],
        value: V,
    ) -> None:
        telegram_id, who = user
        await events.publish(self.event(viewer, telegram_id, value), origin)
        await clear(state)
        await message.answer(self.confirmation(viewer, who, value), reply_markup=admin_menu(viewer))

    def build_router(self, name: str) -> Router:
        async def choose_user(
            message: Message,
            *,
            viewer: Viewer,
            state: FSMContext,
            read_api: ReadApi,
            events: BotEvents,
            event_update: Update,
            settings: BotSettings,
        ) -> None:
            try:
                target, value = self.parse_user_and_value(message.text or "", settings)
                account = await resolve(read_api, target)
            except Invalid as error:
                await message.answer(viewer.t(error.key, **error.values))
                return
            user = (account.telegram_id, label(account))
            if value is None:
                await state.update_data(telegram_id=user[0], who=user[1])
                await state.set_state(self.asking_value)
                await message.answer(viewer.t(self.value_prompt, user=user[1]))
                return
            origin = update_origin(event_update)
            await self._publish(message, viewer, state, events, origin, user, value)

        async def choose_value(
            message: Message,
            *,
            viewer: Viewer,
            state: FSMContext,
            events: BotEvents,
            event_update: Update,
            settings: BotSettings,
        ) -> None:
            try:
                value = self.parse_value(message.text or "", settings)
            except Invalid as error:
                await message.answer(viewer.t(error.key, **error.values))
                return
            data = await state.get_data()
            user = (int(data["telegram_id"]), str(data["who"]))
            origin = update_origin(event_update)
            await self._publish(message, viewer, state, events, origin, user, value)

        router = Router(name=name)
        router.message.register(choose_user, self.asking_user)
        router.message.register(choose_value, self.asking_value)
        return router
