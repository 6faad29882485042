"""Operator views of users: what ``keyland users show`` and ``keyland users find`` print.

Read-only. The user themself comes as the subscription service's typed
:class:`~events.users.UserView`, read through that service's own adapter
(:class:`services.subscription.adapters.user_views.UserViews`), never parsed here. Why the
adapter and not the read API: an operator looks users up most when services are down,
and these looks join what no API serves (a user's payments, keys per node, notices) and
search usernames by prefix and payments by id. The other queries gather payments
(``payments``), keys per node and the provisioner's view of their access (``node_keys``)
and recent notices (``notices`` and ``notice_outcomes``) into plain values; the rendering
functions turn those values into rich tables and do no I/O, so they are tested without
a database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from pymongo.database import Database
from rich.console import Group
from rich.table import Table

from events.users import UserView
from keyland.mongo import Document, user_document_id
from services.subscription.adapters.user_views import UserViews

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
class UserReport:
    """One user as the operator sees them: the subscription's view of the user, then what
    the provisioner and the notifier hold about them."""

    user: UserView
    invited: int = 0
    provisioned_until: datetime | None = None  # the provisioner's view (None: not known)
    provisioned_lapsed_until: datetime | None = None
    retired_keys: int = 0
    payments: tuple[PaymentLine, ...] = ()
    keys: tuple[KeyLine, ...] = ()
    notices: tuple[NoticeLine, ...] = ()


@dataclass(frozen=True)
class Match:
    user: UserView
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


def load_user(db: Database[Document], telegram_id: int, *, notices: int = 10) -> UserReport | None:
    """Everything an operator looks at for one user, or None if no service knows them."""
    users = UserViews.from_database(db)
    user = users.get(telegram_id)
    access = db["node_keys"].find_one({"_id": user_document_id(telegram_id)}, {"seen": 0})
    if user is None and access is None:
        return None
    user, access = user or UserView(telegram_id=telegram_id), access or {}
    payments = db["payments"].find({"telegram_id": telegram_id}).sort("_id", 1)
    keys = db["node_keys"].find({"kind": "applied", "telegram_id": telegram_id})
    current_key = None if user.key_id is None else str(user.key_id)
    return UserReport(
        user=user,
        invited=users.invited(telegram_id),
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
                key=lambda line: (line.key_id != current_key, line.country, line.node),
            )
        ),
        notices=_notices(db, telegram_id, notices),
    )


def find_users(db: Database[Document], query: str, *, limit: int = 20) -> list[Match]:
    """Users whose Telegram id is ``query``, whose username starts with it (``@`` and case
    ignored), or who made the payment ``query`` (with or without the ``provider:`` prefix)."""
    text = query.strip()
    users = UserViews.from_database(db)
    found: dict[int, Match] = {}

    def add(user: UserView | None, matched_by: str) -> None:
        if user is not None and user.telegram_id not in found and len(found) < limit:
            found[user.telegram_id] = Match(user, matched_by)

    if text.isdigit():
        add(users.get(int(text)), "telegram id")
    name = text.removeprefix("@")
    if name:
        for user in users.by_username_prefix(name, limit):
            add(user, f"username @{user.username}")
    if text:
        by_payment = {"$or": [{"_id": text}, {"_id": {"$regex": f"^[^:]+:{re.escape(text)}$"}}]}
        for payment in db["payments"].find(by_payment, {"telegram_id": 1}).limit(limit):
            payer = payment["telegram_id"]
            add(users.get(payer) or UserView(telegram_id=payer), f"payment {payment['_id']}")
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


def _renewal(user: UserView) -> str:
    if not user.auto_renewal:
        return "off"
    if user.renews_at is None:
        return "on, no charge due (attempts spent)"
    return f"on, next charge {moment(user.renews_at)}"


def subscription_table(report: UserReport, now: datetime) -> Table:
    user = report.user
    table = Table(title=f"User {user.telegram_id}", show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    username = f"@{user.username}" if user.username else MISSING
    status = "purged" if user.purged_at and not user.registered else access_status(user.until, now)
    rows = [
        ("username", username),
        ("language", _or_missing(user.language_code)),
        ("registered", moment(user.registered_at) if user.registered else "no"),
        ("access", status),
        ("paid until", moment(user.until)),
        ("trial", "used" if user.trial_used else "not used"),
        ("purchases", f"{user.purchases} (last {moment(user.last_purchase_at)})"),
        ("referrer", _or_missing(user.referrer_id)),
        ("invited", str(report.invited)),
        ("bonus days", str(user.referral_days_earned)),
        ("auto-renewal", _renewal(user)),
        ("region", _or_missing(user.region)),
        ("key id", _or_missing(user.key_id)),
    ]
    if user.purged_at is not None:
        rows.append(("purged", moment(user.purged_at)))
    if report.provisioned_until != user.until:
        rows.append(("provisioner's until", moment(report.provisioned_until)))
    if report.provisioned_lapsed_until is not None:
        rows.append(("lapse announced", moment(report.provisioned_lapsed_until)))
    if report.retired_keys:
        rows.append(("retired keys", str(report.retired_keys)))
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


def render_user(report: UserReport, now: datetime) -> Group:
    """Every table of ``keyland users show``."""
    key_id = report.user.key_id
    return Group(
        subscription_table(report, now),
        payments_table(report.payments),
        keys_table(report.keys, None if key_id is None else str(key_id)),
        notices_table(report.notices),
    )


def render_matches(matches: list[Match], now: datetime) -> Table:
    """The table of ``keyland users find``."""
    table = Table(title=f"{len(matches)} user(s)", title_justify="left")
    for column in ("telegram id", "username", "access", "purchases", "trial", "matched by"):
        table.add_column(column)
    for match in matches:
        user = match.user
        table.add_row(
            str(user.telegram_id), f"@{user.username}" if user.username else MISSING,
            access_status(user.until, now), str(user.purchases),
            "used" if user.trial_used else MISSING, match.matched_by,
        )  # fmt: skip
    return table
