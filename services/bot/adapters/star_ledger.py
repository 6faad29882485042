"""The bot's Star transactions on Telegram (``getStarTransactions``), read back as the
payments users made.

Telegram lists transactions newest first, a page of at most 100 per call; reading stops
at the first transaction older than asked, so a read costs one call per page of the
window. A payment arriving while the pages are read shifts the list by one: a payment
may then be read twice, never skipped.
"""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot
from aiogram.types import StarTransaction, TransactionPartnerUser

from services.bot.domain.stars import STARS, StarsPayment

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


class StarLedger:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def payments_since(self, since: datetime) -> list[StarsPayment]:
        """The invoice payments made at or after ``since``, newest first."""
        found: list[StarsPayment] = []
        offset = 0
        while True:
            page = (await self._bot.get_star_transactions(offset=offset, limit=PAGE)).transactions
            for transaction in page:
                if transaction.date < since:
                    return found
                payment = payment_of(transaction)
                if payment is not None:
                    found.append(payment)
            if len(page) < PAGE:
                return found
            offset += len(page)
