"""The subscription page: unguessable URLs, what it lists, Marzban-style headers."""

from __future__ import annotations

import base64
import string
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import assume, given
from hypothesis import strategies as st

from services.provisioner.domain.outbound import VlessOutbound, share_link
from services.provisioner.domain.subscription_page import (
    NO_SERVERS_YET,
    CountryLink,
    Profile,
    Usage,
    key_of_token,
    ordered_links,
    page_entries,
    page_headers,
    subscription_token,
)

SECRET = b"s" * 32


@given(st.uuids())
def test_a_token_names_its_key(key_id: uuid.UUID) -> None:
    token = subscription_token(key_id, SECRET)
    assert len(token) == 43
    assert key_of_token(token, SECRET) == key_id


@given(st.uuids(), st.integers(0, 42), st.sampled_from("AQgw-_"))
def test_a_changed_token_names_nothing(key_id: uuid.UUID, position: int, letter: str) -> None:
    token = subscription_token(key_id, SECRET)
    forged = token[:position] + letter + token[position + 1 :]
    if forged != token:
        assert key_of_token(forged, SECRET) is None


_URL_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"


@st.composite
def _same_bytes_spellings(draw: st.DrawFn) -> tuple[str, str]:
    """A token and another spelling of its bytes: other spare bits in the last letter,
    ``+``/``/`` for ``-``/``_``, padding."""
    token = subscription_token(draw(st.uuids()), SECRET)
    last = _URL_ALPHABET.index(token[-1]) & 0b111100 | draw(st.integers(0, 3))
    letters = list(token[:-1] + _URL_ALPHABET[last])
    standard = {"-": "+", "_": "/"}
    for position, letter in enumerate(letters):
        if letter in standard and draw(st.booleans()):
            letters[position] = standard[letter]
    return token, "".join(letters) + draw(st.sampled_from(["", "="]))


@given(_same_bytes_spellings())
def test_only_the_canonical_spelling_of_a_token_opens_it(spellings: tuple[str, str]) -> None:
    token, other = spellings
    decoded = base64.b64decode(other + "=" * (-len(other) % 4), altchars=b"-_")
    assert decoded == base64.urlsafe_b64decode(token + "=")  # the same bytes, really
    assume(other != token)
    assert key_of_token(other, SECRET) is None


def test_tokens_of_another_secret_or_shape_are_refused() -> None:
    key_id = uuid.uuid4()
    assert key_of_token(subscription_token(key_id, b"t" * 32), SECRET) is None
    assert key_of_token(str(key_id), SECRET) is None
    assert key_of_token("!" * 43, SECRET) is None
    assert key_of_token("", SECRET) is None


def _link(country: str, port: int) -> CountryLink:
    outbound = VlessOutbound(f"Keyland-{country}", "127.0.0.1", port, uuid.UUID(int=7))
    return CountryLink(country, f"127.0.0.1:{port}", share_link(outbound))


def test_preferred_country_comes_first() -> None:
    links = [CountryLink("finland", "f:1", "F"), CountryLink("germany", "g:1", "G")]
    assert [c.link for c in ordered_links(links, None)] == ["F", "G"]
    assert [c.link for c in ordered_links(links, "germany")] == ["G", "F"]


PROFILE = Profile(bot_username="keyland_bot")


def test_a_user_with_access_gets_every_server_preferred_first() -> None:
    links = [_link("finland", 10443), _link("germany", 10444), CountryLink("x", "x:1", "vmess://")]
    entries = page_entries(True, links, "germany", PROFILE)
    assert [(e.name, e.port) for e in entries] == [
        ("Keyland-germany", 10444),
        ("Keyland-finland", 10443),
    ]


def test_a_user_without_access_gets_one_entry_saying_where_to_renew() -> None:
    [entry] = page_entries(False, [_link("finland", 10443)], None, PROFILE)
    assert entry.name == "Access ended — renew in @keyland_bot"
    [unnamed] = page_entries(False, [], None, Profile())
    assert unnamed.name == "Access ended — renew in the bot"
    [waiting] = page_entries(True, [], None, PROFILE)
    assert waiting.name == NO_SERVERS_YET


def _decoded(value: str) -> str:
    assert value.startswith("base64:")
    return base64.b64decode(value.removeprefix("base64:")).decode()


NOW = datetime(2026, 12, 24, 9, 30, tzinfo=UTC)


