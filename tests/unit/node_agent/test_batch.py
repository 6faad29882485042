"""What a batch request may hold: all of it valid, or nothing of it applied."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.node_agent.domain.batch import MAX_KEYS, Batch, MalformedBatch, parse_batch
from services.node_agent.domain.keys import KeyId

A, B = KeyId(str(uuid.uuid4())), KeyId(str(uuid.uuid4()))


def test_keys_are_lower_cased_and_each_kept_once_in_order() -> None:
    batch = parse_batch({"enable": [A.upper(), B, A], "disable": []})
    assert batch == Batch(enable=(A, B), disable=())


def test_either_list_may_be_left_out() -> None:
    assert parse_batch({"disable": [A]}) == Batch(disable=(A,))
    assert parse_batch({}) == Batch()


@pytest.mark.parametrize(
    "body",
    [
        [A],
        {"enable": A},
        {"enable": [A, 7]},
        {"enable": [A, "not-a-uuid"]},
        {"enable": [A], "disable": [A.upper()]},
        {"enable": [A], "purge": [B]},
        {"enable": [str(uuid.uuid4()) for _ in range(MAX_KEYS + 1)]},
    ],
    ids=["list", "string", "number", "malformed", "both", "unknown field", "too many"],
)
def test_malformed_batch_is_refused_whole(body: object) -> None:
    with pytest.raises(MalformedBatch):
        parse_batch(body)


@given(st.lists(st.uuids(), max_size=30), st.lists(st.uuids(), max_size=30))
def test_any_disjoint_valid_batch_is_accepted_as_given(
    enable: list[uuid.UUID], disable: list[uuid.UUID]
) -> None:
    disable = [k for k in disable if k not in enable]
    batch = parse_batch({"enable": [str(k) for k in enable], "disable": [str(k) for k in disable]})
    assert list(batch.enable) == list(dict.fromkeys(str(k) for k in enable))
    assert list(batch.disable) == list(dict.fromkeys(str(k) for k in disable))
