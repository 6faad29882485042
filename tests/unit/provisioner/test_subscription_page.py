"""The subscription page: unguessable URLs, v2rayN body, Marzban-style headers."""

from __future__ import annotations

import base64
import string
import uuid
from datetime import UTC, datetime

from hypothesis import assume, given
from hypothesis import strategies as st

from services.provisioner.domain.subscription_page import (
    CountryLink,
    Usage,
    key_of_token,
    ordered_links,
    page_body,
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


def test_body_is_the_links_one_per_line_in_base64() -> None:
    links = ["vless://a@h:1#Keyland-finland", "vless://a@h:2#Keyland-germany"]
    assert base64.b64decode(page_body(links)).decode().split("\n") == links
    assert page_body([]) == b""


def test_preferred_country_comes_first() -> None:
    links = [CountryLink("finland", "f:1", "F"), CountryLink("germany", "g:1", "G")]
    assert ordered_links(links, None) == ["F", "G"]
    assert ordered_links(links, "germany") == ["G", "F"]


def test_headers_follow_the_clients_conventions() -> None:
    expire = datetime(2026, 12, 27, 9, 30, tzinfo=UTC)
    headers = page_headers("Keyland", 12, Usage(10, 20) + Usage(1, 2), expire)
    assert headers == {
        "profile-title": "base64:" + base64.b64encode(b"Keyland").decode(),
        "profile-update-interval": "12",
        "subscription-userinfo": f"upload=11; download=22; total=0; expire={int(expire.timestamp())}",
    }
    assert "expire" not in page_headers("Keyland", 12, Usage(), None)["subscription-userinfo"]
