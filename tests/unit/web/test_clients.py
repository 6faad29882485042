"""One-tap import links carry the subscription URL in each app's scheme."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, unquote, urlsplit

from keyland.web.clients import import_links
from keyland.web.qr import qr_image, qr_svg

URL = "https://sub.example.com/sub/abc-DEF_123?x=1&y=2"


def links() -> dict[str, str]:
    return {link.app: link.url for link in import_links(URL, "Key land")}


def test_every_common_app_has_a_link() -> None:
    assert list(links()) == [
        "v2rayNG",
        "Hiddify",
        "Happ",
        "v2RayTun",
        "Streisand",
        "Shadowrocket",
        "sing-box",
        "Clash / mihomo",
    ]


def test_query_style_schemes_carry_the_url_encoded() -> None:
    found = links()
    for app, scheme in (
        ("v2rayNG", "v2rayng"),
        ("sing-box", "sing-box"),
        ("Clash / mihomo", "clash"),
    ):
        parts = urlsplit(found[app])
        assert parts.scheme == scheme
        assert parse_qs(parts.query)["url"] == [URL]
    assert parse_qs(urlsplit(found["Clash / mihomo"]).query)["name"] == ["Key land"]
    assert unquote(urlsplit(found["sing-box"]).fragment) == "Key land"


def test_path_style_schemes_carry_the_url_as_it_is() -> None:
    found = links()
    assert found["Happ"] == f"happ://add/{URL}"
    assert found["v2RayTun"] == f"v2raytun://import/{URL}"
    assert found["Hiddify"].startswith(f"hiddify://import/{URL}#")
    assert found["Streisand"].startswith(f"streisand://import/{URL}#")


def test_shadowrocket_takes_the_url_in_base64() -> None:
    encoded = links()["Shadowrocket"].removeprefix("sub://")
    assert base64.b64decode(encoded).decode() == URL


def test_the_qr_code_is_an_inline_svg_of_its_data() -> None:
    svg = qr_svg(URL)
    assert svg.startswith(b"<svg") or svg.startswith(b"<?xml")
    assert qr_svg(URL) == svg
    assert qr_svg(URL + "x") != svg
    image = qr_image(URL, label="QR <code>")
    assert 'src="data:image/svg+xml;base64,' in image
    assert 'alt="QR &lt;code&gt;"' in image
