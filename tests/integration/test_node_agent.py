"""The node agent in front of a real Xray, used by a real VLESS client.

Nothing is mocked: each node is the official Xray binary (or the wheel's Xray) plus the
agent as a child process, on free loopback ports; the client is a second Xray process.
These tests need neither Kafka nor the database.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from string import Template

import httpx
import pytest
from pydantic import SecretStr

from keyland.settings import ConfigError, load
from keyland_tools.stack.node import INFRA_DIR, Node, OfficialXray, WheelXray
from keyland_tools.stack.settings import StackSettings
from keyland_tools.stack.vless_client import PAGE, PageServer, ProxyRefused, VlessClient
from services.node_agent.adapters.xray_api import XrayApi
from services.node_agent.bootstrap import link_template
from services.node_agent.config import NodeAgentSettings
from services.node_agent.domain.keys import KeyId, MalformedKeyId, parse_key_id
from services.node_agent.domain.links import LinkTemplate, RealityParams, connection_link
from services.node_agent.domain.reconcile import changes_needed
from tests.nodes import (
    TlsTarget,
    agent_client,
    eventually,
    start_node,
    start_reality_node,
)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    started = start_node(tmp_path_factory.mktemp("state"), "finland")
    yield started
    started.stop()


@pytest.fixture(scope="module")
def page() -> Iterator[PageServer]:
    with PageServer() as server:
        yield server


@pytest.fixture(scope="module")
def api(node: Node) -> Iterator[httpx.Client]:
    with agent_client(node) as client:
        yield client


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsTarget]:
    """The TLS 1.3 site REALITY nodes borrow their handshake from."""
    with TlsTarget(tmp_path_factory.mktemp("target"), "www.example.com") as server:
        yield server


@pytest.fixture(scope="module")
def clients_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clients")


def new_key() -> str:
    return str(uuid.uuid4())


def enable(api: httpx.Client, key: str) -> str:
    response = api.put(f"/v1/users/{key}")
    assert response.status_code == 200, response.text
    link: str = response.json()["link"]
    return link


def enabled_keys(api: httpx.Client) -> list[str]:
    response = api.get("/v1/users")
    assert response.status_code == 200
    keys: list[str] = response.json()["key_ids"]
    return keys


def local_link(node: Node, key: str) -> str:
    template = LinkTemplate(country=node.name, host="127.0.0.1", port=node.xray.vless_port)
    return connection_link(KeyId(key), template)


def client(node: Node, link: str, home: Path) -> VlessClient:
    return VlessClient(link, node.xray.build, home)


class TestEnableAndDisable:
    def test_enabled_key_fetches_a_page_through_the_node(
        self, node: Node, api: httpx.Client, page: PageServer, clients_dir: Path
    ) -> None:
        key = new_key()
        link = enable(api, key)
        assert link == (
            f"vless://{key}@127.0.0.1:{node.xray.vless_port}"
            "?encryption=none&type=tcp&security=none#Keyland-finland"
        )
        with client(node, link, clients_dir) as vless:
            assert vless.fetch(page) == PAGE

    def test_disabled_key_is_refused_while_another_user_still_connects(
        self, node: Node, api: httpx.Client, page: PageServer, clients_dir: Path
    ) -> None:
        key, control = new_key(), new_key()
        with (
            client(node, enable(api, key), clients_dir) as vless,
            client(node, enable(api, control), clients_dir) as control_vless,
        ):
            assert vless.can_fetch(page)
            response = api.delete(f"/v1/users/{key}")
            assert response.status_code == 200
            assert response.json() == {"key_id": key, "enabled": False}
            with pytest.raises((ProxyRefused, ConnectionResetError)):
                vless.fetch(page)
            assert control_vless.fetch(page) == PAGE

    def test_key_enabled_again_connects_with_the_same_link(
        self, node: Node, api: httpx.Client, page: PageServer, clients_dir: Path
    ) -> None:
        key = new_key()
        link = enable(api, key)
        with client(node, link, clients_dir) as vless:
            api.delete(f"/v1/users/{key}")
            assert not vless.can_fetch(page)
            assert enable(api, key) == link
            assert vless.fetch(page) == PAGE

    def test_enable_and_disable_are_idempotent(self, api: httpx.Client) -> None:
        key = new_key()
        assert enable(api, key) == enable(api, key)
        assert enabled_keys(api).count(key) == 1
        assert api.delete(f"/v1/users/{key}").status_code == 200
        assert api.delete(f"/v1/users/{key}").status_code == 200
        assert key not in enabled_keys(api)

    def test_upper_case_key_is_the_same_key(self, api: httpx.Client) -> None:
        key = new_key()
        response = api.put(f"/v1/users/{key.upper()}")
        assert response.json()["key_id"] == key
        assert enabled_keys(api).count(key) == 1

    def test_open_connection_ends_on_delete_and_new_ones_are_refused(
        self, node: Node, api: httpx.Client, page: PageServer, clients_dir: Path
    ) -> None:
        """Xray checks the key at the handshake only; the agent ends the open connection."""
        key = new_key()
        with client(node, enable(api, key), clients_dir) as vless:
            connection = vless.connect(page)
            try:
                assert connection.get() == PAGE
                api.delete(f"/v1/users/{key}")
                assert not vless.can_fetch(page)
                with pytest.raises((ProxyRefused, ConnectionError)):
                    connection.get()
            finally:
                connection.close()


class TestBatch:
    """``PATCH /v1/users``: many users in one call, as the provisioner sends them."""

    def test_batch_enables_and_disables_many_and_answers_per_key(
        self, node: Node, api: httpx.Client, page: PageServer, clients_dir: Path
    ) -> None:
        kept, dropped = new_key(), new_key()
        enable(api, dropped)
        fresh = [new_key() for _ in range(40)]
        body = {"enable": [kept, *fresh], "disable": [dropped]}
        answer = api.patch("/v1/users", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "enabled": {key: local_link(node, key) for key in [kept, *fresh]},
            "disabled": [dropped],
            "refused": {},
        }
        listed = enabled_keys(api)
        assert set(fresh) | {kept} <= set(listed)
        assert dropped not in listed
        with client(node, local_link(node, kept), clients_dir) as vless:
            assert vless.fetch(page) == PAGE
        with client(node, local_link(node, dropped), clients_dir) as vless:
            assert not vless.can_fetch(page)

    def test_repeated_batch_changes_nothing_more(self, api: httpx.Client) -> None:
        keys = [new_key() for _ in range(5)]
        gone = new_key()
        body = {"enable": keys, "disable": [gone]}
        first = api.patch("/v1/users", json=body)
        listed = enabled_keys(api)
        again = api.patch("/v1/users", json=body)
        assert again.status_code == first.status_code == 200
        assert again.json() == first.json()
        assert enabled_keys(api) == listed
        assert all(listed.count(key) == 1 for key in keys)

    @pytest.mark.parametrize(
        "body",
        [
            {"enable": ["MARK", "not-a-uuid"]},
            {"enable": ["MARK"], "disable": ["MARK"]},
            {"enable": ["MARK"], "purge": []},
            ["MARK"],
        ],
        ids=["malformed key", "both ways", "unknown field", "not an object"],
    )
    def test_malformed_batch_is_refused_and_changes_nothing(
        self, api: httpx.Client, body: object
    ) -> None:
        key = new_key()
        before = enabled_keys(api)
        sent = json.loads(json.dumps(body).replace("MARK", key))
        answer = api.patch("/v1/users", json=sent)
        assert answer.status_code == 422
        assert "error" in answer.json()
        assert enabled_keys(api) == before
        assert api.patch("/v1/users", content=b"{not json").status_code == 422

    def test_batch_needs_the_token(self, node: Node) -> None:
        key = new_key()
        with agent_client(node, "wrong-token-wrong-token") as stranger:
            assert stranger.patch("/v1/users", json={"enable": [key]}).status_code == 401
        with agent_client(node) as api:
            assert key not in enabled_keys(api)


class TestTraffic:
    def test_counters_grow_with_a_transfer(
        self, node: Node, api: httpx.Client, page: PageServer, clients_dir: Path
    ) -> None:
        key = new_key()
        with client(node, enable(api, key), clients_dir) as vless:
            vless.fetch(page)
            vless.fetch(page)
        traffic = api.get(f"/v1/users/{key}/traffic").json()
        assert traffic["enabled"] is True
        assert traffic["uplink_bytes"] > 0
        assert traffic["downlink_bytes"] >= 2 * len(PAGE)

    def test_one_call_answers_every_users_counters(
        self, node: Node, api: httpx.Client, page: PageServer, clients_dir: Path
    ) -> None:
        used, unused = new_key(), new_key()
        enable(api, unused)
        with client(node, enable(api, used), clients_dir) as vless:
            vless.fetch(page)
        answer = api.get("/v1/traffic").json()
        assert answer["xray_uptime_s"] >= 0
        counted = answer["users"][used]
        assert counted["uplink_bytes"] > 0
        assert counted["downlink_bytes"] >= len(PAGE)
        assert answer["users"].get(unused, {"downlink_bytes": 0})["downlink_bytes"] == 0

    def test_unused_key_has_no_traffic(self, api: httpx.Client) -> None:
        key = new_key()
        enable(api, key)
        traffic = api.get(f"/v1/users/{key}/traffic").json()
        assert (traffic["uplink_bytes"], traffic["downlink_bytes"]) == (0, 0)


class TestLoad:
    def test_a_user_moving_traffic_is_seen_in_the_load(
        self, node: Node, api: httpx.Client, page: PageServer, clients_dir: Path
    ) -> None:
        with client(node, enable(api, new_key()), clients_dir) as vless:
            connection = vless.connect(page)
            try:

                def busy() -> bool:
                    connection.get()
                    load = api.get("/v1/load")
                    if load.status_code != 200:
                        return False
                    figures = load.json()
                    return bool(figures["online_users"] >= 1 and figures["connections"] >= 1)

                assert eventually(busy, timeout_s=20)
            finally:
                connection.close()
        figures = api.get("/v1/load").json()
        assert figures["throughput_bps"] > 0
        assert 0 < figures["memory_bytes"] < figures["host_memory_bytes"]
        assert 0 <= figures["cpu_cores"] <= figures["host_cpu_cores"]

    def test_load_needs_the_token(self, node: Node) -> None:
        with agent_client(node, token="") as intruder:
            assert intruder.get("/v1/load").status_code == 401


class TestRefusedRequests:
    @pytest.fixture(params=["", "wrong-token-wrong-token", "Basic"])
    def intruder(self, request: pytest.FixtureRequest, node: Node) -> Iterator[httpx.Client]:
        with agent_client(node, token=request.param) as bad:
            if request.param == "Basic":
                bad.headers["Authorization"] = "Basic a2V5bGFuZDprZXlsYW5k"
            yield bad

    def test_requests_without_the_token_are_refused_and_change_nothing(
        self,
        node: Node,
        api: httpx.Client,
        intruder: httpx.Client,
        page: PageServer,
        clients_dir: Path,
    ) -> None:
        enabled, stranger = new_key(), new_key()
        link = enable(api, enabled)
        before = enabled_keys(api)
        for method, path in [
            ("PUT", f"/v1/users/{stranger}"),
            ("DELETE", f"/v1/users/{enabled}"),
            ("GET", "/v1/users"),
            ("GET", f"/v1/users/{enabled}/traffic"),
            ("GET", "/v1/traffic"),
        ]:
            response = intruder.request(method, path)
            assert response.status_code == 401, (method, path)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert enabled_keys(api) == before
        with client(node, link, clients_dir) as vless:
            assert vless.can_fetch(page)

    def test_health_needs_no_token(self, node: Node) -> None:
        with agent_client(node, token="") as anonymous:
            response = anonymous.get("/v1/health")
        assert response.status_code == 200
        assert response.json()["xray"] == "up"

    @pytest.mark.parametrize(
        "bad_key",
        [
            "not-a-uuid",
            "12345",
            "0e8e5e2c3b8d4b0c9a5f1e2d3c4b5a69",
            "0e8e5e2c-3b8d-4b0c-9a5f-1e2d3c4b5a6",
            "0e8e5e2c-3b8d-4b0c-9a5f-1e2d3c4b5a69x",
            "{0e8e5e2c-3b8d-4b0c-9a5f-1e2d3c4b5a69}",
            "0e8e5e2c-3b8d-4b0c-9a5f-1e2d3c4b5g69",
        ],
    )
    def test_malformed_key_id_is_refused_and_changes_nothing(
        self, api: httpx.Client, bad_key: str
    ) -> None:
        before = enabled_keys(api)
        for method in ("PUT", "DELETE"):
            assert api.request(method, f"/v1/users/{bad_key}").status_code == 422
        assert api.get(f"/v1/users/{bad_key}/traffic").status_code == 422
        assert enabled_keys(api) == before


class TestRecovery:
    """Kept last in the module: these restart the shared node's processes."""

    def test_killed_xray_gets_its_users_back_without_being_asked(
        self, node: Node, api: httpx.Client, page: PageServer, clients_dir: Path
    ) -> None:
        kept, dropped = new_key(), new_key()
        with (
            client(node, enable(api, kept), clients_dir) as vless,
            client(node, enable(api, dropped), clients_dir) as dropped_vless,
        ):
            api.delete(f"/v1/users/{dropped}")
            pid = node.xray.daemon.pid()
            assert pid is not None
            os.killpg(pid, signal.SIGKILL)
            assert eventually(lambda: node.xray.daemon.pid() is None)
            node.xray.start()
            assert eventually(lambda: vless.can_fetch(page))
            assert not dropped_vless.can_fetch(page)
        assert kept in enabled_keys(api)

    def test_key_enabled_while_xray_is_down_works_once_xray_is_back(
        self, node: Node, api: httpx.Client, page: PageServer, clients_dir: Path
    ) -> None:
        key = new_key()
        node.xray.stop()
        assert api.get("/v1/health").status_code == 503
        assert api.put(f"/v1/users/{key}").status_code == 503
        assert key in enabled_keys(api)
        node.xray.start()
        assert eventually(lambda: api.get("/v1/health").status_code == 200)
        with client(node, local_link(node, key), clients_dir) as vless:
            assert eventually(lambda: vless.can_fetch(page))

    def test_user_added_behind_the_agents_back_is_removed(
        self, node: Node, api: httpx.Client, page: PageServer, clients_dir: Path
    ) -> None:
        intruder = KeyId(new_key())

        async def add_directly() -> None:
            xray = XrayApi.from_address(node.xray.api_address, inbound_tag="vless-in")
            try:
                await xray.add_user(intruder)
            finally:
                await xray.close()

        asyncio.run(add_directly())
        with client(node, local_link(node, intruder), clients_dir) as vless:
            assert eventually(lambda: not vless.can_fetch(page))
        assert intruder not in enabled_keys(api)

    def test_agent_restart_keeps_its_record(
        self, node: Node, api: httpx.Client, page: PageServer, clients_dir: Path
    ) -> None:
        key = new_key()
        link = enable(api, key)
        node.stop()
        node.start()
        assert key in enabled_keys(api)
        with client(node, link, clients_dir) as vless:
            assert eventually(lambda: vless.can_fetch(page))


