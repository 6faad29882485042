"""Local country nodes for tests: real Xray + the node agent, and a real VLESS client.

The client is a second Xray process from the same build, with a SOCKS inbound and a VLESS
outbound made from the link the agent answered; pages are fetched through it from a
loopback HTTP server with a few lines of SOCKS5 over a plain socket.
"""

from __future__ import annotations

import json
import secrets
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from keyland.settings import StackSettings, load
from keyland.stack.node import (
    INFRA_DIR,
    Node,
    NodeAgentProcess,
    OfficialXray,
    XrayBuild,
    XrayServer,
)
from keyland.stack.process import Daemon
from tests.processes import free_port

PAGE = b"<html><body>Keyland through VLESS</body></html>\n" * 200


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


class _PageHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a test can hold one connection open

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        return


class PageServer:
    """A loopback HTTP server answering every GET with :data:`PAGE`."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
        self.server.daemon_threads = True
        self.port: int = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> PageServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class ProxyRefused(ConnectionError):
    """The VLESS connection gave no HTTP answer (the node refused the key)."""


class SocksConnection:
    """One TCP connection through a SOCKS5 proxy, reused for several HTTP requests."""

    def __init__(self, socks_port: int, target_port: int, timeout_s: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", socks_port), timeout=timeout_s)
        self.sock.sendall(b"\x05\x01\x00")  # version 5, one method: no authentication
        if self._read_exactly(2) != b"\x05\x00":
            raise ProxyRefused("SOCKS greeting refused")
        request = (
            b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", target_port)
        )
        self.sock.sendall(request)
        reply = self._read_exactly(10)
        if reply[1] != 0:
            raise ProxyRefused(f"SOCKS connect failed with code {reply[1]}")

    def get(self, path: str = "/") -> bytes:
        """One keep-alive GET; the body, or :class:`ProxyRefused` on an empty reply."""
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: page\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ProxyRefused("connection closed without an HTTP answer")
            head += chunk
        header_block, _, body = head.partition(b"\r\n\r\n")
        status = header_block.split(b"\r\n", 1)[0]
        if b" 200 " not in status + b" ":
            raise ProxyRefused(f"unexpected answer {status!r}")
        length = next(
            int(line.split(b":", 1)[1])
            for line in header_block.split(b"\r\n")[1:]
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ProxyRefused("connection closed in the middle of the body")
            body += chunk
        return body

    def close(self) -> None:
        self.sock.close()

    def _read_exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ProxyRefused("proxy closed the connection")
            data += chunk
        return data


def _stream_settings(query: dict[str, str]) -> dict[str, Any]:
    if query["security"] == "none":
        return {"network": query["type"], "security": "none"}
    return {
        "network": query["type"],
        "security": "reality",
        "realitySettings": {
            "serverName": query["sni"],
            "fingerprint": query["fp"],
            "publicKey": query["pbk"],
            "shortId": query["sid"],
        },
    }


class VlessClient:
    """A real VLESS client: Xray with a SOCKS inbound, configured from a ``vless://`` link."""

    def __init__(self, link: str, xray_build: XrayBuild, home: Path) -> None:
        parts = urlsplit(link)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        if parts.scheme != "vless" or query.get("security") not in {"none", "reality"}:
            raise ValueError(f"not a link the test client understands: {link}")
        self.key_id = parts.username
        self.socks_port = free_port()
        config = {
            "log": {"loglevel": "warning"},
            "inbounds": [
                {
                    "listen": "127.0.0.1",
                    "port": self.socks_port,
                    "protocol": "socks",
                    "settings": {"auth": "noauth", "udp": False},
                }
            ],
            "outbounds": [
                {
                    "protocol": "vless",
                    "settings": {
                        "vnext": [
                            {
                                "address": parts.hostname,
                                "port": parts.port,
                                "users": [
                                    {
                                        "id": parts.username,
                                        "encryption": query["encryption"],
                                        "flow": query.get("flow", ""),
                                    }
                                ],
                            }
                        ]
                    },
                    "streamSettings": _stream_settings(query),
                }
            ],
        }
        name = f"client-{self.key_id}-{self.socks_port}"  # one key may have several clients
        home.mkdir(parents=True, exist_ok=True)
        self.config_file = home / f"{name}.json"
        self.config_file.write_text(json.dumps(config, indent=2))
        self.daemon = Daemon(name, home, home)
        self.xray_build = xray_build

    def __enter__(self) -> VlessClient:
        self.daemon.start(self.xray_build.command(self.config_file))
        self.daemon.wait_ready(self._listening, timeout_s=30)
        return self

    def __exit__(self, *_: object) -> None:
        self.daemon.stop()

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.socks_port), timeout=1).close()
        except OSError:
            return False
        return True

    def connect(self, page: PageServer) -> SocksConnection:
        """A new VLESS connection through the node towards ``page``."""
        return SocksConnection(self.socks_port, page.port)

    def fetch(self, page: PageServer) -> bytes:
        """The page over a new connection, or :class:`ProxyRefused`."""
        connection = self.connect(page)
        try:
            return connection.get()
        finally:
            connection.close()

    def can_fetch(self, page: PageServer) -> bool:
        try:
            return self.fetch(page) == PAGE
        except (ProxyRefused, OSError):
            return False


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
