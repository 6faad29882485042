"""The promo desk: creates codes and gifts and decides redemptions, on the code's partition.

``PromoCodeCreated``, ``GiftPurchased`` and ``PromoCodeEntered`` are keyed by the code, so this worker
sees every record of a code, in order, and decides them one at a time (see
:mod:`..domain.promos` for why, and for the claims that guard it anyway). A paid gift is
also recorded under its buyer in ``payments`` (one upsert by ``_id``). Per
redemption, all by ``_id``: a read of its stored decision; when there is none, a read of
the code and of the user's claim, then for a winner a unique insert of a slot (one more
per slot a concurrent writer took) and of the claim and the code's use count, and the
decision's unique insert. Then the answer is published, keyed by the user, under an id
derived from the redemption: ``PromoCodeRedeemed`` (the user's own partition credits the
days) or ``PromoCodeRefused`` (the notifier tells them why). A redelivery or a replay
finds the stored decision and publishes the same answer under the same id.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from events import Envelope, Event, derived_event_id
from events.admin_commands import PromoCodeCreated
from events.bot_actions import PromoCodeEntered
from events.payments import GiftPurchased
from events.subscriptions import PromoCodeRedeemed, PromoCodeRefused, PromoRefusal
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document
from services.subscription.adapters.payments import Payments
from services.subscription.adapters.promos import Promos
from services.subscription.domain.promos import Grant, decide

log = logging.getLogger(__name__)

PRODUCER = "subscription"
PROMO_EVENTS = (PromoCodeCreated, GiftPurchased, PromoCodeEntered)


class PromoDesk:
    def __init__(
        self,
        promos: Promos,
        payments: Payments,
        publisher: EventPublisher,
        *,
        rebuild: bool = False,
    ) -> None:
        self._promos = promos
        self._payments = payments
        self._publisher = publisher
        self._rebuild = rebuild

    async def handle(self, envelopes: Sequence[Envelope[Event]]) -> None:
        """Apply ``envelopes`` in order (one code's records keep their order), then
        publish the answers (none in a rebuild: they are on the topic already)."""
        answers: list[Envelope[Event]] = []
        for envelope in envelopes:
            match envelope.payload:
                case PromoCodeCreated() | GiftPurchased() as created:
                    if isinstance(created, GiftPurchased):
                        await self._payments.gift(created)  # for support: the buyer paid
                    if not await self._promos.create(created, envelope.occurred_at):
                        log.info("promo code %s exists already; kept as it was", created.code)
                case PromoCodeEntered() as entered:
                    answers.append(await self._redeem(envelope, entered))
        if answers and not self._rebuild:
            await self._publisher.publish_many(answers)

    async def _redeem(
        self, envelope: Envelope[Event], entered: PromoCodeEntered
    ) -> Envelope[Event]:
        stored = await self._promos.decision(envelope.event_id)
        if stored is None:
            stored = await self._promos.decided(
                envelope.event_id, await self._decide(envelope, entered)
            )
        answer: Event
        if "slot" in stored:
            answer = PromoCodeRedeemed(
                telegram_id=entered.telegram_id,
                code=entered.code,
                months=stored.get("months", 0),
                days=stored["days"],
                gift=entered.gift,
            )
        else:
            answer = PromoCodeRefused(
                telegram_id=entered.telegram_id,
                code=entered.code,
                reason=PromoRefusal(stored["reason"]),
                gift=entered.gift,
            )
        return Envelope.new(
            answer,
            producer=PRODUCER,
            occurred_at=envelope.occurred_at,
            event_id=derived_event_id(envelope.event_id, answer.event_type),
            cause=envelope,
        )

    async def _decide(self, envelope: Envelope[Event], entered: PromoCodeEntered) -> Document:
        code = await self._promos.code(entered.code)
        claim = await self._promos.claim(entered.code, entered.telegram_id)
        decision = decide(code, claim, envelope.event_id, envelope.occurred_at, entered.telegram_id)
        if isinstance(decision, Grant) and code is not None and claim is None:
            decision = await self._promos.take(code, entered.telegram_id, envelope.event_id)
        elif isinstance(decision, Grant) and code is not None:
            await self._promos.count(code, decision.slot)  # a crash may have left it behind
        document: Document = {"telegram_id": entered.telegram_id, "code": entered.code}
        if isinstance(decision, Grant):
            return {
                **document,
                "months": decision.months,
                "days": decision.days,
                "slot": decision.slot,
            }
        return {**document, "reason": str(decision)}
