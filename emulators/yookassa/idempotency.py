"""Idempotence keys: a repeated request gets the first answer instead of a second effect."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from emulators.yookassa.state import invalid_request

KEY_HEADER = "Idempotence-Key"
MAX_KEY_LENGTH = 64
KEY_LIFETIME = timedelta(hours=24)


def request_fingerprint(method: str, path: str, body: object) -> str:
    """The same operation on the same data gives the same fingerprint, whatever the key order."""
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def checked_key(raw: str | None) -> str:
    """YooKassa refuses a POST without a key, or with one longer than 64 characters."""
    if not raw:
        raise invalid_request(f"{KEY_HEADER} header is required", KEY_HEADER)
    if len(raw) > MAX_KEY_LENGTH:
        raise invalid_request(
            f"{KEY_HEADER} is longer than {MAX_KEY_LENGTH} characters", KEY_HEADER
        )
    return raw


@dataclass(frozen=True)
class _Remembered:
    fingerprint: str
    answer: dict[str, Any]
    at: datetime


@dataclass
class IdempotenceKeys:
    """Successful answers by key, kept for a day as YooKassa keeps them.

    Only successes are remembered, so a request refused for bad data may be corrected and
    sent again with the same key.
    """

    lifetime: timedelta = KEY_LIFETIME
    _answers: dict[str, _Remembered] = field(default_factory=dict)

    def recall(self, key: str, fingerprint: str, now: datetime) -> dict[str, Any] | None:
        """The first answer for this key, or ``None``; another request under it is refused."""
        self._forget_expired(now)
        remembered = self._answers.get(key)
        if remembered is None:
            return None
        if remembered.fingerprint != fingerprint:
            raise invalid_request(
                f"{KEY_HEADER} was already used for a different request", KEY_HEADER
            )
        return remembered.answer

    def remember(self, key: str, fingerprint: str, answer: dict[str, Any], now: datetime) -> None:
        self._answers[key] = _Remembered(fingerprint, answer, now)

    def _forget_expired(self, now: datetime) -> None:
        expired = [key for key, seen in self._answers.items() if now - seen.at >= self.lifetime]
        for key in expired:
            del self._answers[key]
