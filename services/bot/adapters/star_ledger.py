"""The bot's Star transactions on Telegram (``getStarTransactions``), read back as the
payments users made and the refunds they got.

Telegram lists transactions newest first, a page of at most 100 per call; reading stops
at the first transaction older than asked, so a read costs one call per page of the
window. A payment arriving while the pages are read shifts the list by one: a payment
may then be read twice, never skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from aiogram import Bot
from aiogram.types import StarTransaction, TransactionPartnerUser

from events.payments import RefundSucceeded
from services.bot.domain.stars import STARS, StarsPayment, refund

PAGE = 100  # Telegram's largest page
INVOICE_PAYMENT = "invoice_payment"


def payment_of(transaction: StarTransaction) -> StarsPayment | None:
    """The payment a transaction records, as its ``successful_payment`` reported it; None
    for anything but a user paying an invoice (refunds, withdrawals, gifts, ...)."""
    source = transaction.source
    if not isinstance(source, TransactionPartnerUser):
        return None
    if source.transaction_type != INVOICE_PAYMENT:
        return None
    return StarsPayment(
        payer_id=source.user.id,
        charge_id=transaction.id,
        currency=STARS,
        total=transaction.amount,
        payload=source.invoice_payload or "",
        paid_at=transaction.date,
    )


def refund_of(transaction: StarTransaction) -> RefundSucceeded | None:
    """The refund a transaction records, as its ``refunded_payment`` reported it (the
    transaction keeps the payment's id); None for anything but an invoice payment's
    refund."""
    receiver = transaction.receiver
    if not isinstance(receiver, TransactionPartnerUser):
        return None
    if receiver.transaction_type != INVOICE_PAYMENT:
        return None
    return refund(receiver.user.id, transaction.id, Decimal(transaction.amount), transaction.date)


@dataclass
class StarMoves:
    """Payments and refunds, newest first."""

    payments: list[StarsPayment] = field(default_factory=list)
    refunds: list[RefundSucceeded] = field(default_factory=list)


class StarLedger:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def moves_since(self, since: datetime) -> StarMoves:
        """The invoice payments made, and refunded, at or after ``since``."""
        found = StarMoves()
        offset = 0
        while True:
            page = (await self._bot.get_star_transactions(offset=offset, limit=PAGE)).transactions
            for transaction in page:
                if transaction.date < since:
                    return found
                if (payment := payment_of(transaction)) is not None:
                    found.payments.append(payment)
                if (refunded := refund_of(transaction)) is not None:
                    found.refunds.append(refunded)
            if len(page) < PAGE:
                return found
            offset += len(page)
