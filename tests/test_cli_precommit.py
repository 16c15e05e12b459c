"""The pre-commit hooks: check (with the project's schema), fmt and test, as pre-commit runs them."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from segdsl import cli

ROOT = Path(__file__).resolve().parent.parent
yaml = pytest.importorskip("yaml")
HOOKS = {hook["id"]: hook for hook in
         yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}


def run_hook(hook_id: str, files: list[str]) -> int:
    """Run a hook's entry as pre-commit does: the files that match, unless pass_filenames is off."""
    hook = HOOKS[hook_id]
    matching = [f for f in files if re.search(hook["files"], f)]
    words = shlex.split(hook["entry"])[1:]
    return cli.main(words + (matching if hook.get("pass_filenames", True) else []))


@pytest.fixture
def repository(tmp_path: Path, monkeypatch) -> Path:
    """A repository with a project file and schema, a rule file and its tests."""
    monkeypatch.chdir(tmp_path)
    assert cli.main(["init"]) == 0
    return tmp_path


def test_the_hooks_cover_check_fmt_and_test():
    """segdsl-check, segdsl-fmt, segdsl-fmt-check and segdsl-test are declared, in Python."""
    assert sorted(HOOKS) == ["segdsl-check", "segdsl-fmt", "segdsl-fmt-check", "segdsl-test"]
    assert {hook["language"] for hook in HOOKS.values()} == {"python"}
    assert HOOKS["segdsl-test"]["pass_filenames"] is False


def test_the_check_hook_uses_the_projects_schema(repository, capsys):
    """A misspelt event type in a committed file fails segdsl-check through the schema."""
    (repository / "rules" / "bad.seg").write_text('segment b = events("vist", 30d) > 1\n')
    files = ["rules/bad.seg", "rules/undecided.seg", "README.md"]
    assert run_hook("segdsl-check", files) == 1
    assert "rules/bad.seg:1:20: 'vist' is never a value of 'type'" in capsys.readouterr().err


def test_the_fmt_and_test_hooks(repository, capsys):
    """fmt-check fails on a messy file, fmt fixes it, and test runs the project's tests."""
    (repository / "rules" / "messy.seg").write_text("segment m=visits(7d)>1\n")
    files = ["rules/messy.seg", "rules/undecided.segtest.toml"]
    assert run_hook("segdsl-fmt-check", files) == 1
    assert run_hook("segdsl-fmt", files) == 0
    assert run_hook("segdsl-fmt-check", files) == 0
    assert run_hook("segdsl-test", files) == 0
    assert capsys.readouterr().err.splitlines()[-1] == "1 passed in 1 file"
