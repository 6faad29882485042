"""Where the browser tests find Chromium, and what they hear when it cannot be installed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from keyland_tools.stack.chromium import Chromium
from keyland_tools.stack.process import StartError


def test_an_installed_browser_and_driver_are_taken_as_they_are(tmp_path: Path) -> None:
    browser, driver = tmp_path / "chromium", tmp_path / "chromedriver"
    browser.touch()
    driver.touch()
    assert Chromium(browser, driver).fetch() == Chromium(browser, driver)


def test_without_root_a_missing_driver_names_the_packages_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = tmp_path / "chromium"
    browser.touch()
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(StartError, match="apt-get install chromium chromium-driver"):
        Chromium(browser, tmp_path / "chromedriver").fetch()
