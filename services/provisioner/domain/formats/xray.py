"""Xray JSON: a list of whole Xray client configs, one per server, each named by its
``remarks`` (the form v2rayNG, Happ and other Xray-based clients import as JSON).

Each config listens on SOCKS (10808) and HTTP (10809) on loopback, sends everything
through its server, and has ``direct`` and ``block`` outbounds for the client's own rules.
It names no geo files, so any Xray build reads it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from services.provisioner.domain.outbound import VlessOutbound

SOCKS_PORT = 10808
HTTP_PORT = 10809
PROXY_TAG = "proxy"


def xray_outbound(outbound: VlessOutbound) -> dict[str, Any]:
    stream: dict[str, Any] = {"network": outbound.network, "security": "none"}
    if outbound.reality is not None:
        stream |= {
            "security": "reality",
            "realitySettings": {
                "serverName": outbound.reality.server_name,
                "fingerprint": outbound.reality.fingerprint,
                "publicKey": outbound.reality.public_key,
                "shortId": outbound.reality.short_id,
            },
        }
    user = {"id": str(outbound.key_id), "encryption": "none", "flow": outbound.flow}
    return {
        "tag": PROXY_TAG,
        "protocol": "vless",
        "settings": {"vnext": [{"address": outbound.host, "port": outbound.port, "users": [user]}]},
        "streamSettings": stream,
    }


def xray_config(outbound: VlessOutbound) -> dict[str, Any]:
    # routeOnly: a sniffed name serves the client's own rules and never replaces the
    # address an app asked for.
    sniffing = {"enabled": True, "destOverride": ["http", "tls"], "routeOnly": True}
    return {
        "remarks": outbound.name,
        "log": {"loglevel": "warning"},
        "inbounds": [
            {
                "tag": "socks",
                "listen": "127.0.0.1",
                "port": SOCKS_PORT,
                "protocol": "socks",
                "settings": {"auth": "noauth", "udp": True},
                "sniffing": sniffing,
            },
            {
                "tag": "http",
                "listen": "127.0.0.1",
                "port": HTTP_PORT,
                "protocol": "http",
                "sniffing": sniffing,
            },
        ],
        "outbounds": [
            xray_outbound(outbound),
            {"tag": "direct", "protocol": "freedom"},
            {"tag": "block", "protocol": "blackhole"},
        ],
    }


def xray_body(outbounds: Iterable[VlessOutbound]) -> bytes:
    configs = [xray_config(o) for o in outbounds]
    return json.dumps(configs, ensure_ascii=False, indent=2).encode()
