"""Any order and any duplication of the same events give the same state."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.subscription.domain.fold import fold
from services.subscription.domain.ledger import Entry, Paid, Started
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
    st.builds(b.referral, day, st.sampled_from([7, 8]), day),
    st.builds(b.purged, day),
)


def observable(state: Subscription) -> tuple[object, ...]:
    return (
        state.until,
        state.registered_at,
        state.referrer_id,
        state.trial_used,
        state.generation,
        state.purchases,
        state.referral_days_earned,
        {k: (v.added, v.refunded) for k, v in state.payments.items()},
        {k: v.effect for k, v in state.outcomes.items()},
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
