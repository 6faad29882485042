"""How often the bot tells the others that a user is around (``UserSeen``)."""

from __future__ import annotations


class SeenPace:
    """At most one ``UserSeen`` per user per ``every_s`` seconds, so a chatty user
    does not flood Kafka. Times are monotonic seconds. Memory is bounded: past
    ``remember`` users, the oldest half is forgotten (each of those may be reported once
    more, early)."""

    def __init__(self, every_s: float, remember: int = 100_000) -> None:
        self._every_s = every_s
        self._remember = remember
        self._last: dict[int, float] = {}

    def due(self, telegram_id: int, now: float) -> bool:
        """Whether a ``UserSeen`` for ``telegram_id`` is due at ``now``."""
        last = self._last.get(telegram_id)
        return last is None or now - last >= self._every_s

    def claim(self, telegram_id: int, now: float) -> bool:
        """Whether a ``UserSeen`` for ``telegram_id`` is due at ``now``; if so, it counts
        as reported at ``now`` from here on, so an update of the same user handled while
        it is being published does not report too (:meth:`unclaim` if it did not reach
        Kafka)."""
        if not self.due(telegram_id, now):
            return False
        self.reported(telegram_id, now)
        return True

    def unclaim(self, telegram_id: int, claimed_at: float) -> None:
        """The ``UserSeen`` claimed at ``claimed_at`` did not reach Kafka: the user is due
        again (unless a later report took its place)."""
        if self._last.get(telegram_id) == claimed_at:
            del self._last[telegram_id]

    def reported(self, telegram_id: int, now: float) -> None:
        """A ``UserSeen`` for ``telegram_id`` reached Kafka at ``now``."""
        self._last.pop(telegram_id, None)  # re-inserted last: the dict stays oldest first
        self._last[telegram_id] = now
        if len(self._last) > self._remember:
            for old in list(self._last)[: len(self._last) // 2]:
                del self._last[old]
