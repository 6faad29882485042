"""Start-up fails naming the variable that is wrong."""

from __future__ import annotations

import pytest

from keyland.settings import ConfigError, KafkaSettings, MongoSettings, load


def test_defaults_point_at_the_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEYLAND_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.delenv("KEYLAND_MONGO_URL", raising=False)
    assert load(KafkaSettings).bootstrap == "127.0.0.1:9092"
    assert load(MongoSettings).url == "mongodb://127.0.0.1:27017/"


def test_malformed_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYLAND_MONGO_URL", "postgres://nope")
    with pytest.raises(ConfigError, match="KEYLAND_MONGO_URL"):
        load(MongoSettings)


def test_non_numeric_timeout_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYLAND_KAFKA_PUBLISH_TIMEOUT_S", "soon")
    with pytest.raises(ConfigError, match="KEYLAND_KAFKA_PUBLISH_TIMEOUT_S"):
        load(KafkaSettings)
