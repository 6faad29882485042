"""Any order and any duplication of the same events give the same state."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.subscription.domain.compaction import compact
from services.subscription.domain.fold import fold
from services.subscription.domain.ledger import Entry, Paid, Provisioned, Started
from services.subscription.domain.rules import Rules
from services.subscription.domain.state import Subscription
from tests.unit.subscription import builders as b

RULES = Rules(
    trial=timedelta(days=3), referral_bonus_days_per_month=10, max_horizon=timedelta(days=400)
)
USER = 1001

day = st.integers(min_value=0, max_value=200)
entry = st.one_of(
    st.builds(b.started, day, st.none() | st.sampled_from([7, USER, 8])),
    st.builds(b.trial, day),
    st.builds(b.paid, day, st.integers(1, 12), st.sampled_from(["p1", "p2", "p3"])),
    st.builds(
        b.refunded, st.sampled_from(["p1", "p2", "p3"]), day, st.sampled_from(["99.00", "199.00"])
    ),
    st.builds(b.adjusted, day, st.integers(-3, 14), st.integers(0, 40)),
    st.builds(
        b.referral, day, st.sampled_from([7, 8]), day, st.just(10), st.sampled_from(["q1", "q2"])
    ),
    st.builds(
        b.referral_revoked,
        day,
        st.sampled_from([7, 8]),
        st.sampled_from(["q1", "q2"]),
        st.integers(1, 10),
        st.sampled_from(["s1", "s2"]),
    ),
    st.builds(b.purged, day),
    st.builds(b.granted, day, st.sampled_from(["promo:A", "promo:B"]), st.integers(1, 30)),
    st.builds(b.saved, day, st.sampled_from(["m1", "m2"])),
    st.builds(b.renewal_off, day),
    st.builds(
        b.declined,
        st.sampled_from([b.at(31), b.at(62)]),
        st.integers(0, 3),
        day.map(b.at),
    ),
    st.builds(b.provisioned, day, st.integers(0, 2), st.integers(0, 40)),
    st.builds(b.block, day, st.booleans()),
)


profile = st.one_of(
    st.builds(b.started, day, st.none(), st.sampled_from(["anna", "", "bo"])),
    st.builds(b.region, day, st.sampled_from(["finland", "germany"])),
)


def observable(state: Subscription, *, outcomes: bool = True) -> tuple[object, ...]:
    return (
        state.until,
        state.registered_at,
        state.referrer_id,
        state.trial_used,
        state.generation,
        state.purchases,
        state.referral_days_earned,
        sorted(state.promo_grants),
        sorted(state.held_promos),
        {k: (v.added, v.refunded) for k, v in state.payments.items()},
        state.provisioned_at,
        state.blocked,
        sorted(str(grant.event_id) for grant in state.grants),
        {k: v.effect for k, v in state.outcomes.items()} if outcomes else None,
        state.renewal_method,
        state.renewal_plan,
        state.declined,
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(entry, min_size=1, max_size=12), st.data())
def test_any_order_and_duplication_gives_the_same_state(
    entries: list[Entry], data: st.DataObject
) -> None:
    delivered = data.draw(
        st.lists(st.sampled_from(entries), min_size=len(entries)).map(lambda extra: entries + extra)
    )
    shuffled = data.draw(st.permutations(delivered))
    assert observable(fold(USER, shuffled, RULES)) == observable(fold(USER, entries, RULES))


@settings(max_examples=200, deadline=None)
@given(st.lists(entry, min_size=1, max_size=12))
def test_access_never_ends_before_a_payment_time_plus_its_months_without_refunds_or_purges(
    entries: list[Entry],
) -> None:
    state = fold(USER, entries, RULES)
    removing = any(
        e.kind in {"refunded", "purged"} or (e.kind == "adjusted" and e.months < 0) for e in entries
    )
    if removing:
        return
    for e in entries:
        if e.kind == "paid" and state.outcomes[e.event_id].effect.value == "extended":
            assert state.until is not None
            assert state.until >= e.at + timedelta(days=28 * e.months)


@settings(max_examples=300, deadline=None)
@given(st.lists(entry, min_size=1, max_size=12))
def test_every_payment_is_credited_or_held_never_dropped(entries: list[Entry]) -> None:
    state = fold(USER, entries, RULES)
    paid_ids = {e.payment_id for e in entries if isinstance(e, Paid)}
    assert paid_ids <= set(state.payments) | set(state.held)
    assert not (set(state.payments) & set(state.held))


@settings(max_examples=300, deadline=None)
@given(st.lists(entry, min_size=1, max_size=12))
def test_only_a_start_registers(entries: list[Entry]) -> None:
    state = fold(USER, entries, RULES)
    starts = [e for e in entries if isinstance(e, Started)]
    assert state.registered <= bool(starts)
    if state.registered:
        assert state.registered_at in {e.at for e in starts}


@settings(max_examples=400, deadline=None)
@given(st.lists(entry | profile, min_size=1, max_size=16))
def test_the_compacted_ledger_folds_to_the_same_state(entries: list[Entry]) -> None:
    everything = fold(USER, entries, RULES)
    kept = compact(entries, everything.outcomes)
    assert set(kept) <= set(entries)
    assert observable(fold(USER, kept, RULES), outcomes=False) == observable(
        everything, outcomes=False
    )
    profile_of = fold(USER, kept, RULES)
    assert (profile_of.username, profile_of.language_code, profile_of.region) == (
        everything.username,
        everything.language_code,
        everything.region,
    )


def test_ten_thousand_starts_and_trial_presses_keep_a_handful_of_entries() -> None:
    ledger: list[Entry] = [b.started(0, username="anna")]
    for n in range(1, 10_001):  # as the handler does: compact after every event
        for new in (b.started(n / 100, username=f"anna{n % 7}"), b.trial(n / 100)):
            ledger = compact([*ledger, new], fold(USER, [*ledger, new], RULES).outcomes)
        assert len(ledger) <= 3  # the registering /start, the latest /start, the trial
    assert fold(USER, ledger, RULES).username == f"anna{10_000 % 7}"


@given(st.lists(entry, min_size=1, max_size=12))
@settings(max_examples=300, deadline=None)
def test_time_an_admin_granted_before_the_first_start_is_never_dropped(
    entries: list[Entry],
) -> None:
    """Without purges or takings, access after the first /start lasts at least each grant
    made before it, counted from the registration."""
    if any(e.kind == "purged" or (e.kind == "adjusted" and e.months < 0) for e in entries):
        return
    if any(e.kind == "refunded" for e in entries):
        return
    state = fold(USER, entries, RULES)
    if state.registered_at is None:
        return
    for e in entries:
        if isinstance(e, Provisioned) and e.at <= state.registered_at and (e.months or e.days):
            assert state.until is not None
            assert state.until >= state.registered_at + timedelta(days=28 * e.months + e.days)
