"""The subscription URL opened in a real browser: the page, against real Kafka, the real
database, real nodes, the provisioner (worker and API) and the subscription service
(worker and read API) as child processes; Chromium at a phone's viewport in both
languages. VPN clients at the same URL keep getting their formats.

The test acts as the subscription service towards the provisioner (it publishes the
``subscriptions`` facts) and as the provisioner towards the subscription service (it
publishes ``TrafficCounted``), as tests/integration/test_provisioner.py does.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from pymongo.database import Database

from events.registry import TopicNames
from events.traffic import TrafficCounted
from keyland.kafka.producer import EventPublisher
from keyland.kafka.topics import wait_until_visible
from keyland.mongo import Document, user_document_id
from keyland.settings import KafkaSettings
from keyland.web.i18n import byte_size, local_moment, web_texts
from keyland.web.standing import Standing, standing_of
from keyland_tools.stack.node import Node
from tests.browser import PHONE_AGENT, PhoneFactory, qr_codes
from tests.processes import Program, free_port, wait_http
from tests.provisioning import (
    User,
    activations,
    address,
    node_tokens,
    publish,
    running_nodes,
    start_trial,
    write_countries,
)
from tests.services import read_api
from tests.waiting import eventually

SECRET = "subscription-secret-for-the-page-tests-0123456789"
READ_TOKEN = "read-api-token-of-the-page-tests"
API_TOKEN = "provisioner-api-token-of-the-page-tests"
BOT = "keyland_page_bot"
ZONE = "Europe/Moscow"
DOWNLOADED = 3 * 1024**3 // 2  # what the active user moved this month: "1.5 GB"
HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Node]]:
    with running_nodes(tmp_path_factory.mktemp("nodes"), ["finland", "germany"]) as made:
        yield made


@pytest.fixture(scope="module")
def env(
    service_env: dict[str, str],
    isolation: str,
    nodes: list[Node],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    countries = tmp_path_factory.mktemp("countries") / "countries.json"
    write_countries(countries, nodes)
    return {
        **service_env,
        "KEYLAND_PROVISIONER_APP_ID": f"{isolation}-provisioner",
        "KEYLAND_PROVISIONER_DATA_DIR": str(tmp_path_factory.mktemp("provisioner")),
        "KEYLAND_PROVISIONER_COUNTRIES_FILE": str(countries),
        "KEYLAND_PROVISIONER_NODE_TOKENS": node_tokens(nodes),
        "KEYLAND_PROVISIONER_RECONCILE_INTERVAL_S": "1",
        "KEYLAND_PROVISIONER_SUBSCRIPTION_SECRET": SECRET,
        "KEYLAND_PROVISIONER_API_TOKEN": API_TOKEN,
    }


@pytest.fixture(scope="module")
async def visible_topics(kafka_settings: KafkaSettings, created_topics: TopicNames) -> TopicNames:
    names = [created_topics(t) for t in ("subscriptions", "bot.actions", "keys", "traffic")]
    await wait_until_visible(kafka_settings.bootstrap, names)
    return created_topics


@pytest.fixture(scope="module")
def provisioner(
    env: dict[str, str], visible_topics: TopicNames, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Program]:
    log = tmp_path_factory.mktemp("logs") / "provisioner.log"
    program = Program("services.provisioner", env, log, args=["worker"]).start()
    yield program
    program.stop()


@pytest.fixture(scope="module")
def read_api_url(
    service_env: dict[str, str], worker: Program, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with read_api(service_env, tmp_path_factory.mktemp("read-api"), READ_TOKEN) as url:
        yield url


@pytest.fixture(scope="module")
def api(
    env: dict[str, str], read_api_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {
        **env,
        "KEYLAND_PROVISIONER_API_PORT": str(port),
        "KEYLAND_PROVISIONER_PUBLIC_URL": url,
        "KEYLAND_PROVISIONER_BOT_USERNAME": BOT,
        "KEYLAND_PROVISIONER_PAGE_TIME_ZONE": ZONE,
        "KEYLAND_PROVISIONER_READ_API_URL": read_api_url,
        "KEYLAND_PROVISIONER_READ_API_TOKEN": READ_TOKEN,
    }
    log = tmp_path_factory.mktemp("api") / "api.log"
    program = Program("services.provisioner", environment, log, args=["api"]).start()
    wait_http(f"{url}/health", program)
    yield url
    program.stop()


@dataclass(frozen=True)
class PageUser:
    user: User
    url: str


async def subscription_url(api: str, user: User) -> str:
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(
            f"{api}/v1/users/{user.telegram_id}/subscription",
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        )
    assert answer.status_code == 200, answer.text
    url: str = answer.json()["url"]
    return url


def traffic_of(read_api_url: str, telegram_id: int) -> int:
    answer = httpx.get(
        f"{read_api_url}/v1/users/{telegram_id}/traffic",
        headers={"Authorization": f"Bearer {READ_TOKEN}"},
        timeout=10,
    )
    total: int = answer.json()["uplink_bytes"] + answer.json()["downlink_bytes"]
    return total


@pytest.fixture(scope="module")
async def users(
    kafka_settings: KafkaSettings,
    visible_topics: TopicNames,
    provisioner: Program,
    worker: Program,
    read_api_url: str,
    api: str,
    nodes: list[Node],
) -> AsyncIterator[dict[Standing, PageUser]]:
    """An active user (20 days left, traffic counted on one node), one whose access ends
    within the announce window (1 day), and one whose access ended yesterday."""
    publisher = EventPublisher.from_settings(kafka_settings, client_id="page-tests")
    try:
        active, _ = await start_trial(publisher, days=20)
        ending, _ = await start_trial(publisher, days=1)
        ended = User.new()
        await publish(
            publisher, ended.registered(), ended.trial(datetime.now(UTC) - timedelta(days=1))
        )
        for user in (active, ending):
            await activations(kafka_settings.bootstrap, visible_topics("keys"), user.key_id, 2)
        counted = TrafficCounted(
            telegram_id=active.telegram_id,
            key_id=active.key_id,
            country="finland",
            node=address(nodes[0]),
            window_start=datetime.now(UTC).replace(second=0, microsecond=0),
            uplink_bytes=0,
            downlink_bytes=DOWNLOADED,
        )
        await publish(publisher, counted)
        await eventually(lambda: traffic_of(read_api_url, active.telegram_id) == DOWNLOADED, worker)
        yield {
            Standing.ACTIVE: PageUser(active, await subscription_url(api, active)),
            Standing.ENDS_SOON: PageUser(ending, await subscription_url(api, ending)),
            Standing.ENDED: PageUser(ended, await subscription_url(api, ended)),
        }
    finally:
        await publisher.close()


def stored_until(db: Database[Document], user: User) -> datetime:
    document = db.node_keys.find_one({"_id": user_document_id(user.telegram_id)}) or {}
    until: datetime = document["until"]
    return until if until.tzinfo else until.replace(tzinfo=UTC)


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_page_shows_the_standing_and_end_the_database_holds(
    phone: PhoneFactory,
    users: dict[Standing, PageUser],
    db: Database[Document],
    language: str,
) -> None:
    texts = web_texts()
    session = phone(language)
    for expected, page_user in users.items():
        session.open(page_user.url)
        until = stored_until(db, page_user.user)
        standing = standing_of(
            until, until > datetime.now(UTC), datetime.now(UTC), announce_days=3, blocked=False
        )
        assert standing is expected
        status = session.find("#status")
        assert status.get_attribute("data-standing") == standing.value
        assert status.text == texts.text(f"status_{standing.value}", language)
        key = "until_ended" if standing is Standing.ENDED else "until_active"
        moment = local_moment(until, ZoneInfo(ZONE))
        assert session.text("#until") == texts.text(key, language, moment=moment)
        assert session.find("#renew").get_attribute("href") == f"https://t.me/{BOT}"
        assert qr_codes(session.shot(standing.value)) == [page_user.url]
        if standing is Standing.ACTIVE:
            units = texts.text("byte_units", language).split()
            used = byte_size(DOWNLOADED, units)
            assert session.text("#traffic") == texts.text("traffic_unlimited", language, used=used)
            assert session.text("#countries") == "Finland\nGermany"
            assert len(session.driver.find_elements("css selector", "#apps a")) == 8
        if standing is Standing.ENDED:
            assert session.driver.find_elements("css selector", "#countries") == []


def test_the_copy_button_copies_the_subscription_url(
    phone: PhoneFactory, users: dict[Standing, PageUser]
) -> None:
    page_user = users[Standing.ACTIVE]
    session = phone("en")
    session.open(page_user.url)
    session.grant_clipboard()
    session.find("#copy").click()
    assert session.wait_for_text("#copy", "Copied") == "Copied ✓"
    assert session.clipboard() == page_user.url
    session.shot("copied")


def get(url: str, agent: str, accept: str = "*/*", language: str = "") -> httpx.Response:
    headers = {"User-Agent": agent, "Accept": accept, "Accept-Language": language}
    return httpx.get(url, headers=headers, timeout=10)


def test_vpn_clients_at_the_same_url_keep_their_formats(users: dict[Standing, PageUser]) -> None:
    url = users[Standing.ACTIVE].url
    links = base64.b64decode(get(url, "v2rayNG/1.9.16").content).decode().split()
    assert len(links) == 2
    assert all(link.startswith("vless://") for link in links)
    clash = yaml.safe_load(get(url, "clash-verge/v2.0.3", HTML).text)
    assert len(clash["proxies"]) == 2
    assert get(url, "SFA/1.11.4 (Android 14; sing-box 1.11.4)").json()["outbounds"]
    # a browser asking for the data, or naming a format, gets the data
    assert get(url, PHONE_AGENT).text == get(url, "v2rayNG/1.9.16").text
    assert get(f"{url}?format=base64", PHONE_AGENT, HTML).text == get(url, "v2rayNG/1.9.16").text


def test_a_browser_gets_the_page_in_its_language_loading_nothing_from_elsewhere(
    users: dict[Standing, PageUser],
) -> None:
    url = users[Standing.ACTIVE].url
    english = get(url, PHONE_AGENT, HTML, "en-US,en;q=0.9")
    assert english.status_code == 200
    assert english.headers["content-type"] == "text/html; charset=utf-8"
    assert english.headers["content-language"] == "en"
    assert "default-src 'none'" in english.headers["content-security-policy"]
    assert '<html lang="en">' in english.text
    russian = get(url, PHONE_AGENT, HTML, "ru-RU,ru;q=0.9,en;q=0.8")
    assert '<html lang="ru">' in russian.text
    assert get(url.replace(url[-43:], "A" * 43), PHONE_AGENT, HTML).status_code == 404
