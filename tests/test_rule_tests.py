"""Rule unit tests (*.segtest.toml): the examples' tests, failures, checked test files, pytest."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from command_line import run

from segdsl import cli
from segdsl.testing import load_cases, run_case

ROOT = Path(__file__).resolve().parent.parent
RULES = 'segment undecided = visits(30d) >= 10 and not purchased(30d)\n' \
        'segment buyers = purchased(30d)\n'
HEADER = '''now = 2026-07-15T12:00:00Z

[[case]]
name = "one visit is not enough"

[[case.customers]]
id = 7
events = [{ type = "visit", at = 2026-07-10T08:00:00Z }]
'''


@pytest.fixture
def suite(tmp_path: Path, monkeypatch) -> Path:
    """A directory with a rule file; the test writes rules.segtest.toml beside it."""
    (tmp_path / "rules.seg").write_text(RULES)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_tests(directory: Path, expectations: str) -> Path:
    """rules.segtest.toml holding the one-customer case and ``expectations``."""
    path = directory / "rules.segtest.toml"
    path.write_text(HEADER + expectations)
    return path


@pytest.mark.parametrize("name", ["summer_sale", "lifecycle"])
def test_the_examples_tests_pass(name):
    """Every case shipped beside the example rules passes."""
    cases = load_cases(ROOT / "examples" / f"{name}.segtest.toml")
    assert cases and all(run_case(case).passed for case in cases)


def test_segdsl_test_runs_the_examples(capsys, monkeypatch):
    """segdsl test examples finds both test files, runs the ten cases, exit 0."""
    monkeypatch.chdir(ROOT)
    assert run(capsys, "test", "examples", "-v") == (0, (
        "PASS examples/lifecycle.segtest.toml:4: a first order this month is new; no order yet "
        "is a prospect\n"
        "PASS examples/lifecycle.segtest.toml:22: the last order's age decides between active, "
        "at risk and churned\n"
        "PASS examples/lifecycle.segtest.toml:50: RFM groups: champions, can't lose them, "
        "hibernating among five customers\n"
        "PASS examples/summer_sale.segtest.toml:5: ten visits in 30 days and no order is "
        "undecided; an order takes the customer out\n"
        "PASS examples/summer_sale.segtest.toml:47: a visit 30 days and one minute before now is "
        "outside visits(30d)\n"
        "PASS examples/summer_sale.segtest.toml:62: shoes twice in a year make a repeat shoe "
        "buyer; a discounted item a discount buyer\n"
        "PASS examples/summer_sale.segtest.toml:87: the sales are whole days, both ends "
        "included\n"
        "PASS examples/summer_sale.segtest.toml:106: abandoning a cart during the sale without "
        "buying during it\n"
        "PASS examples/summer_sale.segtest.toml:126: a recommendation click without an order in "
        "30 days\n"
        "PASS examples/summer_sale.segtest.toml:141: RFM scores rank among the case's five "
        "customers: one of each quintile\n"), "10 passed in 2 files\n")


def test_a_failure_shows_expected_actual_and_the_explanation_tree(capsys, suite):
    """A failed case prints the case, what was expected, what is, and the customer's tree; exit 1."""
    write_tests(suite, '[[case.expect]]\ncustomer = 7\nin = ["undecided"]\nnot_in = ["buyers"]\n'
                       'values = { "visits(30d)" = 12 }\n')
    assert run(capsys, "test") == (1, (
        "FAIL rules.segtest.toml:3: one visit is not enough (now 2026-07-15T12:00:00Z)\n"
        "  customer 7 should be in undecided, but is not\n"
        "    undecided -> false\n"
        "    └── visits(30d) >= 10 and not purchased(30d) -> false\n"
        "        ├── visits(30d) >= 10 -> false\n"
        "        │   └── visits(30d) = 1\n"
        "        └── not purchased(30d) -> not evaluated\n"
        "  customer 7: visits(30d) should be 12, but is 1\n"), "1 failed in 1 file\n")


def test_members_lists_exactly_the_members(capsys, suite):
    """[case.members] fails for a customer who is a member but not listed."""
    write_tests(suite, '[case.members]\nundecided = []\nbuyers = [7]\n')
    status, out, err = run(capsys, "test", "rules.segtest.toml")
    assert (status, err) == (1, "1 failed in 1 file\n")
    assert out.splitlines()[1:3] == ["  customer 7 should be in buyers, but is not",
                                     "    buyers -> false"]


