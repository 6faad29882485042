"""Parameters of a Bot API call, however they came: query string, URL-encoded or multipart
form, or JSON, as Telegram accepts all four.

aiogram sends a URL-encoded form, or multipart when a file is attached; nested objects
(``reply_markup``, ``prices``, ``allowed_updates``) are JSON strings, numbers and booleans
are JSON literals (``42``, ``true``), and an uploaded file is a part referenced as
``attach://<part name>`` from its field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message as MimeHeaders
from typing import Any
from urllib.parse import parse_qsl

from emulators.telegram.errors import bad_request

ATTACH = "attach://"


@dataclass(frozen=True)
class Upload:
    filename: str | None
    content_type: str | None
    data: bytes


class Params:
    """Named values, typed on the way out; a wrong type is a Bad Request naming the field."""

    def __init__(self, values: Mapping[str, Any], files: Mapping[str, Upload] | None = None):
        self.values = {k: v for k, v in values.items() if v is not None and v != ""}
        self.files = dict(files or {})

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        raise bad_request(f'field "{name}" must be of type String')

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        raise bad_request(f'field "{name}" must be of type Integer')

    def flag(self, name: str) -> bool:
        value = self.values.get(name, False)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false", "1", "0"}:
            return value.lower() in {"true", "1"}
        raise bad_request(f'field "{name}" must be of type Boolean')

    def structure(self, name: str, what: str | None = None) -> Any:
        """A nested object or array, given as JSON text (forms) or as JSON itself."""
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError as error:
            raise bad_request(f"can't parse {what or name} JSON object") from error

    def upload(self, name: str) -> Upload | str | None:
        """A file sent in the request, or the text (a file_id or URL) naming one."""
        if name in self.files:
            return self.files[name]
        value = self.text(name)
        if value is not None and value.startswith(ATTACH):
            part = value.removeprefix(ATTACH)
            if part not in self.files:
                raise bad_request(f"file {value} not found in the request")
            return self.files[part]
        return value


def decode(content_type: str, body: bytes, query: Mapping[str, str] | None = None) -> Params:
    """Parameters from a body of the given Content-Type, on top of query-string ones."""
    values: dict[str, Any] = dict(query or {})
    files: dict[str, Upload] = {}
    headers = MimeHeaders()
    headers["content-type"] = content_type or "application/octet-stream"
    kind = headers.get_content_type()
    try:
        if kind == "application/json" and body.strip():
            decoded = json.loads(body)
            if not isinstance(decoded, dict):
                raise bad_request("JSON body must be an object")
            values |= decoded
        elif kind == "application/x-www-form-urlencoded":
            values |= dict(parse_qsl(body.decode(), keep_blank_values=True))
        elif kind == "multipart/form-data":
            fields, files = multipart(body, str(headers.get_param("boundary") or ""))
            values |= fields
    except (ValueError, TypeError) as error:
        raise bad_request(f"can't parse request body: {error}") from error
    return Params(values, files)


def multipart(body: bytes, boundary: str) -> tuple[dict[str, str], dict[str, Upload]]:
    """Fields and files of a ``multipart/form-data`` body, byte for byte."""
    if not boundary:
        raise ValueError("multipart body without a boundary")
    fields: dict[str, str] = {}
    files: dict[str, Upload] = {}
    delimiter = b"--" + boundary.encode()
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, separator, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            raise ValueError("multipart part without headers")
        part = MimeHeaders()
        for line in head.decode("utf-8").split("\r\n"):
            name, _, value = line.partition(":")
            part[name.strip()] = value.strip()
        field_name = part.get_param("name", header="content-disposition")
        if not isinstance(field_name, str):
            raise TypeError("multipart part without a name")
        data = content.removesuffix(b"\r\n")
        filename = part.get_filename()
        if filename is None:
            fields[field_name] = data.decode("utf-8")
        else:
            files[field_name] = Upload(filename, part.get("content-type"), data)
    return fields, files
