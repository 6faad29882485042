"""The QR code of a URL, drawn on the server as SVG: no script, nothing fetched."""

from __future__ import annotations

import base64

import qrcode  # type: ignore[import-untyped]
import qrcode.image.svg  # type: ignore[import-untyped]

from keyland.web.html import Html, element


def qr_svg(data: str) -> bytes:
    """An SVG of ``data`` as a QR code (error correction M, the quiet zone included), as a
    VPN app's scanner reads it."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=4,
        image_factory=qrcode.image.svg.SvgPathImage,
    )
    code.add_data(data)
    code.make(fit=True)
    svg: bytes = code.make_image().to_string(encoding="utf-8")
    return svg


def qr_image(data: str, *, label: str, size_px: int = 240) -> Html:
    """An ``<img>`` of ``data``'s QR code, inline as a ``data:`` URI (the pages' policy
    allows images from ``data:`` only)."""
    encoded = base64.b64encode(qr_svg(data)).decode()
    return element(
        "img",
        src=f"data:image/svg+xml;base64,{encoded}",
        alt=label,
        width=size_px,
        height=size_px,
        class_="qr",
    )
