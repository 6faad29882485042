"""The user's revision: counted per newly applied entry that can move access, stamped on
every fact carrying ``until``, and the same at the end whatever order entries came in."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from events import Event
from events.subscriptions import (
    ReferralBonusCredited,
    SubscriptionExtended,
    SubscriptionShortened,
    TrialActivated,
)
from services.subscription.domain.compaction import compact
from services.subscription.domain.facts import facts_for
from services.subscription.domain.fold import fold
from services.subscription.domain.ledger import Entry
from services.subscription.domain.revision import next_revision
from tests.unit.subscription.builders import paid, refunded, region, started, trial
from tests.unit.subscription.test_fold import RULES, USER

UNTIL_FACTS = (TrialActivated, SubscriptionExtended, SubscriptionShortened, ReferralBonusCredited)


def applied(arrivals: Sequence[Entry]) -> tuple[int, list[list[Event]]]:
    """The revision after ``arrivals`` (applied as the handler does) and each one's facts."""
    ledger: list[Entry] = []
    revision, facts = 0, []
    for entry in arrivals:
        if any(e.event_id == entry.event_id for e in ledger):
            continue
        before = fold(USER, ledger, RULES)
        after = fold(USER, [*ledger, entry], RULES)
        ledger = compact([*ledger, entry], after.outcomes)
        revision = next_revision(revision, entry, ledger)
        facts.append(list(facts_for(entry, before, after, revision)))
    return revision, facts


def test_until_facts_carry_the_revision_of_their_entry() -> None:
    history: list[Entry] = [started(0), trial(1), region(2), paid(3, payment="p"), refunded("p", 4)]
    revision, facts = applied(history)
    assert revision == 4  # the region choice moves no access
    stamped = [
        (i, fact.revision)
        for i, each in enumerate(facts)
        for fact in each
        if isinstance(fact, UNTIL_FACTS)
    ]
    assert stamped == [(1, 2), (1, 2), (3, 3), (4, 4)]


def test_an_entry_applied_again_after_compaction_does_not_count() -> None:
    first, again = started(0, username="anna"), started(1, username="anna")
    later = started(2, username="anna")
    assert applied([first, again, later])[0] == 3
    assert applied([first, again, later, again])[0] == 3  # ``again`` was compacted away


@settings(max_examples=100, deadline=None)
@given(st.permutations([started(0), trial(1), region(2), paid(3, payment="p"), refunded("p", 4)]))
def test_any_arrival_order_ends_on_the_same_revision_and_until(arrivals: list[Entry]) -> None:
    revision, facts = applied(arrivals)
    assert revision == 4
    last = [f for each in facts for f in each if isinstance(f, UNTIL_FACTS)][-1]
    assert last.until == fold(USER, arrivals, RULES).until
