"""What each Telegram error means for a notice: blocked for now, may pass, or refused."""

from __future__ import annotations

import pytest
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage

from services.notifier.adapters.telegram import Outcome, Reason, Result, failure

SEND = SendMessage(chat_id=42, text="Payment received")


@pytest.mark.parametrize(
    ("error", "outcome", "reason"),
    [
        (TelegramForbiddenError(SEND, "Forbidden: bot was blocked by the user"),
         Outcome.BLOCKED, Reason.BLOCKED),
        (TelegramForbiddenError(SEND, "Forbidden: user is deactivated"),
         Outcome.BLOCKED, Reason.DEACTIVATED),
        (TelegramBadRequest(SEND, "Bad Request: chat not found"),
         Outcome.FAILED, Reason.CHAT_NOT_FOUND),
        (TelegramBadRequest(SEND, "Bad Request: PEER_ID_INVALID"),
         Outcome.FAILED, Reason.CHAT_NOT_FOUND),
        (TelegramForbiddenError(SEND, "Forbidden: bot can't initiate conversation with a user"),
         Outcome.FAILED, Reason.CHAT_NOT_FOUND),
        (TelegramNetworkError(SEND, "HTTP Client says - ClientConnectorError"),
         Outcome.FAILED, Reason.NETWORK),
        (TelegramServerError(SEND, "Internal Server Error"),
         Outcome.FAILED, Reason.SERVER_ERROR),
        (TelegramRetryAfter(SEND, "Too Many Requests: retry after 5", 5),
         Outcome.FAILED, Reason.FLOOD),
        (TelegramBadRequest(SEND, "Bad Request: message is too long"),
         Outcome.FAILED, Reason.REJECTED),
        (TelegramForbiddenError(SEND, "Forbidden: bot can't send messages to bots"),
         Outcome.FAILED, Reason.REJECTED),
        (TelegramConflictError(SEND, "Conflict: something else"),
         Outcome.FAILED, Reason.REJECTED),
    ],
    ids=lambda value: value.message if isinstance(value, TelegramAPIError) else None,
)  # fmt: skip
def test_each_error_is_classified(
    error: TelegramAPIError, outcome: Outcome, reason: Reason
) -> None:
    result = failure(error)
    assert (result.outcome, result.reason, result.error) == (outcome, reason, error.message)


@pytest.mark.parametrize(
    ("reason", "retryable"),
    [
        (Reason.CHAT_NOT_FOUND, True),
        (Reason.NETWORK, True),
        (Reason.SERVER_ERROR, True),
        (Reason.FLOOD, True),
        (Reason.BLOCKED, False),
        (Reason.DEACTIVATED, False),
        (Reason.REJECTED, False),
    ],
)
def test_only_failures_that_may_pass_are_retryable(reason: Reason, retryable: bool) -> None:
    assert Result(Outcome.FAILED, reason=reason).retryable is retryable


def test_a_sent_message_is_not_retryable_and_records_only_its_id() -> None:
    sent = Result(Outcome.SENT, message_id=7)
    assert not sent.retryable
    assert sent.details() == {"message_id": 7}


def test_a_failure_records_its_error_and_reason() -> None:
    result = failure(TelegramBadRequest(SEND, "Bad Request: chat not found"))
    assert result.details() == {
        "error": "Bad Request: chat not found",
        "failure": "chat_not_found",
    }
