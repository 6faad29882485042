"""Production runs the local stack's programs as systemd template units, N instances each
(``keyland-<service>@<instance>``)."""

from __future__ import annotations

import configparser
import importlib.util
import re
import tomllib
from pathlib import Path

import pytest

from keyland_tools.stack.services import ROOT, service_specs
from keyland_tools.stack.settings import StackSettings

UNITS = sorted((ROOT / "infra" / "systemd").glob("*.service"))
TEMPLATES = [path for path in UNITS if path.name.endswith("@.service")]
PYTHON = "/opt/keyland/.venv/bin/python"


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


def program(path: Path) -> tuple[str, tuple[str, ...]]:
    python, flag, module, *args = unit(path)["Service"]["ExecStart"].split()
    assert (python, flag) == (PYTHON, "-m")
    return module, tuple(args)


def test_every_service_of_the_local_stack_has_a_unit_and_no_unit_is_extra(
    tmp_path: Path,
) -> None:
    ours = {
        (spec.module, spec.args)
        for spec in service_specs(StackSettings(state_dir=tmp_path))
        if spec.module.startswith("services.")
    }
    assert {program(path) for path in UNITS} == ours
    assert TEMPLATES == UNITS


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.stem)
def test_unit_restarts_always_and_runs_an_existing_module(path: Path) -> None:
    service = unit(path)["Service"]
    assert service["Restart"] == "always"
    environment = re.findall(r"^EnvironmentFile=(.*)$", path.read_text(), flags=re.MULTILINE)
    # The shared settings, then the instance's own (optional, hence "-"), which win.
    assert environment == ["/etc/keyland/keyland.env", "-/etc/keyland/%p@%i.env"]
    # Two instances on one host never share a state directory.
    assert service.get("StateDirectory", "-%i").endswith("-%i")
    module, _ = program(path)
    assert importlib.util.find_spec(module) is not None
    assert unit(path)["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.parametrize(
    "path", [*UNITS, ROOT / "infra" / "xray" / "keyland-node-agent.service"], ids=lambda p: p.stem
)
def test_unit_installs_its_own_service_extra(path: Path) -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    module, _ = program(path)
    named = re.findall(r"pip install -c constraints\.txt '\.\[([a-z-]+)\]'", path.read_text())
    assert named == [module.removeprefix("services.").replace("_", "-")]
    assert named[0] in extras
