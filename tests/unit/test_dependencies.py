"""Each service's extra in pyproject.toml installs what the service imports, following
its imports into the runtime and the events; and every pin agrees with constraints.txt.
(tests/integration/test_node_agent_install.py installs the node agent's extra for real.)"""

from __future__ import annotations

import importlib.metadata as metadata
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.unit.test_package_layers import ROOT, SERVICES, imported

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
OURS = ("keyland", "keyland_tools", "events", "services", "emulators")


def module_file(name: str) -> Path | None:
    path = ROOT.joinpath(*name.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.exists():
            return candidate
    return None


def third_party_imports(start: Path) -> set[str]:
    """Top-level modules outside the project and the standard library that the files
    under ``start`` import, directly or through the project's own modules."""
    todo, seen, found = sorted(start.rglob("*.py")), set[Path](), set[str]()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for _, name in imported(path):
            top = name.split(".")[0]
            if top in OURS:
                parts = name.split(".")
                todo += [
                    found_file
                    for i in range(1, len(parts) + 1)
                    if (found_file := module_file(".".join(parts[:i]))) is not None
                ]
            elif top not in sys.stdlib_module_names and top != "__future__":
                found.add(top)
    return found


def installed_by(requirements: list[str]) -> set[str]:
    """The distributions ``pip install`` of these requirements brings (as installed here)."""
    todo = [Requirement(r) for r in requirements]
    names: set[str] = set()
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name == "keyland":
            todo += [Requirement(r) for e in requirement.extras for r in extra(e)]
            continue
        if name in names:
            continue
        names.add(name)
        for raw in metadata.requires(requirement.name) or []:
            needed = Requirement(raw)
            wanted = [{"extra": e} for e in requirement.extras] or [{"extra": ""}]
            if needed.marker is None or any(needed.marker.evaluate(w) for w in wanted):
                todo.append(needed)
    return names


def extra(name: str) -> list[str]:
    requirements: list[str] = PROJECT["optional-dependencies"][name]
    return requirements


def test_the_check_finds_deferred_imports_through_the_runtime() -> None:
    assert {"faust", "pymongo"} <= third_party_imports(ROOT / "services" / "subscription")
    assert "xray" in third_party_imports(ROOT / "services" / "node_agent")


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_extra_installs_everything_the_service_imports(service: str) -> None:
    distributions = metadata.packages_distributions()
    needed = {
        canonicalize_name(distributions[module][0])
        for module in third_party_imports(ROOT / "services" / service)
    }
    installed = installed_by([*PROJECT["dependencies"], *extra(service.replace("_", "-"))])
    assert needed - installed == set()


def test_the_node_agent_installs_nothing_of_kafka_the_database_or_telegram() -> None:
    installed = installed_by([*PROJECT["dependencies"], *extra("node-agent")])
    heavy = {"faust-streaming", "aiokafka", "pymongo", "psycopg", "aiogram", "yookassa"}
    assert installed & heavy == set()


def test_every_pin_agrees_with_the_constraints() -> None:
    constraints = {
        canonicalize_name(line.split("==")[0]): line.split("==")[1].strip()
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    extras = PROJECT["optional-dependencies"].values()
    pins = [Requirement(r) for r in [*PROJECT["dependencies"], *(r for e in extras for r in e)]]
    differing = {
        p.name: str(p.specifier)
        for p in pins
        if canonicalize_name(p.name) != "keyland"
        and str(p.specifier) != f"=={constraints.get(canonicalize_name(p.name))}"
    }
    assert differing == {}
