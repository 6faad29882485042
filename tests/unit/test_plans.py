"""The plans on sale are one setting, ``KEYLAND_PLANS``, for the bot and the ingest alike."""

from __future__ import annotations

import pytest

from keyland.plans import DEFAULT_PLANS
from keyland.settings import ConfigError, load
from services.bot.config import BotSettings
from services.payments_ingest.config import PaymentsSettings

REQUIRED = {
    "KEYLAND_BOT_TOKEN": "123:abc",
    "KEYLAND_BOT_READ_API_TOKEN": "r",
    "KEYLAND_BOT_PAYMENTS_TOKEN": "p",
    "KEYLAND_BOT_LINKS_TOKEN": "l",
    "KEYLAND_PAYMENTS_YOOKASSA_SHOP_ID": "1",
    "KEYLAND_PAYMENTS_YOOKASSA_SECRET_KEY": "s",
    "KEYLAND_PAYMENTS_INTERNAL_TOKEN": "t",
}
ONE_PLAN = '{"week": {"months": 0, "days": 7, "price": "49.00", "currency": "RUB"}}'


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_by_default_both_offer_the_default_plans(env: pytest.MonkeyPatch) -> None:
    assert load(BotSettings).plans == load(PaymentsSettings).plans == DEFAULT_PLANS


def test_one_variable_sets_what_the_bot_offers_and_the_ingest_sells(
    env: pytest.MonkeyPatch,
) -> None:
    env.setenv("KEYLAND_PLANS", ONE_PLAN)
    offered, sold = load(BotSettings).plans, load(PaymentsSettings).plans
    assert offered == sold
    assert list(sold) == ["week"]
    assert (sold["week"].days, str(sold["week"].price)) == (7, "49.00")


@pytest.mark.parametrize("settings", [BotSettings, PaymentsSettings])
@pytest.mark.parametrize(
    "value",
    [
        "{not json",
        '{"month_1": {"months": 0, "price": "1.00"}}',
        '{"a b": {"months": 1, "price": "1.00"}}',
    ],
)
def test_a_malformed_plan_list_is_named_as_keyland_plans(
    env: pytest.MonkeyPatch, settings: type[BotSettings | PaymentsSettings], value: str
) -> None:
    env.setenv("KEYLAND_PLANS", value)
    with pytest.raises(ConfigError, match=r"invalid configuration: KEYLAND_PLANS: "):
        load(settings)


@pytest.mark.parametrize("retired", ["KEYLAND_BOT_PLANS", "KEYLAND_PAYMENTS_PLANS"])
@pytest.mark.parametrize("settings", [BotSettings, PaymentsSettings])
def test_a_retired_per_service_variable_stops_start_up(
    env: pytest.MonkeyPatch, settings: type[BotSettings | PaymentsSettings], retired: str
) -> None:
    env.setenv(retired, ONE_PLAN)
    with pytest.raises(
        ConfigError, match=f"{retired} is retired: set the plans once, in KEYLAND_PLANS"
    ):
        load(settings)


def test_a_stars_price_is_optional_per_plan(env: pytest.MonkeyPatch) -> None:
    env.setenv(
        "KEYLAND_PLANS",
        '{"week": {"months": 0, "days": 7, "price": "49.00"}, '
        '"month_1": {"months": 1, "price": "199.00", "stars": 150}}',
    )
    plans = load(BotSettings).plans
    assert (plans["week"].stars, plans["month_1"].stars) == (None, 150)


@pytest.mark.parametrize("stars", ["0", "-5", "100001", '"many"'])
def test_a_stars_price_is_a_whole_number_telegram_takes(
    env: pytest.MonkeyPatch, stars: str
) -> None:
    env.setenv(
        "KEYLAND_PLANS", f'{{"month_1": {{"months": 1, "price": "1.00", "stars": {stars}}}}}'
    )
    with pytest.raises(ConfigError, match=r"KEYLAND_PLANS_MONTH_1_STARS: "):
        load(BotSettings)
