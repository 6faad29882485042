"""The countries file in the seed's shape, as the provisioner, the bot and the notifier
read it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from keyland.countries import CountriesError, CountriesFile, parse_countries, regions
from services.bot.adapters.regions import Regions
from services.notifier.config import NotifierSettings


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


def test_regions_are_the_countries_with_a_node_in_order() -> None:
    text = json.dumps({"germany": ["g:1", "g:2"], "sweden": [], "finland": ["f:1"]})
    assert regions(parse_countries(text)) == ["finland", "germany"]


def test_a_changed_file_is_noticed_and_a_bad_edit_reported_once(tmp_path: Path) -> None:
    path = tmp_path / "countries.json"
    path.write_text('{"finland": ["f:1"]}')
    watched = CountriesFile(path)
    assert watched.read() == {"f:1": "finland"}
    assert watched.changed() is None
    path.write_text('{"finland": ["not an address"]}')
    with pytest.raises(CountriesError, match=str(path)):
        watched.changed()
    assert watched.changed() is None
    path.write_text('{"finland": ["f:1"], "germany": ["g:1"]}')
    assert watched.changed() == {"f:1": "finland", "g:1": "germany"}


def test_the_bot_offers_no_region_while_the_file_cannot_be_used(tmp_path: Path) -> None:
    path = tmp_path / "countries.json"
    assert Regions(None).all() == []
    assert Regions(path).all() == []  # not there yet
    path.write_text('{"finland": ["f:1"], "Germany": ["g:1"]}')
    assert Regions(path).all() == []
    path.write_text('{"germany": ["g:1"], "finland": ["f:1"]}')
    assert Regions(path).all() == ["finland", "germany"]


def test_the_notifier_reads_the_same_regions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "countries.json"
    monkeypatch.setenv("KEYLAND_NOTIFIER_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("KEYLAND_NOTIFIER_COUNTRIES_FILE", str(path))
    assert NotifierSettings().regions() == []
    path.write_text('{"germany": ["g:1"], "finland": ["f:1"], "sweden": []}')
    assert NotifierSettings().regions() == Regions(path).all() == ["finland", "germany"]
    path.write_text("{")
    with pytest.raises(CountriesError, match="not JSON"):
        NotifierSettings().regions()
