"""A user's access as the provisioner records it, one behaviour at a time."""

from __future__ import annotations

from services.provisioner.domain.access import (
    Blocked,
    KeySeen,
    KeyState,
    Lapsed,
    Purged,
    RegionPicked,
    UntilSet,
    UserAccess,
    record,
)
from tests.unit.provisioner.builders import KEY, NEXT_KEY, USER, at, cause, fold


class TestActiveWhileUntilIsAhead:
    def test_registered_user_without_access_has_a_disabled_key(self) -> None:
        access = fold(KeySeen(KEY))
        assert access.desired(at(0)) == {KEY: KeyState.DISABLED}

    def test_trial_enables_the_key_until_it_ends(self) -> None:
        access = fold(KeySeen(KEY), UntilSet(at(3), KEY))
        assert access.desired(at(2.9)) == {KEY: KeyState.ENABLED}
        assert access.desired(at(3)) == {KEY: KeyState.DISABLED}

    def test_the_latest_fact_wins_even_when_it_shortens(self) -> None:
        access = fold(UntilSet(at(30), KEY), UntilSet(at(10), KEY))
        assert access.until == at(10)
        assert not access.active_at(at(11))

    def test_referral_bonus_without_a_key_moves_the_known_keys_until(self) -> None:
        access = fold(KeySeen(KEY), UntilSet(at(10)))
        assert access.key_id == KEY
        assert access.active_at(at(5))


class TestExpiry:
    def test_expiry_of_the_known_until_disables_at_once(self) -> None:
        """Event time decides, not the wall clock: even if ``until`` looks ahead."""
        access = fold(UntilSet(at(3), KEY), Lapsed(KEY, at(3)))
        assert access.desired(at(1)) == {KEY: KeyState.DISABLED}

    def test_stale_expiry_is_ignored_when_a_later_until_is_known(self) -> None:
        access = fold(UntilSet(at(3), KEY), UntilSet(at(33), KEY))
        stale = Lapsed(KEY, at(3))
        assert access.ignores(stale)
        assert fold(stale, access=access).active_at(at(4))

    def test_renewal_after_expiry_enables_the_same_key(self) -> None:
        access = fold(UntilSet(at(3), KEY), Lapsed(KEY, at(3)), UntilSet(at(40), KEY))
        assert access.desired(at(4)) == {KEY: KeyState.ENABLED}

    def test_expiry_arriving_before_the_shortening_it_follows_still_ends_access(self) -> None:
        access = fold(UntilSet(at(30), KEY), Lapsed(KEY, at(10)), UntilSet(at(10), KEY))
        assert not access.active_at(at(5))


class TestPurge:
    def test_purge_deletes_the_key_everywhere(self) -> None:
        access = fold(UntilSet(at(30), KEY), Purged(KEY))
        assert access.desired(at(1)) == {KEY: KeyState.DELETED}

    def test_a_purged_key_never_comes_back(self) -> None:
        access = fold(Purged(KEY), UntilSet(at(30), KEY), KeySeen(KEY))
        assert access.desired(at(1)) == {KEY: KeyState.DELETED}

    def test_next_generation_starts_without_access(self) -> None:
        access = fold(UntilSet(at(30), KEY), Purged(KEY), KeySeen(NEXT_KEY))
        assert access.desired(at(1)) == {KEY: KeyState.DELETED, NEXT_KEY: KeyState.DISABLED}
        renewed = fold(UntilSet(at(5), NEXT_KEY), access=access)
        assert renewed.desired(at(1)) == {KEY: KeyState.DELETED, NEXT_KEY: KeyState.ENABLED}

    def test_a_new_key_without_a_purge_retires_the_old_one(self) -> None:
        access = fold(UntilSet(at(30), KEY), UntilSet(at(3), NEXT_KEY))
        assert access.desired(at(1)) == {KEY: KeyState.DELETED, NEXT_KEY: KeyState.ENABLED}


