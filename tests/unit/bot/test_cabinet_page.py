"""The cabinet's pure parts: the order a renewal is placed under, and the user's part of
the page, which shows every value it is given escaped."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from keyland.plans import PlanSpec
from keyland.web.standing import Standing
from services.bot.adapters.links import UserLinks
from services.bot.adapters.read_api import Payment, Referrals
from services.bot.cabinet.handlers import CabinetView
from services.bot.cabinet.page import cabinet, refused, shell
from services.bot.domain.cabinet import order_id
from services.bot.domain.init_data import WebAppUser

NOW = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Moscow")
PLANS = {
    "month_1": PlanSpec(months=1, price=Decimal("199.00"), stars=150),
    "week": PlanSpec(months=0, days=7, price=Decimal("49.00")),
}
hostile = st.text(min_size=1, max_size=40).map(lambda t: f"<script>alert('{t}')</script>&\"")


def opening(query_id: str | None, telegram_id: int = 42) -> WebAppUser:
    return WebAppUser(telegram_id, "Ann", "en", NOW, query_id)


@given(st.text(max_size=200) | st.none(), st.sampled_from([*PLANS, "x" * 32]))
def test_an_order_id_fits_the_ingest_and_names_the_user_and_plan(
    query_id: str | None, plan: str
) -> None:
    placed = order_id(opening(query_id, 2**52), plan)

    assert 1 <= len(placed) <= 128
    assert placed.startswith(f"cabinet:{2**52}:")
    assert placed.endswith(f":{plan}")


def test_one_opening_places_one_order_per_plan_and_another_opening_a_new_one() -> None:
    first, again, later = opening("AAEone"), opening("AAEone"), opening("AAEtwo")

    assert order_id(first, "month_1") == order_id(again, "month_1")
    assert order_id(first, "month_1") != order_id(later, "month_1")
    assert order_id(first, "month_1") != order_id(first, "week")
    assert order_id(opening(None), "week") == f"cabinet:42:at{int(NOW.timestamp())}:week"


def view(link: str, payment_id: str, referral: str, language: str = "en") -> CabinetView:
    return CabinetView(
        telegram_id=42,
        language=language,
        standing=Standing.ACTIVE,
        until=NOW + timedelta(days=20),
        now=NOW,
        links=UserLinks(
            links={"finland": link}, subscription_url=f"https://sub.example/{uuid.uuid4()}"
        ),
        links_unavailable=False,
        region=None,
        payments=[
            Payment(
                payment_id=payment_id,
                provider="yookassa",
                status="credited",
                plan="month_1",
                amount=Decimal("199.00"),
                currency="RUB",
                paid_at=NOW,
            )
        ],
        referral_link=referral,
        referrals=Referrals(invited=3, bonus_days=30),
        plans=PLANS,
    )


@given(hostile, hostile, hostile)
def test_every_value_shown_is_escaped(link: str, payment_id: str, referral: str) -> None:
    page = cabinet(view(link, payment_id, referral), ZONE)

    assert "<script" not in page
    assert "&lt;script&gt;" in page


def test_the_users_part_says_the_standing_keys_plans_payments_and_referrals() -> None:
    page = cabinet(view("vless://a@fi", "pay-1", "https://t.me/b?start=ref_42", "ru"), ZONE)

    assert 'data-standing="active"' in page
    assert "до 27.12.2026 23:00 (UTC+03:00)" in page
    assert "vless://a@fi" in page
    assert 'data-renew="yookassa" data-plan="week"' in page
    assert 'data-renew="stars" data-plan="month_1"' in page
    assert 'data-renew="stars" data-plan="week"' not in page  # no Stars price
    assert 'data-payment="pay-1"' in page
    assert '<strong id="invited">3</strong>' in page


def test_the_page_and_a_refusal_speak_the_language_asked() -> None:
    assert '<html lang="en">' in shell("en")
    assert "Кабинет Keyland" in shell("ru")
    assert "menu button" in refused("en", "cabinet_refused")
