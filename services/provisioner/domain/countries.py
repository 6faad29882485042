"""The countries file: ``{"finland": ["host:port", ...], "germany": [...]}``.

Each ``host:port`` is one node's agent. Adding a node means adding a line; a node belongs
to exactly one country.
"""

from __future__ import annotations

import json
import re

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
