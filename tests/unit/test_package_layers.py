"""Which package may import which: the runtime (``keyland``), the event vocabulary
(``events``) and the services never import the tooling (``keyland_tools``), and no service
imports another service's package. Every import counts, a deferred one inside a function
too."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("keyland", "events", "services")
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists())


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported(path: Path, root: Path = ROOT) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in the file, relative ones resolved."""
    package = path.relative_to(root).with_suffix("").parts[:-1]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield from ((node.lineno, f"{module}.{alias.name}") for alias in node.names)


def offending(paths: list[Path], forbidden: tuple[str, ...], root: Path = ROOT) -> list[str]:
    return [
        f"{path.relative_to(root)}:{line} imports {name}"
        for path in paths
        for line, name in imported(path, root)
        if any(name == f or name.startswith(f"{f}.") for f in forbidden)
    ]


def test_the_packages_are_where_the_test_looks() -> None:
    assert {"bot", "notifier", "payments_ingest", "provisioner", "subscription"} <= set(SERVICES)
    assert all(modules(package) for package in PRODUCT)
    assert modules("keyland_tools")


@pytest.mark.parametrize("package", PRODUCT)
def test_the_product_never_imports_the_tooling(package: str) -> None:
    assert offending(modules(package), ("keyland_tools",)) == []


@pytest.mark.parametrize("package", ["keyland", "events"])
def test_the_runtime_and_the_events_import_no_service(package: str) -> None:
    assert offending(modules(package), ("services",)) == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    others = tuple(f"services.{other}" for other in SERVICES if other != service)
    assert offending(modules(f"services/{service}"), others) == []


def test_the_check_sees_deferred_and_relative_imports(tmp_path: Path) -> None:
    probe = tmp_path / "services" / "bot" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text(
        "from . import texts\n"
        "from ..notifier import config\n"
        "def later() -> None:\n"
        "    import keyland_tools.cli\n"
    )
    assert offending([probe], ("services.notifier", "keyland_tools"), tmp_path) == [
        "services/bot/probe.py:2 imports services.notifier.config",
        "services/bot/probe.py:4 imports keyland_tools.cli",
    ]
    assert offending([probe], ("services.bot",), tmp_path) == [
        "services/bot/probe.py:1 imports services.bot.texts"
    ]
