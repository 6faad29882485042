"""HTML built by functions, escaped by default.

Every value given to :func:`element` or :func:`join` is escaped unless it is already
:class:`Html` (markup these functions made, or constant markup of ours wrapped on
purpose). A page is then safe by construction: no user data, URL or text reaches the
browser unescaped.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Iterable

AttributeValue = str | int | bool | None


class Html(str):
    """Markup that is safe to send as it is."""

    __slots__ = ()


def escape(value: object) -> Html:
    """``value`` as text in HTML (``&``, ``<``, ``>``, ``"`` and ``'`` escaped), or
    unchanged when it is already :class:`Html`."""
    if isinstance(value, Html):
        return value
    return Html(html.escape(str(value), quote=True))


def join(*parts: object) -> Html:
    """The parts one after another, each escaped unless it is :class:`Html`; ``None`` and
    nested iterables of parts are allowed (``None`` adds nothing)."""
    out: list[str] = []
    for part in parts:
        if part is None:
            continue
        if isinstance(part, str):
            out.append(escape(part))
        elif isinstance(part, Iterable):
            out.append(join(*part))
        else:
            out.append(escape(part))
    return Html("".join(out))


def _attribute_name(name: str) -> str:
    """``class_`` → ``class``, ``data_copy`` → ``data-copy``."""
    return name.rstrip("_").replace("_", "-")


def attributes(values: dict[str, AttributeValue]) -> Html:
    """` name="value"` pairs, escaped; ``None`` and ``False`` leave the attribute out,
    ``True`` writes it bare."""
    out = []
    for name, value in values.items():
        if value is None or value is False:
            continue
        if value is True:
            out.append(f" {_attribute_name(name)}")
        else:
            out.append(f' {_attribute_name(name)}="{escape(value)}"')
    return Html("".join(out))


_VOID = frozenset({"br", "hr", "img", "input", "link", "meta"})


def element(tag: str, *children: object, **attrs: AttributeValue) -> Html:
    """``<tag attrs>children</tag>`` with every child and attribute value escaped."""
    opening = f"<{tag}{attributes(attrs)}>"
    if tag in _VOID:
        return Html(opening)
    return Html(f"{opening}{join(*children)}</{tag}>")


def script_hash(script: str) -> str:
    """The CSP source that allows exactly this inline script."""
    digest = hashlib.sha256(script.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def content_security_policy(
    *, scripts: Iterable[str] = (), connect_self: bool = False, frame_ancestors: str = "'none'"
) -> str:
    """What the browser may load for our pages: nothing from anywhere else. Inline styles,
    ``data:`` images (the QR code) and exactly the given inline scripts; with
    ``connect_self``, the scripts may call back the page's own origin (the Mini App
    cabinet fetches the user's part); ``frame_ancestors``: who may frame the page (the
    cabinet lets Telegram's web client)."""
    allowed = " ".join(script_hash(script) for script in scripts) or "'none'"
    connect = "; connect-src 'self'" if connect_self else ""
    return (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src {allowed}; base-uri 'none'; form-action 'none'; "
        f"frame-ancestors {frame_ancestors}{connect}"
    )


def document(*, language: str, title: str, style: str, body: Html, script: str = "") -> Html:
    """A whole page for a phone: UTF-8, the viewport set, the style and script inline."""
    head = join(
        element("meta", charset="utf-8"),
        element("meta", name="viewport", content="width=device-width, initial-scale=1"),
        element("meta", name="robots", content="noindex"),
        element("title", title),
        element("style", Html(style)),
    )
    scripts = element("script", Html(script)) if script else None
    page = element("html", element("head", head), element("body", body, scripts), lang=language)
    return Html(f"<!doctype html>\n{page}")
