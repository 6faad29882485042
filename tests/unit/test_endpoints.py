"""The containers the test harness asks for (``KEYLAND_TEST_CONTAINERS=1``) need Docker."""

from __future__ import annotations

import pytest

from tests.endpoints import CONTAINERS, real_endpoints


def test_containers_asked_for_without_docker_skip_saying_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(CONTAINERS, "1")
    monkeypatch.setenv("PATH", "")  # no docker command, as on a machine without Docker
    with pytest.raises(pytest.skip.Exception, match="no Docker engine"), real_endpoints():
        pass