def test_headers_follow_the_clients_conventions() -> None:
    expire = datetime(2026, 12, 27, 9, 30, tzinfo=UTC)
    headers = page_headers(
        Profile(), Usage(10, 20) + Usage(1, 2), expire, True, NOW - timedelta(days=9)
    )
    assert headers == {
        "profile-title": "base64:" + base64.b64encode(b"Keyland").decode(),
        "profile-update-interval": "12",
        "subscription-userinfo": f"upload=11; download=22; total=0; expire={int(expire.timestamp())}",
    }
    never = page_headers(Profile(), Usage(), None, False, NOW)
    assert "expire" not in never["subscription-userinfo"]
    assert "announce" not in never


def test_support_and_web_page_urls_are_sent_when_set() -> None:
    profile = Profile(
        support_url="https://t.me/keyland_help", web_page_url="https://keyland.example"
    )
    headers = page_headers(profile, Usage(), None, False, NOW)
    assert headers["support-url"] == "https://t.me/keyland_help"
    assert headers["profile-web-page-url"] == "https://keyland.example"


@given(st.integers(0, 10), st.timedeltas(timedelta(seconds=-(10**8)), timedelta(days=30)))
def test_the_announcement_says_the_end_within_the_window(days: int, left: timedelta) -> None:
    profile = Profile(announce_days=days, bot_username="keyland_bot")
    headers = page_headers(profile, Usage(), NOW + left, left > timedelta(0), NOW)
    if left <= timedelta(0):
        assert _decoded(headers["announce"]) == "Access ended — renew in @keyland_bot"
    elif left <= timedelta(days=days):
        end = NOW + left
        expected = f"Access ends {end:%d.%m.%Y %H:%M} UTC — renew in @keyland_bot"
        assert _decoded(headers["announce"]) == expected
    else:
        assert "announce" not in headers


def test_access_ended_early_is_announced_as_ended() -> None:
    """An expiry can end access before ``until`` (the provisioner's ``lapsed_until``)."""
    headers = page_headers(PROFILE, Usage(), NOW + timedelta(days=2), False, NOW)
    assert _decoded(headers["announce"]) == "Access ended — renew in @keyland_bot"


def test_a_blocked_user_is_told_access_is_suspended_not_to_renew() -> None:
    [entry] = page_entries(False, [_link("finland", 10443)], None, PROFILE, blocked=True)
    assert entry.name == "Access suspended — write to @keyland_bot"
    headers = page_headers(PROFILE, Usage(), NOW + timedelta(days=20), False, NOW, blocked=True)
    assert _decoded(headers["announce"]) == "Access suspended — write to @keyland_bot"


class TestNodesDown:
    LINKS = (_link("finland", 10443), _link("germany", 10444))

    def test_a_down_node_is_left_out_and_the_others_stay_in_order(self) -> None:
        germany = self.LINKS[1]
        entries = page_entries(True, self.LINKS, "germany", PROFILE, down={germany.node})
        assert [(e.name, e.port) for e in entries] == [("Keyland-finland", 10443)]

    def test_every_node_down_gives_one_entry_naming_the_countries(self) -> None:
        down = {link.node for link in self.LINKS}
        [entry] = page_entries(True, self.LINKS, None, PROFILE, down=down)
        assert entry.name == "Unavailable now: finland, germany — pick another server"

    def test_access_ended_wins_over_a_node_down(self) -> None:
        down = {self.LINKS[0].node}
        [entry] = page_entries(False, self.LINKS, None, PROFILE, down=down)
        assert entry.name == "Access ended — renew in @keyland_bot"
        headers = page_headers(
            PROFILE, Usage(), NOW - timedelta(days=1), False, NOW, down_countries=["finland"]
        )
        assert _decoded(headers["announce"]) == "Access ended — renew in @keyland_bot"

    @given(
        st.lists(st.sampled_from(["finland", "germany", "sweden"]), max_size=4),
        st.timedeltas(timedelta(hours=1), timedelta(days=30)),
    )
    def test_the_announcement_names_the_down_countries_beside_the_end(
        self, down: list[str], left: timedelta
    ) -> None:
        headers = page_headers(PROFILE, Usage(), NOW + left, True, NOW, down_countries=down)
        parts = []
        if down:
            parts.append(f"Unavailable now: {', '.join(sorted(set(down)))} — pick another server")
        if left <= timedelta(days=PROFILE.announce_days):
            parts.append(f"Access ends {NOW + left:%d.%m.%Y %H:%M} UTC — renew in @keyland_bot")
        if parts:
            assert _decoded(headers["announce"]) == " · ".join(parts)
        else:
            assert "announce" not in headers
