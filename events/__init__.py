"""Keyland's one event vocabulary: the envelope, every event, the topics and the codec.

No service defines its own copy of an event. A changed shape gets a new ``version``
(and an upcaster in the codec), never a silent edit.
"""

from events.base import Event
from events.codec import DecodeError, decode, encode
from events.envelope import Envelope
from events.ids import derived_event_id, external_event_id

__all__ = [
    "DecodeError",
    "Envelope",
    "Event",
    "decode",
    "derived_event_id",
    "encode",
    "external_event_id",
]
