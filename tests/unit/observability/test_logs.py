"""Structured log lines: the event's ids on every line, secrets never in any line."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, SecretStr

from keyland.observability.logs import (
    REDACTED,
    Redactor,
    configure_logging,
    event_context,
    secret_values,
)

SECRET = "s3cr3t-token-value"


@pytest.fixture
def output(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Configure logging as a service does, into a buffer; restore the root logger after."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    buffer = io.StringIO()
    monkeypatch.delenv("KEYLAND_LOG_FORMAT", raising=False)
    configure_logging("unit", [SECRET], buffer)
    yield buffer
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


def lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_line_handled_inside_an_event_carries_its_ids(output: io.StringIO) -> None:
    event_id, correlation_id = uuid.uuid4(), uuid.uuid4()
    with event_context(event_id, correlation_id, "PaymentSucceeded"):
        logging.getLogger("inside").info("applied %s", "it")
    logging.getLogger("outside").warning("no event here")
    inside, outside = lines(output)
    assert inside["message"] == "applied it"
    assert inside["event_id"] == str(event_id)
    assert inside["correlation_id"] == str(correlation_id)
    assert inside["event_type"] == "PaymentSucceeded"
    assert inside["service"] == "unit"
    assert inside["level"] == "INFO"
    assert str(inside["time"]).endswith("+00:00")
    assert outside["event_id"] is None
    assert outside["level"] == "WARNING"


def _refuse() -> None:
    raise RuntimeError(f"refused token {SECRET}")


def test_secrets_are_redacted_from_messages_arguments_and_tracebacks(output: io.StringIO) -> None:
    log = logging.getLogger("leaky")
    log.info("calling https://api.example/bot%s/getMe", SECRET)
    try:
        _refuse()
    except RuntimeError:
        log.exception("request with %s failed", SECRET)
    text = output.getvalue()
    assert SECRET not in text
    first, second = lines(output)
    assert first["message"] == f"calling https://api.example/bot{REDACTED}/getMe"
    assert f"refused token {REDACTED}" in str(second["exc_info"])


def test_text_format_is_one_plain_line(
    output: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYLAND_LOG_FORMAT", "text")
    configure_logging("unit", [SECRET], output)
    logging.getLogger("plain").error("token %s", SECRET)
    [line] = output.getvalue().splitlines()
    assert line.endswith(f"ERROR plain token {REDACTED}")


class _Nested(BaseModel):
    tokens: dict[str, SecretStr]
    listed: list[SecretStr]
    url: str
    plain: str


def test_secret_values_finds_secrets_inside_containers_and_url_passwords() -> None:
    settings = _Nested(
        tokens={"node:1": SecretStr("node-token-1")},
        listed=[SecretStr("listed-secret")],
        url="mongodb://keyland:p%40ss-word@db:27017/",
        plain="not a secret",
    )
    found = set(secret_values(settings))
    assert {"node-token-1", "listed-secret", "p@ss-word"} <= found
    assert "not a secret" not in found


@given(
    secret=st.text(st.characters(blacklist_characters="*"), min_size=6, max_size=40),
    before=st.text(max_size=50),
    after=st.text(max_size=50),
)
def test_redaction_leaves_no_occurrence_of_a_secret(secret: str, before: str, after: str) -> None:
    assert secret not in Redactor([secret]).redact(before + secret + after + secret)


def test_secrets_too_short_to_be_real_are_not_redacted() -> None:
    assert Redactor(["abc"]).redact("abc def") == "abc def"
