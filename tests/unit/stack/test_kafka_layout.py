"""Where the brokers of a local cluster listen, and how many copies its topics keep."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyland.kafka.topics import min_insync_for, replication_for
from keyland_tools.stack.kafka_layout import BrokerPlace, LayoutError, broker_places


def test_the_default_ports_give_three_brokers_interleaved_with_their_controllers() -> None:
    assert broker_places("127.0.0.1:9092", 9093, 3) == [
        BrokerPlace(1, "127.0.0.1:9092", "127.0.0.1:9093"),
        BrokerPlace(2, "127.0.0.1:9094", "127.0.0.1:9095"),
        BrokerPlace(3, "127.0.0.1:9096", "127.0.0.1:9097"),
    ]


def test_one_broker_listens_where_the_settings_say() -> None:
    assert broker_places("127.0.0.1:9092", 9093, 1) == [
        BrokerPlace(1, "127.0.0.1:9092", "127.0.0.1:9093")
    ]


def test_a_bootstrap_list_names_each_brokers_address() -> None:
    places = broker_places("127.0.0.1:19092, 127.0.0.1:29092,127.0.0.1:39092", 9093, 3)
    assert [p.address for p in places] == ["127.0.0.1:19092", "127.0.0.1:29092", "127.0.0.1:39092"]
    assert [p.controller for p in places] == ["127.0.0.1:9093", "127.0.0.1:9095", "127.0.0.1:9097"]


@pytest.mark.parametrize(
    ("bootstrap", "controller", "brokers", "why"),
    [
        ("127.0.0.1:9092,127.0.0.1:9094", 9093, 3, "names 2 addresses for 3 brokers"),
        ("127.0.0.1:9092", 9094, 3, "would share a port"),
        ("127.0.0.1:65534", 9093, 2, "past port 65535"),
        ("localhost", 9093, 1, "is not host:port"),
        ("127.0.0.1:9092", 9093, 0, "one broker at least"),
    ],
)
def test_a_layout_that_cannot_work_is_refused_naming_why(
    bootstrap: str, controller: int, brokers: int, why: str
) -> None:
    with pytest.raises(LayoutError, match=why):
        broker_places(bootstrap, controller, brokers)


@given(
    first=st.integers(1024, 60000),
    controller=st.integers(1024, 60000),
    brokers=st.integers(1, 9),
)
def test_a_layout_is_refused_only_when_its_ports_collide_or_run_out(
    first: int, controller: int, brokers: int
) -> None:
    clients = {first + 2 * n for n in range(brokers)}
    controllers = {controller + 2 * n for n in range(brokers)}
    fits = not clients & controllers and max(clients | controllers) < 65536
    try:
        places = broker_places(f"127.0.0.1:{first}", controller, brokers)
    except LayoutError:
        assert not fits
        return
    assert fits
    ports = [int(a.rsplit(":", 1)[1]) for p in places for a in (p.address, p.controller)]
    assert len(set(ports)) == 2 * brokers
    assert [p.node_id for p in places] == list(range(1, brokers + 1))
    assert places[0] == BrokerPlace(1, f"127.0.0.1:{first}", f"127.0.0.1:{controller}")


@given(st.integers(1, 50))
def test_three_copies_two_in_sync_from_three_brokers_on(brokers: int) -> None:
    replication = replication_for(brokers)
    assert replication == min(brokers, 3)
    assert min_insync_for(replication) == (2 if brokers >= 3 else 1)
    # A cluster missing one broker still takes writes.
    assert min_insync_for(replication) <= max(replication - 1, 1)
