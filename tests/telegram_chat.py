"""A Telegram user played against the Telegram Bot API emulator's control routes.

Calls are async: a bot polling in the test's own event loop keeps working while the
test waits for its answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

Message = dict[str, Any]


class EmulatorAnswer(Protocol):
    """What a user reads of the emulator's answer (an ``httpx.Response`` is one)."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...

    def raise_for_status(self) -> object: ...


class EmulatorClient(Protocol):
    """The user's way to the emulator: an ``httpx.AsyncClient`` on its base URL in the
    tests, a lighter one in the benchmarks (``bench.light_client``)."""

    async def get(self, url: str, *, params: dict[str, Any]) -> EmulatorAnswer: ...

    async def post(self, url: str, *, json: dict[str, Any]) -> EmulatorAnswer: ...


class ChatError(AssertionError):
    """The emulator refused a user action or the bot did not answer in time."""


@dataclass
class TelegramUser:
    """One person in a private chat with the bot; ``seen`` counts bot messages consumed."""

    emulator: EmulatorClient
    bot: str
    id: int
    first_name: str = "Test"
    username: str | None = None
    language_code: str | None = "ru"
    seen: int = 0
    last: list[Message] = field(default_factory=list)

    @property
    def profile(self) -> dict[str, Any]:
        found: dict[str, Any] = {"id": self.id, "first_name": self.first_name}
        if self.username is not None:
            found["username"] = self.username
        if self.language_code is not None:
            found["language_code"] = self.language_code
        return found

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = await self.emulator.post(f"/emulator/bots/{self.bot}/{path}", json=body)
        if answer.status_code != 200:
            raise ChatError(f"emulator refused {path}: {answer.status_code} {answer.text}")
        result: dict[str, Any] = answer.json()
        return result

    async def send(self, text: str) -> None:
        await self._post("messages", {"user": self.profile, "text": text})

    async def press(self, message: Message, data: str) -> str:
        """Press the button with callback ``data`` under ``message``; the query's id."""
        answer = await self._post(
            "callbacks", {"user_id": self.id, "message_id": message["message_id"], "data": data}
        )
        return str(answer["callback_query_id"])

    async def callback_answer(self, query_id: str, timeout_s: float = 10) -> dict[str, Any]:
        answer = await self.emulator.get(
            f"/emulator/bots/{self.bot}/callbacks/{query_id}", params={"timeout": timeout_s}
        )
        if answer.status_code != 200:
            raise ChatError(f"callback {query_id} not answered: {answer.text}")
        result: dict[str, Any] = answer.json()
        return result

    async def bot_messages(self, min_count: int = 0, timeout_s: float = 15) -> list[Message]:
        answer = await self.emulator.get(
            f"/emulator/bots/{self.bot}/chats/{self.id}/messages",
            params={"sender": "bot", "min_count": min_count, "timeout": timeout_s},
        )
        if answer.status_code not in (200, 408):
            raise ChatError(f"messages of {self.id}: {answer.status_code} {answer.text}")
        if answer.status_code == 408:
            got = [m.get("text") or m.get("caption") for m in answer.json()["messages"]]
            raise ChatError(f"chat {self.id}: expected {min_count} bot messages, got {got}")
        messages: list[Message] = answer.json()["messages"]
        return messages

    async def catch_up(self) -> None:
        """Consider everything the bot sent so far as seen."""
        self.seen = len(await self.bot_messages(0, 0))

    async def expect(self, count: int = 1, timeout_s: float = 15) -> list[Message]:
        """The next ``count`` messages from the bot (waiting for them)."""
        messages = await self.bot_messages(self.seen + count, timeout_s)
        self.last = messages[self.seen : self.seen + count]
        self.seen += count
        return self.last

    async def reply(self, timeout_s: float = 15) -> Message:
        """The bot's next message."""
        return (await self.expect(1, timeout_s))[0]

    async def quiet(self) -> None:
        """No unread bot message (checked after the bot answered what it should)."""
        messages = await self.bot_messages(0, 0)
        assert len(messages) == self.seen, [m.get("text") for m in messages[self.seen :]]

    async def ask(self, text: str, count: int = 1) -> list[Message]:
        await self.send(text)
        return await self.expect(count)


def text_of(message: Message) -> str:
    return str(message.get("text") or message.get("caption") or "")


def buttons_of(message: Message) -> list[dict[str, Any]]:
    return [button for row in message.get("buttons") or [] for button in row]


def callback_data(message: Message) -> list[str]:
    return [b["callback_data"] for b in buttons_of(message) if "callback_data" in b]


def button_urls(message: Message) -> list[str]:
    return [b["url"] for b in buttons_of(message) if "url" in b]
