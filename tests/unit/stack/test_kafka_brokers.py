"""How many brokers the local Kafka has: what its state directory was formatted for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from keyland.settings import KafkaSettings
from keyland_tools.stack.kafka import Kafka
from keyland_tools.stack.process import StartError
from keyland_tools.stack.settings import StackSettings

KAFKA = KafkaSettings(bootstrap="127.0.0.1:9092")


def formatted_for(state: Path, brokers: int) -> None:
    (state / "kafka").mkdir(parents=True)
    ids = [f"dir{n}" for n in range(brokers)]
    (state / "kafka" / "cluster.json").write_text(
        json.dumps({"cluster_id": "c", "directory_ids": ids})
    )


def test_a_fresh_state_directory_has_the_brokers_asked_for(tmp_path: Path) -> None:
    kafka = Kafka(StackSettings(state_dir=tmp_path), KAFKA, 3)
    assert kafka.bootstrap == "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"
    assert [b.daemon.name for b in kafka.brokers] == ["kafka", "kafka-2", "kafka-3"]
    assert [b.home for b in kafka.brokers] == [
        tmp_path / n for n in ("kafka", "kafka-2", "kafka-3")
    ]


def test_a_fresh_state_directory_has_one_broker_unless_asked(tmp_path: Path) -> None:
    assert Kafka(StackSettings(state_dir=tmp_path), KAFKA).bootstrap == "127.0.0.1:9092"


def test_down_and_status_find_every_broker_the_data_was_formatted_for(tmp_path: Path) -> None:
    formatted_for(tmp_path, 3)
    assert len(Kafka(StackSettings(state_dir=tmp_path), KAFKA).brokers) == 3


def test_a_one_broker_stack_formatted_before_the_record_existed_stays_one(
    tmp_path: Path,
) -> None:
    (tmp_path / "kafka" / "data").mkdir(parents=True)
    (tmp_path / "kafka" / "data" / "meta.properties").write_text("node.id=1\n")
    assert Kafka(StackSettings(state_dir=tmp_path), KAFKA).bootstrap == "127.0.0.1:9092"


def test_starting_with_another_count_than_formatted_is_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    formatted_for(tmp_path, 3)
    kafka = Kafka(StackSettings(state_dir=tmp_path), KAFKA, 1)
    with pytest.raises(StartError, match="formatted for 3 broker"):
        kafka.start()
    assert not (tmp_path / "run").exists()
