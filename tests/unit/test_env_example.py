""".env.example documents every variable any service reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from keyland.settings import KafkaSettings, MongoSettings
from keyland_tools.stack.settings import StackSettings
from services.bot.config import BotSettings
from services.node_agent.config import NodeAgentSettings
from services.notifier.config import NotifierSettings
from services.payments_ingest.config import PaymentsSettings
from services.provisioner.config import (
    CapacitySettings,
    CountriesFileSettings,
    NodeAccessSettings,
    ProvisionerSettings,
    SubscriptionPageSettings,
)
from services.subscription.config import SubscriptionSettings

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"
SETTINGS: list[type[BaseSettings]] = [
    KafkaSettings, MongoSettings, StackSettings, SubscriptionSettings, PaymentsSettings,
    NotifierSettings, BotSettings, NodeAgentSettings, ProvisionerSettings, NodeAccessSettings,
    SubscriptionPageSettings, CapacitySettings, CountriesFileSettings,
]  # fmt: skip


def documented() -> set[str]:
    return set(re.findall(r"^#? ?(KEYLAND_[A-Z0-9_]+)=", EXAMPLE.read_text(), flags=re.MULTILINE))


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: s.__name__)
def test_every_variable_is_documented(settings: type[BaseSettings]) -> None:
    prefix = str(settings.model_config.get("env_prefix", ""))
    wanted = {
        (
            field.validation_alias if isinstance(field.validation_alias, str) else prefix + name
        ).upper()
        for name, field in settings.model_fields.items()
    }
    assert wanted - documented() == set()
