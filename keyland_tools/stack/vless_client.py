"""A real VLESS client for proving traffic through a node: the tests and ``keyland demo``.

The client is an Xray process (the same build the nodes run) running an Xray client
config of the subscription's Xray format (``services/provisioner/domain/formats/xray.py``):
served as is (:class:`XrayClient`) or made from a ``vless://`` link (:class:`VlessClient`).
Pages are fetched through its SOCKS inbound from a loopback HTTP server with a few lines
of SOCKS5 over a plain socket.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from keyland_tools.stack.node import XrayBuild
from keyland_tools.stack.process import Daemon, free_port
from services.provisioner.domain.formats.xray import xray_config
from services.provisioner.domain.outbound import outbound_of_link

PAGE = b"<html><body>Keyland through VLESS</body></html>\n" * 200
STREAM_PATH = "/stream"  # a slow endless download: a tick every STREAM_TICK_S
STREAM_TICK_S = 0.05


class _PageHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a caller can hold one connection open

    def do_GET(self) -> None:
        if self.path == STREAM_PATH:
            self._stream()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def _stream(self) -> None:
        """Ticks until the client goes or the server stops: a long-lived download."""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Connection", "close")
        self.end_headers()
        assert isinstance(self.server, _PageHttpServer)
        try:
            while not self.server.stopping.is_set():
                self.wfile.write(b"tick\n")
                self.wfile.flush()
                time.sleep(STREAM_TICK_S)
        except OSError:
            return  # the client's connection ended

    def log_message(self, format: str, *args: Any) -> None:
        return


class _PageHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _PageHandler)
        self.stopping = threading.Event()  # ends the streams still open


class PageServer:
    """A loopback HTTP server answering every GET with :data:`PAGE`, except
    :data:`STREAM_PATH`: an endless slow download."""

    def __init__(self) -> None:
        self.server = _PageHttpServer()
        self.port: int = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> PageServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.stopping.set()
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

    def start_stream(self) -> None:
        """Ask for the endless download; read it with :meth:`streams`."""
        self.sock.sendall(f"GET {STREAM_PATH} HTTP/1.1\r\nHost: page\r\n\r\n".encode())

    def streams(self, within_s: float) -> bool:
        """True when download bytes arrive within ``within_s``; False when the
        connection ended (closed or reset). No answer at all raises TimeoutError."""
        self.sock.settimeout(within_s)
        try:
            return bool(self.sock.recv(65536))
        except ConnectionError:
            return False

    def ends_within(self, within_s: float) -> bool:
        """True when the download ends (closed or reset) within ``within_s``."""
        deadline = time.monotonic() + within_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                if not self.streams(left):
                    return True
            except TimeoutError:
                return False
        return False

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


class XrayClient:
    """A real Xray client running ``config``, an Xray client config, with its SOCKS inbound
    moved to a free loopback port and its other inbounds left out, so that several
    clients run side by side."""

    def __init__(
        self, config: dict[str, Any], xray_build: XrayBuild, home: Path, name: str = "client"
    ) -> None:
        self.socks_port = free_port()
        socks = next(i for i in config["inbounds"] if i["protocol"] == "socks")
        config = config | {"inbounds": [socks | {"listen": "127.0.0.1", "port": self.socks_port}]}
        name = f"{name}-{self.socks_port}"  # one key may have several clients
        home.mkdir(parents=True, exist_ok=True)
        self.config_file = home / f"{name}.json"
        self.config_file.write_text(json.dumps(config, indent=2))
        self.daemon = Daemon(name, home, home)
        self.xray_build = xray_build

    def __enter__(self) -> Self:
        self.daemon.start(self.xray_build.command(self.config_file))
        try:
            self.daemon.wait_ready(self._listening, timeout_s=30)
        except BaseException:
            self.daemon.stop()
            raise
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

    def download(self, page: PageServer) -> SocksConnection:
        """A new connection with the endless download running through it."""
        connection = self.connect(page)
        connection.start_stream()
        if not connection.streams(within_s=5.0):
            connection.close()
            raise ProxyRefused("the download did not start")
        return connection

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


class VlessClient(XrayClient):
    """A real VLESS client configured from a node's ``vless://`` link."""

    def __init__(self, link: str, xray_build: XrayBuild, home: Path) -> None:
        outbound = outbound_of_link(link)  # NotAShareLink (a ValueError) for other shapes
        self.key_id = str(outbound.key_id)
        super().__init__(xray_config(outbound), xray_build, home, f"client-{self.key_id}")
