"""Headless Chromium and its chromedriver, the real browser the browser tests drive.

Debian's ``chromium`` and ``chromium-driver`` packages, of one version by construction,
installed with apt-get when missing and the caller is root (as PostgreSQL 15 is,
``postgres.py``). ``make test`` installs them before the tests start
(``keyland stack browser``), so two test processes never run apt-get at once.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from keyland_tools.stack.process import StartError

PACKAGES = ("chromium", "chromium-driver")


@dataclass(frozen=True)
class Chromium:
    """Where Debian puts the browser and its driver."""

    browser: Path = Path("/usr/bin/chromium")
    driver: Path = Path("/usr/bin/chromedriver")

    def installed(self) -> bool:
        return self.browser.exists() and self.driver.exists()

    def fetch(self) -> Chromium:
        """Both programs, installed first when missing; :class:`StartError` naming the
        packages when they are missing and cannot be installed here (not root, or apt-get
        failed)."""
        if self.installed():
            return self
        wanted = " ".join(PACKAGES)
        if os.geteuid() != 0:
            raise StartError(f"Chromium is needed: apt-get install {wanted} (as root)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for argv in (["apt-get", "update"], ["apt-get", "install", "-y", *PACKAGES]):
            done = subprocess.run(  # noqa: S603 - fixed argv
                argv, env=env, capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                raise StartError(
                    f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()[-500:]}"
                )
        if not self.installed():
            raise StartError(
                f"apt-get installed {wanted}, yet {self.browser} or {self.driver} is missing"
            )
        return self
