"""Formatted text as Telegram sees it: ``parse_mode`` markup becomes plain text + entities.

Offsets and lengths count UTF-16 code units, as the Bot API does. Markup Telegram would
refuse is refused with its "can't parse entities" error; leading and trailing whitespace
is trimmed, as Telegram trims it.
"""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

from emulators.telegram import markdown
from emulators.telegram.errors import bad_request

Entity = dict[str, Any]
SIMPLE_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "tg-spoiler": "spoiler", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "a": "text_link", "span": "spoiler", "tg-emoji": "custom_emoji",
}  # fmt: skip


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def formatted(
    text: str, parse_mode: str | None, explicit: object, limit: int, name: str = "text"
) -> tuple[str, tuple[Entity, ...]]:
    """Plain text and its entities; errors say what Telegram says (empty, too long, bad markup)."""
    parsers: dict[str, Callable[[str], tuple[str, list[Entity]]]] = {
        "html": html, "markdownv2": markdown.v2, "markdown": markdown.legacy,
    }  # fmt: skip
    if parse_mode:
        if parse_mode.lower() not in parsers:
            raise bad_request(f"unsupported parse_mode {parse_mode!r}")
        try:
            plain, entities = parsers[parse_mode.lower()](text)
        except markdown.MarkupError as error:
            raise bad_request(f"can't parse entities: {error}") from error
    else:
        plain, entities = text, given_entities(explicit)
    plain, entities = trimmed(plain, entities)
    if not plain:
        raise bad_request("message text is empty" if name == "text" else f"{name} is empty")
    if utf16_len(plain) > limit:
        raise bad_request("message is too long" if name == "text" else f"{name} is too long")
    return plain, tuple(sorted(entities, key=lambda e: (e["offset"], -e["length"])))


def given_entities(raw: object) -> list[Entity]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise bad_request("can't parse entities JSON object")
    entities = []
    for entity in raw:
        if not (
            isinstance(entity, dict)
            and isinstance(entity.get("type"), str)
            and isinstance(entity.get("offset"), int)
            and isinstance(entity.get("length"), int)
        ):
            raise bad_request("can't parse entities JSON object")
        entities.append(dict(entity))
    return entities


def trimmed(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    plain = text.strip()
    end = utf16_len(plain)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        stop = min(entity["offset"] + entity["length"] - lead, end)
        if stop > start:
            kept.append(entity | {"offset": start, "length": stop - start})
    return plain, kept


def html(source: str) -> tuple[str, list[Entity]]:
    parser = _HtmlEntities(source)
    parser.feed(source)
    parser.close()
    if parser.open_tags:
        raise markdown.MarkupError(
            f'Can\'t find end tag corresponding to start tag "{parser.open_tags[-1][0]}"'
        )
    return "".join(parser.out), parser.entities


class _HtmlEntities(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.line_starts = [0] + [i + 1 for i, c in enumerate(source) if c == "\n"]
        self.out: list[str] = []
        self.length = 0
        self.open_tags: list[tuple[str, Entity | None]] = []
        self.entities: list[Entity] = []
        for index, char in enumerate(source):
            after = source[index + 1 : index + 2]
            if char == "<" and not (after.isalpha() or after in {"/", "!"}):
                self._fail(f'Unsupported start tag "" at byte offset {_bytes(source, index)}')

    def _offset(self) -> int:
        line, column = self.getpos()
        return _bytes(self.source, self.line_starts[line - 1] + column)

    def _fail(self, message: str) -> None:
        raise markdown.MarkupError(message)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        kind = SIMPLE_TAGS.get(tag)
        if kind is None:
            self._fail(f'Unsupported start tag "{tag}" at byte offset {self._offset()}')
        entity: Entity | None = {"type": kind, "offset": self.length}
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            self._fail(f'Tag "span" must have class "tg-spoiler" at byte offset {self._offset()}')
        elif tag == "a":
            href = attributes.get("href")
            entity = {"type": "text_link", "offset": self.length, "url": href} if href else None
        elif tag == "tg-emoji":
            if not attributes.get("emoji-id"):
                self._fail(
                    f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {self._offset()}'
                )
            entity = {
                "type": kind,
                "offset": self.length,
                "custom_emoji_id": attributes["emoji-id"],
            }
        elif tag == "blockquote" and "expandable" in attributes:
            entity = {"type": "expandable_blockquote", "offset": self.length}
        elif tag == "code" and self.open_tags and self.open_tags[-1][0] == "pre":
            language = (attributes.get("class") or "").removeprefix("language-")
            pre = self.open_tags[-1][1]
            if language and pre is not None:
                pre["language"] = language
            entity = None
        self.open_tags.append((tag, entity))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open_tags:
            self._fail(f"Unexpected end tag at byte offset {self._offset()}")
        expected, entity = self.open_tags.pop()
        if expected != tag:
            self._fail(
                f'Unmatched end tag at byte offset {self._offset()}, expected "</{expected}>", '
                f'found "</{tag}>"'
            )
        if entity is not None and self.length > entity["offset"]:
            self.entities.append(entity | {"length": self.length - entity["offset"]})

    def handle_data(self, data: str) -> None:
        self.out.append(data)
        self.length += utf16_len(data)

    def handle_comment(self, data: str) -> None:
        self._fail(f"Comments are not supported at byte offset {self._offset()}")

    def handle_decl(self, decl: str) -> None:
        self._fail(f"Declarations are not supported at byte offset {self._offset()}")


def _bytes(source: str, index: int) -> int:
    return len(source[:index].encode())
