"""Clash / mihomo YAML: what clash-verge, mihomo, ClashX, Stash and FlClash import.

Each node is a mihomo ``vless`` proxy; one ``select`` group named after the profile
holds them all, and every connection goes through it (``MATCH``). The client keeps its
own ports, DNS and TUN settings: a subscription brings only servers and the rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from services.provisioner.domain.outbound import VlessOutbound, distinct_names


def clash_proxy(outbound: VlessOutbound) -> dict[str, Any]:
    proxy: dict[str, Any] = {
        "name": outbound.name,
        "type": "vless",
        "server": outbound.host,
        "port": outbound.port,
        "uuid": str(outbound.key_id),
        "network": outbound.network,
        "udp": True,
        "tls": outbound.reality is not None,
    }
    if outbound.flow:
        proxy["flow"] = outbound.flow
    if outbound.reality is not None:
        proxy |= {
            "servername": outbound.reality.server_name,
            "client-fingerprint": outbound.reality.fingerprint,
            "reality-opts": {
                "public-key": outbound.reality.public_key,
                "short-id": outbound.reality.short_id,
            },
        }
    return proxy


def clash_config(outbounds: Iterable[VlessOutbound], group: str) -> dict[str, Any]:
    proxies = [clash_proxy(o) for o in distinct_names(list(outbounds))]
    names = [p["name"] for p in proxies]
    return {
        "proxies": proxies,
        "proxy-groups": [{"name": group, "type": "select", "proxies": names}],
        "rules": [f"MATCH,{group}"],
    }


def clash_body(outbounds: Iterable[VlessOutbound], group: str) -> bytes:
    config = clash_config(outbounds, group)
    return yaml.safe_dump(config, allow_unicode=True, sort_keys=False).encode()
