"""Detached processes with a pid file and a log file, stopped with SIGTERM then SIGKILL."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class StartError(RuntimeError):
    """A component did not come up; the message points at its log."""


@dataclass(frozen=True)
class Daemon:
    """One background process of the stack, identified by its pid file."""

    name: str
    run_dir: Path
    log_dir: Path

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        """The pid of the running process, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if _alive(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def start(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> int:
        """Start ``argv`` in its own session, output appended to the log file.

        ``posix_spawnp`` rather than ``subprocess.Popen``: the daemon outlives this
        process, and no Popen object is left behind to complain when it is collected.
        """
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        devnull = os.open(os.devnull, os.O_RDONLY)
        if cwd is not None:  # posix_spawn cannot chdir; coreutils' env can
            argv = ["env", "-C", str(cwd), "--", *argv]
        try:
            pid = os.posix_spawnp(
                argv[0],
                list(argv),
                {**os.environ, **(env or {})},
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, devnull, 0),
                    (os.POSIX_SPAWN_DUP2, log, 1),
                    (os.POSIX_SPAWN_DUP2, log, 2),
                ],
                setsid=True,
            )
        finally:
            os.close(log)
            os.close(devnull)
        self.pid_file.write_text(f"{pid}\n")
        return pid

    def wait_ready(self, probe: Callable[[], bool], timeout_s: float) -> None:
        """Poll ``probe`` until it answers True; fail early if the process died."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.pid() is None:
                raise StartError(f"{self.name} exited during start-up; see {self.log_file}")
            if probe():
                return
            time.sleep(0.2)
        raise StartError(f"{self.name} not ready after {timeout_s:.0f}s; see {self.log_file}")

    def stop(self, timeout_s: float = 20.0, *, leader_signal: signal.Signals | None = None) -> bool:
        """SIGTERM the process group (or send ``leader_signal`` to the leader alone, for a
        server that stops its children itself), SIGKILL what is left after ``timeout_s``."""
        pid = self.pid()
        if pid is None:
            return False
        if leader_signal is None:
            _signal_group(pid, signal.SIGTERM)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, leader_signal)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            _signal_group(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> bool:
        """SIGKILL the process group at once, as a crash would; False if nothing ran."""
        pid = self.pid()
        if pid is None:
            return False
        _signal_group(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True


FREE_PORTS_FROM = 20_000


def ephemeral_ports_from() -> int:
    """The first port the kernel hands to outgoing connections."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def free_port() -> int:
    """A loopback TCP port that nothing listens on right now, drawn below the kernel's
    ephemeral ports. Those go to outgoing connections at any moment, so one found free
    there (as ``bind(0)`` finds them) could be taken before its server binds it: seen
    when a worker's ops port went to a connection in between and the worker exited."""
    below = ephemeral_ports_from()
    if below <= FREE_PORTS_FROM + 1000:  # an unusual range: let the kernel choose
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        return port
    while not _bindable(port := random.randrange(FREE_PORTS_FROM, below)):  # noqa: S311 - not a secret
        pass
    return port


def free_port_run(count: int) -> int:
    """The first of ``count`` consecutive loopback TCP ports that nothing listens on now
    (a local Kafka cluster's: clients and controllers of three brokers take six)."""
    while True:
        first = free_port()
        if first + count <= 65536 and all(_bindable(first + n) for n in range(1, count)):
            return first


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        waited = 0  # not our child: fall through to the signal probe
    if waited == pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
