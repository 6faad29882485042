"""The subscription's sing-box format, checked by sing-box itself (``sing-box check``:
it builds every inbound, outbound and rule as it would to start, without starting).

sing-box is built from the module proxy on first use (``keyland_tools/stack/sing_box.py``);
without Go or when the build fails, the tests are skipped with the build's own error.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from keyland.settings import load
from keyland_tools.stack.process import StartError
from keyland_tools.stack.settings import StackSettings
from keyland_tools.stack.sing_box import SingBox
from services.provisioner.domain.formats import Format, render
from services.provisioner.domain.outbound import Reality, VlessOutbound, status_entry
from services.provisioner.domain.subscription_page import Profile

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
