"""What ``keyland users show`` and ``keyland users find`` print, from plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from rich.console import Console, RenderableType

from events.users import UserView
from keyland_tools.ops.users import (
    KeyLine,
    Match,
    NoticeLine,
    PaymentLine,
    UserReport,
    access_status,
    render_matches,
    render_user,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
KEY, OLD_KEY = "5e1f0c1a-0000-4000-8000-000000000001", "5e1f0c1a-0000-4000-8000-000000000002"


def text(renderable: RenderableType) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def field(shown: str, name: str) -> str:
    """The value next to ``name`` in the subscription table."""
    for line in shown.splitlines():
        cells = [cell.strip() for cell in line.split("│")]
        if len(cells) == 4 and cells[1] == name:
            return cells[2]
    raise AssertionError(f"no row {name!r} in\n{shown}")


def view(**overrides: object) -> UserReport:
    user = {
        "telegram_id": 7002,
        "registered": True,
        "username": "anton",
        "registered_at": NOW - timedelta(days=40),
        "until": NOW + timedelta(days=12, hours=3),
        "trial_used": True,
        "purchases": 2,
        "referrer_id": 7001,
        "referral_days_earned": 60,
        "key_id": KEY,
    }
    report: dict[str, object] = {
        "invited": 1,
        "provisioned_until": NOW + timedelta(days=12, hours=3),
    }
    for name, value in overrides.items():
        (user if name in UserView.model_fields else report)[name] = value
    return UserReport(UserView.model_validate(user), **report)  # type: ignore[arg-type]


class TestAccessStatus:
    def test_no_period_yet(self) -> None:
        assert access_status(None, NOW) == "no access yet"

    def test_days_left_are_whole_days(self) -> None:
        assert access_status(NOW + timedelta(days=12, hours=23), NOW) == "active, 12 days left"
        assert access_status(NOW + timedelta(days=1), NOW) == "active, 1 day left"

    def test_hours_left_on_the_last_day(self) -> None:
        assert access_status(NOW + timedelta(hours=5, minutes=59), NOW) == "active, 5 h left"

    def test_lapsed_shows_when(self) -> None:
        assert access_status(NOW, NOW) == "lapsed 2026-11-27 12:00 UTC"


class TestShow:
    def test_subscription_shows_paid_until_trial_referrer_and_bonus_days(self) -> None:
        shown = text(render_user(view(), NOW))
        assert "User 7002" in shown
        assert "@anton" in shown
        assert field(shown, "access") == "active, 12 days left"
        assert field(shown, "paid until") == "2026-12-09 15:00 UTC"
        assert field(shown, "trial") == "used"
        assert field(shown, "referrer") == "7001"
        assert field(shown, "bonus days") == "60"
        assert "provisioner's until" not in shown

    def test_automatic_renewal_shows_the_next_charge(self) -> None:
        assert field(text(render_user(view(), NOW)), "auto-renewal") == "off"
        renewing = view(auto_renewal=True, renews_at=NOW + timedelta(days=11, hours=3))
        assert field(text(render_user(renewing, NOW)), "auto-renewal") == (
            "on, next charge 2026-12-08 15:00 UTC"
        )
        spent = text(render_user(view(auto_renewal=True), NOW))
        assert field(spent, "auto-renewal") == "on, no charge due (attempts spent)"

    def test_a_provisioner_behind_the_subscription_is_pointed_out(self) -> None:
        shown = text(render_user(view(provisioned_until=NOW + timedelta(days=2)), NOW))
        assert field(shown, "provisioner's until") == "2026-11-29 12:00 UTC"

    def test_payments_show_plan_amount_and_refunds(self) -> None:
        payments = (
            PaymentLine("yookassa:p1", "month_3", 3, Decimal("499.00"), "RUB", NOW, Decimal(0)),
            PaymentLine(
                "yookassa:p2", "month_1", 1, Decimal("199.00"), "RUB", NOW, Decimal("199.00")
            ),
        )
        rows = [
            line
            for line in text(render_user(view(payments=payments), NOW)).splitlines()
            if "yookassa:" in line
        ]
        assert "499.00 RUB" in rows[0]
        assert rows[0].split("│")[5].strip() == "-"  # nothing refunded
        assert rows[1].split("│")[5].strip() == "199.00 RUB"

    def test_keys_per_node_mark_keys_of_an_earlier_generation(self) -> None:
        keys = (
            KeyLine("finland", "10.0.0.1:8443", KEY, "enabled", NOW),
            KeyLine("finland", "10.0.0.1:8443", OLD_KEY, "deleted", NOW - timedelta(days=90)),
        )
        shown = text(render_user(view(keys=keys), NOW))
        assert f"{KEY} " in shown
        assert f"{OLD_KEY} (old)" in shown
        assert "enabled" in shown
        assert "deleted" in shown

    def test_notices_show_kind_and_what_became_of_them(self) -> None:
        notices = (
            NoticeLine("reminder", NOW, "skipped", NOW),
            NoticeLine("renewal", NOW, "planned", None),
        )
        shown = text(render_user(view(notices=notices), NOW))
        assert "reminder" in shown
        assert "skipped" in shown
        assert "renewal" in shown
        assert "planned" in shown

    def test_a_purged_user_says_so(self) -> None:
        shown = text(render_user(view(registered=False, until=None, purged_at=NOW), NOW))
        assert field(shown, "access") == "purged"
        assert field(shown, "registered") == "no"


class TestFind:
    def test_every_match_says_why_it_matched(self) -> None:
        matches = [
            Match(
                UserView(
                    telegram_id=7002,
                    username="anton",
                    until=NOW + timedelta(days=3),
                    purchases=1,
                    trial_used=True,
                ),
                "username @anton",
            ),
            Match(UserView(telegram_id=7003), "payment yookassa:p9"),
        ]
        lines = text(render_matches(matches, NOW)).splitlines()
        assert "2 user(s)" in lines[0]
        [anton] = [line for line in lines if "7002" in line]
        assert "@anton" in anton
        assert "active, 3 days left" in anton
        assert "username @anton" in anton
        [payer] = [line for line in lines if "7003" in line]
        assert "no access yet" in payer
        assert "payment yookassa:p9" in payer
