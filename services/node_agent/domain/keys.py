"""Key ids: one stable UUID per Keyland user, also used as the user's Xray email."""

from __future__ import annotations

import re
from typing import NewType

KeyId = NewType("KeyId", str)

_CANONICAL_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class MalformedKeyId(ValueError):
    """The text is not a UUID in its canonical 8-4-4-4-12 hexadecimal form."""


def parse_key_id(text: str) -> KeyId:
    """The key id in lower case, or :class:`MalformedKeyId`.

    Only the canonical form is accepted: Xray compares emails without regard to case, so
    lower-casing gives every key exactly one spelling in Xray and in the agent's record.
    """
    lowered = text.lower()
    if not _CANONICAL_UUID.fullmatch(lowered):
        raise MalformedKeyId(f"not a UUID: {text[:64]!r}")
    return KeyId(lowered)
