"""Photos: what an upload is (size, SHA-256, dimensions) and the sizes Telegram makes of it.

Dimensions are read from the file itself (PNG, JPEG, GIF, WebP); anything else is refused
as Telegram refuses a file it cannot process.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Any

from emulators.telegram.errors import bad_request
from emulators.telegram.params import Upload
from emulators.telegram.state import Photo

MAX_PHOTO_BYTES = 10 * 1024 * 1024
BOXES = (("s", 90), ("m", 320), ("x", 800), ("y", 1280), ("w", 2560))
JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, JPEG, GIF or WebP image; None if it is none of them."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:6] in {b"GIF87a", b"GIF89a"} and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        return _webp_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            index += 2
            continue
        (length,) = struct.unpack(">H", data[index + 2 : index + 4])
        if marker in JPEG_FRAME_MARKERS:
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return width, height
        index += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    return None


def file_ids(bot_id: int, digest: str, kind: str) -> tuple[str, str]:
    """(file_id, file_unique_id) shaped like Telegram's, stable for the same bytes."""
    seed = hashlib.sha256(f"{bot_id}:{digest}:{kind}".encode()).digest()
    file_id = "AgACAgIAAxkBAAI" + base64.urlsafe_b64encode(seed + seed[:9]).decode().rstrip("=")
    unique = "AQAD" + base64.urlsafe_b64encode(seed[:12]).decode().rstrip("=")
    return file_id, unique


def photo_from_upload(bot_id: int, upload: Upload) -> Photo:
    data = upload.data
    if not data:
        raise bad_request("file must be non-empty")
    if len(data) > MAX_PHOTO_BYTES:
        raise bad_request("PHOTO_SAVE_FILE_INVALID")
    dimensions = image_size(data)
    if dimensions is None or min(dimensions) < 1:
        raise bad_request("IMAGE_PROCESS_FAILED")
    width, height = dimensions
    if width + height > 10_000 or max(width, height) / min(width, height) > 20:
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    digest = hashlib.sha256(data).hexdigest()
    sizes: list[dict[str, Any]] = []
    longest = max(width, height)
    for kind, box in BOXES:
        scale = min(1.0, box / longest)
        scaled_w, scaled_h = max(1, round(width * scale)), max(1, round(height * scale))
        file_id, unique = file_ids(bot_id, digest, kind)
        estimate = len(data) if box >= longest else max(1, round(len(data) * scale * scale))
        sizes.append({
            "file_id": file_id, "file_unique_id": unique, "file_size": estimate,
            "width": scaled_w, "height": scaled_h,
        })  # fmt: skip
        if box >= longest:
            break
    largest_id, largest_unique = file_ids(bot_id, digest, kind)
    return Photo(
        file_id=largest_id,
        file_unique_id=largest_unique,
        width=width,
        height=height,
        size=len(data),
        sha256=digest,
        sizes=tuple(sizes),
        filename=upload.filename,
    )