class TestOncePerEvent:
    def test_a_repeated_event_changes_nothing(self) -> None:
        first, then = cause(), cause()
        access = record(UserAccess(USER), UntilSet(at(30), KEY), first)
        access = record(access, UntilSet(at(10), KEY), then)
        assert record(access, UntilSet(at(30), KEY), first) == access

    def test_the_last_cause_is_kept_for_lineage(self) -> None:
        first, region = cause(), cause()
        access = record(UserAccess(USER), UntilSet(at(30), KEY), first)
        access = record(access, RegionPicked("germany"), region)
        assert access.last_cause == first  # a region choice changes no key
        assert access.region == "germany"
        assert region.event_id in access.seen


class TestTheNewestRevisionDecides:
    """A rebuild of the subscription service republishes facts decided from a partial
    ledger (new ids, stale ``until``) and its final decision under an id already seen."""

    def test_a_stale_decision_under_a_new_id_changes_nothing(self) -> None:
        access = fold(KeySeen(KEY), UntilSet(at(30), KEY, revision=4))
        assert record(access, UntilSet(at(10), KEY, revision=3), cause()) == access
        assert record(access, UntilSet(at(10), KEY, revision=4), cause()) == access

    def test_a_newer_decision_applies_even_under_a_known_id(self) -> None:
        known = cause()
        access = record(fold(KeySeen(KEY)), UntilSet(at(10), KEY, revision=2), known)
        newer = record(access, UntilSet(at(30), KEY, revision=5), known)
        assert (newer.until, newer.revision, newer.last_cause) == (at(30), 5, known)

    def test_a_re_announced_until_only_raises_the_revision(self) -> None:
        access = fold(KeySeen(KEY), UntilSet(at(30), KEY, revision=4))
        again = record(access, UntilSet(at(30), KEY, revision=5), cause())
        assert again == UserAccess(**{**vars(access), "revision": 5})

    def test_the_revision_outlives_a_purge(self) -> None:
        access = fold(KeySeen(KEY), UntilSet(at(30), revision=4), Purged(KEY), KeySeen(NEXT_KEY))
        assert record(access, UntilSet(at(20), revision=3), cause()) == access
        renewed = record(access, UntilSet(at(20), NEXT_KEY, revision=6), cause())
        assert renewed.desired(at(1)) == {KEY: KeyState.DELETED, NEXT_KEY: KeyState.ENABLED}

    def test_a_fact_without_revision_is_applied_by_arrival_as_before(self) -> None:
        access = fold(UntilSet(at(30), KEY, revision=4), UntilSet(at(10), KEY))
        assert (access.until, access.revision) == (at(10), 4)


class TestBlock:
    def test_a_blocked_user_has_every_key_disabled_whatever_until_says(self) -> None:
        access = fold(KeySeen(KEY), UntilSet(at(30), KEY), Blocked(True, 3))
        assert access.desired(at(1)) == {KEY: KeyState.DISABLED}

    def test_lifting_the_block_enables_the_key_while_time_is_left(self) -> None:
        access = fold(KeySeen(KEY), UntilSet(at(30), KEY), Blocked(True, 3), Blocked(False, 4))
        assert access.desired(at(1)) == {KEY: KeyState.ENABLED}

    def test_a_stale_block_under_a_new_id_changes_nothing(self) -> None:
        access = fold(UntilSet(at(30), KEY), Blocked(False, 4), Blocked(True, 3))
        assert access.active_at(at(1))

    def test_the_block_outlasts_a_purge_and_holds_for_the_next_key(self) -> None:
        access = fold(
            KeySeen(KEY),
            Blocked(True, 3),
            Purged(KEY),
            KeySeen(NEXT_KEY),
            UntilSet(at(9), NEXT_KEY),
        )
        assert access.desired(at(1)) == {KEY: KeyState.DELETED, NEXT_KEY: KeyState.DISABLED}
