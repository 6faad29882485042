"""Telegram's two Markdown flavours, parsed into plain text and entities.

``MarkdownV2``: ``*bold* _italic_ __underline__ ~strike~ ||spoiler|| `code` ```pre```
[text](url)`` and ``>`` quotes; every other reserved character must be escaped with ``\\``.
``Markdown`` (legacy): ``*bold* _italic_ `code` ```pre``` [text](url)``, nothing nested.
"""

from __future__ import annotations

from typing import Any

Entity = dict[str, Any]
RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
MARKS = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}
NAMES = {
    "bold": "Bold", "italic": "Italic", "underline": "Underline", "strikethrough": "Strikethrough",
    "spoiler": "Spoiler", "text_link": "TextUrl", "code": "Code", "pre": "Pre",
}  # fmt: skip


class MarkupError(ValueError):
    """Markup Telegram cannot parse; the message is Telegram's."""


class _Output:
    def __init__(self, source: str) -> None:
        self.source = source
        self.parts: list[str] = []
        self.length = 0  # in UTF-16 code units
        self.entities: list[Entity] = []

    def emit(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text.encode("utf-16-le")) // 2

    def entity(self, kind: str, start: int, **extra: Any) -> None:
        if self.length > start:
            self.entities.append(
                {"type": kind, "offset": start, "length": self.length - start} | extra
            )

    def at(self, index: int) -> int:
        """Byte offset of a source position, as Telegram reports it."""
        return len(self.source[:index].encode())

    def result(self) -> tuple[str, list[Entity]]:
        return "".join(self.parts), self.entities


def _verbatim(source: str, start: int, closing: str, out: _Output, name: str) -> tuple[str, int]:
    """Code, pre or URL up to ``closing``; only `, \\ and the closing mark may be escaped."""
    chars, i = [], start
    while i < len(source):
        if source[i] == "\\" and source[i + 1 : i + 2] in {"`", "\\", closing[0]}:
            chars.append(source[i + 1])
            i += 2
        elif source.startswith(closing, i):
            return "".join(chars), i + len(closing)
        else:
            chars.append(source[i])
            i += 1
    raise MarkupError(f"Can't find end of {name} entity at byte offset {out.at(start)}")


def v2(source: str) -> tuple[str, list[Entity]]:
    return _V2(source).parse()


class _V2:
    """One pass over the source; entities open and close as their marks appear."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.out = _Output(source)
        self.opened: list[tuple[str, int, int]] = []  # kind, output offset, source index
        self.quote: int | None = None
        self.i = 0

    def parse(self) -> tuple[str, list[Entity]]:
        line_start = True
        while self.i < len(self.source):
            if line_start and self._quote_line():
                line_start = False
                continue
            line_start = self._step()
        if self.quote is not None:
            self.out.entity("blockquote", self.quote)
        if self.opened:
            kind, _, index = self.opened[-1]
            raise MarkupError(
                f"Can't find end of {NAMES[kind]} entity at byte offset {self.out.at(index)}"
            )
        return self.out.result()

    def _quote_line(self) -> bool:
        """At a line start: ``>`` opens or continues a quote, anything else ends it."""
        if self.source[self.i] == ">":
            self.quote = self.out.length if self.quote is None else self.quote
            self.i += 1
            return True
        if self.quote is not None and self.out.length - 1 > self.quote:
            # the line break ends the quote and is not part of it
            length = self.out.length - 1 - self.quote
            self.out.entities.append({"type": "blockquote", "offset": self.quote, "length": length})
        self.quote = None
        return False

    def _step(self) -> bool:
        """Consume one token; whether a new line starts after it."""
        source, char = self.source, self.source[self.i]
        mark = next((m for m in ("__", "||", "*", "_", "~") if source.startswith(m, self.i)), None)
        if char == "\\":
            if self.i + 1 >= len(source) or not 0 < ord(source[self.i + 1]) < 127:
                raise MarkupError(
                    "Character '\\' is reserved and must be escaped with the preceding '\\'"
                )
            self.out.emit(source[self.i + 1])
            self.i += 2
        elif char == "`":
            self._code()
        elif char == "[":
            self.opened.append(("text_link", self.out.length, self.i))
            self.i += 1
        elif char == "]" and self.opened and self.opened[-1][0] == "text_link":
            if source[self.i + 1 : self.i + 2] != "(":
                raise MarkupError(f"Can't find end of a URL at byte offset {self.out.at(self.i)}")
            url, self.i = _verbatim(source, self.i + 2, ")", self.out, "TextUrl")
            self.out.entity("text_link", self.opened.pop()[1], url=url)
        elif mark is not None:
            self._toggle(MARKS[mark])
            self.i += len(mark)
        elif char in RESERVED:
            raise MarkupError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        else:
            self.out.emit(char)
            self.i += 1
            return char == "\n"
        return False

    def _code(self) -> None:
        fence = "```" if self.source.startswith("```", self.i) else "`"
        name = "Pre" if fence == "```" else "Code"
        start = self.out.length
        body, self.i = _verbatim(self.source, self.i + len(fence), fence, self.out, name)
        language = ""
        if fence == "```" and "\n" in body:
            first, rest = body.split("\n", 1)
            language, body = (first, rest) if first and " " not in first else ("", body)
        self.out.emit(body)
        extra = {"language": language} if language else {}
        self.out.entity("pre" if fence == "```" else "code", start, **extra)

    def _toggle(self, kind: str) -> None:
        index = next((n for n, o in enumerate(self.opened) if o[0] == kind), None)
        if index is None:
            self.opened.append((kind, self.out.length, self.i))
        else:
            self.out.entity(kind, self.opened.pop(index)[1])


def legacy(source: str) -> tuple[str, list[Entity]]:
    out = _Output(source)
    i = 0
    while i < len(source):
        char = source[i]
        if char == "\\" and source[i + 1 : i + 2] in {"_", "*", "`", "["}:
            out.emit(source[i + 1])
            i += 2
            continue
        closing = {"*": "*", "_": "_", "`": "`", "[": "]"}.get(char)
        if source.startswith("```", i):
            closing = "```"
        if closing is None:
            out.emit(char)
            i += 1
            continue
        opening = "```" if closing == "```" else char
        end = source.find(closing, i + len(opening))
        if end < 0 or (char == "[" and source[end + 1 : end + 2] != "("):
            raise MarkupError(f"Can't find end of the entity starting at byte offset {out.at(i)}")
        start = out.length
        out.emit(source[i + len(opening) : end])
        if char == "[":
            url_end = source.find(")", end + 2)
            if url_end < 0:
                raise MarkupError(
                    f"Can't find end of the entity starting at byte offset {out.at(i)}"
                )
            out.entity("text_link", start, url=source[end + 2 : url_end])
            i = url_end + 1
        else:
            kinds = {"*": "bold", "_": "italic", "`": "code", "```": "pre"}
            out.entity(kinds[closing], start)
            i = end + len(closing)
    return out.result()
