"""The countries file on disk, re-read when its content changes."""

from __future__ import annotations

from pathlib import Path

from services.provisioner.domain.countries import Countries, CountriesError, parse_countries


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
