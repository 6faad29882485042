"""The subscription page a browser gets: who gets it, what it says, how it is written."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyland.web.i18n import web_texts
from keyland.web.standing import Standing, standing_of
from services.provisioner.domain.formats import wants_page
from services.provisioner.domain.subscription_page import CountryLink
from services.provisioner.domain.web_page import (
    CountryState,
    PageView,
    countries_of,
    render_page,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
URL = "http://127.0.0.1:8082/sub/" + "A" * 43


class TestWhoGetsThePage:
    @pytest.mark.parametrize("agent", [CHROME, SAFARI])
    def test_a_browser_asking_for_html(self, agent: str) -> None:
        assert wants_page(agent, HTML)

    @pytest.mark.parametrize(
        ("agent", "accept"),
        [
            (CHROME, "*/*"),  # a script in a browser asking for the data
            ("curl/8.5.0", HTML),
            ("v2rayNG/1.9.16", HTML),
            ("Mozilla/5.0 Happ/1.6.1", HTML),  # an app borrowing a browser's agent
            ("Mozilla/5.0 (Linux) HiddifyNext/2.5.7 like ClashMeta", HTML),
            ("", HTML),
        ],
    )
    def test_not_clients_or_anything_not_asking_for_html(self, agent: str, accept: str) -> None:
        assert not wants_page(agent, accept)

    def test_a_format_asked_for_wins_over_the_browser(self) -> None:
        assert not wants_page(CHROME, HTML, "base64")


class TestStanding:
    def standing(
        self, until: datetime | None, *, active: bool = True, blocked: bool = False
    ) -> Standing:
        return standing_of(until, active, NOW, announce_days=3, blocked=blocked)

    def test_each_standing(self) -> None:
        assert self.standing(NOW + timedelta(days=10)) is Standing.ACTIVE
        assert self.standing(NOW + timedelta(days=3)) is Standing.ENDS_SOON
        assert self.standing(NOW - timedelta(days=1), active=False) is Standing.ENDED
        assert self.standing(None, active=False) is Standing.NEVER
        assert self.standing(NOW + timedelta(days=9), blocked=True) is Standing.SUSPENDED

    def test_an_access_ended_early_by_an_expiry_is_ended(self) -> None:
        assert self.standing(NOW + timedelta(days=9), active=False) is Standing.ENDED

    @given(st.integers(min_value=-(10**6), max_value=10**6), st.booleans())
    def test_without_access_a_user_is_never_shown_active(self, minutes: int, blocked: bool) -> None:
        until = NOW + timedelta(minutes=minutes)
        shown = self.standing(until, active=False, blocked=blocked)
        assert shown in (Standing.ENDED, Standing.SUSPENDED)


def test_each_country_once_preferred_first_down_only_when_every_node_is() -> None:
    links = [
        CountryLink("germany", "de1:1", "vless://a"),
        CountryLink("finland", "fi1:1", "vless://b"),
        CountryLink("finland", "fi2:1", "vless://c"),
        CountryLink("sweden", "se1:1", "vless://d"),
    ]
    assert countries_of(links, "sweden", down={"fi1:1", "de1:1"}) == [
        CountryState("sweden", True),
        CountryState("finland", True),
        CountryState("germany", False),
    ]


def view(**changes: object) -> PageView:
    base = PageView(
        title="Keyland",
        subscription_url=URL,
        standing=Standing.ACTIVE,
        until=datetime(2026, 12, 27, 16, 47, tzinfo=UTC),
        countries=[CountryState("finland", True), CountryState("germany", False)],
        traffic_bytes=3 * 1024**3 // 2,
        bot_username="keyland_bot",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def text_of(markup: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', markup, re.S)
    assert found, f"no #{element_id}"
    return found.group(1)


MOSCOW = ZoneInfo("Europe/Moscow")


class TestRendering:
    def test_the_status_the_date_on_the_zones_clock_and_the_traffic(self) -> None:
        page = render_page(view(), web_texts(), "en", MOSCOW)
        assert text_of(page, "status") == "Active"
        assert text_of(page, "until") == "until 27.12.2026 19:47 (UTC+03:00)"
        assert text_of(page, "traffic") == "1.5 GB, no limit"
        assert '<html lang="en">' in page

    def test_in_russian(self) -> None:
        page = render_page(view(standing=Standing.ENDED), web_texts(), "ru", MOSCOW)
        assert text_of(page, "status") == "Закончилась"
        moment = "27.12.2026 19:47 (UTC+03:00)"
        assert text_of(page, "until") == web_texts().text("until_ended", "ru", moment=moment)
        assert text_of(page, "traffic") == "1.5 ГБ, без ограничений"

    def test_a_quota_and_unknown_traffic(self) -> None:
        with_quota = render_page(view(quota_bytes=100 * 1024**3), web_texts(), "en", MOSCOW)
        assert text_of(with_quota, "traffic") == "1.5 GB of 100.0 GB"
        unknown = render_page(view(traffic_bytes=None), web_texts(), "en", MOSCOW)
        assert text_of(unknown, "traffic") == "not available now"

    def test_the_countries_the_renewal_link_and_the_copy_button(self) -> None:
        page = render_page(view(), web_texts(), "en", MOSCOW)
        assert "<li>Finland</li>" in page
        assert '<li class="down">Germany — unavailable now</li>' in page
        assert 'href="https://t.me/keyland_bot"' in page
        assert f'data-copy="{URL}"' in page
        assert text_of(page, "url") == URL

    def test_nothing_is_loaded_from_elsewhere(self) -> None:
        page = render_page(view(), web_texts(), "en", MOSCOW)
        assert re.findall(r'\b(?:src|href)="([^"]*)"', page) == [
            "https://t.me/keyland_bot",
            *re.findall(r'<a href="([^"]*)" class="button"', page),
            *re.findall(r'src="(data:image/svg\+xml;base64,[^"]*)"', page),
        ]
        assert "<link" not in page

    @given(st.text(min_size=1, max_size=40))
    def test_any_title_or_url_is_escaped(self, title: str) -> None:
        page = render_page(
            view(title=title, subscription_url=f"{URL}?<script>{title}"), web_texts(), "en", MOSCOW
        )
        assert page.count("<script>") == 1  # the copy button's own
