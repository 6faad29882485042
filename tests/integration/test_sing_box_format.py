"""The subscription's sing-box format, checked by sing-box itself (``sing-box check``:
it builds every inbound, outbound and rule as it would to start, without starting), and
run by sing-box through a real REALITY node.

sing-box is built from the module proxy on first use (``keyland_tools/stack/sing_box.py``);
without Go or when the build fails, the tests are skipped with the build's own error.
"""

from __future__ import annotations

import json
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keyland.settings import load
from keyland_tools.stack.process import Daemon, StartError, free_port
from keyland_tools.stack.settings import StackSettings
from keyland_tools.stack.sing_box import SingBox
from keyland_tools.stack.vless_client import PAGE, PageServer, ProxyRefused, SocksConnection
from services.provisioner.domain.formats import Format, render
from services.provisioner.domain.outbound import (
    Reality,
    VlessOutbound,
    outbound_of_link,
    status_entry,
)
from services.provisioner.domain.subscription_page import Profile
from tests.nodes import TlsTarget, agent_client, start_reality_node

# The first test builds sing-box on a cold cache: modules and a build of minutes.
pytestmark = pytest.mark.timeout(900)

REALITY = Reality(
    "gk4QIYbbI8a--OYe1Rzo9wiFHSgqkii0AbN9BY05rzQ", "6ba85179e30d4fc2", "www.example.com", "chrome"
)
FINLAND = VlessOutbound(
    "Keyland-finland", "fi.example", 443, uuid.uuid4(), "xtls-rprx-vision", REALITY
)
SECOND_FINLAND = VlessOutbound("Keyland-finland", "203.0.113.7", 443, FINLAND.key_id)
GERMANY = VlessOutbound("Keyland-germany", "2001:db8::1", 10444, FINLAND.key_id)


@pytest.fixture(scope="module")
def sing_box() -> SingBox:
    built = SingBox(load(StackSettings).cache_dir)
    try:
        built.fetch()
    except StartError as error:
        pytest.skip(f"sing-box cannot be built here: {error}")
    except subprocess.CalledProcessError as error:
        pytest.skip(f"sing-box build failed: {error.stderr.strip()[-2000:]}")
    return built


def checked(sing_box: SingBox, body: bytes, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.json"
    config.write_bytes(body)
    return sing_box.check(config)


@pytest.mark.parametrize(
    "outbounds",
    [
        [FINLAND],
        [GERMANY],
        [FINLAND, SECOND_FINLAND, GERMANY],
        [status_entry(Profile(bot_username="keyland_bot").ended())],
    ],
    ids=["reality", "plain-ipv6", "two-nodes-of-one-country", "status-entry"],
)
def test_sing_box_accepts_the_subscription(
    sing_box: SingBox, outbounds: list[VlessOutbound], tmp_path: Path
) -> None:
    result = checked(sing_box, render(Format.SING_BOX, outbounds, "Keyland").body, tmp_path)
    assert result.returncode == 0, result.stderr


def test_sing_box_refuses_a_broken_subscription(sing_box: SingBox, tmp_path: Path) -> None:
    """The check is real: a REALITY key sing-box cannot read fails it."""
    config = json.loads(render(Format.SING_BOX, [FINLAND], "Keyland").body)
    config["outbounds"][1]["tls"]["reality"]["public_key"] = "not a key"
    result = checked(sing_box, json.dumps(config).encode(), tmp_path)
    assert result.returncode != 0
    assert "public_key" in result.stderr


def on_loopback(config: dict[str, Any], port: int) -> dict[str, Any]:
    """``config`` as a test can run it: a SOCKS/HTTP inbound on ``port`` for the TUN
    (which needs the machine's routes), and no rule sending private addresses direct
    (the test's page is on loopback and must go through the node)."""
    route = config["route"]
    rules = [r for r in route["rules"] if "ip_is_private" not in r]
    inbound = {"type": "mixed", "tag": "mixed-in", "listen": "127.0.0.1", "listen_port": port}
    return config | {"inbounds": [inbound], "route": route | {"rules": rules}}


@pytest.fixture
def page() -> Iterator[PageServer]:
    with PageServer() as server:
        yield server


def fetched(port: int, page: PageServer) -> bytes:
    connection = SocksConnection(port, page.port)
    try:
        return connection.get()
    finally:
        connection.close()


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def test_sing_box_connects_through_a_reality_node_with_the_subscription(
    sing_box: SingBox, page: PageServer, tmp_path: Path
) -> None:
    (tmp_path / "target").mkdir()
    with TlsTarget(tmp_path / "target", "www.example.com") as target:
        xray, agent = start_reality_node(tmp_path, "sweden", target, allow_private=True)
        try:
            with agent_client(agent) as api:
                key = str(uuid.uuid4())
                answer = api.put(f"/v1/users/{key}")
                assert answer.status_code == 200, answer.text
                served = render(Format.SING_BOX, [outbound_of_link(answer.json()["link"])], "K")
                port = free_port()
                config = tmp_path / "sing-box.json"
                config.write_text(json.dumps(on_loopback(json.loads(served.body), port)))
                daemon = Daemon("sing-box", tmp_path, tmp_path)
                daemon.start(sing_box.command(config))
                try:
                    daemon.wait_ready(lambda: listening(port), timeout_s=30)
                    assert fetched(port, page) == PAGE
                    assert api.delete(f"/v1/users/{key}").status_code == 200
                    with pytest.raises((ProxyRefused, OSError)):
                        fetched(port, page)
                finally:
                    daemon.stop()
        finally:
            agent.stop()
            xray.stop()
