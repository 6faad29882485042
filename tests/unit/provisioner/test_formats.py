"""Every subscription format, built from the same outbounds: the choice by agent and
``?format=``, and each format's shape as its clients read it (mihomo's vless proxy and
proxy groups, sing-box's outbounds and selector, Xray's client configs). sing-box itself
checks its format in tests/integration/test_sing_box_format.py, and a real Xray connects
with the Xray format in tests/integration/test_provisioner.py."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from services.provisioner.domain.formats import Format, UnknownFormat, format_for, render
from services.provisioner.domain.outbound import (
    Reality,
    VlessOutbound,
    outbound_of_link,
    status_entry,
)

REALITY = Reality(
    "gk4QIYbbI8a--OYe1Rzo9wiFHSgqkii0AbN9BY05rzQ", "6ba85179e30d4fc2", "www.example.com", "chrome"
)
FINLAND = VlessOutbound(
    "Keyland-finland", "fi.example", 443, uuid.UUID(int=1), "xtls-rprx-vision", REALITY
)
GERMANY = VlessOutbound("Keyland-germany", "2001:db8::1", 10444, uuid.UUID(int=2))
SECOND_FINLAND = VlessOutbound("Keyland-finland", "fi2.example", 443, uuid.UUID(int=1))

_outbounds = st.lists(
    st.builds(
        VlessOutbound,
        name=st.sampled_from(["Keyland-finland", "Keyland-germany", "Доступ закончился"]),
        host=st.sampled_from(["fi.example", "10.0.0.1", "2001:db8::1"]),
        port=st.integers(1, 65535),
        key_id=st.uuids(),
        flow=st.sampled_from(["", "xtls-rprx-vision"]),
        reality=st.none() | st.just(REALITY),
    ),
    min_size=1,
    max_size=5,
)


@pytest.mark.parametrize(
    ("agent", "chosen"),
    [
        ("v2rayNG/1.9.16", Format.BASE64),
        ("v2rayTun/android", Format.BASE64),
        ("HiddifyNext/2.5.7 (android) like ClashMeta v2ray sing-box", Format.BASE64),
        ("Happ/1.6.1", Format.BASE64),
        ("Streisand/1.6", Format.BASE64),
        ("Shadowrocket/2070 CFNetwork/1494.0.7 Darwin/23.4.0", Format.BASE64),
        ("curl/8.5.0", Format.BASE64),
        ("", Format.BASE64),
        ("clash-verge/v2.0.3", Format.CLASH),
        ("mihomo/1.18.10", Format.CLASH),
        (
            "ClashX Pro/1.118.0 (com.west2online.ClashXPro; build:1.118.0; macOS 14.4.1)",
            Format.CLASH,
        ),
        ("Stash/2.4.7 Clash/1.9.0", Format.CLASH),
        ("FlClash/v0.8.60 clash-verge Platform/android", Format.CLASH),
        ("sing-box 1.11.4", Format.SING_BOX),
        ("SFA/1.11.4 (Android 14; sing-box 1.11.4; language en_US)", Format.SING_BOX),
        ("SFI/1.11.4 (iOS 17.4; sing-box 1.11.4)", Format.SING_BOX),
    ],
)
def test_the_agent_chooses_the_format(agent: str, chosen: Format) -> None:
    assert format_for(agent) is chosen


def test_the_format_parameter_wins_and_an_unknown_one_is_refused() -> None:
    assert format_for("clash-verge/v2.0.3", "xray") is Format.XRAY
    assert format_for("v2rayNG/1.9.16", "sing-box") is Format.SING_BOX
    assert format_for("", "Clash") is Format.CLASH
    with pytest.raises(UnknownFormat, match="one of: base64, clash, sing-box, xray"):
        format_for("v2rayNG/1.9.16", "v2ray")


@given(_outbounds)
def test_base64_holds_a_share_link_per_outbound(outbounds: list[VlessOutbound]) -> None:
    page = render(Format.BASE64, outbounds, "Keyland")
    links = base64.b64decode(page.body).decode().split("\n")
    assert [outbound_of_link(link) for link in links] == outbounds


def check_mihomo_vless(proxy: dict[str, Any]) -> None:
    """The fields mihomo needs of a ``type: vless`` proxy, with their types."""
    assert proxy["type"] == "vless"
    assert isinstance(proxy["name"], str)
    assert proxy["name"]
    assert isinstance(proxy["server"], str)
    assert proxy["server"]
    assert isinstance(proxy["port"], int)
    assert 0 < proxy["port"] < 65536
    uuid.UUID(proxy["uuid"])
    assert proxy["network"] == "tcp"
    assert isinstance(proxy["udp"], bool)
    assert isinstance(proxy["tls"], bool)
    assert proxy.get("flow", "xtls-rprx-vision") == "xtls-rprx-vision"
    if "reality-opts" in proxy:
        assert proxy["tls"] is True
        assert isinstance(proxy["servername"], str)
        assert isinstance(proxy["client-fingerprint"], str)
        assert set(proxy["reality-opts"]) == {"public-key", "short-id"}
    else:
        assert proxy["tls"] is False
    known = {"name", "type", "server", "port", "uuid", "network", "udp", "tls", "flow",
             "servername", "client-fingerprint", "reality-opts"}  # fmt: skip
    assert set(proxy) <= known


@given(_outbounds)
def test_clash_has_a_mihomo_proxy_per_outbound_in_one_select_group(
    outbounds: list[VlessOutbound],
) -> None:
    page = render(Format.CLASH, outbounds, "Keyland")
    config = yaml.safe_load(page.body)
    proxies = config["proxies"]
    for proxy in proxies:
        check_mihomo_vless(proxy)
    names = [p["name"] for p in proxies]
    assert len(set(names)) == len(names) == len(outbounds)
    assert [(p["server"], p["port"], p["uuid"]) for p in proxies] == [
        (o.host, o.port, str(o.key_id)) for o in outbounds
    ]
    [group] = config["proxy-groups"]
    assert group == {"name": "Keyland", "type": "select", "proxies": names}
    assert config["rules"] == ["MATCH,Keyland"]


def test_clash_spells_reality_as_mihomo_reads_it() -> None:
    config = yaml.safe_load(render(Format.CLASH, [FINLAND, SECOND_FINLAND], "Keyland").body)
    assert config["proxies"][0] == {
        "name": "Keyland-finland",
        "type": "vless",
        "server": "fi.example",
        "port": 443,
        "uuid": str(uuid.UUID(int=1)),
        "network": "tcp",
        "udp": True,
        "tls": True,
        "flow": "xtls-rprx-vision",
        "servername": "www.example.com",
        "client-fingerprint": "chrome",
        "reality-opts": {"public-key": REALITY.public_key, "short-id": REALITY.short_id},
    }
    assert config["proxies"][1]["name"] == "Keyland-finland 2"


@given(_outbounds)
def test_sing_box_selects_among_a_vless_outbound_per_server(outbounds: list[VlessOutbound]) -> None:
    config = json.loads(render(Format.SING_BOX, outbounds, "Keyland").body)
    selector, *servers, direct = config["outbounds"]
    assert direct == {"type": "direct", "tag": "direct"}
    tags = [s["tag"] for s in servers]
    assert selector == {"type": "selector", "tag": "Keyland", "outbounds": tags, "default": tags[0]}
    assert len(set(tags)) == len(tags) == len(outbounds)
    for server, outbound in zip(servers, outbounds, strict=True):
        assert server["type"] == "vless"
        assert (server["server"], server["server_port"], server["uuid"]) == (
            outbound.host, outbound.port, str(outbound.key_id)
        )  # fmt: skip
        assert server.get("flow", "") == outbound.flow
        assert ("tls" in server) == (outbound.reality is not None)
    assert config["route"]["final"] == "Keyland"
    assert config["inbounds"][0]["type"] == "tun"


def test_sing_box_spells_reality_as_sing_box_reads_it() -> None:
    config = json.loads(render(Format.SING_BOX, [FINLAND], "Keyland").body)
    assert config["outbounds"][1]["tls"] == {
        "enabled": True,
        "server_name": "www.example.com",
        "utls": {"enabled": True, "fingerprint": "chrome"},
        "reality": {
            "enabled": True,
            "public_key": REALITY.public_key,
            "short_id": REALITY.short_id,
        },
    }


@given(_outbounds)
def test_xray_has_a_whole_client_config_per_server(outbounds: list[VlessOutbound]) -> None:
    configs = json.loads(render(Format.XRAY, outbounds, "Keyland").body)
    assert [c["remarks"] for c in configs] == [o.name for o in outbounds]
    for config, outbound in zip(configs, outbounds, strict=True):
        assert [i["protocol"] for i in config["inbounds"]] == ["socks", "http"]
        proxy = config["outbounds"][0]
        assert proxy["protocol"] == "vless"
        [server] = proxy["settings"]["vnext"]
        assert (server["address"], server["port"]) == (outbound.host, outbound.port)
        assert server["users"] == [
            {"id": str(outbound.key_id), "encryption": "none", "flow": outbound.flow}
        ]
        security = proxy["streamSettings"]["security"]
        assert security == ("none" if outbound.reality is None else "reality")


def test_xray_spells_reality_as_xray_reads_it() -> None:
    [config] = json.loads(render(Format.XRAY, [FINLAND], "Keyland").body)
    assert config["outbounds"][0]["streamSettings"] == {
        "network": "tcp",
        "security": "reality",
        "realitySettings": {
            "serverName": "www.example.com",
            "fingerprint": "chrome",
            "publicKey": REALITY.public_key,
            "shortId": REALITY.short_id,
        },
    }


def names_served(chosen: Format, body: bytes) -> list[str]:
    """The names a client shows for the entries of ``body``."""
    match chosen:
        case Format.BASE64:
            return [outbound_of_link(x).name for x in base64.b64decode(body).decode().split()]
        case Format.CLASH:
            return [p["name"] for p in yaml.safe_load(body)["proxies"]]
        case Format.SING_BOX:
            return [o["tag"] for o in json.loads(body)["outbounds"] if o["type"] == "vless"]
        case Format.XRAY:
            return [c["remarks"] for c in json.loads(body)]


@pytest.mark.parametrize("chosen", list(Format))
def test_a_status_entry_is_served_in_every_format(chosen: Format) -> None:
    text = "Access ended — renew in @keyland_bot"
    page = render(chosen, [status_entry(text)], "Keyland")
    assert names_served(chosen, page.body) == [text]


def test_an_empty_page_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one entry"):
        render(Format.CLASH, [], "Keyland")


def test_media_types() -> None:
    types = {f: render(f, [GERMANY], "Keyland").media_type for f in Format}
    assert types == {
        Format.BASE64: "text/plain",
        Format.CLASH: "text/yaml",
        Format.SING_BOX: "application/json",
        Format.XRAY: "application/json",
    }
