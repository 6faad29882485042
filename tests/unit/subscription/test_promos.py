"""Promo codes: who wins a use, why the others do not, and that a replay changes nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from events.subscriptions import ExtensionReason, PromoRefusal, SubscriptionExtended
from services.subscription.domain.facts import facts_for
from services.subscription.domain.fold import fold
from services.subscription.domain.ledger import Entry
from services.subscription.domain.promos import Claim, Decision, Grant, PromoCode, decide
from services.subscription.domain.rules import Rules
from tests.unit.subscription import builders as b

RULES = Rules()
USER = 1001


def code(max_uses: int = 1, expires: float = 30, created: float = 0) -> PromoCode:
    return PromoCode("WINTER", 14, max_uses, b.at(expires), b.at(created))


@dataclass
class Desk:
    """What the promo desk keeps for one code (its claims and decisions), in memory:
    redemptions are decided one at a time, in the order they come."""

    code: PromoCode
    claims: dict[int, Claim] = field(default_factory=dict)
    decisions: dict[uuid.UUID, Decision] = field(default_factory=dict)

    def redeem(self, event_id: uuid.UUID, user: int, day: float) -> Decision:
        if event_id in self.decisions:
            return self.decisions[event_id]
        decision = decide(self.code, self.claims.get(user), event_id, b.at(day), user)
        if isinstance(decision, Grant) and user not in self.claims:
            self.claims[user] = Claim(event_id, decision.slot)
            self.code = replace(self.code, uses=decision.slot + 1)
        self.decisions[event_id] = decision
        return decision


Redemption = tuple[uuid.UUID, int, float]
redemption = st.tuples(st.uuids(), st.integers(1, 6), st.integers(0, 40))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 4), st.lists(redemption, max_size=30), st.data())
def test_a_code_grants_at_most_its_uses_once_per_user_and_a_replay_grants_nothing_more(
    max_uses: int, redemptions: list[Redemption], data: st.DataObject
) -> None:
    # redelivered copies anywhere after their original, then the whole topic replayed
    copies = data.draw(st.lists(st.sampled_from(redemptions))) if redemptions else []
    delivered = sorted([*redemptions, *copies], key=lambda r: r[2])
    desk = Desk(code(max_uses))
    first = [desk.redeem(*r) for r in delivered]
    replayed = [desk.redeem(*r) for r in delivered]
    assert replayed == first
    grants = {
        event_id: d
        for (event_id, _, _), d in zip(delivered, first, strict=True)
        if isinstance(d, Grant)
    }
    winners = [user for event_id, user, _ in redemptions if event_id in grants]
    assert len(grants) <= max_uses
    assert len(winners) == len(set(winners))  # one use per user
    assert sorted(g.slot for g in grants.values()) == list(range(len(grants)))
    # nobody is refused while uses are left: before expiry, every user gets one until none remain
    in_time = {user for _, user, day in redemptions if b.at(day) < desk.code.expires_at}
    assert len(grants) == min(max_uses, len(in_time))


@settings(max_examples=200, deadline=None)
@given(st.lists(redemption, min_size=2, max_size=20))
def test_every_redemption_that_gets_nothing_is_told_why(redemptions: list[Redemption]) -> None:
    desk = Desk(code(max_uses=1, expires=20))
    for event_id, user, day in sorted(redemptions, key=lambda r: r[2]):
        decision = desk.redeem(event_id, user, day)
        if isinstance(decision, Grant):
            continue
        claim = desk.claims.get(user)
        if claim is not None and claim.event_id != event_id:
            assert decision is PromoRefusal.ALREADY_USED
        elif b.at(day) >= desk.code.expires_at:
            assert decision is PromoRefusal.EXPIRED
        else:
            assert decision is PromoRefusal.USED_UP


def test_fifty_users_at_once_on_a_one_use_code_give_one_grant_and_forty_nine_used_up() -> None:
    desk = Desk(code(max_uses=1))
    decisions = [desk.redeem(uuid.uuid4(), user, 1) for user in range(1, 51)]
    assert decisions.count(Grant(0, 14)) == 1
    assert decisions.count(PromoRefusal.USED_UP) == 49


def test_a_redemption_retried_after_its_claim_was_taken_is_granted_again() -> None:
    event_id = uuid.uuid4()
    used_up = replace(code(max_uses=1), uses=1)
    assert decide(used_up, Claim(event_id, 0), event_id, b.at(1), USER) == Grant(0, 14)
    assert decide(used_up, Claim(uuid.uuid4(), 0), event_id, b.at(1), USER) is (
        PromoRefusal.ALREADY_USED
    )


def test_a_code_unknown_or_created_after_the_redemption_is_unknown() -> None:
    assert decide(None, None, uuid.uuid4(), b.at(1), USER) is PromoRefusal.UNKNOWN
    assert decide(code(created=2), None, uuid.uuid4(), b.at(1), USER) is PromoRefusal.UNKNOWN


def test_a_code_is_expired_from_its_expiry_on() -> None:
    assert decide(code(expires=5), None, uuid.uuid4(), b.at(5), USER) is PromoRefusal.EXPIRED
    assert isinstance(decide(code(expires=5), None, uuid.uuid4(), b.at(4.9), USER), Grant)


def gift(buyer: int) -> PromoCode:
    return replace(code(max_uses=1, expires=3660), months=1, days=0, buyer=buyer)


@settings(max_examples=300, deadline=None)
@given(st.lists(redemption, max_size=20), st.integers(1, 6))
def test_a_gift_goes_once_to_the_first_other_user_and_never_to_its_buyer(
    redemptions: list[Redemption], buyer: int
) -> None:
    desk = Desk(gift(buyer))
    delivered = sorted(redemptions, key=lambda r: r[2])
    decisions = [(user, desk.redeem(event_id, user, day)) for event_id, user, day in delivered]
    winners = [user for user, d in decisions if isinstance(d, Grant)]
    others = [user for user, _ in decisions if user != buyer]
    assert winners == others[:1]
    assert all(d is PromoRefusal.OWN_GIFT for user, d in decisions if user == buyer)
    assert [desk.redeem(event_id, user, day) for event_id, user, day in delivered] == [
        d for _, d in decisions
    ]


def test_a_gift_opened_by_its_buyer_is_refused_and_by_another_granted_once() -> None:
    desk = Desk(gift(buyer=7))
    assert desk.redeem(uuid.uuid4(), 7, 1) is PromoRefusal.OWN_GIFT
    assert desk.redeem(uuid.uuid4(), 8, 1) == Grant(0, 0, 1)
    assert desk.redeem(uuid.uuid4(), 8, 2) is PromoRefusal.ALREADY_USED
    assert desk.redeem(uuid.uuid4(), 9, 2) is PromoRefusal.USED_UP


class TestGrantsInTheLedger:
    def test_a_grant_extends_from_the_end_of_access_once_per_code(self) -> None:
        entries: list[Entry] = [b.started(0), b.paid(0, months=1, payment="p1")]
        paid_until = fold(USER, entries, RULES).until
        assert paid_until is not None
        again = [b.granted(1, "promo:A", 14), b.granted(2, "promo:A", 14)]
        state = fold(USER, [*entries, *again], RULES)
        assert state.until == paid_until + timedelta(days=14)

    def test_a_grant_before_the_first_start_is_applied_by_it(self) -> None:
        grant, start = b.granted(0, "promo:A", 14), b.started(3)
        state = fold(USER, [grant, start], RULES)
        assert state.until == b.at(3) + timedelta(days=14)
        before = fold(USER, [grant], RULES)
        (extended,) = [
            f
            for f in facts_for(start, before, state, 1)
            if f.event_type == ("SubscriptionExtended")
        ]
        assert isinstance(extended, SubscriptionExtended)
        assert extended.reason is ExtensionReason.PROMO
        assert not extended.first_purchase

    def test_a_gift_extends_by_its_months_and_is_told_as_a_gift(self) -> None:
        start = b.started(0)
        gift_entry = b.granted(1, "gift:K7Q2", 0).model_copy(update={"months": 1})
        before, after = fold(USER, [start], RULES), fold(USER, [start, gift_entry], RULES)
        (fact,) = facts_for(gift_entry, before, after, 1)
        assert isinstance(fact, SubscriptionExtended)
        assert fact.reason is ExtensionReason.GIFT
        assert fact.until == b.at(1) + timedelta(days=28)  # 31.01 + one calendar month

    def test_a_grant_is_told_as_a_promo_extension(self) -> None:
        start, grant = b.started(0), b.granted(1, "promo:A", 14)
        before, after = fold(USER, [start], RULES), fold(USER, [start, grant], RULES)
        (fact,) = facts_for(grant, before, after, 1)
        assert isinstance(fact, SubscriptionExtended)
        assert fact.reason is ExtensionReason.PROMO
        assert fact.until == b.at(1) + timedelta(days=14)
