"""The countries file: ``{"finland": ["host:port", ...], "germany": [...]}``.

Each ``host:port`` is one node's agent. Adding a node means adding a line; a node belongs
to exactly one country. The provisioner keeps its nodes from it, the bot offers its
countries as regions and the notifier puts them under a first purchase's notice: all three
read it here (``KEYLAND_PROVISIONER_COUNTRIES_FILE``, ``KEYLAND_BOT_COUNTRIES_FILE``,
``KEYLAND_NOTIFIER_COUNTRIES_FILE``, the same file).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

COUNTRY = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_ADDRESS = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})):(\d{1,5})$")

# node address ("host:port") → country
Countries = dict[str, str]


class CountriesError(ValueError):
    """The countries file cannot be used; the message says what is wrong in it."""


def is_node_address(text: str) -> bool:
    """``host:port`` with a port from 1 to 65535 (an IPv6 host in brackets)."""
    found = _ADDRESS.fullmatch(text)
    return found is not None and 0 < int(found.group(1)) < 65536


def parse_countries(text: str) -> Countries:
    """The nodes of a countries file, or :class:`CountriesError` naming the problem."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise CountriesError(f"not JSON: {error}") from error
    if not isinstance(document, dict):
        raise CountriesError('expected an object like {"finland": ["host:port"]}')
    countries: Countries = {}
    for country, nodes in document.items():
        if not COUNTRY.fullmatch(country):
            raise CountriesError(f"{country!r} is not a country name (lower case, a-z0-9-)")
        if not isinstance(nodes, list):
            raise CountriesError(f"{country}: expected a list of host:port")
        for node in nodes:
            if not isinstance(node, str) or not is_node_address(node):
                raise CountriesError(f"{country}: {node!r} is not host:port")
            if node in countries:
                raise CountriesError(f"{node} is listed twice ({countries[node]}, {country})")
            countries[node] = country
    return countries


def regions(countries: Countries) -> list[str]:
    """The countries a user may choose: those with a node, in alphabetical order."""
    return sorted(set(countries.values()))


class CountriesFile:
    """Reads the file and notices changes; a bad version is reported once, not every poll."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last_text: str | None = None
        self._last_error: str | None = None

    def read(self) -> Countries:
        """The nodes in the file now, or :class:`CountriesError` naming the file."""
        text = self._text()
        self._last_text = text
        return self._parse(text)

    def changed(self) -> Countries | None:
        """The nodes, when the content differs from the last read; None when it does not.

        A changed content that cannot be used raises :class:`CountriesError` once; polling
        the same content again answers None, so the caller keeps what it had.
        """
        try:
            text = self._text()
        except CountriesError as error:
            if str(error) == self._last_error:
                return None
            self._last_error, self._last_text = str(error), None
            raise
        self._last_error = None
        if text == self._last_text:
            return None
        self._last_text = text
        return self._parse(text)

    def _text(self) -> str:
        try:
            return self.path.read_text()
        except (OSError, UnicodeDecodeError) as error:
            raise CountriesError(f"{self.path}: cannot read: {error}") from error

    def _parse(self, text: str) -> Countries:
        try:
            return parse_countries(text)
        except CountriesError as error:
            raise CountriesError(f"{self.path}: {error}") from error
