"""sing-box JSON (1.12 and later): what sing-box and its apps SFA, SFI and SFM import.

A whole client config: a TUN inbound, each node as a ``vless`` outbound, a ``selector``
named after the profile that holds them all and takes every connection, and ``direct``
for private addresses. DNS queries caught by the TUN are answered by sing-box, over TLS
to a public resolver through the selected server.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from services.provisioner.domain.outbound import VlessOutbound, distinct_names

DNS_SERVER = "1.1.1.1"


def sing_box_outbound(outbound: VlessOutbound) -> dict[str, Any]:
    config: dict[str, Any] = {
        "type": "vless",
        "tag": outbound.name,
        "server": outbound.host,
        "server_port": outbound.port,
        "uuid": str(outbound.key_id),
        "packet_encoding": "xudp",
    }
    if outbound.flow:
        config["flow"] = outbound.flow
    if outbound.reality is not None:
        config["tls"] = {
            "enabled": True,
            "server_name": outbound.reality.server_name,
            "utls": {"enabled": True, "fingerprint": outbound.reality.fingerprint},
            "reality": {
                "enabled": True,
                "public_key": outbound.reality.public_key,
                "short_id": outbound.reality.short_id,
            },
        }
    return config


def sing_box_config(outbounds: Iterable[VlessOutbound], group: str) -> dict[str, Any]:
    servers = [sing_box_outbound(o) for o in distinct_names(list(outbounds))]
    names = [s["tag"] for s in servers]
    return {
        "log": {"level": "warn"},
        "dns": {
            "servers": [{"type": "tls", "tag": "remote", "server": DNS_SERVER}],
            "final": "remote",
        },
        "inbounds": [
            {
                "type": "tun",
                "tag": "tun-in",
                "address": ["172.19.0.1/30", "fdfe:dcba:9876::1/126"],
                "auto_route": True,
                "strict_route": True,
            }
        ],
        "outbounds": [
            {"type": "selector", "tag": group, "outbounds": names, "default": names[0]},
            *servers,
            {"type": "direct", "tag": "direct"},
        ],
        "route": {
            "rules": [
                {"action": "sniff"},
                {"protocol": "dns", "action": "hijack-dns"},
                {"ip_is_private": True, "outbound": "direct"},
            ],
            "final": group,
            "auto_detect_interface": True,
        },
    }


def sing_box_body(outbounds: Iterable[VlessOutbound], group: str) -> bytes:
    config = sing_box_config(outbounds, group)
    return json.dumps(config, ensure_ascii=False, indent=2).encode()
