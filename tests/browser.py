"""A real browser for the tests: Debian's headless Chromium at a phone's viewport, driven
through its chromedriver by Selenium, keeping screenshots as the run's artifacts.

The fixtures (``tests/conftest.py``): ``chromium``, the installed browser, or the test is
skipped saying why it cannot be installed here (``keyland_tools/stack/chromium.py``);
``phone``, a factory of :class:`Phone` sessions in a language, each closed after the test.
Screenshots go to ``var/test-artifacts/<test module>/<test name>/<name>.png``
(``KEYLAND_TEST_ARTIFACTS`` moves the root).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import zxingcpp
from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

from keyland_tools.stack.chromium import Chromium
from tests.processes import ROOT

# An iPhone 14's CSS viewport; pixel ratio 2 keeps the screenshots sharp yet small.
VIEWPORT = (390, 844)
PIXEL_RATIO = 2
# What Chrome on Android sends: the page must take it for a browser, not a VPN client.
PHONE_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36"
)
WAIT_S = 10


def artifacts_root() -> Path:
    return Path(os.environ.get("KEYLAND_TEST_ARTIFACTS", ROOT / "var" / "test-artifacts"))


def artifact_dir(nodeid: str) -> Path:
    """``tests/integration/test_x.py::test_y[en]`` → ``<root>/test_x/test_y[en]``."""
    module, _, name = nodeid.partition("::")
    safe = re.sub(r"[^\w.\[\]-]+", "_", name.replace("::", "."))
    return artifacts_root() / Path(module).stem / safe


def _options(chromium: Chromium, language: str) -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium.browser)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # the tests may run as root, where Chromium's sandbox refuses
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        f"--lang={language}",
    ):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    width, height = VIEWPORT
    options.add_experimental_option(
        "mobileEmulation",
        {
            "deviceMetrics": {"width": width, "height": height, "pixelRatio": PIXEL_RATIO},
            "userAgent": PHONE_AGENT,
        },
    )
    return options


@dataclass
class Phone:
    """One browser session on a phone's screen, in one language."""

    driver: webdriver.Chrome
    language: str
    artifacts: Path

    def open(self, url: str) -> None:
        self.driver.get(url)

    def find(self, css: str) -> WebElement:
        """The first element matching ``css``, waiting for it to appear."""
        return WebDriverWait(self.driver, WAIT_S).until(
            lambda driver: driver.find_element(By.CSS_SELECTOR, css)
        )

    def text(self, css: str) -> str:
        return self.find(css).text

    def wait_for_text(self, css: str, expected: str) -> str:
        """The element's text once it contains ``expected`` (the last text seen otherwise,
        for the assertion to show)."""
        seen = ""

        def shows(driver: webdriver.Chrome) -> bool:
            nonlocal seen
            seen = driver.find_element(By.CSS_SELECTOR, css).text
            return expected in seen

        with contextlib.suppress(TimeoutException):
            WebDriverWait(self.driver, WAIT_S).until(shows)
        return seen

    def grant_clipboard(self) -> None:
        """Let the page write and the test read the clipboard (Chromium asks otherwise)."""
        origin = self.driver.execute_script("return location.origin")
        self.driver.execute_cdp_cmd(
            "Browser.grantPermissions",
            {"origin": origin, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
        )

    def clipboard(self) -> str:
        """What the clipboard holds now, read as the page would."""
        text: str = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "navigator.clipboard.readText().then(done, (e) => done('error: ' + e));"
        )
        return text

    def shot(self, name: str) -> Path:
        """A screenshot of the whole page (beyond the viewport), kept as ``<name>.png``."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{name}.png"
        width, height = VIEWPORT
        page = int(self.driver.execute_script("return document.documentElement.scrollHeight"))
        self._metrics(width, max(height, page))
        try:
            path.write_bytes(self.driver.get_screenshot_as_png())
        finally:
            self._metrics(width, height)
        return path

    def _metrics(self, width: int, height: int) -> None:
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": PIXEL_RATIO, "mobile": True},
        )


PhoneFactory = Callable[[str], Phone]


def qr_codes(screenshot: Path) -> list[str]:
    """The texts of the QR codes a phone's camera would read in ``screenshot``."""
    with Image.open(screenshot) as image:
        return [found.text for found in zxingcpp.read_barcodes(image)]


def start_phone(chromium: Chromium, language: str, artifacts: Path) -> Phone:
    """A new headless session whose ``Accept-Language`` is ``language``."""
    service = Service(executable_path=str(chromium.driver))
    driver = webdriver.Chrome(options=_options(chromium, language), service=service)
    driver.set_page_load_timeout(WAIT_S * 3)
    return Phone(driver, language, artifacts)
