"""The wheel built from the repository carries the grammar and parses rules
once installed in a fresh virtual environment, away from the source tree.

Part of the normal test run: building the wheel (in an isolated build
environment) and installing it takes some 15 seconds.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path
from typing import NamedTuple

import pytest

REPO = Path(__file__).resolve().parent.parent

# What the wheel is built from is the repository minus tests, examples and
# caches; copying keeps the build's scratch files out of the working tree.
NOT_PACKAGED = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis",
    ".pytest_cache", ".benchmarks", "benchmarks", "examples", "tests")

# The runtime dependencies, lent to the fresh environment so it needs no index.
DEPENDENCIES = ("lark", "attr", "attrs", "dateutil", "six")

PROBE = """
import importlib.resources, json, sys
import segdsl
grammar = importlib.resources.files("segdsl") / "grammar" / "segdsl.lark"
tree = segdsl.parse('segment vip = spent(365d) > 500 and country in ["FR", "BE"]')
try:
    segdsl.parse_expression("a and")
except segdsl.ParseError as error:
    message = error.render()
print(json.dumps({"package": segdsl.__file__, "grammar": grammar.is_file(),
                  "names": [s.name for s in tree.statements], "error": message}))
"""


def run(command: list[str], cwd: Path) -> str:
    """Run ``command``; its output, or a failure that shows what it printed."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def build_wheel(workdir: Path) -> Path:
    """A wheel built from a copy of the repository."""
    source = workdir / "source"
    shutil.copytree(REPO, source, ignore=NOT_PACKAGED)
    run([sys.executable, "-m", "build", "--wheel", "--outdir", str(workdir / "dist"), str(source)],
        cwd=workdir)
    (wheel,) = (workdir / "dist").glob("segdsl-*.whl")
    return wheel


def fresh_environment(path: Path) -> Path:
    """A new virtual environment that sees the dependencies, but not segdsl, of this one."""
    venv.create(path)  # without pip: this environment's pip installs into it, much faster
    python = path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site_packages = run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                        cwd=path).strip()
    homes = {str(Path(importlib.util.find_spec(name).origin).parent.parent)
             for name in DEPENDENCIES if importlib.util.find_spec(name) is not None}
    # Paths listed in a .pth file come after the environment's own packages,
    # and .pth files inside them are not run: an editable segdsl there is inert.
    Path(site_packages, "borrowed_dependencies.pth").write_text("\n".join(sorted(homes)) + "\n")
    return python


class Installed(NamedTuple):
    """A built wheel and the python of a fresh environment it is installed in."""

    wheel: Path
    python: Path


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    """The wheel built from the repository, installed in a fresh environment."""
    workdir = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(workdir)
    python = fresh_environment(workdir / "env")
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
         "--no-index", str(wheel)], cwd=workdir)
    return Installed(wheel, python)


def test_wheel_contains_the_grammar(installed):
    """The wheel ships the grammar as segdsl/grammar/segdsl.lark."""
    with zipfile.ZipFile(installed.wheel) as archive:
        names = archive.namelist()
    assert "segdsl/grammar/segdsl.lark" in names
    assert "segdsl/parser.py" in names and "segdsl/syntax_errors.py" in names


def test_installed_wheel_parses_rules_outside_the_repository(tmp_path, installed):
    """Run from an unrelated directory, the installed package parses and explains errors."""
    output = json.loads(run([str(installed.python), "-I", "-c", PROBE], cwd=tmp_path))
    environment = installed.python.parent.parent
    assert Path(output["package"]).is_relative_to(environment)
    assert output["grammar"] is True
    assert output["names"] == ["vip"]
    assert output["error"].startswith("<rule>:1:3: expected an expression after 'and'")
