"""Why a worker forgets which users it saved when its partitions move: an entry from an
earlier ownership would remove an in-flight share set again by the owner in between."""

from __future__ import annotations

from services.subscription.domain.figures import Figures, Shard, ShareChange, fold_shares

TRIAL = Figures(users=1, active=1, trials=1)
PAID = Figures(users=1, active=1, trials=1, paid=1, paid_after_trial=1)
USER = 7


def test_a_saved_share_remembered_from_an_earlier_ownership_breaks_the_totals() -> None:
    # Instance A saved the user with the trial share; its shard held it in flight.
    shard = fold_shares(Shard(), [ShareChange(USER, Figures(), TRIAL)], {})
    remembered_by_a = {USER: TRIAL}
    # The shard moved to B: the user's payment is in flight, then saved, and its entry goes.
    shard = fold_shares(shard, [ShareChange(USER, TRIAL, PAID)], {USER: TRIAL})
    shard = fold_shares(shard, [], {USER: PAID})
    # A refund takes the user back to the trial share: in flight, and B dies before the
    # user's document (still PAID) is saved.
    shard = fold_shares(shard, [ShareChange(USER, PAID, TRIAL)], {})
    assert shard.inflight == {USER: TRIAL}
    refunded_totals = shard.totals

    stale = fold_shares(shard, [], remembered_by_a)  # A owns the shard again, remembering
    forgotten = fold_shares(shard, [], {})  # A forgot on the rebalance
    # The refund is redelivered to A, whose user document still holds PAID.
    after_stale = fold_shares(stale, [ShareChange(USER, PAID, TRIAL)], {})
    after_forgotten = fold_shares(forgotten, [ShareChange(USER, PAID, TRIAL)], {})
    assert after_forgotten.totals == refunded_totals == TRIAL
    assert after_stale.totals != refunded_totals, "counted the refund twice"
