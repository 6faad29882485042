"""The regions a user may choose: the countries in the provisioner's countries file
(``{"finland": ["host:port"], ...}``), read on each use so a new country shows at once."""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)


class Regions:
    def __init__(self, countries_file: Path | None) -> None:
        self._file = countries_file

    def all(self) -> list[str]:
        if self._file is None:
            return []
        try:
            countries = json.loads(self._file.read_text())
        except (OSError, ValueError) as error:
            log.warning("countries file %s unreadable: %s", self._file, error)
            return []
        if not isinstance(countries, dict):
            log.warning("countries file %s is not a JSON object", self._file)
            return []
        return sorted(str(name) for name in countries)
