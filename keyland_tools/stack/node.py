"""A local country node on loopback: a real Xray and the node agent in front of it.

Xray is the official binary built with the machine's Go from the module proxy (the
version is pinned in ``infra/xray/go.mod``); :class:`WheelXray` runs the Xray embedded in
the PyPI wheel ``xray-core`` instead, from its own virtual environment. Both are cached
under ``KEYLAND_CACHE_DIR``. Each node has its own name, ports and token, so several
nodes run side by side; their files are under ``<state_dir>/nodes/<name>/``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from string import Template
from typing import Protocol

import grpc
import httpx
from xray.app.stats.command import command_pb2 as stats_pb2
from xray.app.stats.command import command_pb2_grpc as stats_grpc

from keyland_tools.stack.process import Daemon, StartError
from keyland_tools.stack.settings import StackSettings

ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = ROOT / "infra" / "xray"
LOCAL_TEMPLATE = INFRA_DIR / "local.json"
VLESS_INBOUND_TAG = "vless-in"


class XrayBuild(Protocol):
    """A way to obtain and run a real Xray server."""

    def fetch(self) -> Path: ...
    def command(self, config: Path) -> list[str]: ...


def pinned_xray_version() -> str:
    """The ``github.com/xtls/xray-core`` module version required by infra/xray/go.mod."""
    found = re.search(r"github\.com/xtls/xray-core (v\S+)", (INFRA_DIR / "go.mod").read_text())
    if found is None:
        raise StartError(f"no github.com/xtls/xray-core requirement in {INFRA_DIR / 'go.mod'}")
    return found.group(1)


class OfficialXray:
    """The official ``xray`` binary, built from its ``main`` package (go.sum verifies it)."""

    def __init__(self, cache_dir: Path) -> None:
        self.binary = cache_dir / f"xray-{pinned_xray_version()}" / "xray"

    def fetch(self) -> Path:
        if self.binary.exists():
            return self.binary
        go = shutil.which("go")
        if go is None:
            raise StartError("Go is needed to build Xray")
        self.binary.parent.mkdir(parents=True, exist_ok=True)
        partial = self.binary.with_suffix(".partial")
        subprocess.run(  # noqa: S603 - fixed argv
            [
                go,
                "build",
                "-trimpath",
                "-ldflags=-s -w",
                "-o",
                str(partial.resolve()),
                "github.com/xtls/xray-core/main",
            ],
            cwd=INFRA_DIR,
            check=True,
            env={**os.environ, "CGO_ENABLED": "0"},
        )
        partial.rename(self.binary)
        return self.binary

    def command(self, config: Path) -> list[str]:
        return [str(self.fetch()), "run", "-c", str(config)]


class WheelXray:
    """Xray from the ``xray-core`` wheel, in a virtual environment of its own.

    The wheel and the API stubs in the main environment both own the ``xray`` package,
    so the server cannot share the main environment.
    """

    def __init__(self, cache_dir: Path) -> None:
        self.venv = cache_dir / "xray-venv"
        self.requirements = INFRA_DIR / "requirements.txt"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def fetch(self) -> Path:
        done = self.venv / ".installed"
        wanted = self.requirements.read_text()
        if done.exists() and done.read_text() == wanted:
            return self.venv
        shutil.rmtree(self.venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)  # noqa: S603
        subprocess.run(  # noqa: S603 - fixed argv
            [
                str(self.python),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "-r",
                str(self.requirements),
            ],
            check=True,
        )
        done.write_text(wanted)
        return self.venv

    def command(self, config: Path) -> list[str]:
        self.fetch()
        return [str(self.python), str(INFRA_DIR / "run_xray.py"), str(config)]


def xray_answers(api_address: str, timeout_s: float = 1.0) -> bool:
    """A real API call: does Xray at ``api_address`` report its system stats?"""
    channel = grpc.insecure_channel(api_address)
    try:
        stats_grpc.StatsServiceStub(channel).GetSysStats(
            stats_pb2.SysStatsRequest(), timeout=timeout_s
        )
    except grpc.RpcError:
        return False
    finally:
        channel.close()
    return True


class XrayServer:
    """The node's Xray, rendered from infra/xray/local.json (VLESS without TLS, loopback)."""

    def __init__(
        self, stack: StackSettings, name: str, *, vless_port: int, api_port: int, build: XrayBuild
    ) -> None:
        self.home = stack.state_dir / "nodes" / name
        self.config_file = self.home / "xray.json"
        self.access_log = (self.home / "access.log").resolve()
        self.vless_port = vless_port
        self.api_address = f"127.0.0.1:{api_port}"
        self.api_port = api_port
        self.build = build
        self.daemon = Daemon(f"xray-{name}", stack.state_dir / "run", stack.state_dir / "log")

    def fetch(self) -> Path:
        return self.build.fetch()

    def render(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        template = Template(LOCAL_TEMPLATE.read_text())
        text = template.substitute(
            vless_port=self.vless_port, api_port=self.api_port, access_log=self.access_log
        )
        self.config_file.write_text(text)
        return self.config_file

    def start(self, timeout_s: float = 30.0) -> None:
        """Start Xray unless it runs already, and wait until its API answers."""
        if self.daemon.pid() is None:
            self.daemon.start(self.build.command(self.render().resolve()))
        self.daemon.wait_ready(self.ready, timeout_s)

    def ready(self) -> bool:
        return xray_answers(self.api_address)

    def stop(self) -> bool:
        return self.daemon.stop()


class NodeAgentProcess:
    """``python -m services.node_agent`` for one local node."""

    def __init__(
        self,
        stack: StackSettings,
        name: str,
        *,
        agent_port: int,
        xray: XrayServer,
        token: str,
    ) -> None:
        self.url = f"http://127.0.0.1:{agent_port}"
        self.environment = {
            "KEYLAND_NODE_TOKEN": token,
            "KEYLAND_NODE_COUNTRY": name,
            "KEYLAND_NODE_LISTEN_HOST": "127.0.0.1",
            "KEYLAND_NODE_LISTEN_PORT": str(agent_port),
            "KEYLAND_NODE_STATE_FILE": str((xray.home / "users.sqlite3").resolve()),
            "KEYLAND_NODE_XRAY_API": xray.api_address,
            "KEYLAND_NODE_XRAY_INBOUND_TAG": VLESS_INBOUND_TAG,
            "KEYLAND_NODE_XRAY_ACCESS_LOG": str(xray.access_log),
            "KEYLAND_NODE_PUBLIC_HOST": "127.0.0.1",
            "KEYLAND_NODE_PUBLIC_PORT": str(xray.vless_port),
            "KEYLAND_NODE_SECURITY": "none",
            "KEYLAND_NODE_FLOW": "",
            "KEYLAND_NODE_LOAD_INTERVAL_S": "2.0",
        }
        self.daemon = Daemon(f"node-agent-{name}", stack.state_dir / "run", stack.state_dir / "log")

    def fetch(self) -> Path:
        return Path(sys.executable)

    def start(self, timeout_s: float = 30.0) -> None:
        """Start the agent unless it runs already, and wait until its health is good."""
        if self.daemon.pid() is None:
            self.daemon.start(
                [sys.executable, "-m", "services.node_agent"], cwd=ROOT, env=self.environment
            )
        self.daemon.wait_ready(self.ready, timeout_s)

    def ready(self) -> bool:
        """True when the agent answers and reports Xray reachable."""
        try:
            response = httpx.get(f"{self.url}/v1/health", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == httpx.codes.OK

    def stop(self) -> bool:
        return self.daemon.stop()


class Node:
    """One local country node: Xray and its agent, started and stopped together."""

    def __init__(
        self,
        stack: StackSettings,
        name: str,
        *,
        vless_port: int,
        api_port: int,
        agent_port: int,
        token: str,
        xray_build: XrayBuild | None = None,
    ) -> None:
        self.name = name
        self.xray = XrayServer(
            stack,
            name,
            vless_port=vless_port,
            api_port=api_port,
            build=xray_build or OfficialXray(stack.cache_dir),
        )
        self.agent = NodeAgentProcess(
            stack, name, agent_port=agent_port, xray=self.xray, token=token
        )

    @property
    def url(self) -> str:
        """The agent's base URL, e.g. for the provisioner's countries file."""
        return self.agent.url

    def components(self) -> list[XrayServer | NodeAgentProcess]:
        """Xray then the agent, each with its own daemon (start in this order)."""
        return [self.xray, self.agent]

    def fetch(self) -> Path:
        return self.xray.fetch()

    def start(self, timeout_s: float = 60.0) -> None:
        """Start what is not running and wait until Xray and the agent both answer."""
        self.xray.start(timeout_s)
        self.agent.start(timeout_s)

    def ready(self) -> bool:
        return self.xray.ready() and self.agent.ready()

    def stop(self) -> bool:
        """Stop the agent, then Xray; True when either was running."""
        stopped_agent = self.agent.stop()
        stopped_xray = self.xray.stop()
        return stopped_agent or stopped_xray
