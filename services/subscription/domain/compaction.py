"""Keeping a user's ledger bounded: entries that can no longer change the state go.

A user who sends /start ten thousand times, or presses the trial button as often, must
cost no more per event than one who did it once, and their document must stay small.
After each fold, :func:`compact` drops the entries whose removal leaves the fold of the
rest equal to the fold of all (a property test holds it to that):

- a /start that did not register anyone only updates the profile (the last non-empty
  username and language win): of those, per generation (the stretch after each
  registering /start), only the last one with a username and the last one with a
  language are kept;
- a region choice only sets the region (the last one wins): per generation, the last;
- a trial asked for after the trial was granted is refused forever (a used trial stays
  used): those go.

Payments, refunds, adjustments, referral bonuses and purges all stay: they are the
money and the admin's word, and their number grows only with the business done.

Limit, accepted and rare: an entry that arrives much later than its own time (a
purge read after the /starts that followed it, in a rebuild that reads one topic before
another) may find that a dropped /start would have registered the next generation; the
next kept one does, a little later.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from services.subscription.domain.ledger import Entry, RegionPicked, Started, TrialAsked
from services.subscription.domain.state import Effect, Outcome


def compact(entries: Sequence[Entry], outcomes: Mapping[uuid.UUID, Outcome]) -> list[Entry]:
    """The entries worth keeping, in time order; ``outcomes`` from their fold."""
    ordered = sorted({e.event_id: e for e in entries}.values(), key=lambda e: e.sort_key())
    keep: dict[uuid.UUID, Entry] = {}
    generation = 0
    last: dict[tuple[int, str], Entry] = {}
    trial_granted = False
    for entry in ordered:
        effect = outcomes[entry.event_id].effect
        match entry:
            case Started() if effect is not Effect.REGISTERED:
                if entry.username:
                    last[generation, "username"] = entry
                if entry.language_code:
                    last[generation, "language"] = entry
                continue
            case Started():
                generation += 1
            case RegionPicked():
                last[generation, "region"] = entry
                continue
            case TrialAsked() if trial_granted:
                continue
            case TrialAsked() if effect is Effect.TRIAL_GRANTED:
                trial_granted = True
        keep[entry.event_id] = entry
    keep.update((entry.event_id, entry) for entry in last.values())
    return sorted(keep.values(), key=lambda e: e.sort_key())
