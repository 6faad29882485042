"""Structured logs: one JSON object per line, with the event being handled, and no secrets.

Every service calls :func:`configure_logging` once at start-up. While a record is handled,
:func:`event_context` puts its ``event_id``, ``correlation_id`` and ``event_type`` on every
line logged, by any library, from that task. The values of every ``SecretStr`` setting the
service loaded are replaced by ``***`` in every line (message, arguments and traceback), so
a token that slips into a URL or an exception never reaches the log file.

``KEYLAND_LOG_FORMAT=text`` gives one readable line per record instead of JSON (for a
terminal); ``KEYLAND_LOG_LEVEL`` sets the level (default INFO).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import sys
import uuid
from collections.abc import Iterable, Iterator
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, SecretStr
from pythonjsonlogger.json import JsonFormatter

REDACTED = "***"
_CONTEXT_FIELDS = ("event_id", "correlation_id", "event_type")
_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "keyland_log_context", default=None
)


@contextlib.contextmanager
def event_context(
    event_id: uuid.UUID | str, correlation_id: uuid.UUID | str | None, event_type: str
) -> Iterator[None]:
    """Tag every log line of this task with the event being handled."""
    fields = {"event_id": str(event_id), "event_type": event_type}
    if correlation_id is not None:
        fields["correlation_id"] = str(correlation_id)
    token = _context.set(fields)
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Copies the current event context and the service name onto each record."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        context = _context.get() or {}
        for name in _CONTEXT_FIELDS:
            setattr(record, name, context.get(name))
        return True


class Redactor(logging.Filter):
    """Replaces every known secret value in a record with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret containing another is replaced whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        record.exc_info = None  # the redacted text stands for it
        return True


def secret_values(*settings: BaseModel) -> list[str]:
    """The plain values of every ``SecretStr`` in these settings (also inside dicts and
    lists), and the passwords of connection URLs (``mongodb://user:password@...``)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, str) and "://" in value:  # a password in a connection URL
            with contextlib.suppress(ValueError):
                password = urlsplit(value).password
                if password:
                    found.append(unquote(password))
                    found.append(password)
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                walk(item)

    for model in settings:
        walk(model)
    return found


def _formatter(json_lines: bool) -> logging.Formatter:
    if not json_lines:
        return logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    return JsonFormatter(
        "{levelname}{name}{message}{service}" + "".join(f"{{{f}}}" for f in _CONTEXT_FIELDS),
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",  # ISO 8601, UTC
    )


def configure_logging(
    service: str, secrets: Iterable[str] = (), stream: IO[str] | None = None
) -> None:
    """Send every log record of this process to ``stream`` (stderr), structured and redacted."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter(service))
    handler.addFilter(Redactor(secrets))
    handler.setFormatter(_formatter(os.environ.get("KEYLAND_LOG_FORMAT", "json") != "text"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get("KEYLAND_LOG_LEVEL", "INFO").upper())
