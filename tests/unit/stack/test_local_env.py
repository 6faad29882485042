"""The local stack's invented settings: a demo admin who can use the menu and is alerted."""

from __future__ import annotations

from pathlib import Path

import pytest

from keyland_tools.stack.local_env import DEMO_ADMIN_ID, local_env
from keyland_tools.stack.settings import StackSettings
from services.notifier.config import NotifierSettings


def test_the_demo_admin_is_alerted_of_held_payments_on_the_emulated_telegram(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("KEYLAND_BOT_TOKEN", "KEYLAND_NOTIFIER_ALERT_IDS", "KEYLAND_BOT_ADMIN_IDS"):
        monkeypatch.delenv(name, raising=False)
    env = local_env(StackSettings(state_dir=tmp_path))
    assert env["KEYLAND_BOT_ADMIN_IDS"] == str(DEMO_ADMIN_ID)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert NotifierSettings().alert_ids == [DEMO_ADMIN_ID]


def test_an_operators_own_alert_ids_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEYLAND_BOT_TOKEN", raising=False)
    monkeypatch.setenv("KEYLAND_NOTIFIER_ALERT_IDS", "[7, 8]")
    assert local_env(StackSettings(state_dir=tmp_path))["KEYLAND_NOTIFIER_ALERT_IDS"] == "[7, 8]"
