"""Pictures the bot sends: the subscription URL's QR code and the admin stats chart."""

from __future__ import annotations

import io
from collections.abc import Sequence

import qrcode  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageFont

_WIDTH, _HEIGHT, _MARGIN = 800, 480, 48
_BAR = (46, 125, 230)
_INK = (33, 33, 33)
_GRID = (220, 220, 220)


def qr_png(data: str) -> bytes:
    """A PNG of ``data`` as a QR code any VPN client's scanner reads."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(data)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white").get_image()
    return _png(image)


def bar_chart_png(title: str, bars: Sequence[tuple[str, float]]) -> bytes:
    """A bar chart of (label, value) pairs. Labels are drawn with Pillow's built-in font,
    which has Latin glyphs only: pass Latin labels."""
    image = Image.new("RGB", (_WIDTH, _HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=18)
    small = ImageFont.load_default(size=15)
    draw.text((_MARGIN, 14), title, fill=_INK, font=font)
    top, bottom = _MARGIN + 20, _HEIGHT - _MARGIN
    left, right = _MARGIN, _WIDTH - _MARGIN
    highest = max((value for _, value in bars), default=0) or 1
    for step in range(5):
        y = bottom - (bottom - top) * step / 4
        draw.line([(left, y), (right, y)], fill=_GRID, width=1)
    slot = (right - left) / max(len(bars), 1)
    for index, (label, value) in enumerate(bars):
        x0 = left + slot * index + slot * 0.2
        x1 = left + slot * (index + 1) - slot * 0.2
        y = bottom - (bottom - top) * (value / highest)
        draw.rectangle([(x0, y), (x1, bottom)], fill=_BAR)
        shown = f"{value:g}"
        draw.text(((x0 + x1) / 2, y - 4), shown, fill=_INK, font=small, anchor="mb")
        draw.text(((x0 + x1) / 2, bottom + 6), label, fill=_INK, font=small, anchor="mt")
    draw.line([(left, bottom), (right, bottom)], fill=_INK, width=2)
    return _png(image)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
