"""The connection link a user imports into a VLESS client for one node."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from services.node_agent.domain.keys import KeyId


@dataclass(frozen=True)
class RealityParams:
    """What a client needs to reach a VLESS + REALITY inbound."""

    public_key: str
    short_id: str
    server_name: str
    fingerprint: str


@dataclass(frozen=True)
class LinkTemplate:
    """Everything in a link except the key id, fixed per node."""

    country: str
    host: str
    port: int
    flow: str = ""
    reality: RealityParams | None = None


def connection_link(key_id: KeyId, template: LinkTemplate) -> str:
    """``vless://KEY@HOST:PORT?...#Keyland-COUNTRY``, the share-link form VLESS clients read."""
    query: dict[str, str] = {"encryption": "none", "type": "tcp"}
    if template.reality is None:
        query["security"] = "none"
    else:
        query |= {
            "security": "reality",
            "sni": template.reality.server_name,
            "fp": template.reality.fingerprint,
            "pbk": template.reality.public_key,
            "sid": template.reality.short_id,
        }
    if template.flow:
        query["flow"] = template.flow
    host = f"[{template.host}]" if ":" in template.host else template.host
    label = quote(f"Keyland-{template.country}", safe="")
    return f"vless://{key_id}@{host}:{template.port}?{urlencode(query)}#{label}"
