"""``keyland users show|find`` and ``keyland state hash`` against the real database.

The state is written by the services' own adapters (subscription users and payments,
provisioner access and node records, notifier notices), so the views read the shapes the
services really store.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pymongo.database import Database
from typer.testing import CliRunner

from keyland.mongo import Document, async_database
from keyland.settings import MongoSettings
from keyland_tools.cli import app
from keyland_tools.ops.state_hash import state_hash
from keyland_tools.ops.users import find_users, load_user, moment
from services.notifier.adapters.notices import SENT, Notices
from services.notifier.domain.notices import Kind, Notice
from services.provisioner.adapters.repository import NodeRecords, UserAccesses
from services.provisioner.domain.access import KeyState, UserAccess
from services.provisioner.domain.plan import Applied
from services.subscription.adapters.payments import Payments
from services.subscription.adapters.users import Users, user_document
from services.subscription.domain.fold import fold
from services.subscription.domain.ledger import Entry
from services.subscription.domain.rules import Rules
from services.subscription.domain.state import key_id_for
from tests.unit.subscription.builders import at, paid, referral, refunded, started, trial
from tests.user_docs import user_doc

RULES = Rules(key_secret=b"users-view-secret-for-the-tests-only")
REFERRER, INVITEE = 8001, 8002
NODES = {"finland": "127.0.0.1:7101", "germany": "127.0.0.1:7102"}
NOW = datetime.now(UTC)


async def _ledger(users: Users, payments: Payments, telegram_id: int, entries: list[Entry]) -> None:
    for entry in entries:
        await payments.record(telegram_id, entry)
    await users.save(user_document(fold(telegram_id, entries, RULES), entries, [], entries[-1].at))


@pytest.fixture(scope="module")
async def seeded(mongo_settings: MongoSettings, db: Database[Document]) -> Database[Document]:
    """Rita invited anton, who took a trial and paid twice, the second time refunded."""
    handle = async_database(mongo_settings, app_name="tests")
    users, payments = Users(handle["users"]), Payments(handle["payments"])
    await _ledger(users, payments, REFERRER, [
        started(0, username="Rita"), trial(0.1), referral(2, INVITEE, invitee_registered=1),
    ])  # fmt: skip
    await _ledger(users, payments, INVITEE, [
        started(1, referrer=REFERRER, username="anton"), trial(1.1),
        paid(2, months=1, payment="yookassa:pay-anton-1"),
        paid(3, months=1, payment="yookassa:pay-anton-2"),
        refunded("yookassa:pay-anton-2", 4, amount="99.50"),
    ])  # fmt: skip
    key, old_key = key_id_for(INVITEE, 0, RULES.key_secret), key_id_for(INVITEE, 7, b"old")
    await UserAccesses(handle["node_keys"]).save(
        UserAccess(INVITEE, key_id=key, until=at(40), retired_keys=frozenset({old_key}))
    )
    records = NodeRecords(handle["node_keys"])
    for country, node in NODES.items():
        enabled = Applied(key, KeyState.ENABLED, f"vless://{key}@{node}", at(40))
        await records.save_applied(node, country, [(INVITEE, enabled)], at(2))
    await records.save_applied(
        NODES["finland"], "finland", [(INVITEE, Applied(old_key, KeyState.DELETED))], at(1)
    )
    notices = Notices(handle["notices"], handle["notice_outcomes"], handle["notice_schedule"])
    planned = [
        Notice(f"renewal:{INVITEE}", INVITEE, Kind.RENEWAL, at(3)),
        Notice(f"reminder:{INVITEE}", INVITEE, Kind.REMINDER, at(30), period_until=at(33)),
    ]
    await notices.plan([(notice, at(3)) for notice in planned])
    await notices.finish(f"renewal:{INVITEE}", SENT, at(3))
    await handle.client.close()
    return db


class TestShow:
    def test_gathers_subscription_payments_keys_and_notices(
        self, seeded: Database[Document]
    ) -> None:
        view = load_user(seeded, INVITEE)
        assert view is not None
        stored = user_doc(seeded, INVITEE)
        user = view.user
        assert (user.username, user.referrer_id, user.trial_used) == ("anton", REFERRER, True)
        assert user.until == stored["until"]
        assert view.provisioned_until == at(40)
        assert view.retired_keys == 1
        assert [(p.payment_id, str(p.refunded)) for p in view.payments] == [
            ("yookassa:pay-anton-1", "0"),
            ("yookassa:pay-anton-2", "99.50"),
        ]
        assert [(k.country, k.state) for k in view.keys] == [
            ("finland", "enabled"), ("germany", "enabled"), ("finland", "deleted"),
        ]  # fmt: skip
        assert [(n.kind, n.status) for n in view.notices] == [
            ("reminder", "planned"),
            ("renewal", "sent"),
        ]

    def test_a_referrer_sees_invitees_and_bonus_days(self, seeded: Database[Document]) -> None:
        view = load_user(seeded, REFERRER)
        assert view is not None
        assert (view.invited, view.user.referral_days_earned, view.keys) == (1, 10, ())

    def test_an_unknown_user_is_nobody(self, seeded: Database[Document]) -> None:
        assert load_user(seeded, 8999) is None


class TestFind:
    @pytest.mark.parametrize(
        ("query", "reason"),
        [
            ("8002", "telegram id"),
            ("@Anton", "username @anton"),
            ("ant", "username @anton"),
            ("yookassa:pay-anton-2", "payment yookassa:pay-anton-2"),
            ("pay-anton-1", "payment yookassa:pay-anton-1"),
        ],
    )
    def test_by_id_username_or_payment(
        self, seeded: Database[Document], query: str, reason: str
    ) -> None:
        [match] = find_users(seeded, query)
        assert (match.user.telegram_id, match.matched_by) == (INVITEE, reason)

    def test_a_partial_payment_id_matches_nothing(self, seeded: Database[Document]) -> None:
        assert find_users(seeded, "pay-anton") == []

    def test_a_regex_in_the_query_is_taken_literally(self, seeded: Database[Document]) -> None:
        assert find_users(seeded, ".*") == []


class TestCommandLine:
    @pytest.fixture
    def env(self, mongo_settings: MongoSettings) -> dict[str, str | None]:
        """As in a pipe: CliRunner's stdout is no terminal, and no COLUMNS is set."""
        return {
            "KEYLAND_MONGO_URL": mongo_settings.url,
            "KEYLAND_MONGO_DATABASE": mongo_settings.database,
            "KEYLAND_MONGO_POSTGRES_URL": mongo_settings.postgres_url,
            "COLUMNS": None,
        }

    def test_users_show_prints_the_tables(
        self, seeded: Database[Document], env: dict[str, str | None]
    ) -> None:
        result = CliRunner().invoke(app, ["users", "show", str(INVITEE)], env=env)
        assert result.exit_code == 0, result.output
        for expected in (
            "User 8002",
            "@anton",
            "yookassa:pay-anton-2",
            "99.50 RUB",
            "germany",
            "renewal",
        ):
            assert expected in result.output

    def test_piped_users_show_keeps_every_row_on_one_line(
        self, seeded: Database[Document], env: dict[str, str | None]
    ) -> None:
        view = load_user(seeded, INVITEE)
        assert view is not None
        result = CliRunner().invoke(app, ["users", "show", str(INVITEE)], env=env)
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        rows: list[tuple[str, ...]] = [
            (k.country, k.node, k.key_id, k.state, moment(k.updated_at)) for k in view.keys
        ]
        rows += [(p.payment_id, str(p.months), moment(p.paid_at)) for p in view.payments]
        for cells in rows:
            assert any(all(cell in line for cell in cells) for line in lines), cells

    def test_users_show_of_nobody_fails(
        self, seeded: Database[Document], env: dict[str, str | None]
    ) -> None:
        result = CliRunner().invoke(app, ["users", "show", "8999"], env=env)
        assert result.exit_code == 1
        assert "no user 8999" in result.output

    def test_users_find_lists_matches(
        self, seeded: Database[Document], env: dict[str, str | None]
    ) -> None:
        result = CliRunner().invoke(app, ["users", "find", "@rita"], env=env)
        assert result.exit_code == 0, result.output
        assert "8001" in result.output
        assert "8002" not in result.output

    def test_state_hash_prints_counts_and_the_digest(
        self, seeded: Database[Document], env: dict[str, str | None]
    ) -> None:
        result = CliRunner().invoke(app, ["state", "hash"], env=env)
        assert result.exit_code == 0, result.output
        expected = state_hash(seeded)
        lines = [line.split() for line in result.output.splitlines()]
        assert lines[:3] == [
            ["users", "2", expected.collections[0].digest],
            ["payments", "2", expected.collections[1].digest],
            ["node_keys", "3", expected.collections[2].digest],
        ]
        assert lines[3:] == [
            *([c.name, str(c.count), c.digest] for c in expected.collections[3:]),
            ["state", str(sum(expected.counts.values())), expected.digest],
        ]
        assert [c.name for c in expected.collections[3:]] == [
            "notices", "notice_outcomes", "broadcasts", "broadcast_deliveries"
        ]  # fmt: skip
