"""An admin's block: held for the Telegram id until lifted, whatever else happens, and
told downstream as the whole ledger says it (pure: no fixtures)."""

from __future__ import annotations

from events.subscriptions import UserBlockChanged
from services.subscription.domain.facts import facts_for
from services.subscription.domain.fold import fold
from services.subscription.domain.ledger import Entry
from tests.unit.subscription.builders import adjusted, at, block, purged, started
from tests.unit.subscription.test_fold import RULES, USER


def told(ledger: list[Entry], entry: Entry, revision: int = 5) -> list[UserBlockChanged]:
    before, after = fold(USER, ledger, RULES), fold(USER, [*ledger, entry], RULES)
    return [f for f in facts_for(entry, before, after, revision) if isinstance(f, UserBlockChanged)]


def test_a_block_holds_until_lifted_and_changes_no_time() -> None:
    ledger: list[Entry] = [started(day=0), adjusted(day=0, days=30), block(day=1)]
    state = fold(USER, ledger, RULES)
    assert state.blocked
    assert state.until == at(30)
    assert not fold(USER, [*ledger, block(day=2, blocked=False)], RULES).blocked


def test_a_block_before_the_first_start_holds_after_it() -> None:
    assert fold(USER, [block(day=0), started(day=1)], RULES).blocked


def test_a_block_outlasts_a_purge() -> None:
    state = fold(USER, [started(day=0), block(day=1), purged(day=2), started(day=3)], RULES)
    assert state.blocked
    assert state.generation == 1


def test_the_block_is_told_with_the_revision_it_was_decided_at() -> None:
    [fact] = told([started(day=0)], block(day=1), revision=7)
    assert (fact.telegram_id, fact.blocked, fact.revision) == (USER, True, 7)


def test_a_block_read_after_a_later_unblock_tells_unblocked() -> None:
    [fact] = told([started(day=0), block(day=5, blocked=False)], block(day=1))
    assert not fact.blocked


def test_other_entries_tell_no_block() -> None:
    assert told([started(day=0), block(day=1)], adjusted(day=2, days=3)) == []
