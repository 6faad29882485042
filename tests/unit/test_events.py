"""The event vocabulary: samples, codec, ids and the topic catalog."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import DecodeError, Envelope, decode, derived_event_id, encode, external_event_id
from events.bot_actions import TrialRequested, UserStarted
from events.payments import PaymentSucceeded
from events.registry import EVENT_CLASSES, TOPICS, TopicNames

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "samples"
SAMPLE_FILES = sorted(SAMPLES.glob("*.json"))


def sample_name(cls: type) -> str:
    return f"{cls.event_type}.v{cls.event_version}.json"  # type: ignore[attr-defined]


class TestSamples:
    @pytest.mark.parametrize("event_class", list(EVENT_CLASSES.values()), ids=sample_name)
    def test_every_event_type_has_a_sample(self, event_class: type) -> None:
        assert (SAMPLES / sample_name(event_class)).is_file()

    @pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
    def test_sample_validates_as_its_own_type(self, path: Path) -> None:
        envelope = decode(path.read_bytes())
        assert sample_name(type(envelope.payload)) == path.name

    @pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
    def test_sample_round_trips_unchanged(self, path: Path) -> None:
        envelope = decode(path.read_bytes())
        assert json.loads(encode(envelope)) == json.loads(path.read_bytes())


class TestCodec:
    def test_garbage_is_a_decode_error(self) -> None:
        with pytest.raises(DecodeError, match="not JSON"):
            decode(b"\xff\x00 not json")

    def test_missing_value_is_a_decode_error(self) -> None:
        with pytest.raises(DecodeError, match="no value"):
            decode(None)

    def test_unknown_type_is_a_decode_error(self) -> None:
        document = json.loads((SAMPLES / "TrialRequested.v1.json").read_bytes())
        document["type"] = "TrialGranted"
        with pytest.raises(DecodeError, match="unknown event type"):
            decode(json.dumps(document).encode())

    def test_unknown_version_is_a_decode_error(self) -> None:
        document = json.loads((SAMPLES / "TrialRequested.v1.json").read_bytes())
        document["version"] = 99
        with pytest.raises(DecodeError, match="unknown event type/version"):
            decode(json.dumps(document).encode())

    def test_invalid_payload_is_a_decode_error(self) -> None:
        document = json.loads((SAMPLES / "PaymentSucceeded.v1.json").read_bytes())
        document["payload"]["telegram_id"] = -5
        with pytest.raises(DecodeError, match="invalid PaymentSucceeded"):
            decode(json.dumps(document).encode())

    def test_unexpected_payload_field_is_a_decode_error(self) -> None:
        document = json.loads((SAMPLES / "TrialRequested.v1.json").read_bytes())
        document["payload"]["days"] = 30
        with pytest.raises(DecodeError):
            decode(json.dumps(document).encode())

    def test_event_on_the_wrong_topic_is_a_decode_error(self) -> None:
        with pytest.raises(DecodeError, match="does not belong on topic 'payments'"):
            decode((SAMPLES / "TrialRequested.v1.json").read_bytes(), topic="payments")

    def test_naive_time_is_refused(self) -> None:
        document = json.loads((SAMPLES / "TrialRequested.v1.json").read_bytes())
        document["occurred_at"] = "2026-11-27T09:30:00"
        with pytest.raises(DecodeError):
            decode(json.dumps(document).encode())

    @given(
        telegram_id=st.integers(min_value=1, max_value=2**53),
        referrer=st.none() | st.integers(min_value=1, max_value=2**53),
        username=st.none() | st.text(max_size=40),
        offset_minutes=st.integers(min_value=-12 * 60, max_value=14 * 60),
    )
    def test_any_valid_event_round_trips(
        self, telegram_id: int, referrer: int | None, username: str | None, offset_minutes: int
    ) -> None:
        zone = timezone(timedelta(minutes=offset_minutes))
        envelope = Envelope.new(
            UserStarted(telegram_id=telegram_id, username=username, referrer_id=referrer),
            producer="bot",
            occurred_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=zone),
        )
        decoded = decode(encode(envelope))
        assert decoded == envelope
        assert decoded.occurred_at.tzinfo == UTC

    @given(st.binary(max_size=200))
    def test_arbitrary_bytes_decode_or_raise_decode_error(self, raw: bytes) -> None:
        try:
            envelope = decode(raw)
        except DecodeError as error:
            assert str(error)
        else:
            assert isinstance(envelope, Envelope)


class TestEnvelope:
    def test_caused_event_inherits_correlation(self) -> None:
        now = datetime.now(UTC)
        cause = Envelope.new(TrialRequested(telegram_id=7), producer="bot", occurred_at=now)
        effect = Envelope.new(
            UserStarted(telegram_id=7), producer="x", occurred_at=now, cause=cause
        )
        assert effect.correlation_id == cause.correlation_id == cause.event_id
        assert effect.causation_id == cause.event_id

    def test_key_is_the_telegram_id(self) -> None:
        envelope = Envelope.new(
            TrialRequested(telegram_id=123), producer="bot", occurred_at=datetime.now(UTC)
        )
        assert envelope.key == b"123"

    def test_events_are_frozen(self) -> None:
        event = TrialRequested(telegram_id=1)
        with pytest.raises(ValueError, match="frozen"):
            event.telegram_id = 2  # type: ignore[misc]


class TestIds:
    def test_same_external_id_gives_same_event_id(self) -> None:
        first = external_event_id("yookassa", "pay-1", PaymentSucceeded.event_type)
        again = external_event_id("yookassa", "pay-1", PaymentSucceeded.event_type)
        assert first == again

    def test_other_payment_or_event_gives_other_id(self) -> None:
        base = external_event_id("yookassa", "pay-1", "PaymentSucceeded")
        assert base != external_event_id("yookassa", "pay-2", "PaymentSucceeded")
        assert base != external_event_id("yookassa", "pay-1", "PaymentCanceled")

    def test_derived_ids_follow_their_cause(self) -> None:
        cause = uuid.uuid4()
        assert derived_event_id(cause, "SubscriptionExtended") == derived_event_id(
            cause, "SubscriptionExtended"
        )
        assert derived_event_id(cause, "SubscriptionExtended") != derived_event_id(
            cause, "ReferralBonusCredited"
        )


class TestRegistry:
    def test_every_event_belongs_to_the_topic_that_lists_it(self) -> None:
        for spec in TOPICS:
            for event_class in spec.events:
                assert event_class.topic == spec.name

    def test_event_types_are_unique(self) -> None:
        listed = [cls for spec in TOPICS for cls in spec.events]
        assert len(listed) == len(EVENT_CLASSES)

    def test_prefixed_names_and_dead_letter_topics(self) -> None:
        names = TopicNames("t1.")
        assert names("payments") == "t1.payments"
        assert names.dlq("payments") == "t1.payments.dlq"
        assert names.base("t1.payments.dlq") == "payments"

    def test_unknown_topic_is_refused(self) -> None:
        with pytest.raises(KeyError):
            TopicNames()("paymnets")
