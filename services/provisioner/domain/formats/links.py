"""Share links, one per line, then base64: what v2rayNG, v2RayTun, Hiddify, Happ,
Streisand, Shadowrocket and most other clients import."""

from __future__ import annotations

import base64
from collections.abc import Iterable

from services.provisioner.domain.outbound import VlessOutbound, share_link


def links_body(outbounds: Iterable[VlessOutbound]) -> bytes:
    return base64.b64encode("\n".join(share_link(o) for o in outbounds).encode())
