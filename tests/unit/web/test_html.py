"""Markup built by keyland.web.html escapes every value it is given."""

from __future__ import annotations

from html.parser import HTMLParser

from hypothesis import given
from hypothesis import strategies as st

from keyland.web.html import Html, content_security_policy, element, escape, join, script_hash


class _Seen(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text = ""
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs

    def handle_data(self, data: str) -> None:
        self.text += data


def parsed(markup: str) -> _Seen:
    seen = _Seen()
    seen.feed(markup)
    seen.close()
    return seen


@given(st.text())
def test_any_text_stays_text(text: str) -> None:
    seen = parsed(element("p", text))
    assert seen.tags == ["p"]
    assert seen.text == text


@given(st.text())
def test_any_attribute_value_stays_one_attribute(value: str) -> None:
    seen = parsed(element("a", "x", href=value, data_copy=value))
    assert seen.tags == ["a"]
    assert dict(seen.attributes) == {"href": value, "data-copy": value}


def test_markup_we_made_is_not_escaped_twice() -> None:
    inner = element("b", "<i>")
    assert element("p", inner) == "<p><b>&lt;i&gt;</b></p>"
    assert escape(inner) is inner


def test_absent_and_boolean_attributes() -> None:
    assert element("input", readonly=True, hidden=False, value=None) == "<input readonly>"
    assert element("p", "x", class_="a") == '<p class="a">x</p>'


def test_none_and_nested_parts_join() -> None:
    assert join("a", None, [Html("<br>"), ["<c>"]]) == "a<br>&lt;c&gt;"


def test_the_policy_allows_exactly_the_given_scripts_and_nothing_from_elsewhere() -> None:
    policy = content_security_policy(scripts=["alert(1)"])
    assert "default-src 'none'" in policy
    assert f"script-src {script_hash('alert(1)')};" in policy
    assert "http" not in policy
    assert "script-src 'none'" in content_security_policy()
