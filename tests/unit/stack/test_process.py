"""Stopping a daemon: the whole group by SIGTERM, or a server's leader by its own signal."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

from keyland_tools.stack.process import (
    FREE_PORTS_FROM,
    Daemon,
    ephemeral_ports_from,
    free_port,
    free_port_run,
)

# Ignores SIGTERM; on SIGINT records it and exits, as PostgreSQL's postmaster shuts down.
SERVER = (
    "trap '' TERM; trap 'touch {marker}; exit 0' INT; touch {ready}; while :; do sleep 0.1; done"
)


def test_a_leader_signal_reaches_the_leader_instead_of_sigterm(tmp_path: Path) -> None:
    daemon = Daemon("server", tmp_path / "run", tmp_path / "log")
    marker = tmp_path / "stopped-by-sigint"
    ready = tmp_path / "ready"
    daemon.start(["bash", "-c", SERVER.format(marker=marker, ready=ready)])
    daemon.wait_ready(ready.exists, timeout_s=20)

    assert daemon.stop(timeout_s=20, leader_signal=signal.SIGINT) is True
    assert marker.exists()
    assert daemon.pid() is None


def test_a_free_port_run_is_free_from_its_first_port_to_its_last() -> None:
    first = free_port_run(6)
    for port in range(first, first + 6):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", port))  # raises if anything listens there


def test_a_free_port_is_below_the_ports_outgoing_connections_take() -> None:
    """A port the kernel may hand to an outgoing connection before the server binds it
    is never offered."""
    ports = {free_port() for _ in range(50)}
    assert all(FREE_PORTS_FROM <= port < ephemeral_ports_from() for port in ports)
    assert len(ports) > 1, "drawn, not one fixed port"
