"""The one codec for Kafka values, used by faust agents and aiokafka clients alike.

Values are the envelope as UTF-8 JSON. Decoding looks the payload class up by the
envelope's (``type``, ``version``); anything that does not validate is a
:class:`DecodeError`, which consumers send to the dead-letter topic instead of retrying.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from events.base import Event
from events.envelope import Envelope
from events.registry import EVENT_CLASSES


class DecodeError(ValueError):
    """The bytes are not a valid Keyland event (a poison record)."""


def encode(envelope: Envelope[Event]) -> bytes:
    return envelope.model_dump_json().encode()


def decode(raw: bytes | None, *, topic: str | None = None) -> Envelope[Event]:
    """Parse and validate one record value; ``topic`` (a base name) also checks placement."""
    if raw is None:
        raise DecodeError("record has no value")
    try:
        document: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DecodeError(f"not JSON: {error}") from error
    if not isinstance(document, dict):
        raise DecodeError("an envelope must be a JSON object")
    event_class = EVENT_CLASSES.get((document.get("type"), document.get("version")))  # type: ignore[arg-type]
    if event_class is None:
        raise DecodeError(
            f"unknown event type/version {document.get('type')!r}/{document.get('version')!r}"
        )
    if topic is not None and event_class.topic != topic:
        raise DecodeError(f"{event_class.event_type} does not belong on topic {topic!r}")
    try:
        payload = event_class.model_validate(document.get("payload"))
        return Envelope.model_validate({**document, "payload": payload})
    except ValidationError as error:
        raise DecodeError(f"invalid {event_class.event_type}: {error}") from error
