"""PostgreSQL 15 (Debian's ``postgresql-15``), the storage under the local FerretDB.

The cluster lives in ``<state_dir>/postgresql/data`` and listens on 127.0.0.1 only.
PostgreSQL refuses to run as root, so a stack started as root runs it as the system user
``keyland-db`` (created once).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path
from string import Template

import psycopg

from keyland_tools.stack.process import Daemon, StartError
from keyland_tools.stack.settings import StackSettings

INFRA_DIR = Path(__file__).resolve().parents[2] / "infra" / "postgresql"
PACKAGE = "postgresql-15"
BIN_DIR = Path("/usr/lib/postgresql/15/bin")
DB_USER = "keyland-db"  # the OS user the cluster runs as when the stack runs as root
SUPERUSER = "keyland"  # the cluster's own superuser, the one FerretDB connects as


def postgres_url(stack: StackSettings) -> str:
    """Where the local cluster answers: FerretDB's storage and Keyland's index creation."""
    return f"postgresql://{SUPERUSER}@127.0.0.1:{stack.postgres_port}/postgres"


class PostgreSQL:
    """Installs (once, as root), initialises (once), starts and stops the local cluster."""

    def __init__(self, stack: StackSettings) -> None:
        self.stack = stack
        self.url = postgres_url(stack)
        self.data = stack.state_dir / "postgresql" / "data"
        self.daemon = Daemon("postgresql", stack.state_dir / "run", stack.state_dir / "log")

    def fetch(self) -> Path:
        """The PostgreSQL 15 binaries; installed with apt-get when missing and root."""
        if (BIN_DIR / "postgres").exists():
            return BIN_DIR
        if os.geteuid() != 0:
            raise StartError(f"PostgreSQL 15 is needed: apt-get install {PACKAGE} (as root)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for argv in (["apt-get", "update"], ["apt-get", "install", "-y", PACKAGE]):
            subprocess.run(argv, check=True, env=env)  # noqa: S603 - fixed argv
        return BIN_DIR

    def _as_owner(self) -> list[str]:
        """The argv prefix that runs a PostgreSQL program as the cluster's OS user."""
        if os.geteuid() != 0:
            return []
        return ["setpriv", f"--reuid={DB_USER}", f"--regid={DB_USER}", "--init-groups", "--"]

    def _initialise(self) -> None:
        """initdb on first start, into a sibling directory renamed when complete."""
        if (self.data / "PG_VERSION").exists():
            return
        partial = self.data.with_name("data.partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True, mode=0o700)
        if os.geteuid() == 0:
            owner = _system_user(DB_USER)
            os.chown(partial, owner.pw_uid, owner.pw_gid)
        subprocess.run(  # noqa: S603 - fixed argv
            [
                *self._as_owner(),
                str(BIN_DIR / "initdb"),
                f"--pgdata={partial.resolve()}",
                f"--username={SUPERUSER}",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",  # FerretDB accepts C, POSIX and en_US.UTF8 only
                "--no-instructions",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        partial.rename(self.data)

    def _configure(self) -> None:
        """Write our postgresql.conf and pg_hba.conf over initdb's, on every start."""
        for name, text in cluster_config(self.stack.postgres_port).items():
            (self.data / name).write_text(text)
            if os.geteuid() == 0:
                owner = _system_user(DB_USER)
                os.chown(self.data / name, owner.pw_uid, owner.pw_gid)

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the cluster unless it runs already, and wait until it takes a query."""
        if self.daemon.pid() is None:
            binaries = self.fetch()
            if os.geteuid() == 0:
                self.data.parent.mkdir(parents=True, exist_ok=True)
                _let_reach(_system_user(DB_USER), self.data.parent.resolve())
            self._initialise()
            self._configure()
            self.daemon.start(
                [*self._as_owner(), str(binaries / "postgres"), "-D", str(self.data.resolve())]
            )
        self.daemon.wait_ready(self.ready, timeout_s)

    def ready(self) -> bool:
        try:
            with psycopg.connect(self.url, connect_timeout=2) as connection:
                connection.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def stop(self) -> bool:
        # SIGINT is PostgreSQL's fast shutdown: sessions end, a checkpoint, then exit.
        return self.daemon.stop(timeout_s=60.0, leader_signal=signal.SIGINT)


def cluster_config(port: int) -> dict[str, str]:
    """The cluster's configuration files, by name, from ``infra/postgresql/``."""
    config = Template((INFRA_DIR / "postgresql.conf").read_text())
    return {
        "postgresql.conf": config.substitute(port=port),
        "pg_hba.conf": (INFRA_DIR / "pg_hba.conf").read_text(),
    }


def _system_user(name: str) -> pwd.struct_passwd:
    """The unprivileged system user ``name``, created when missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        useradd = [
            "useradd", "--system", "--user-group", "--no-create-home",
            "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name,
        ]  # fmt: skip
        subprocess.run(useradd, check=True)  # noqa: S603 - fixed argv
        return pwd.getpwnam(name)


def blocked_ancestors(directory: Path, uid: int) -> list[Path]:
    """``directory`` and those above it that user ``uid`` may not search (pass through),
    judged by owner and "others" bits, from the root down."""
    blocked = []
    for ancestor in reversed([directory, *directory.parents]):
        mode = ancestor.stat()
        if mode.st_uid != uid and not mode.st_mode & stat.S_IXOTH:
            blocked.append(ancestor)
    return blocked


def _let_reach(owner: pwd.struct_passwd, directory: Path) -> None:
    """PostgreSQL opens its data directory by path, so ``owner`` needs search permission
    on every directory above it. Grant "others" search (not read: no listing) where it
    is missing, e.g. on a clone under a 0700 temporary directory, and say so."""
    for ancestor in blocked_ancestors(directory, owner.pw_uid):
        ancestor.chmod(stat.S_IMODE(ancestor.stat().st_mode) | stat.S_IXOTH)
        print(f"postgresql: let {DB_USER} search {ancestor} (chmod o+x)", file=sys.stderr)
