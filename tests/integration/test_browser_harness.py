"""The browser harness itself (``tests/browser.py``): a real headless Chromium at a phone's
viewport, asking for the language it is given, whose clipboard a page can write and the
test read, and whose screenshots are kept per test."""

from __future__ import annotations

import html
import struct
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.browser import PIXEL_RATIO, VIEWPORT, PhoneFactory

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>
<p id="language">{language}</p><p id="agent">{agent}</p>
<button id="copy" onclick="navigator.clipboard.writeText('copied from the page')
  .then(() => this.textContent = 'done')">copy</button>
<div style="height: 2000px"></div><p id="bottom">bottom</p></body></html>"""


class _EchoPage(BaseHTTPRequestHandler):
    """Answers every GET with a page that shows what the browser asked with."""

    def do_GET(self) -> None:
        body = PAGE.format(
            language=html.escape(self.headers.get("accept-language", "")),
            agent=html.escape(self.headers.get("user-agent", "")),
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def page_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_phone_asks_in_its_language_with_a_phone_browser_agent(
    phone: PhoneFactory, page_url: str, language: str
) -> None:
    session = phone(language)
    session.open(page_url)
    assert session.text("#language").startswith(language)
    assert "Mobile" in session.text("#agent")
    assert session.driver.execute_script("return window.innerWidth") == VIEWPORT[0]


def test_the_copy_button_fills_the_clipboard(phone: PhoneFactory, page_url: str) -> None:
    session = phone("en")
    session.open(page_url)
    session.grant_clipboard()
    session.find("#copy").click()
    assert session.wait_for_text("#copy", "done") == "done"
    assert session.clipboard() == "copied from the page"


def test_a_screenshot_is_kept_whole_per_test(phone: PhoneFactory, page_url: str) -> None:
    session = phone("en")
    session.open(page_url)
    path = session.shot("whole-page")
    assert path.parent.name == "test_a_screenshot_is_kept_whole_per_test"
    assert path.parent.parent.name == "test_browser_harness"
    width, height = png_size(path.read_bytes())
    assert width == VIEWPORT[0] * PIXEL_RATIO
    assert height > 2000 * PIXEL_RATIO  # the whole page, not just the viewport
    # and the session goes on at the phone's size
    assert session.driver.execute_script("return window.innerHeight") == VIEWPORT[1]
