"""The admin panel's multi-step flows. Each step's input is kept in FSM data."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class FindUser(StatesGroup):
    target = State()


class Broadcast(StatesGroup):
    text = State()
    buttons = State()
    confirm = State()


class AddTime(StatesGroup):
    target = State()
    amounts = State()


class TestNotification(StatesGroup):
    __test__ = False  # not a pytest test class, whatever its name says

    target = State()
    delay = State()


class NewPromo(StatesGroup):
    details = State()


class BlockUser(StatesGroup):
    target = State()
    decision = State()


ADMIN_FLOWS = (FindUser, Broadcast, AddTime, TestNotification, NewPromo, BlockUser)
