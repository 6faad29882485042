"""Which open connection is whose, from Xray's access-log lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.node_agent.adapters.connections import AccessLog
from services.node_agent.domain.sessions import (
    ClientAddress,
    Sessions,
    accepted_connection,
    parse_address,
)

ALICE = "24a78728-c125-46f0-900f-98a05ecba614"
BOB = "5f0c3c8e-0a57-4d0e-9a39-3b0a3bfbd7a1"


def line(address: str, email: str) -> str:
    return (
        f"2026/12/07 17:56:06.682753 from {address} accepted tcp:example.com:443 "
        f"[vless-in >> direct] email: {email}"
    )


class TestLines:
    def test_accepted_connection_names_its_client_and_user(self) -> None:
        assert accepted_connection(line("203.0.113.7:35086", ALICE)) == (
            ClientAddress("203.0.113.7", 35086),
            ALICE,
        )

    def test_ipv6_client_and_upper_case_email(self) -> None:
        assert accepted_connection(line("[2001:db8::1]:443", ALICE.upper())) == (
            ClientAddress("2001:db8::1", 443),
            ALICE,
        )

    @pytest.mark.parametrize(
        "text",
        [
            "2026/12/07 17:56:05.907781 from 127.0.0.1:39520 accepted tcp:127.0.0.1:38329 "
            "[api-in -> api]",
            "2026/12/07 17:56:05 from 203.0.113.7:35086 rejected  proxy/vless/encoding: "
            "invalid request user id",
            line("203.0.113.7:0", ALICE),
            line("203.0.113.7", ALICE),
            "",
        ],
    )
    def test_other_lines_name_no_connection(self, text: str) -> None:
        assert accepted_connection(text) is None

    def test_address_prints_as_ss_reads_it(self) -> None:
        assert str(ClientAddress("2001:db8::1", 443)) == "[2001:db8::1]:443"
        assert str(ClientAddress("203.0.113.7", 443)) == "203.0.113.7:443"
        assert parse_address("[2001:db8::1]:443") == ClientAddress("2001:db8::1", 443)


addresses = st.builds(
    ClientAddress,
    st.sampled_from(["203.0.113.7", "198.51.100.2", "2001:db8::1"]),
    st.integers(min_value=1, max_value=4),
)
emails = st.sampled_from([ALICE, BOB])


class TestSessions:
    def test_a_reused_address_belongs_to_its_latest_user(self) -> None:
        sessions = Sessions()
        sessions.read([line("203.0.113.7:35086", ALICE), line("203.0.113.7:35086", BOB)])
        assert sessions.of([ALICE]) == []
        assert sessions.of([BOB]) == [ClientAddress("203.0.113.7", 35086)]

    def test_closed_connections_are_forgotten(self) -> None:
        sessions = Sessions()
        sessions.read([line("203.0.113.7:1", ALICE), line("203.0.113.7:2", ALICE)])
        sessions.keep_open([ClientAddress("203.0.113.7", 2)])
        assert sessions.of([ALICE]) == [ClientAddress("203.0.113.7", 2)]

    @given(st.lists(st.tuples(addresses, emails)))
    def test_each_connection_is_its_users_or_another_users_never_both(
        self, accepted: list[tuple[ClientAddress, str]]
    ) -> None:
        sessions = Sessions()
        sessions.read(line(str(address), email) for address, email in accepted)
        mine, others = sessions.of([ALICE]), sessions.not_of([ALICE])
        assert not set(mine) & set(others)
        assert set(mine) | set(others) == {address for address, _ in accepted}
        latest = dict(accepted)
        assert mine == sorted(a for a, e in latest.items() if e == ALICE)

    @given(st.lists(st.tuples(addresses, emails)), st.integers(min_value=0, max_value=20))
    def test_reading_in_two_parts_is_reading_at_once(
        self, accepted: list[tuple[ClientAddress, str]], split: int
    ) -> None:
        lines = [line(str(address), email) for address, email in accepted]
        whole, parts = Sessions(), Sessions()
        whole.read(lines)
        parts.read(lines[:split])
        parts.read(lines[split:])
        assert whole == parts


class TestAccessLog:
    def test_reads_only_new_complete_lines(self, tmp_path: Path) -> None:
        path = tmp_path / "access.log"
        log = AccessLog(path)
        assert log.new_lines() == []
        path.write_text("one\ntw")
        assert log.new_lines() == ["one"]
        with path.open("a") as file:
            file.write("o\nthree\n")
        assert log.new_lines() == ["two", "three"]
        assert log.new_lines() == []

    def test_starts_again_after_rotation(self, tmp_path: Path) -> None:
        path = tmp_path / "access.log"
        log = AccessLog(path)
        path.write_text("old line one\nold line two\n")
        log.new_lines()
        path.write_text("new\n")
        assert log.new_lines() == ["new"]
