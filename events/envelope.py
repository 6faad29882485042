"""The envelope every record on Kafka carries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, SerializeAsAny, field_validator

from events.base import Event

E_co = TypeVar("E_co", bound=Event, covariant=True)
P = TypeVar("P", bound=Event)


class Envelope(BaseModel, Generic[E_co]):
    """Identity, time and lineage of one event, around its payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID
    type: str
    version: int
    occurred_at: AwareDatetime
    producer: str
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    payload: SerializeAsAny[E_co]

    @field_validator("occurred_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @property
    def key(self) -> bytes:
        """The Kafka record key (the user's Telegram id for user events)."""
        return self.payload.partition_key().encode()

    @classmethod
    def new(
        cls,
        payload: P,
        *,
        producer: str,
        occurred_at: datetime,
        event_id: uuid.UUID | None = None,
        cause: Envelope[Event] | None = None,
    ) -> Envelope[P]:
        """Wrap ``payload``; with a ``cause`` the lineage (correlation, causation) follows it."""
        new_id = event_id or uuid.uuid4()
        return Envelope(
            event_id=new_id,
            type=payload.event_type,
            version=payload.event_version,
            occurred_at=occurred_at,
            producer=producer,
            correlation_id=cause.correlation_id if cause else new_id,
            causation_id=cause.event_id if cause else None,
            payload=payload,
        )
