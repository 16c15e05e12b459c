"""A pytest plugin collecting rule unit tests (``*.segtest.toml``), one item per case.

Installed with segdsl (entry point ``pytest11``), so ``pytest examples`` runs
the same cases as ``segdsl test examples``, with the rules' options from the
project file found from the current directory. A test file that does not
check is a collection error showing the error with its caret.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from segdsl.testing import Case

# The test runner is imported only when a test file is met: once segdsl is
# installed, every pytest run loads this plugin, and most have no rule tests.
SUFFIX = ".segtest.toml"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect ``*.segtest.toml`` files."""
    if file_path.name.endswith(SUFFIX):
        return SegtestFile.from_parent(parent, path=file_path)
    return None


class SegtestFile(pytest.File):
    """A rule test file; its cases are the items."""

    def collect(self):
        from segdsl.errors import SegdslError
        from segdsl.project import Project
        from segdsl.testing import load_cases

        try:
            cases = load_cases(self.path, Project.find().options())
        except SegdslError as error:
            raise self.CollectError(error.render()) from None
        for case in cases:
            yield SegtestItem.from_parent(self, name=case.name, case=case)


class SegtestFailure(Exception):
    """A case whose memberships or values are not the expected ones."""


class SegtestItem(pytest.Item):
    """One case of a rule test file."""

    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        from segdsl.testing import run_case

        outcome = run_case(self.case)
        if not outcome.passed:
            raise SegtestFailure(outcome.render())

    def repr_failure(self, excinfo, style=None):  # type: ignore[no-untyped-def]
        if isinstance(excinfo.value, SegtestFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):  # type: ignore[no-untyped-def]
        return self.path, self.case.line - 1, f"{Path(self.case.file).name}: {self.case.name}"
