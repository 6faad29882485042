"""Operator views of users: what ``keyland users show`` and ``keyland users find`` print.

Read-only. The queries gather one user's subscription (``users``), payments
(``payments``), keys per node and the provisioner's view of their access (``node_keys``)
and their recent notices (``notices`` and ``notice_outcomes``) into plain values; the
rendering functions turn those values into rich tables and do no I/O, so they are tested
without a database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from pymongo.database import Database
from rich.console import Group
from rich.table import Table

from keyland.mongo import Document, user_document_id

MISSING = "-"


@dataclass(frozen=True)
class PaymentLine:
    payment_id: str
    plan: str | None
    months: int | None
    amount: Decimal | None
    currency: str | None
    paid_at: datetime | None
    refunded: Decimal


@dataclass(frozen=True)
class KeyLine:
    """The provisioner's record of one key on one node."""

    country: str
    node: str
    key_id: str
    state: str
    updated_at: datetime | None


@dataclass(frozen=True)
class NoticeLine:
    kind: str
    due: datetime
    status: str
    finished_at: datetime | None


@dataclass(frozen=True)
class UserView:
    telegram_id: int
    registered: bool
    username: str | None = None
    language_code: str | None = None
    region: str | None = None
    key_id: str | None = None
    registered_at: datetime | None = None
    until: datetime | None = None
    trial_used: bool = False
    purchases: int = 0
    last_purchase_at: datetime | None = None
    referrer_id: int | None = None
    referral_days_earned: int = 0
    invited: int = 0
    purged_at: datetime | None = None
    provisioned_until: datetime | None = None  # the provisioner's view (None: not known)
    provisioned_lapsed_until: datetime | None = None
    retired_keys: int = 0
    payments: tuple[PaymentLine, ...] = ()
    keys: tuple[KeyLine, ...] = ()
    notices: tuple[NoticeLine, ...] = ()


@dataclass(frozen=True)
class Match:
    telegram_id: int
    username: str | None
    until: datetime | None
    purchases: int
    trial_used: bool
    matched_by: str


# Queries -------------------------------------------------------------------------------


def _payment(document: Document) -> PaymentLine:
    refunds = document.get("refunds") or {}
    amount = document.get("amount")
    return PaymentLine(
        payment_id=document["_id"],
        plan=document.get("plan"),
        months=document.get("months"),
        amount=None if amount is None else Decimal(amount),
        currency=document.get("currency"),
        paid_at=document.get("paid_at"),
        refunded=sum((Decimal(v) for v in refunds.values()), Decimal(0)),
    )


def _notices(db: Database[Document], telegram_id: int, limit: int) -> tuple[NoticeLine, ...]:
    if limit <= 0:
        return ()
    cursor = db["notices"].find({"telegram_id": telegram_id}).sort("due", -1).limit(limit)
    planned = list(cursor)
    outcomes = {
        o["_id"]: o
        for o in db["notice_outcomes"].find({"_id": {"$in": [n["_id"] for n in planned]}})
    }
    return tuple(
        NoticeLine(
            kind=n["kind"],
            due=n["due"],
            status=outcomes.get(n["_id"], {}).get("status", "planned"),
            finished_at=outcomes.get(n["_id"], {}).get("finished_at"),
        )
        for n in planned
    )


def load_user(db: Database[Document], telegram_id: int, *, notices: int = 10) -> UserView | None:
    """Everything an operator looks at for one user, or None if no service knows them."""
    document_id = user_document_id(telegram_id)
    user = db["users"].find_one({"_id": document_id}, {"entries": 0, "outbox": 0})
    access = db["node_keys"].find_one({"_id": document_id}, {"seen": 0})
    if user is None and access is None:
        return None
    user, access = user or {}, access or {}
    payments = db["payments"].find({"telegram_id": telegram_id}).sort("_id", 1)
    keys = db["node_keys"].find({"kind": "applied", "telegram_id": telegram_id})
    return UserView(
        telegram_id=telegram_id,
        registered=bool(user.get("registered")),
        username=user.get("username"),
        language_code=user.get("language_code"),
        region=user.get("region"),
        key_id=user.get("key_id"),
        registered_at=user.get("registered_at"),
        until=user.get("until"),
        trial_used=bool(user.get("trial_used")),
        purchases=user.get("purchases", 0),
        last_purchase_at=user.get("last_purchase_at"),
        referrer_id=user.get("referrer_id"),
        referral_days_earned=user.get("referral_days_earned", 0),
        invited=db["users"].count_documents({"referrer_id": telegram_id}),
        purged_at=user.get("purged_at"),
        provisioned_until=access.get("until"),
        provisioned_lapsed_until=access.get("lapsed_until"),
        retired_keys=len(access.get("retired_keys", [])),
        payments=tuple(_payment(p) for p in payments),
        keys=tuple(
            sorted(
                (
                    KeyLine(k["country"], k["node"], k["key_id"], k["state"], k.get("updated_at"))
                    for k in keys
                ),
                key=lambda line: (line.key_id != user.get("key_id"), line.country, line.node),
            )
        ),
        notices=_notices(db, telegram_id, notices),
    )


def _match(document: Document, matched_by: str) -> Match:
    return Match(
        telegram_id=document["telegram_id"],
        username=document.get("username"),
        until=document.get("until"),
        purchases=document.get("purchases", 0),
        trial_used=bool(document.get("trial_used")),
        matched_by=matched_by,
    )


