"""The Mini App's initData: what Telegram signs for this bot, fresh, is accepted; a change
to any field, another bot's signature, a stale or future ``auth_date``, or anything that
is not initData at all, is refused. Signed by the Telegram emulator, as Telegram would."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulators.telegram.web_apps import sign
from services.bot.domain.init_data import InitDataRefused, validated

TOKEN = "7000000001:bot-secret_token-of-keyland"
NOW = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
MAX_AGE = timedelta(hours=1)

telegram_ids = st.integers(1, 2**52)
names = st.text(min_size=1, max_size=30)
ages = st.integers(0, int(MAX_AGE.total_seconds()))
extra_fields = st.dictionaries(
    st.sampled_from(["chat_instance", "chat_type", "start_param", "signature"]),
    st.text(max_size=40),
    max_size=3,
)


def fields_of(telegram_id: int, name: str, age_s: int, extra: dict[str, str]) -> dict[str, str]:
    user = {"id": telegram_id, "first_name": name, "language_code": "en"}
    return {
        "query_id": "AAEquery",
        "user": json.dumps(user, separators=(",", ":"), ensure_ascii=False),
        "auth_date": str(int(NOW.timestamp()) - age_s),
        **extra,
    }


def parsed(init_data: str) -> dict[str, str]:
    return dict(parse_qsl(init_data, keep_blank_values=True))


def encoded(fields: dict[str, str]) -> str:
    return urlencode(fields, quote_via=quote)


@given(telegram_ids, names, ages, extra_fields)
def test_signed_fresh_init_data_names_its_user(
    telegram_id: int, name: str, age_s: int, extra: dict[str, str]
) -> None:
    user = validated(sign(TOKEN, fields_of(telegram_id, name, age_s, extra)), TOKEN, NOW, MAX_AGE)

    assert (user.telegram_id, user.first_name, user.language_code) == (telegram_id, name, "en")
    assert user.auth_date == NOW - timedelta(seconds=age_s)


@given(telegram_ids, ages, extra_fields, st.data())
def test_any_change_to_any_field_is_refused(
    telegram_id: int, age_s: int, extra: dict[str, str], data: st.DataObject
) -> None:
    fields = parsed(sign(TOKEN, fields_of(telegram_id, "Ann", age_s, extra)))
    changed = data.draw(st.sampled_from(sorted(fields)))
    value = data.draw(st.text(max_size=60).filter(lambda v: v != fields[changed]))

    with pytest.raises(InitDataRefused):
        validated(encoded(fields | {changed: value}), TOKEN, NOW, MAX_AGE)


@given(telegram_ids, ages, st.text(min_size=1, max_size=20), st.text(max_size=20))
def test_an_added_field_is_refused(telegram_id: int, age_s: int, key: str, value: str) -> None:
    fields = parsed(sign(TOKEN, fields_of(telegram_id, "Ann", age_s, {})))
    if key in fields:
        return
    with pytest.raises(InitDataRefused):
        validated(encoded(fields | {key: value}), TOKEN, NOW, MAX_AGE)


@given(telegram_ids, ages)
def test_a_removed_field_is_refused(telegram_id: int, age_s: int) -> None:
    fields = parsed(sign(TOKEN, fields_of(telegram_id, "Ann", age_s, {"chat_type": "sender"})))
    for dropped in fields:
        with pytest.raises(InitDataRefused):
            validated(
                encoded({k: v for k, v in fields.items() if k != dropped}), TOKEN, NOW, MAX_AGE
            )


@given(telegram_ids, ages)
def test_another_bots_signature_is_refused(telegram_id: int, age_s: int) -> None:
    other = sign("7000000002:another-bot", fields_of(telegram_id, "Ann", age_s, {}))

    with pytest.raises(InitDataRefused, match="hash"):
        validated(other, TOKEN, NOW, MAX_AGE)


@given(telegram_ids, st.integers(int(MAX_AGE.total_seconds()) + 1, 10**8))
def test_stale_auth_date_is_refused(telegram_id: int, age_s: int) -> None:
    stale = sign(TOKEN, fields_of(telegram_id, "Ann", age_s, {}))

    with pytest.raises(InitDataRefused, match="older"):
        validated(stale, TOKEN, NOW, MAX_AGE)


@given(telegram_ids, st.integers(61, 10**6))
def test_auth_date_in_the_future_is_refused(telegram_id: int, ahead_s: int) -> None:
    future = sign(TOKEN, fields_of(telegram_id, "Ann", -ahead_s, {}))

    with pytest.raises(InitDataRefused, match="future"):
        validated(future, TOKEN, NOW, MAX_AGE)


@given(st.text(max_size=300))
def test_anything_else_is_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(InitDataRefused):
        validated(raw, TOKEN, NOW, MAX_AGE)


@pytest.mark.parametrize(
    "user",
    ['{"id": "42"}', '{"id": 0}', '{"id": true}', "[42]", "not json", '{"first_name": "A"}'],
)
def test_signed_init_data_without_a_valid_user_is_refused(user: str) -> None:
    signed = sign(TOKEN, {"user": user, "auth_date": str(int(NOW.timestamp()))})

    with pytest.raises(InitDataRefused, match="user"):
        validated(signed, TOKEN, NOW, MAX_AGE)
