"""The revision of a user's subscription state, stamped on every fact that carries ``until``.

Why: a consumer that keeps the user's ``until`` (the provisioner) cannot trust arrival
order. The processor reads four input topics, and their records do not reach it in the
order they happened when one partition lags behind another: it then decides some facts
from a partial ledger (a payment before the /start or the adjustment that preceded it)
and a later decision from the whole ledger. (A rebuild, which reads whole topics in its
own interleaving, publishes nothing at all: see :mod:`..handlers`.) With the revision,
the consumer keeps the ``until`` of the newest decision instead of the last one to
arrive.

Rules, so that a higher revision always means a decision from more of the ledger:
- it counts the newly applied entries that can move access, across generations (a purge
  does not reset it), kept in the user's document by its single writer;
- a region choice, a lapse announcement or a change of automatic renewal (a method
  saved, renewal turned off, a renewal declined) cannot move access, and an entry compaction
  drops at once (a repeated /start, a trial asked for again) changes nothing: neither
  counts. So a replay, which re-applies only such dropped entries, leaves it as it was;
- every run that applies the same entries ends on the same revision, and its last fact
  carrying ``until`` carries the final one with its run's highest revision.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.subscription.domain.ledger import (
    Entry,
    Lapsed,
    MethodSaved,
    RegionPicked,
    RenewalDeclined,
    RenewalOff,
)

# Entries that cannot move access: they never count.
_STILL = (RegionPicked, Lapsed, MethodSaved, RenewalDeclined, RenewalOff)


def next_revision(revision: int, entry: Entry, kept: Sequence[Entry]) -> int:
    """The revision once ``entry`` is newly applied; ``kept``: the ledger after it and
    its compaction."""
    if isinstance(entry, _STILL):
        return revision
    if all(other.event_id != entry.event_id for other in kept):
        return revision
    return revision + 1