@pytest.mark.parametrize("expectations, message", [
    ('[[case.expect]]\ncustomer = 7\nin = ["undecidd"]\n',
     ("rules.segtest.toml:11:7: unknown segment 'undecidd'\n"
     '  in = ["undecidd"]\n'
     "        ^^^^^^^^^^\n"
     "  hint: did you mean 'undecided'?\n")),
    ('[case.members]\nbuyers = [8]\n',
     ("rules.segtest.toml:10:11: the case has no customer with id 8\n"
     "  buyers = [8]\n"
     "            ^\n"
     "  hint: its customers are 7\n")),
    ('[[case.expect]]\ncustomer = 7\nvalues = { "vists(30d) + 1" = 2 }\n',
     ("rules.segtest.toml:11:13: unknown function 'vists'\n"
     '  values = { "vists(30d) + 1" = 2 }\n'
     "              ^^^^^^^^^^\n"
     "  hint: did you mean 'visits'?\n")),
    ('[[case.expect]]\ncustomer = 7\nnot_in = ["buyers"]\nexpected = true\n',
     ("rules.segtest.toml:12:1: unknown key 'expected' in an expectation\n"
     "  expected = true\n"
     "  ^^^^^^^^\n"
     "  hint: expected one of customer, in, not_in, values\n")),
])
def test_test_files_are_checked_like_rules(capsys, suite, expectations, message):
    """A test naming what the rules or the case do not have is an error placed in the file."""
    write_tests(suite, expectations)
    assert run(capsys, "test") == (1, "", message + "0 passed, 1 error in 1 file\n")


def test_a_case_without_now_is_an_error(capsys, suite):
    """A case must give its time: a test never depends on the clock."""
    (suite / "rules.segtest.toml").write_text(HEADER.replace("now = 2026-07-15T12:00:00Z\n", "")
                                              + '[case.members]\nbuyers = []\n')
    status, _, err = run(capsys, "test")
    assert status == 1
    assert err.splitlines()[0] == "rules.segtest.toml:2:1: the case has no now"


def test_a_missing_test_file_is_status_2_and_the_others_run(capsys, suite):
    """A test file that does not exist is reported; the others still run; exit 2."""
    write_tests(suite, '[case.members]\nbuyers = []\n')
    assert run(capsys, "test", "missing.segtest.toml", "rules.segtest.toml") == (
        2, "", "segdsl: missing.segtest.toml: no such file\n1 passed in 1 file\n")


PYTEST_CASES = HEADER + '[case.members]\nbuyers = []\n\n' + HEADER.split("\n", 2)[2].replace(
    "one visit is not enough", "one visit is undecided") + '[case.members]\nundecided = [7]\n'


def test_pytest_collects_the_same_cases(suite):
    """With the plugin, pytest runs each case as an item and shows the failure's tree."""
    (suite / "rules.segtest.toml").write_text(PYTEST_CASES)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "segdsl.pytest_plugin",
                           "-p", "no:cacheprovider", "-q", "rules.segtest.toml"],
                          cwd=suite, capture_output=True, text=True, timeout=120, check=False,
                          # Installed, segdsl registers the plugin itself: load it once, by -p.
                          env={"PYTHONPATH": str(ROOT), "PATH": "",
                               "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "customer 7 should be in undecided, but is not\n    undecided -> false\n" \
        in done.stdout
    assert done.stdout.splitlines()[-1].startswith("1 failed, 1 passed")


def test_the_plugin_is_a_pytest_entry_point():
    """pyproject.toml registers the plugin under pytest11, so an installed segdsl adds it."""
    from segdsl import pytest_plugin, testing

    metadata = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert metadata["project"]["entry-points"]["pytest11"] == {"segdsl": "segdsl.pytest_plugin"}
    assert pytest_plugin.SUFFIX == testing.SUFFIX


def test_the_format_shown_by_test_help_is_a_passing_test_file(suite):
    """The test file sketched in `segdsl test --help` loads, checks and passes."""
    body = "\n".join(line[2:] for line in cli._TEST_FILE_FORMAT.splitlines()[1:])
    (suite / "rules.segtest.toml").write_text(body)
    cases = load_cases(suite / "rules.segtest.toml")
    assert [run_case(case).passed for case in cases] == [True]