def find_users(db: Database[Document], query: str, *, limit: int = 20) -> list[Match]:
    """Users whose Telegram id is ``query``, whose username starts with it (``@`` and case
    ignored), or who made the payment ``query`` (with or without the ``provider:`` prefix)."""
    text = query.strip()
    users = db["users"]
    fields = {"telegram_id": 1, "username": 1, "until": 1, "purchases": 1, "trial_used": 1}
    found: dict[int, Match] = {}

    def add(document: Document | None, matched_by: str) -> None:
        if document is not None and document["telegram_id"] not in found and len(found) < limit:
            found[document["telegram_id"]] = _match(document, matched_by)

    if text.isdigit():
        add(users.find_one({"_id": user_document_id(int(text))}, fields), "telegram id")
    name = text.removeprefix("@").lower()
    if name:
        pattern = "^" + re.escape(name)
        for document in users.find({"username_lower": {"$regex": pattern}}, fields).limit(limit):
            add(document, f"username @{document.get('username')}")
    if text:
        by_payment = {"$or": [{"_id": text}, {"_id": {"$regex": f"^[^:]+:{re.escape(text)}$"}}]}
        for payment in db["payments"].find(by_payment, {"telegram_id": 1}).limit(limit):
            payer = users.find_one({"_id": user_document_id(payment["telegram_id"])}, fields)
            add(payer or {"telegram_id": payment["telegram_id"]}, f"payment {payment['_id']}")
    return list(found.values())


# Rendering (pure) ----------------------------------------------------------------------


def moment(value: datetime | None) -> str:
    return MISSING if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


def access_status(until: datetime | None, now: datetime) -> str:
    """``active, 12 days left`` / ``lapsed 2026-11-01 10:00 UTC`` / ``no access yet``."""
    if until is None:
        return "no access yet"
    if until <= now:
        return f"lapsed {moment(until)}"
    left = until - now
    if left.days >= 1:
        return f"active, {left.days} day{'s' if left.days != 1 else ''} left"
    return f"active, {int(left.total_seconds() // 3600)} h left"


def _money(amount: Decimal | None, currency: str | None) -> str:
    return MISSING if amount is None else f"{amount} {currency or ''}".strip()


def _or_missing(value: object) -> str:
    return MISSING if value is None else str(value)


def subscription_table(view: UserView, now: datetime) -> Table:
    table = Table(title=f"User {view.telegram_id}", show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    username = f"@{view.username}" if view.username else MISSING
    status = "purged" if view.purged_at and not view.registered else access_status(view.until, now)
    rows = [
        ("username", username),
        ("language", _or_missing(view.language_code)),
        ("registered", moment(view.registered_at) if view.registered else "no"),
        ("access", status),
        ("paid until", moment(view.until)),
        ("trial", "used" if view.trial_used else "not used"),
        ("purchases", f"{view.purchases} (last {moment(view.last_purchase_at)})"),
        ("referrer", _or_missing(view.referrer_id)),
        ("invited", str(view.invited)),
        ("bonus days", str(view.referral_days_earned)),
        ("region", _or_missing(view.region)),
        ("key id", _or_missing(view.key_id)),
    ]
    if view.purged_at is not None:
        rows.append(("purged", moment(view.purged_at)))
    if view.provisioned_until != view.until:
        rows.append(("provisioner's until", moment(view.provisioned_until)))
    if view.provisioned_lapsed_until is not None:
        rows.append(("lapse announced", moment(view.provisioned_lapsed_until)))
    if view.retired_keys:
        rows.append(("retired keys", str(view.retired_keys)))
    for field, value in rows:
        table.add_row(field, value)
    return table


def payments_table(payments: tuple[PaymentLine, ...]) -> Table:
    table = Table(title="Payments", title_justify="left")
    table.add_column("payment", no_wrap=True)
    for column in ("plan", "months", "amount", "refunded", "paid at"):
        table.add_column(column)
    for p in payments:
        refunded = MISSING if not p.refunded else _money(p.refunded, p.currency)
        table.add_row(
            p.payment_id, _or_missing(p.plan), _or_missing(p.months),
            _money(p.amount, p.currency), refunded, moment(p.paid_at),
        )  # fmt: skip
    return table


def keys_table(keys: tuple[KeyLine, ...], current_key: str | None) -> Table:
    table = Table(title="Keys per node", title_justify="left")
    for column in ("country", "node", "key", "state", "last change"):
        table.add_column(column, no_wrap=column in ("node", "key"))
    for k in keys:
        key = k.key_id if k.key_id == current_key else f"{k.key_id} (old)"
        table.add_row(k.country, k.node, key, k.state, moment(k.updated_at))
    return table


def notices_table(notices: tuple[NoticeLine, ...]) -> Table:
    table = Table(title="Recent notices", title_justify="left")
    for column in ("due", "kind", "status", "finished"):
        table.add_column(column)
    for n in notices:
        table.add_row(moment(n.due), n.kind, n.status, moment(n.finished_at))
    return table


def render_user(view: UserView, now: datetime) -> Group:
    """Every table of ``keyland users show``."""
    return Group(
        subscription_table(view, now),
        payments_table(view.payments),
        keys_table(view.keys, view.key_id),
        notices_table(view.notices),
    )


def render_matches(matches: list[Match], now: datetime) -> Table:
    """The table of ``keyland users find``."""
    table = Table(title=f"{len(matches)} user(s)", title_justify="left")
    for column in ("telegram id", "username", "access", "purchases", "trial", "matched by"):
        table.add_column(column)
    for m in matches:
        table.add_row(
            str(m.telegram_id), f"@{m.username}" if m.username else MISSING,
            access_status(m.until, now), str(m.purchases), "used" if m.trial_used else MISSING,
            m.matched_by,
        )  # fmt: skip
    return table
