"""Local country nodes for tests: real Xray + the node agent, REALITY nodes from the
production template. The real VLESS client that proves traffic through them is in
:mod:`keyland_tools.stack.vless_client` (the demo uses it too)."""

from __future__ import annotations

import json
import secrets
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from string import Template

import httpx

from keyland.settings import load
from keyland_tools.stack.node import (
    INFRA_DIR,
    Node,
    NodeAgentProcess,
    OfficialXray,
    XrayBuild,
    XrayServer,
)
from keyland_tools.stack.settings import StackSettings
from tests.processes import free_port


def start_node(state_dir: Path, name: str, xray_build: XrayBuild | None = None) -> Node:
    """A node on free loopback ports with a random token, started and answering."""
    node = Node(
        StackSettings(state_dir=state_dir),
        name,
        vless_port=free_port(),
        api_port=free_port(),
        agent_port=free_port(),
        token=secrets.token_urlsafe(24),
        xray_build=xray_build,
    )
    node.start()
    return node


def agent_client(node: Node | NodeAgentProcess, token: str | None = None) -> httpx.Client:
    """An HTTP client for the node's agent, authenticated with ``token`` (the node's)."""
    agent = node.agent if isinstance(node, Node) else node
    bearer = agent.environment["KEYLAND_NODE_TOKEN"] if token is None else token
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return httpx.Client(base_url=agent.url, headers=headers, timeout=10.0)


def eventually(check: Callable[[], bool], timeout_s: float = 30.0) -> bool:
    """Poll ``check`` until it holds; False if it never did within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def xray_tool(*args: str) -> str:
    """Run one of the official binary's helper commands (``x25519``, ``tls cert``)."""
    binary = OfficialXray(load(StackSettings).cache_dir).fetch()
    done = subprocess.run([str(binary), *args], check=True, capture_output=True, text=True)
    return done.stdout


class TlsTarget:
    """A loopback TLS 1.3 server: the site a REALITY inbound borrows its handshake from."""

    def __init__(self, home: Path, server_name: str) -> None:
        prefix = home / "target"
        xray_tool("tls", "cert", f"--domain={server_name}", f"--file={prefix}")
        key_file = prefix.with_suffix(".key")
        # Xray labels its PKCS#8 EC key "RSA PRIVATE KEY"; OpenSSL wants the generic label.
        key_file.write_text(key_file.read_text().replace("RSA PRIVATE KEY", "PRIVATE KEY"))
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_3
        self.context.load_cert_chain(prefix.with_suffix(".crt"), key_file)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)  # so that the accept loop sees the stop flag
        self.port: int = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> TlsTarget:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        self.thread.join()
        self.listener.close()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._handshake, args=(connection,), daemon=True).start()

    def _handshake(self, connection: socket.socket) -> None:
        connection.settimeout(10)  # accepted sockets inherit the listener's short timeout
        try:
            with self.context.wrap_socket(connection, server_side=True) as tls:
                tls.recv(1024)
        except OSError:
            return  # REALITY ends borrowed handshakes abruptly; that is expected
        finally:
            connection.close()


class ProductionXray(XrayServer):
    """Xray from infra/xray/production.json (VLESS + REALITY), bound to loopback for tests.

    With ``allow_private`` the rule blocking private destinations is dropped, so that a
    page on loopback is reachable; otherwise the template is used as shipped.
    """

    def __init__(
        self, state_dir: Path, name: str, target: TlsTarget, *, allow_private: bool
    ) -> None:
        super().__init__(
            StackSettings(state_dir=state_dir),
            name,
            vless_port=free_port(),
            api_port=free_port(),
            build=OfficialXray(load(StackSettings).cache_dir),
        )
        keys = xray_tool("x25519")
        self.private_key = keys.split("PrivateKey:", 1)[1].split()[0]
        self.public_key = keys.split("(PublicKey):", 1)[1].split()[0]
        self.short_id = secrets.token_hex(8)
        self.server_name = "www.example.com"
        self.target = target
        self.allow_private = allow_private

    def render(self) -> Path:
        template = Template((INFRA_DIR / "production.json").read_text())
        config = json.loads(
            template.substitute(
                vless_port=self.vless_port,
                api_port=self.api_port,
                access_log=self.access_log,
                reality_target=f"127.0.0.1:{self.target.port}",
                reality_server_name=self.server_name,
                reality_private_key=self.private_key,
                reality_short_id=self.short_id,
            )
        )
        config["inbounds"][0]["listen"] = "127.0.0.1"
        if self.allow_private:
            rules = config["routing"]["rules"]
            config["routing"]["rules"] = [rule for rule in rules if "ip" not in rule]
        self.home.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(json.dumps(config, indent=2))
        return self.config_file


def start_reality_node(
    state_dir: Path, name: str, target: TlsTarget, *, allow_private: bool
) -> tuple[ProductionXray, NodeAgentProcess]:
    """Xray from the production template and its agent in REALITY mode, both answering."""
    xray = ProductionXray(state_dir, name, target, allow_private=allow_private)
    agent = NodeAgentProcess(
        StackSettings(state_dir=state_dir),
        name,
        agent_port=free_port(),
        xray=xray,
        token=secrets.token_urlsafe(24),
    )
    agent.environment |= {
        "KEYLAND_NODE_SECURITY": "reality",
        "KEYLAND_NODE_FLOW": "xtls-rprx-vision",
        "KEYLAND_NODE_REALITY_PUBLIC_KEY": xray.public_key,
        "KEYLAND_NODE_REALITY_SHORT_ID": xray.short_id,
        "KEYLAND_NODE_REALITY_SERVER_NAME": xray.server_name,
    }
    xray.start()
    agent.start()
    return xray, agent
