from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.payments_ingest.domain.trust import client_address, is_trusted, networks

YOOKASSA = networks(["185.71.76.0/27", "77.75.156.11"])
PROXIES = networks(["10.0.0.0/8"])


class TestClientAddress:
    def test_direct_peer_is_the_client(self) -> None:
        assert client_address("185.71.76.5", None, PROXIES) == "185.71.76.5"

    def test_forwarded_header_from_a_stranger_is_ignored(self) -> None:
        assert client_address("203.0.113.9", "185.71.76.5", PROXIES) == "203.0.113.9"

    def test_trusted_proxy_forwards_the_client(self) -> None:
        assert client_address("10.1.2.3", "185.71.76.5", PROXIES) == "185.71.76.5"

    def test_client_written_hops_left_of_the_real_one_are_ignored(self) -> None:
        forged_chain = "185.71.76.5, 203.0.113.9"
        assert client_address("10.1.2.3", forged_chain, PROXIES) == "203.0.113.9"

    def test_proxy_chain_is_walked_from_the_right(self) -> None:
        assert client_address("10.1.2.3", "185.71.76.5, 10.9.9.9", PROXIES) == "185.71.76.5"


class TestIsTrusted:
    def test_yookassa_network_is_trusted(self) -> None:
        assert is_trusted("185.71.76.31", YOOKASSA)
        assert is_trusted("77.75.156.11", YOOKASSA)

    def test_neighbour_is_not(self) -> None:
        assert not is_trusted("185.71.76.32", YOOKASSA)
        assert not is_trusted("77.75.156.12", YOOKASSA)

    def test_garbage_or_missing_address_is_not_trusted(self) -> None:
        assert not is_trusted("not-an-ip", YOOKASSA)
        assert not is_trusted(None, YOOKASSA)

    @given(
        st.ip_addresses(v=4).filter(
            lambda ip: not str(ip).startswith(("185.71.76.", "77.75.156.11"))
        )
    )
    def test_nothing_outside_the_networks_is_trusted(self, ip: object) -> None:
        assert not is_trusted(str(ip), YOOKASSA)
