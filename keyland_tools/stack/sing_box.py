"""sing-box, the client the subscription's sing-box format is checked with.

Built once with the machine's Go from the module proxy (the version pinned in
``infra/sing-box/go.mod``, verified by its go.sum) into ``KEYLAND_CACHE_DIR``, with the
build tags its apps ship with that our configs need: ``with_utls`` (REALITY) and
``with_gvisor`` (the TUN's default stack).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from keyland_tools.stack.process import StartError

INFRA_DIR = Path(__file__).resolve().parents[2] / "infra" / "sing-box"
MODULE = "github.com/sagernet/sing-box"
TAGS = "with_utls,with_gvisor"


def pinned_sing_box_version() -> str:
    """The ``github.com/sagernet/sing-box`` version required by infra/sing-box/go.mod."""
    found = re.search(rf"{re.escape(MODULE)} (v\S+)", (INFRA_DIR / "go.mod").read_text())
    if found is None:
        raise StartError(f"no {MODULE} requirement in {INFRA_DIR / 'go.mod'}")
    return found.group(1)


class SingBox:
    """The ``sing-box`` binary: built on first use, then taken from the cache."""

    def __init__(self, cache_dir: Path) -> None:
        self.binary = cache_dir / f"sing-box-{pinned_sing_box_version()}" / "sing-box"

    def fetch(self) -> Path:
        """The binary, built first if the cache has none (:class:`StartError` without Go;
        ``subprocess.CalledProcessError`` when the build fails)."""
        if self.binary.exists():
            return self.binary
        go = shutil.which("go")
        if go is None:
            raise StartError("Go is needed to build sing-box")
        self.binary.parent.mkdir(parents=True, exist_ok=True)
        partial = self.binary.with_suffix(".partial")
        subprocess.run(  # noqa: S603 - fixed argv
            [
                go,
                "build",
                "-trimpath",
                f"-tags={TAGS}",
                "-ldflags=-s -w",
                "-o",
                str(partial.resolve()),
                f"{MODULE}/cmd/sing-box",
            ],
            cwd=INFRA_DIR,
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "CGO_ENABLED": "0"},
        )
        partial.rename(self.binary)
        return self.binary

    def command(self, config: Path) -> list[str]:
        return [str(self.fetch()), "run", "-c", str(config)]

    def check(self, config: Path) -> subprocess.CompletedProcess[str]:
        """``sing-box check -c config``: exit 0 when sing-box would start with it."""
        return subprocess.run(  # noqa: S603 - our binary, a file we wrote
            [str(self.fetch()), "check", "-c", str(config)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
