"""The subscription page a browser gets at ``/sub/{token}``: the user's standing, end
date, traffic, countries, the URL as a QR code, one-tap import links and a copy button.

Pure: :func:`standing_of` and :func:`countries_of` decide what to say, :func:`render_page`
writes it as HTML through ``keyland.web`` (every value escaped, nothing loaded from
elsewhere). Dates are shown in the operator's configured zone with its UTC offset named:
Keyland knows no user's time zone, and a page without script cannot ask the browser.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from keyland.texts import Texts
from keyland.web.clients import import_links
from keyland.web.copy import COPY_SCRIPT, copy_button
from keyland.web.html import Html, document, element, join
from keyland.web.i18n import byte_size, local_moment
from keyland.web.qr import qr_image
from keyland.web.standing import Standing
from services.provisioner.domain.subscription_page import CountryLink, ordered_links


@dataclass(frozen=True)
class CountryState:
    name: str
    up: bool


def countries_of(
    links: Iterable[CountryLink], region: str | None, down: Collection[str]
) -> list[CountryState]:
    """Each country of the user's servers once, preferred first; up while any of its nodes
    is not announced unreachable (``down``)."""
    states: dict[str, bool] = {}
    for link in ordered_links(links, region):
        states[link.country] = states.get(link.country, False) or link.node not in down
    return [CountryState(name, up) for name, up in states.items()]


@dataclass(frozen=True)
class PageView:
    """Everything the page shows of one subscription."""

    title: str
    subscription_url: str
    standing: Standing
    until: datetime | None
    countries: list[CountryState]
    traffic_bytes: int | None  # this month's; None when the read API did not say
    bot_username: str | None
    quota_bytes: int | None = None  # None: no limit (plans have no traffic quota)


def _status(view: PageView, t: Texts, language: str, zone: ZoneInfo) -> Html:
    when = None
    if view.until is not None and view.standing is not Standing.SUSPENDED:
        key = "until_ended" if view.standing is Standing.ENDED else "until_active"
        when = t.text(key, language, moment=local_moment(view.until, zone))
    return element(
        "section",
        element(
            "p",
            t.text(f"status_{view.standing.value}", language),
            id="status",
            class_=f"status {view.standing.value}",
            data_standing=view.standing.value,
        ),
        element("p", when, id="until", class_="until") if when else None,
        element("p", t.text("suspended_hint", language), class_="hint")
        if view.standing is Standing.SUSPENDED
        else None,
    )


def _facts(view: PageView, t: Texts, language: str) -> Html:
    units = t.text("byte_units", language).split()
    if view.traffic_bytes is None:
        traffic = t.text("traffic_unknown", language)
    elif view.quota_bytes is None:
        used = byte_size(view.traffic_bytes, units)
        traffic = t.text("traffic_unlimited", language, used=used)
    else:
        used, quota = byte_size(view.traffic_bytes, units), byte_size(view.quota_bytes, units)
        traffic = t.text("traffic_used", language, used=used, quota=quota)
    countries = [
        element(
            "li",
            country.name.title(),
            None if country.up else f" — {t.text('country_down', language)}",
            class_=None if country.up else "down",
        )
        for country in view.countries
    ]
    return element(
        "dl",
        element("dt", t.text("traffic", language)),
        element("dd", traffic, id="traffic"),
        element("dt", t.text("countries", language)),
        element(
            "dd",
            element("ul", countries, id="countries")
            if countries
            else t.text("countries_none", language),
        ),
    )


def _renew(view: PageView, t: Texts, language: str) -> Html:
    if view.bot_username is None:
        return element("p", t.text("renew_in_bot", language), id="renew", class_="renew")
    return element(
        "a",
        t.text("renew", language, bot=view.bot_username),
        href=f"https://t.me/{view.bot_username}",
        id="renew",
        class_="renew button",
    )


def _connect(view: PageView, t: Texts, language: str) -> Html:
    apps = [
        element("li", element("a", link.app, href=link.url, class_="button"))
        for link in import_links(view.subscription_url, view.title)
    ]
    return element(
        "section",
        element("h2", t.text("add_to_app", language)),
        element("p", t.text("add_to_app_hint", language), class_="hint"),
        element("ul", apps, id="apps", class_="apps"),
        qr_image(view.subscription_url, label=t.text("qr_alt", language)),
        element("p", t.text("subscription_url", language), class_="label"),
        element("code", view.subscription_url, id="url"),
        copy_button(
            view.subscription_url,
            label=t.text("copy", language),
            done_label=t.text("copied", language),
            id="copy",
        ),
        class_="connect",
    )


STYLE = """
:root { color-scheme: light dark; --accent: #2e7de6; --muted: #8a8f98; }
body { font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  margin: 0 auto; max-width: 30rem; padding: 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .5rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .25rem; }
.status { display: inline-block; padding: .2rem .7rem; border-radius: 1rem;
  font-weight: 600; margin: .25rem 0; }
.status.active { background: #d7f5dd; color: #145a26; }
.status.ends_soon { background: #fff0c2; color: #6b4d00; }
.status.ended, .status.never, .status.suspended { background: #ffd9d6; color: #7a1610; }
.until { margin: .25rem 0 1rem; }
dl { margin: 0; } dt { color: var(--muted); font-size: .9rem; } dd { margin: 0 0 .75rem; }
ul { margin: 0; padding-left: 1.2rem; } .down { color: var(--muted); }
.hint, .label { color: var(--muted); font-size: .9rem; }
.apps { list-style: none; padding: 0; display: grid; grid-template-columns: 1fr 1fr; gap: .5rem; }
.button { display: block; text-align: center; padding: .6rem; border-radius: .6rem;
  background: var(--accent); color: #fff; text-decoration: none; font-weight: 600; }
.renew { margin: 1rem 0; }
.qr { display: block; margin: 1rem auto; background: #fff; padding: .5rem; border-radius: .5rem; }
code { display: block; word-break: break-all; font-size: .85rem; margin: .25rem 0 .5rem; }
button.copy { width: 100%; padding: .6rem; font: inherit; font-weight: 600;
  border-radius: .6rem; border: 2px solid var(--accent); background: none; color: var(--accent); }
"""


def render_page(view: PageView, t: Texts, language: str, zone: ZoneInfo) -> Html:
    """The whole page in ``language``, its dates on ``zone``'s clock."""
    body = join(
        element("h1", view.title),
        _status(view, t, language, zone),
        _facts(view, t, language),
        _renew(view, t, language),
        _connect(view, t, language),
    )
    return document(
        language=language,
        title=t.text("page_title", language, title=view.title),
        style=STYLE,
        body=element("main", body),
        script=COPY_SCRIPT,
    )
