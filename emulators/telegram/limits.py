"""Telegram's flood limits: about one message a second per chat, thirty overall.

Pure: times are passed in. A refused send does not count towards the limit; the answer
says how many whole seconds to wait, at least one, as Telegram's ``retry_after`` does.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RateLimits:
    """At most ``per_chat`` sends to one chat and ``overall`` sends per ``window_s``."""

    enabled: bool = False
    per_chat: int = 1
    overall: int = 30
    window_s: float = 1.0

    def __post_init__(self) -> None:
        numbers = (self.per_chat, self.overall, self.window_s)
        if not isinstance(self.enabled, bool) or any(isinstance(n, bool) for n in numbers):
            raise ValueError("enabled must be true or false, the limits numbers")
        if self.per_chat < 1 or self.overall < 1 or not self.window_s > 0:
            raise ValueError("rate limits need per_chat >= 1, overall >= 1 and window_s > 0")

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "per_chat": self.per_chat,
            "overall": self.overall,
            "window_s": self.window_s,
        }


@dataclass
class Throttle:
    """Recent sends of one bot, overall and per chat."""

    limits: RateLimits = field(default_factory=RateLimits)
    _overall: deque[float] = field(default_factory=deque)
    _chats: dict[int, deque[float]] = field(default_factory=dict)

    def configure(self, limits: RateLimits) -> None:
        self.limits = limits
        self._overall.clear()
        self._chats.clear()

    def admit(self, chat_id: int, now: float) -> int | None:
        """Record a send to ``chat_id``; or, over a limit, the seconds to wait instead."""
        if not self.limits.enabled:
            return None
        window = self.limits.window_s
        chat = self._chats.setdefault(chat_id, deque())
        for sent in (chat, self._overall):
            while sent and sent[0] <= now - window:
                sent.popleft()
        waits = [
            sent[0] + window - now
            for sent, limit in ((chat, self.limits.per_chat), (self._overall, self.limits.overall))
            if len(sent) >= limit
        ]
        if waits:
            return max(1, math.ceil(max(waits)))
        chat.append(now)
        self._overall.append(now)
        return None
