"""The countries file in the seed's shape."""

from __future__ import annotations

import json

import pytest

from services.provisioner.domain.countries import CountriesError, parse_countries


def test_each_node_belongs_to_its_country() -> None:
    text = json.dumps({"finland": ["fi1.example:8470", "10.0.0.2:8470"], "germany": ["[::1]:9"]})
    assert parse_countries(text) == {
        "fi1.example:8470": "finland",
        "10.0.0.2:8470": "finland",
        "[::1]:9": "germany",
    }


def test_a_country_without_nodes_is_allowed() -> None:
    assert parse_countries('{"finland": []}') == {}


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("{", "not JSON"),
        ('["127.0.0.1:1"]', "expected an object"),
        ('{"Finland": ["a:1"]}', "not a country name"),
        ('{"finland": "a:1"}', "expected a list"),
        ('{"finland": ["no-port"]}', "not host:port"),
        ('{"finland": ["a:0"]}', "not host:port"),
        ('{"finland": ["a:70000"]}', "not host:port"),
        ('{"finland": ["http://a:1"]}', "not host:port"),
        ('{"finland": [8470]}', "not host:port"),
        ('{"finland": ["a:1"], "germany": ["a:1"]}', "listed twice"),
    ],
)
def test_malformed_files_say_what_is_wrong(text: str, complaint: str) -> None:
    with pytest.raises(CountriesError, match=complaint):
        parse_countries(text)
