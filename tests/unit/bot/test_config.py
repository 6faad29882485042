"""Bad bot configuration stops start-up naming the variable."""

from __future__ import annotations

import pytest

from keyland.settings import ConfigError, load
from services.bot.config import BotSettings

REQUIRED = {
    "KEYLAND_BOT_TOKEN": "123:abc",
    "KEYLAND_BOT_READ_API_TOKEN": "r",
    "KEYLAND_BOT_PAYMENTS_TOKEN": "p",
    "KEYLAND_BOT_LINKS_TOKEN": "l",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_defaults_are_a_working_polling_bot(env: pytest.MonkeyPatch) -> None:
    settings = load(BotSettings)
    assert settings.mode == "polling"
    assert settings.bot_id == 123
    assert set(settings.plans) == {"month_1", "month_3", "month_6", "month_12"}
    assert settings.cabinet_url is None  # no Mini App: the menu button lists the commands


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KEYLAND_BOT_TOKEN", "not-a-token"),
        ("KEYLAND_BOT_ADMIN_IDS", "[1, two]"),
        ("KEYLAND_BOT_ADMIN_IDS", "1, two"),
        ("KEYLAND_PLANS", "{not json"),
        ("KEYLAND_BOT_READ_API_URL", "ftp://x"),
        ("KEYLAND_PLANS", '{"month_1": {"months": 0, "price": "1.00"}}'),
        ("KEYLAND_BOT_MODE", "carrier-pigeon"),
        ("KEYLAND_BOT_CABINET_URL", "cabinet.example"),
        ("KEYLAND_BOT_CABINET_TIME_ZONE", "Mars/Olympus"),
        ("KEYLAND_BOT_CABINET_AUTH_MAX_AGE_S", "0"),
        ("KEYLAND_BOT_CABINET_PORT", "70000"),
    ],
)
def test_a_malformed_variable_is_named(env: pytest.MonkeyPatch, name: str, value: str) -> None:
    env.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load(BotSettings)


def test_admin_ids_as_a_list_or_json(env: pytest.MonkeyPatch) -> None:
    env.setenv("KEYLAND_BOT_ADMIN_IDS", "11, 22")
    assert load(BotSettings).admin_ids == [11, 22]
    env.setenv("KEYLAND_BOT_ADMIN_IDS", "[33]")
    assert load(BotSettings).admin_ids == [33]


def test_a_missing_token_is_named(env: pytest.MonkeyPatch) -> None:
    env.delenv("KEYLAND_BOT_TOKEN")
    with pytest.raises(ConfigError, match="KEYLAND_BOT_TOKEN"):
        load(BotSettings)


def test_webhook_mode_needs_its_url_and_secret(env: pytest.MonkeyPatch) -> None:
    env.setenv("KEYLAND_BOT_MODE", "webhook")
    with pytest.raises(ConfigError) as failed:
        load(BotSettings)
    assert "KEYLAND_BOT_WEBHOOK_URL" in str(failed.value)
    assert "KEYLAND_BOT_WEBHOOK_SECRET" in str(failed.value)
    env.setenv("KEYLAND_BOT_WEBHOOK_URL", "https://bot.example/telegram/webhook")
    env.setenv("KEYLAND_BOT_WEBHOOK_SECRET", "bad secret!")
    with pytest.raises(ConfigError, match="KEYLAND_BOT_WEBHOOK_SECRET"):
        load(BotSettings)
