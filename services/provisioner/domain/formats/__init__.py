"""The subscription in every format VPN clients read, each built from the same
:class:`~services.provisioner.domain.outbound.VlessOutbound` values; one module per
format, :mod:`.choice` picks one for a request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.provisioner.domain.formats.choice import (
    Format,
    UnknownFormat,
    format_for,
    wants_page,
)
from services.provisioner.domain.formats.clash import clash_body
from services.provisioner.domain.formats.links import links_body
from services.provisioner.domain.formats.sing_box import sing_box_body
from services.provisioner.domain.formats.xray import xray_body
from services.provisioner.domain.outbound import VlessOutbound

__all__ = ["Format", "Rendered", "UnknownFormat", "format_for", "render", "wants_page"]


@dataclass(frozen=True)
class Rendered:
    body: bytes
    media_type: str


def render(chosen: Format, outbounds: Sequence[VlessOutbound], group: str) -> Rendered:
    """The body of ``outbounds`` in ``chosen``; ``group`` names the Clash group and the
    sing-box selector. ``outbounds`` must not be empty (a user without access gets the
    status entry instead)."""
    if not outbounds:
        raise ValueError("a subscription lists at least one entry")
    match chosen:
        case Format.BASE64:
            return Rendered(links_body(outbounds), "text/plain")
        case Format.CLASH:
            return Rendered(clash_body(outbounds, group), "text/yaml")
        case Format.SING_BOX:
            return Rendered(sing_box_body(outbounds, group), "application/json")
        case Format.XRAY:
            return Rendered(xray_body(outbounds), "application/json")
