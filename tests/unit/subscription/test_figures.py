"""A user's share of the business figures, and shards that stay exact whatever crashes
come between a shard's write and its users' writes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.subscription.domain.figures import (
    Figures,
    Shard,
    ShareChange,
    fold_shares,
    inactive_from,
    is_inactive,
    share_of,
)
from services.subscription.domain.fold import fold
from services.subscription.domain.ledger import Entry
from tests.unit.subscription.builders import (
    at,
    lapsed,
    paid,
    purged,
    refunded,
    started,
    trial,
)
from tests.unit.subscription.test_fold import RULES, USER


def share(entries: list[Entry]) -> Figures:
    return share_of(fold(USER, entries, RULES), entries)


class TestShare:
    def test_a_trial_user_counts_as_user_active_and_trial(self) -> None:
        assert share([started(), trial(0)]) == Figures(users=1, active=1, trials=1)

    def test_a_paying_user_after_a_trial_counts_as_converted_with_the_revenue(self) -> None:
        entries: list[Entry] = [started(), trial(0), paid(1, amount="199.00")]
        assert share(entries) == Figures(
            users=1, active=1, trials=1, paid=1, paid_after_trial=1,
            revenue=(("RUB", Decimal("199.00")),),
        )  # fmt: skip

    def test_access_announced_lapsed_is_not_active_until_renewed(self) -> None:
        entries: list[Entry] = [started(), trial(0)]
        until = fold(USER, entries, RULES).until
        assert until is not None
        entries.append(lapsed(until))
        assert share(entries).active == 0
        entries.append(paid(10))
        assert share(entries).active == 1
        assert share([*entries, lapsed(until)]).active == 1  # a late copy of the old lapse

    def test_revenue_is_credited_payments_less_refunds_never_below_nothing(self) -> None:
        one, two = paid(0, payment="p1", amount="100.00"), paid(0, payment="p2")
        again = paid(1, payment="p1", amount="100.00")  # the same payment, another event
        entries: list[Entry] = [started(), one, two, again, refunded("p1", 2, amount="30.00")]
        assert share(entries).revenue == (("RUB", Decimal("269.00")),)
        over = refunded("p2", 3, amount="500.00")
        assert share([*entries, over]).revenue == (("RUB", Decimal("70.00")),)

    def test_someone_who_never_started_counts_only_their_money(self) -> None:
        assert share([paid(0, amount="50.00")]) == Figures(revenue=(("RUB", Decimal("50.00")),))

    def test_a_purged_user_leaves_the_counts_but_not_the_revenue(self) -> None:
        entries: list[Entry] = [started(), trial(0), paid(1, amount="10.00"), purged(40)]
        assert share(entries) == Figures(revenue=(("RUB", Decimal("10.00")),))

    def test_figures_survive_their_document_form(self) -> None:
        figures = Figures(3, 2, 1, 1, 1, (("RUB", Decimal("1.50")), ("XTR", Decimal(7))))
        assert Figures.from_document(figures.to_document()) == figures
        assert Figures.from_document(None) == Figures()


shares = st.builds(
    Figures,
    users=st.integers(0, 1),
    active=st.integers(0, 1),
    revenue=st.sampled_from([(), (("RUB", Decimal("199.00")),), (("XTR", Decimal(5)),)]),
)
# A round: users whose share changes, and where the worker crashes: 0 = before the
# shard's write, 1 = after it and before any user's save, n = after n - 1 saves;
# None = no crash.
rounds = st.lists(
    st.tuples(
        st.dictionaries(st.integers(1, 6), shares, min_size=1, max_size=4),
        st.none() | st.integers(0, 5),
    ),
    max_size=12,
)


@given(rounds)
def test_a_shard_holds_the_sum_of_saved_shares_after_any_crashes_and_redelivery(
    history: list[tuple[dict[int, Figures], int | None]],
) -> None:
    saved: dict[int, Figures] = {}
    shard = Shard()
    confirmed: dict[int, Figures] = {}  # the worker's memory, lost in a crash
    pending: dict[int, Figures] = {}  # changes not saved yet: redelivered
    for targets, crash in [*history, ({}, None)]:
        batch = {**pending, **targets}
        changes = [ShareChange(u, saved.get(u, Figures()), s) for u, s in batch.items()]
        if crash == 0:
            pending, confirmed = batch, {}
            continue
        shard = fold_shares(shard, changes, confirmed)
        confirmed = {}
        for n, (user, target) in enumerate(batch.items(), start=2):
            if crash is not None and n > crash:
                break
            saved[user] = target
            confirmed[user] = target
        if crash is not None:
            pending, confirmed = batch, {}
        else:
            pending = {}
    total = sum(saved.values(), Figures())
    assert shard.totals == total
    assert all(saved[u] == s for u, s in shard.inflight.items())


@given(
    st.integers(0, 400),
    st.none() | st.integers(0, 400),
    st.none() | st.integers(-50, 500),
    st.integers(0, 800),
)
def test_a_user_is_inactive_from_the_moment_filed_for_them(
    registered: int, bought: int | None, until: int | None, now: int
) -> None:
    """The old query: access over and last purchase (or registration) older than the age."""
    age = timedelta(days=182)
    last_purchase = None if bought is None else at(registered + bought)
    ends = None if until is None else at(registered + until)
    moment = inactive_from(at(registered), last_purchase, ends, age)
    inactive = is_inactive(at(registered), last_purchase, ends, at(now), age)
    assert inactive == (moment is not None and moment <= at(now))
    old = (ends is None or ends <= at(now)) and (last_purchase or at(registered)) <= at(now) - age
    assert inactive == old
    assert not is_inactive(None, None, None, at(now), age)