def test_two_nodes_side_by_side_one_on_the_wheels_xray(
    node: Node,
    api: httpx.Client,
    page: PageServer,
    clients_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The same key on two countries; the second node runs the PyPI wheel's Xray."""
    state = tmp_path_factory.mktemp("germany")
    germany = start_node(state, "germany", xray_build=WheelXray(load(StackSettings).cache_dir))
    try:
        key = new_key()
        finland_link = enable(api, key)
        with agent_client(germany) as germany_api:
            germany_link = enable(germany_api, key)
            assert germany_link.endswith("#Keyland-germany")
            with (
                client(germany, germany_link, clients_dir) as in_germany,
                client(node, finland_link, clients_dir) as in_finland,
            ):
                assert in_germany.fetch(page) == PAGE
                germany_api.delete(f"/v1/users/{key}")
                assert not in_germany.can_fetch(page)
                assert in_finland.fetch(page) == PAGE
                traffic = germany_api.get(f"/v1/users/{key}/traffic").json()
                assert traffic["downlink_bytes"] >= len(PAGE)
    finally:
        germany.stop()


class TestTemplates:
    def test_production_template_is_accepted_by_xray(self, tmp_path: Path) -> None:
        xray = OfficialXray(load(StackSettings).cache_dir).fetch()
        keys = subprocess.run(
            [str(xray), "x25519"], check=True, capture_output=True, text=True
        ).stdout
        private_key = keys.split("PrivateKey:", 1)[1].split()[0]
        config = tmp_path / "production.json"
        config.write_text(
            Template((INFRA_DIR / "production.json").read_text()).substitute(
                vless_port=443,
                api_port=10085,
                access_log=tmp_path / "access.log",
                reality_target="www.example.com:443",
                reality_server_name="www.example.com",
                reality_private_key=private_key,
                reality_short_id="6ba85179e30d4fc2",
            )
        )
        rendered = json.loads(config.read_text())
        freedom = rendered["outbounds"][0]
        assert freedom["settings"] == {"domainStrategy": "ForceIPv6v4"}
        assert "127.0.0.0/8" in rendered["routing"]["rules"][1]["ip"]
        checked = subprocess.run(
            [str(xray), "run", "-test", "-c", str(config)],
            check=False,
            capture_output=True,
            text=True,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "Configuration OK" in checked.stdout


class TestProductionTemplate:
    """VLESS + REALITY from production.json, with the agent answering REALITY links."""

    def test_reality_key_connects_until_it_is_disabled(
        self, target: TlsTarget, page: PageServer, tmp_path: Path
    ) -> None:
        xray, agent = start_reality_node(tmp_path, "sweden", target, allow_private=True)
        try:
            with agent_client(agent) as api:
                key = new_key()
                link = enable(api, key)
                assert "security=reality" in link
                assert "flow=xtls-rprx-vision" in link
                with VlessClient(link, xray.build, tmp_path / "clients") as vless:
                    assert vless.fetch(page) == PAGE
                    api.delete(f"/v1/users/{key}")
                    assert not vless.can_fetch(page)
        finally:
            agent.stop()
            xray.stop()

    def test_private_destinations_stay_blocked_as_shipped(
        self, target: TlsTarget, page: PageServer, tmp_path: Path
    ) -> None:
        """The same node as above but for the blocking rule: the loopback page is refused."""
        xray, agent = start_reality_node(tmp_path, "norway", target, allow_private=False)
        try:
            with agent_client(agent) as api:
                key = new_key()
                link = enable(api, key)
                with VlessClient(link, xray.build, tmp_path / "clients") as vless:
                    assert not vless.can_fetch(page)
        finally:
            agent.stop()
            xray.stop()


class TestDomain:
    def test_key_id_is_lower_cased(self) -> None:
        key = "0E8E5E2C-3B8D-4B0C-9A5F-1E2D3C4B5A69"
        assert parse_key_id(key) == key.lower()

    @pytest.mark.parametrize(
        "text", ["", "0e8e5e2c", "urn:uuid:0e8e5e2c-3b8d-4b0c-9a5f-1e2d3c4b5a69"]
    )
    def test_anything_but_a_canonical_uuid_is_malformed(self, text: str) -> None:
        with pytest.raises(MalformedKeyId):
            parse_key_id(text)

    def test_reality_link_carries_what_the_client_needs(self) -> None:
        reality = RealityParams(
            public_key="gk4QIYbbI8a--OYe1Rzo9wiFHSgqkii0AbN9BY05rzQ",
            short_id="6ba85179e30d4fc2",
            server_name="www.example.com",
            fingerprint="chrome",
        )
        template = LinkTemplate("finland", "fi.keyland.example", 443, "xtls-rprx-vision", reality)
        key = KeyId("0e8e5e2c-3b8d-4b0c-9a5f-1e2d3c4b5a69")
        assert connection_link(key, template) == (
            "vless://0e8e5e2c-3b8d-4b0c-9a5f-1e2d3c4b5a69@fi.keyland.example:443"
            "?encryption=none&type=tcp&security=reality&sni=www.example.com&fp=chrome"
            "&pbk=gk4QIYbbI8a--OYe1Rzo9wiFHSgqkii0AbN9BY05rzQ&sid=6ba85179e30d4fc2"
            "&flow=xtls-rprx-vision#Keyland-finland"
        )

    def test_ipv6_host_is_bracketed(self) -> None:
        link = connection_link(KeyId(new_key()), LinkTemplate("finland", "2001:db8::1", 443))
        assert "@[2001:db8::1]:443?" in link

    def test_record_is_the_truth_for_xray(self) -> None:
        a, b, c = (KeyId(new_key()) for _ in range(3))
        changes = changes_needed([a, b], [b.upper(), c, ""])
        assert changes.to_add == (a,)
        assert changes.to_remove == (c,)
        assert not changes_needed([a], [a.upper()])


NODE_ENVIRONMENT = {
    "KEYLAND_NODE_TOKEN": "t" * 24,
    "KEYLAND_NODE_COUNTRY": "finland",
    "KEYLAND_NODE_PUBLIC_HOST": "fi.keyland.example",
    "KEYLAND_NODE_PUBLIC_PORT": "443",
}


class TestConfig:
    @pytest.fixture(autouse=True)
    def environment(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        monkeypatch.chdir(tmp_path)  # no .env from the working tree
        for name in list(os.environ):
            if name.startswith("KEYLAND_NODE_"):
                monkeypatch.delenv(name)
        for name, value in NODE_ENVIRONMENT.items():
            monkeypatch.setenv(name, value)

    def test_token_is_secret(self) -> None:
        settings = load(NodeAgentSettings)
        assert isinstance(settings.token, SecretStr)
        assert "t" * 24 not in repr(settings)

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("KEYLAND_NODE_TOKEN", "short"),
            ("KEYLAND_NODE_PUBLIC_PORT", "https"),
            ("KEYLAND_NODE_XRAY_API", "no port"),
            ("KEYLAND_NODE_SECURITY", "tls"),
        ],
    )
    def test_malformed_variable_is_named(
        self, monkeypatch: pytest.MonkeyPatch, name: str, value: str
    ) -> None:
        monkeypatch.setenv(name, value)
        with pytest.raises(ConfigError, match=name):
            load(NodeAgentSettings)

    def test_missing_token_is_named(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("KEYLAND_NODE_TOKEN")
        with pytest.raises(ConfigError, match="KEYLAND_NODE_TOKEN"):
            load(NodeAgentSettings)

    def test_example_env_file_is_a_valid_reality_node(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for line in (INFRA_DIR / "node-agent.env.example").read_text().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.partition("=")
                monkeypatch.setenv(name, value)
        settings = load(NodeAgentSettings)
        assert settings.security == "reality"
        link = connection_link(KeyId(new_key()), link_template(settings))
        assert "security=reality" in link
        assert link.endswith("#Keyland-finland")

    def test_reality_needs_its_keys(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("KEYLAND_NODE_SECURITY", "reality")
        monkeypatch.setenv("KEYLAND_NODE_REALITY_SERVER_NAME", "www.example.com")
        with pytest.raises(ConfigError, match="KEYLAND_NODE_REALITY_PUBLIC_KEY") as refused:
            load(NodeAgentSettings)
        assert "KEYLAND_NODE_REALITY_SHORT_ID" in str(refused.value)
        assert "KEYLAND_NODE_REALITY_SERVER_NAME" not in str(refused.value)
