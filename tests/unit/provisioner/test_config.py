"""Start-up fails naming the variable that is wrong."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from keyland.countries import CountriesError
from keyland.settings import ConfigError, load
from services.provisioner.bootstrap import tokens_cover
from services.provisioner.config import (
    NodeAccessSettings,
    ProvisionerSettings,
    SubscriptionPageSettings,
)


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the working tree
    for name in list(os.environ):
        if name.startswith("KEYLAND_PROVISIONER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KEYLAND_PROVISIONER_COUNTRIES_FILE", str(tmp_path / "countries.json"))
    monkeypatch.setenv("KEYLAND_PROVISIONER_SUBSCRIPTION_SECRET", "s" * 32)


def test_countries_file_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEYLAND_PROVISIONER_COUNTRIES_FILE")
    with pytest.raises(ConfigError, match="KEYLAND_PROVISIONER_COUNTRIES_FILE"):
        load(ProvisionerSettings)


@pytest.mark.parametrize(
    ("settings", "name", "value"),
    [
        (ProvisionerSettings, "KEYLAND_PROVISIONER_RECONCILE_INTERVAL_S", "often"),
        (ProvisionerSettings, "KEYLAND_PROVISIONER_RETRY_MAX_S", "-1"),
        (NodeAccessSettings, "KEYLAND_PROVISIONER_NODE_TOKEN", "short"),
        (NodeAccessSettings, "KEYLAND_PROVISIONER_NODE_TOKENS", '{"no-port": "t' + "x" * 20 + '"}'),
        (NodeAccessSettings, "KEYLAND_PROVISIONER_NODE_TOKENS", "not json"),
        (SubscriptionPageSettings, "KEYLAND_PROVISIONER_SUBSCRIPTION_SECRET", "short"),
        (SubscriptionPageSettings, "KEYLAND_PROVISIONER_PUBLIC_URL", "sub.example"),
        (SubscriptionPageSettings, "KEYLAND_PROVISIONER_PAGE_TIME_ZONE", "Mars/Olympus"),
        (SubscriptionPageSettings, "KEYLAND_PROVISIONER_PAGE_TIME_ZONE", "../../etc/passwd"),
        (SubscriptionPageSettings, "KEYLAND_PROVISIONER_READ_API_URL", "read-api:8081"),
        (SubscriptionPageSettings, "KEYLAND_PROVISIONER_READ_API_TOKEN", "short"),
    ],
)
def test_malformed_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, settings: type, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load(settings)


def test_tokens_are_secret_and_per_node_tokens_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYLAND_PROVISIONER_NODE_TOKEN", "shared-token-0123456789")
    monkeypatch.setenv(
        "KEYLAND_PROVISIONER_NODE_TOKENS", '{"10.0.0.2:8470": "own-token-0123456789"}'
    )
    access = load(NodeAccessSettings)
    assert "shared-token" not in repr(access)
    assert access.token_for("10.0.0.1:8470") == access.node_token
    own = access.token_for("10.0.0.2:8470")
    assert own is not None
    assert own.get_secret_value() == "own-token-0123456789"


def test_a_node_without_any_token_is_refused() -> None:
    check = tokens_cover(load(NodeAccessSettings))
    with pytest.raises(CountriesError, match=r"no token for 10\.0\.0\.1:8470"):
        check({"10.0.0.1:8470": "finland"})


def test_the_page_shows_dates_in_moscow_time_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load(SubscriptionPageSettings).zone.key == "Europe/Moscow"
    monkeypatch.setenv("KEYLAND_PROVISIONER_PAGE_TIME_ZONE", "Asia/Novosibirsk")
    assert load(SubscriptionPageSettings).zone.key == "Asia/Novosibirsk"
