"""The regions a user may choose: the countries in the provisioner's countries file
(:mod:`keyland.countries`), read on each use so a new country shows at once."""

from __future__ import annotations

import logging
from pathlib import Path

from keyland.countries import CountriesError, CountriesFile, regions

log = logging.getLogger(__name__)


class Regions:
    def __init__(self, countries_file: Path | None) -> None:
        self._file = None if countries_file is None else CountriesFile(countries_file)

    def all(self) -> list[str]:
        """The countries with a node; none while the file is unset or cannot be used."""
        if self._file is None:
            return []
        try:
            return regions(self._file.read())
        except CountriesError as error:
            log.warning("no regions to offer: %s", error)
            return []
