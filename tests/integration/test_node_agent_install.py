"""The node agent installed on a bare country server with its own extra alone.

A fresh virtual environment gets ``pip install -c constraints.txt '<copy>[node-agent]'``
(a copy of the packaged sources, installed, not editable, so nothing of the checkout is
imported), then runs the agent in front of a real Xray. The other services' dependencies
must not be there. Needs pip's index (or ``PIP_FIND_LINKS``); neither Kafka nor the
database. About a minute with a warm pip cache.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from keyland.settings import load
from keyland_tools.stack.node import VLESS_INBOUND_TAG, OfficialXray, XrayServer
from keyland_tools.stack.settings import StackSettings
from tests.nodes import eventually
from tests.processes import free_port

# A cold pip cache downloads the wheels first: more than the default 300 s on a slow link.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
# What the other services need and a country server must not carry.
NOT_ON_A_NODE = ("faust", "aiokafka", "aiogram", "yookassa", "pymongo", "psycopg", "typer")


def packaged_sources(into: Path) -> Path:
    """pyproject.toml, the readme, the constraints and the packages it ships, copied."""
    into.mkdir()
    for name in ("pyproject.toml", "README.md", "constraints.txt"):
        shutil.copy2(ROOT / name, into / name)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        package = pattern.removesuffix("*")
        shutil.copytree(
            ROOT / package, into / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return into


def bare_env(**extra: str) -> dict[str, str]:
    """The environment of a process on the bare server: no PYTHONPATH, no KEYLAND_*."""
    kept = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    kept |= {k: v for k, v in os.environ.items() if k.startswith("PIP_")}
    return kept | extra


@pytest.fixture(scope="module")
def node_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a fresh venv holding the project with the node-agent extra only."""
    home = tmp_path_factory.mktemp("country-server")
    sources = packaged_sources(home / "keyland")
    subprocess.run([sys.executable, "-m", "venv", str(home / "venv")], check=True)
    python = home / "venv" / "bin" / "python"
    subprocess.run(
        [
            str(python),
            *("-m", "pip", "install", "-q", "--disable-pip-version-check"),
            *("-c", str(sources / "constraints.txt")),
            f"{sources}[node-agent]",
        ],
        check=True,
        cwd=home,
        env=bare_env(),
        timeout=600,
    )
    return python


def importable(python: Path, module: str) -> bool:
    probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    done = subprocess.run(
        [str(python), "-c", probe], check=False, cwd=python.parent, env=bare_env()
    )
    return done.returncode == 0


def test_other_services_dependencies_are_not_installed(node_python: Path) -> None:
    present = [m for m in NOT_ON_A_NODE if importable(node_python, m)]
    assert present == []
    assert importable(node_python, "services.node_agent.__main__")


def test_every_node_agent_module_imports(node_python: Path) -> None:
    walk = (
        "import importlib, pkgutil, services.node_agent as p\n"
        "for m in pkgutil.walk_packages(p.__path__, 'services.node_agent.'):\n"
        "    importlib.import_module(m.name)\n"
        "import services.node_agent\n"
        "print(services.node_agent.__file__)\n"
    )
    done = subprocess.run(
        [str(node_python), "-c", walk],
        cwd=node_python.parent,
        env=bare_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # The installed copy answered, not the checkout.
    assert Path(done.stdout.strip()).is_relative_to(node_python.parents[1])


@pytest.fixture
def xray(tmp_path: Path) -> Iterator[XrayServer]:
    server = XrayServer(
        StackSettings(state_dir=tmp_path),
        "bare",
        vless_port=free_port(),
        api_port=free_port(),
        build=OfficialXray(load(StackSettings).cache_dir),
    )
    server.start()
    yield server
    server.stop()


def test_installed_agent_serves_users_on_a_real_xray(
    node_python: Path, xray: XrayServer, tmp_path: Path
) -> None:
    port, token = free_port(), uuid.uuid4().hex
    settings = {
        "KEYLAND_NODE_TOKEN": token,
        "KEYLAND_NODE_COUNTRY": "bare",
        "KEYLAND_NODE_LISTEN_PORT": str(port),
        "KEYLAND_NODE_STATE_FILE": str(tmp_path / "users.sqlite3"),
        "KEYLAND_NODE_XRAY_API": xray.api_address,
        "KEYLAND_NODE_XRAY_INBOUND_TAG": VLESS_INBOUND_TAG,
        "KEYLAND_NODE_PUBLIC_HOST": "127.0.0.1",
        "KEYLAND_NODE_PUBLIC_PORT": str(xray.vless_port),
    }
    agent = subprocess.Popen(
        [str(node_python), "-m", "services.node_agent"],
        cwd=tmp_path,
        env=bare_env(**settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5.0,
        ) as api:

            def healthy() -> bool:
                try:
                    return api.get("/v1/health").status_code == httpx.codes.OK
                except httpx.HTTPError:
                    return False

            assert eventually(healthy), "the installed agent never became healthy"
            key = str(uuid.uuid4())
            enabled = api.put(f"/v1/users/{key}")
            assert enabled.status_code == httpx.codes.OK, enabled.text
            assert enabled.json()["link"].startswith(f"vless://{key}@127.0.0.1:")
            assert api.get("/v1/users").json()["key_ids"] == [key]
    finally:
        agent.terminate()
        _, errors = agent.communicate(timeout=30)
    # uvicorn shuts down cleanly, then re-raises the SIGTERM it caught.
    assert agent.returncode == -signal.SIGTERM, errors
    assert "Application shutdown complete." in errors
