"""Reading every user's counters out of Xray's stats names."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from services.node_agent.domain.keys import KeyId
from services.node_agent.domain.traffic import Traffic, traffic_by_key

A, B = KeyId(str(uuid.uuid4())), KeyId(str(uuid.uuid4()))


def test_each_user_gets_both_directions() -> None:
    stats = [
        (f"user>>>{A}>>>traffic>>>uplink", 10),
        (f"user>>>{A}>>>traffic>>>downlink", 20),
        (f"user>>>{B}>>>traffic>>>downlink", 5),
    ]
    assert traffic_by_key(stats) == {A: Traffic(10, 20), B: Traffic(0, 5)}


def test_names_that_are_not_a_keyland_users_traffic_are_left_out() -> None:
    stats = [
        ("inbound>>>vless-in>>>traffic>>>uplink", 99),
        ("user>>>admin@example.com>>>traffic>>>uplink", 99),
        (f"user>>>{A}>>>online", 3),
        (f"user>>>{A}>>>traffic>>>sideways", 3),
        (f"user>>>{A.upper()}>>>traffic>>>uplink", 7),
    ]
    assert traffic_by_key(stats) == {A: Traffic(7, 0)}


@given(st.lists(st.tuples(st.sampled_from([A, B]), st.booleans(), st.integers(0, 2**62))))
def test_the_last_value_of_each_counter_wins(
    samples: list[tuple[KeyId, bool, int]],
) -> None:
    stats = [
        (f"user>>>{key}>>>traffic>>>{'uplink' if up else 'downlink'}", value)
        for key, up, value in samples
    ]
    expected: dict[KeyId, dict[bool, int]] = {}
    for key, up, value in samples:
        expected.setdefault(key, {})[up] = value
    assert traffic_by_key(stats) == {
        key: Traffic(c.get(True, 0), c.get(False, 0)) for key, c in expected.items()
    }
