"""The topic registry tells the truth: about who reads each topic, and in the README."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from events import Envelope, Event, decode
from events.registry import TOPICS, TOPICS_BY_NAME, TopicSpec
from events.subscriptions import RenewalDue
from services.notifier.bootstrap import INPUT_TOPICS as NOTIFIER_TOPICS
from services.notifier.domain.alerts import alerts
from services.notifier.domain.planning import plan
from services.notifier.domain.profiles import LEARNT_FROM
from services.provisioner.bootstrap import INPUT_TOPICS as PROVISIONER_TOPICS
from services.provisioner.domain.changes import to_change
from services.subscription.bootstrap import INPUT_TOPICS as SUBSCRIPTION_TOPICS
from services.subscription.domain.entries import to_entry

README = Path(__file__).resolve().parents[2] / "README.md"
SAMPLES = Path(__file__).resolve().parents[2] / "events" / "samples"
WORKERS = {
    "subscription": SUBSCRIPTION_TOPICS,
    "provisioner": PROVISIONER_TOPICS,
    "notifier": NOTIFIER_TOPICS,
}


def sample(event: type[Event]) -> Envelope[Event]:
    return decode((SAMPLES / f"{event.event_type}.v{event.event_version}.json").read_bytes())


# Whether a worker's mapping of incoming records takes an event in (None: passed over).
ACTS_ON: dict[str, Callable[[Envelope[Event]], bool]] = {
    # Ledger entries, and the renewal charges it makes through the payments ingest.
    "subscription": lambda envelope: (
        to_entry(envelope) is not None or isinstance(envelope.payload, RenewalDue)
    ),
    "provisioner": lambda envelope: to_change(envelope.payload) is not None,
}


def read_by(service: str) -> set[str]:
    return {
        spec.name
        for spec in TOPICS
        if any(consumer.service == service for consumer in spec.consumers)
    }


class TestConsumers:
    @pytest.mark.parametrize("service", sorted(WORKERS))
    def test_a_worker_reads_exactly_the_topics_that_name_it(self, service: str) -> None:
        declared = WORKERS[service]
        assert len(set(declared)) == len(declared)
        assert set(declared) == read_by(service)

    def test_every_consumer_the_registry_names_is_a_worker(self) -> None:
        named = {consumer.service for spec in TOPICS for consumer in spec.consumers}
        assert named == set(WORKERS)

    def test_a_topic_nobody_reads_says_what_it_is_for(self) -> None:
        unread = [spec for spec in TOPICS if not spec.consumers]
        assert all(spec.purpose for spec in unread), [spec.name for spec in unread]

    def test_the_events_a_consumer_acts_on_are_on_its_topic(self) -> None:
        for spec in TOPICS:
            for consumer in spec.consumers:
                assert set(consumer.only) <= set(spec.events), (spec.name, consumer)

    @pytest.mark.parametrize(
        ("topic", "service"),
        [("subscriptions", "subscription"), ("bot.actions", "provisioner")],
    )
    def test_a_worker_maps_in_exactly_the_events_it_is_named_for(
        self, topic: str, service: str
    ) -> None:
        spec = TOPICS_BY_NAME[topic]
        (consumer,) = [c for c in spec.consumers if c.service == service]
        acts_on = ACTS_ON[service]
        assert {event for event in spec.events if acts_on(sample(event))} == set(consumer.only)

    def test_the_notifier_takes_nothing_from_the_user_actions_it_is_not_named_for(
        self,
    ) -> None:
        spec = TOPICS_BY_NAME["bot.actions"]
        (notifier,) = [c for c in spec.consumers if c.service == "notifier"]
        others = [event for event in spec.events if event not in notifier.only]
        assert others
        for event in others:
            envelope = sample(event)
            assert plan(envelope, [timedelta(days=1)], ["finland"]) == []
            assert alerts(envelope, [1]) == []
            assert not isinstance(envelope.payload, LEARNT_FROM)  # nor learns from it


def readme_topics() -> dict[str, list[str]]:
    """The README's topic table: each row's cells by topic name."""
    rows: dict[str, list[str]] = {}
    for line in README.read_text().splitlines():
        match = re.fullmatch(r"\| `([a-z.]+)` \|(.*)\|", line)
        if match and match.group(1) in TOPICS_BY_NAME:
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split(" | ")]
    return rows


def names(cell: str) -> list[str]:
    """The names in a cell, without the remarks in parentheses."""
    return [name.strip() for name in re.sub(r"\([^)]*\)", "", cell).split(",")]


def consumers_cell(spec: TopicSpec) -> str:
    if not spec.consumers:
        return f"nobody yet: {spec.purpose}"
    return ", ".join(str(consumer) for consumer in spec.consumers)


class TestReadme:
    def test_the_table_lists_every_topic(self) -> None:
        assert set(readme_topics()) == set(TOPICS_BY_NAME)

    @pytest.mark.parametrize("spec", TOPICS, ids=lambda spec: spec.name)
    def test_a_row_names_the_registry_events_producers_and_consumers(self, spec: TopicSpec) -> None:
        events, producers, consumers = readme_topics()[spec.name]
        assert names(events) == [event.event_type for event in spec.events]
        assert [name.lower() for name in names(producers)] == list(spec.producers)
        assert consumers == consumers_cell(spec)
