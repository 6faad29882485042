"""The user view is one contract: what the subscription service stores for a user, the read
API's JSON of it and what a reader parses back are the same view (pure: no fixtures)."""

from __future__ import annotations

import json

import pytest
from starlette.responses import JSONResponse

from events.users import UserView
from services.subscription.adapters.users import read_model, stored_view
from services.subscription.domain.fold import fold
from services.subscription.domain.ledger import Entry
from services.subscription.entrypoints.read_api import public_user
from tests.unit.subscription.builders import at, paid, purged, referral, region, started, trial
from tests.unit.subscription.test_fold import RULES, USER

LEDGERS: dict[str, list[Entry]] = {
    "never started": [paid(0)],
    "trial": [started(0), trial(1)],
    "paid, region, bonus": [
        started(0, referrer=USER + 1),
        paid(1, months=3),
        region(2),
        referral(3, invitee=USER + 2, invitee_registered=2),
    ],
    "purged": [started(0), trial(1), purged(200)],
}


@pytest.mark.parametrize("ledger", LEDGERS.values(), ids=LEDGERS.keys())
def test_the_read_apis_json_parses_back_into_the_stored_view(ledger: list[Entry]) -> None:
    state = fold(USER, ledger, RULES)
    view = UserView.model_validate(state, from_attributes=True)
    stored = read_model(state)
    assert stored_view(stored) == view

    body = bytes(JSONResponse(public_user(stored)).body)
    assert UserView.model_validate_json(body) == view
    answered = json.loads(body)
    assert set(answered) == set(UserView.model_fields)
    assert answered["key_id"] == str(state.key_id)


def test_the_view_carries_what_the_fold_decided() -> None:
    state = fold(USER, LEDGERS["paid, region, bonus"], RULES)
    view = stored_view(read_model(state))
    assert view.registered
    assert (view.referrer_id, view.region, view.purchases) == (USER + 1, "finland", 1)
    assert view.referral_days_earned == 10
    assert view.until == state.until
    assert view.active_at(at(4))


def test_a_purged_users_view_keeps_only_what_is_not_personal() -> None:
    view = stored_view(read_model(fold(USER, LEDGERS["purged"], RULES)))
    assert not view.registered
    assert (view.until, view.username, view.language_code, view.region) == (None,) * 4
    assert view.purged_at == at(200)
    assert view.trial_used


def test_a_reader_ignores_fields_it_does_not_know_yet() -> None:
    view = UserView.model_validate_json(json.dumps({"telegram_id": 7, "loyalty": "gold"}))
    assert view == UserView(telegram_id=7)
