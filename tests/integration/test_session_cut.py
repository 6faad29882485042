"""A disabled user's open connections end; the other users' connections do not.

Two real nodes (official Xray + the agent, reading Xray's access log) and real VLESS
clients (Xray processes). On each node a control user holds one endless download open
for the whole test, while another user, enabled again each round, holds a download open
across its own revocation: that download must end within the issue's 5 s, the control's
must go on, and Xray is never restarted.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from keyland_tools.stack.node import Node
from keyland_tools.stack.vless_client import PageServer, VlessClient
from tests.nodes import agent_client, start_node

REVOCATIONS_PER_NODE = 50  # on each of the two nodes
CUT_WITHIN_S = 5.0  # the bound, as a bound on behaviour (cuts take milliseconds)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Node]]:
    state = tmp_path_factory.mktemp("state")
    started: list[Node] = []
    try:
        for name in ("finland", "sweden"):
            started.append(start_node(state, name))
        yield started
    finally:
        for node in started:
            node.stop()


@pytest.fixture(scope="module")
def page() -> Iterator[PageServer]:
    with PageServer() as server:
        yield server


def enable(api: httpx.Client, key: str) -> str:
    response = api.put(f"/v1/users/{key}")
    assert response.status_code == 200, response.text
    link: str = response.json()["link"]
    return link


def xray_pid(node: Node) -> int | None:
    return node.xray.daemon.pid()


def test_revoked_downloads_end_and_the_control_users_go_on(
    nodes: list[Node], page: PageServer, tmp_path: Path
) -> None:
    cut_times: dict[str, list[float]] = {}
    for node in nodes:
        pid_before = xray_pid(node)
        with agent_client(node) as api:
            control_key, revoked_key = str(uuid.uuid4()), str(uuid.uuid4())
            with (
                VlessClient(enable(api, control_key), node.xray.build, tmp_path) as control,
                VlessClient(enable(api, revoked_key), node.xray.build, tmp_path) as revoked,
            ):
                control_stream = control.download(page)
                times = cut_times.setdefault(node.name, [])
                for _ in range(REVOCATIONS_PER_NODE):
                    enable(api, revoked_key)
                    stream = revoked.download(page)
                    started = time.monotonic()
                    assert api.delete(f"/v1/users/{revoked_key}").status_code == 200
                    ended = stream.ends_within(CUT_WITHIN_S)
                    times.append(time.monotonic() - started)
                    stream.close()
                    assert ended, "the revoked download went on"
                    assert control_stream.streams(within_s=5.0), "the control download ended"
                assert not control_stream.ends_within(1.0), "the control download ended"
                control_stream.close()
        assert xray_pid(node) == pid_before, "Xray was restarted"

    for name, times in cut_times.items():
        p99 = statistics.quantiles(times, n=100, method="inclusive")[98]
        print(
            f"{name}: {len(times)} revocations, cut p50 {statistics.median(times):.3f} s, "
            f"p99 {p99:.3f} s, max {max(times):.3f} s"
        )
