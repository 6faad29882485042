"""What to change in Xray so that its users are exactly the agent's record."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.node_agent.domain.keys import KeyId


@dataclass(frozen=True)
class Changes:
    """Users to add to Xray and users to remove from it, each sorted."""

    to_add: tuple[KeyId, ...]
    to_remove: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.to_add or self.to_remove)


def changes_needed(recorded: Iterable[KeyId], in_xray: Iterable[str]) -> Changes:
    """The record is the truth: missing users are added, unknown emails removed.

    Xray compares emails without regard to case, so the comparison does too. A user with an
    empty email cannot be removed through the API, so none is proposed.
    """
    wanted = set(recorded)
    present = {email.lower(): email for email in in_xray if email}
    return Changes(
        to_add=tuple(sorted(key for key in wanted if key not in present)),
        to_remove=tuple(sorted(email for low, email in present.items() if low not in wanted)),
    )
