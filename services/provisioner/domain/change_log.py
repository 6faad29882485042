"""What changed since a version: the book's users and a node's records, each read by the
node checks, which compare only what moved since the last one (see ``handlers/converge``)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)


class ChangeLog(Generic[T]):
    """One entry per change, numbered by :attr:`version`. A reader that caught up at one
    version asks :meth:`since` for what changed after it; past ``limit`` entries, or after
    :meth:`everything_changed`, the older versions are no longer listed (None: derive
    anew)."""

    def __init__(self, limit: int) -> None:
        self.version = 0
        self._limit = limit
        self._entries: list[T] = []
        self._from = 0  # the version before the first entry kept

    def add(self, changed: Iterable[T]) -> None:
        for item in changed:
            self.version += 1
            self._entries.append(item)
        if len(self._entries) > self._limit:  # nobody asked for so long: they derive anew
            self._entries, self._from = [], self.version

    def everything_changed(self) -> None:
        self.version += 1
        self._entries, self._from = [], self.version

    def since(self, version: int) -> set[T] | None:
        if version < self._from or version > self.version:
            return None
        return set(self._entries[version - self._from :])
