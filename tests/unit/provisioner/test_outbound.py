"""Node share links read into outbounds and written back, exactly as the agents write them."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.node_agent.domain.keys import KeyId
from services.node_agent.domain.links import LinkTemplate, RealityParams, connection_link
from services.provisioner.domain.outbound import (
    NotAShareLink,
    Reality,
    VlessOutbound,
    distinct_names,
    outbound_of_link,
    share_link,
    status_entry,
)

_label = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20)
_hosts = st.one_of(
    st.from_regex(r"\A[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20}){0,3}\Z"),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
)
_token = st.from_regex(r"\A[A-Za-z0-9_-]{1,44}\Z")
_reality = st.builds(
    RealityParams,
    public_key=_token,
    short_id=st.from_regex(r"\A[0-9a-f]{1,16}\Z"),
    server_name=st.from_regex(r"\A[a-z]{1,10}\.example\Z"),
    fingerprint=st.sampled_from(["chrome", "firefox", "safari"]),
)
_templates = st.builds(
    LinkTemplate,
    country=st.from_regex(r"\A[a-z]{1,12}\Z"),
    host=_hosts,
    port=st.integers(1, 65535),
    flow=st.sampled_from(["", "xtls-rprx-vision"]),
    reality=st.none() | _reality,
)


@given(st.uuids(), _templates)
def test_an_agents_link_reads_into_its_outbound_and_back(
    key: uuid.UUID, template: LinkTemplate
) -> None:
    link = connection_link(KeyId(str(key)), template)
    outbound = outbound_of_link(link)
    assert share_link(outbound) == link
    assert (outbound.host, outbound.port, outbound.key_id) == (template.host, template.port, key)
    assert outbound.name == f"Keyland-{template.country}"
    assert outbound.flow == template.flow
    if template.reality is None:
        assert outbound.reality is None
    else:
        assert outbound.reality == Reality(
            template.reality.public_key,
            template.reality.short_id,
            template.reality.server_name,
            template.reality.fingerprint,
        )


@given(st.uuids(), _hosts, st.integers(1, 65535), _label)
def test_any_name_survives_the_link(key: uuid.UUID, host: str, port: int, name: str) -> None:
    outbound = VlessOutbound(name, host, port, key)
    assert outbound_of_link(share_link(outbound)) == outbound


@given(st.text(max_size=80))
def test_any_text_is_an_outbound_or_refused_clearly(text: str) -> None:
    try:
        outbound_of_link(text)
    except NotAShareLink:
        return


@pytest.mark.parametrize(
    "link",
    [
        "vmess://abc",
        "vless://not-a-uuid@h:1?encryption=none&type=tcp&security=none",
        "vless://0e8e5e2c-3b8d-4b0c-9a5f-1e2d3c4b5a69@h?encryption=none&type=tcp&security=none",
        "vless://0e8e5e2c-3b8d-4b0c-9a5f-1e2d3c4b5a69@h:99999?encryption=none&type=tcp&security=none",
        "vless://0e8e5e2c-3b8d-4b0c-9a5f-1e2d3c4b5a69@h:1?encryption=none&type=ws&security=none",
        "vless://0e8e5e2c-3b8d-4b0c-9a5f-1e2d3c4b5a69@h:1?encryption=none&type=tcp&security=tls",
        "vless://0e8e5e2c-3b8d-4b0c-9a5f-1e2d3c4b5a69@h:1?encryption=none&type=tcp&security=reality",
        "vless://0e8e5e2c-3b8d-4b0c-9a5f-1e2d3c4b5a69@h:1?type=tcp&security=none",
    ],
)
def test_links_of_other_shapes_are_refused(link: str) -> None:
    with pytest.raises(NotAShareLink):
        outbound_of_link(link)


@given(st.lists(st.sampled_from(["a", "b", "a 2", "Keyland-finland"]), max_size=8))
def test_repeated_names_are_numbered_and_nothing_else_changes(names: list[str]) -> None:
    outbounds = [VlessOutbound(n, "h", 1 + i, uuid.UUID(int=i)) for i, n in enumerate(names)]
    named = distinct_names(outbounds)
    assert len({o.name for o in named}) == len(named)
    assert [o.named("") for o in named] == [o.named("") for o in outbounds]
    firsts: dict[str, str] = {}
    for original, renamed in zip(outbounds, named, strict=True):
        firsts.setdefault(original.name, renamed.name)
        assert renamed.name.startswith(original.name)
    assert all(firsts[n] == n for n in firsts)


def test_the_status_entry_leads_nowhere() -> None:
    entry = status_entry("Access ended — renew in @bot")
    assert (entry.host, entry.port, entry.key_id) == ("127.0.0.1", 1, uuid.UUID(int=0))
    assert outbound_of_link(share_link(entry)).name == "Access ended — renew in @bot"
