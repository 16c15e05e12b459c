"""The segdsl command end to end: check, eval and explain on the example data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
JSONL = str(EXAMPLES / "data" / "customers.jsonl")
CSV = str(EXAMPLES / "data" / "customers.csv")
NOW = "2026-07-15T12:00:00Z"


def segdsl(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run the command line in a subprocess, as a user would."""
    return subprocess.run([sys.executable, "-m", "segdsl", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_eval_prints_the_size_table():
    """eval prints every segment's size and share, then the count and the time."""
    run = segdsl("eval", "examples/lifecycle.seg", "--data", JSONL, "--now", NOW)
    assert run.returncode == 0, run.stderr
    assert run.stdout == (
        "segment         customers  share\n"
        "--------------  ---------  -----\n"
        "new_customers         342  17.1%\n"
        "active                458  22.9%\n"
        "at_risk               507  25.4%\n"
        "churned               265  13.3%\n"
        "prospects             417  20.9%\n"
        "champions             240  12.0%\n"
        "cant_lose_them         50   2.5%\n"
        "hibernating           472  23.6%\n"
        "\n"
        "2,000 customers evaluated at 2026-07-15T12:00:00Z\n"
    )
    assert run.stderr == ""


def test_eval_from_csv_agrees_with_json_lines():
    """The CSV files and the JSON Lines file hold the same customers."""
    from_jsonl = segdsl("eval", "examples/summer_sale.seg", "--data", JSONL, "--now", NOW,
                        "--format", "json")
    from_csv = segdsl("eval", "examples/summer_sale.seg", "--data", CSV, "--now", NOW,
                      "--format", "json")
    assert from_jsonl.returncode == from_csv.returncode == 0
    assert json.loads(from_jsonl.stdout) == json.loads(from_csv.stdout)


def test_eval_members_as_csv():
    """--format csv lists one segment,customer_id row per member."""
    run = segdsl("eval", "examples/summer_sale.seg", "--data", JSONL, "--now", NOW,
                 "--segment", "undecided", "--format", "csv")
    lines = run.stdout.splitlines()
    assert lines[:4] == ["segment,customer_id", "undecided,8", "undecided,18", "undecided,52"]
    assert len(lines) == 1 + 153


def test_eval_members_as_json():
    """--format json gives now, total, sizes and member ids."""
    run = segdsl("eval", "examples/lifecycle.seg", "--data", JSONL, "--now", "2026-07-15",
                 "--segment", "churned", "--format", "json")
    document = json.loads(run.stdout)
    assert document["now"] == "2026-07-15T00:00:00Z"
    assert document["total"] == 2000
    assert list(document["sizes"]) == ["churned"]
    assert len(document["members"]["churned"]) == document["sizes"]["churned"]


def test_explain_prints_the_tree():
    """explain shows each sub-expression of the segment and its value for the customer."""
    run = segdsl("explain", "examples/summer_sale.seg", "undecided", "--data", JSONL,
                 "--customer", "8", "--now", NOW)
    assert run.returncode == 0, run.stderr
    assert run.stdout == (
        "undecided -> true\n"
        "└── visits(30d) >= 10 and not purchased(30d) -> true\n"
        "    ├── visits(30d) >= 10 -> true\n"
        "    │   └── visits(30d) = 21\n"
        "    └── not purchased(30d) -> true\n"
        "        └── purchased(30d) -> false\n"
    )


def test_explain_ranks_against_the_whole_data():
    """RFM scores in an explanation are computed over all the customers of DATA."""
    run = segdsl("explain", "examples/summer_sale.seg", "loyal_buyers", "--data", CSV,
                 "--customer", "1", "--now", NOW)
    assert run.returncode == 0, run.stderr
    assert "rfm.frequency = 5" in run.stdout


def test_check_passes_the_examples():
    """The example rule files have no error and no warning."""
    run = segdsl("check", "examples/summer_sale.seg", "examples/lifecycle.seg")
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "no problems in 2 files\n")


def test_check_reports_every_error_and_warning(tmp_path):
    """check reports all problems of every file, in order, and exits 1."""
    bad = tmp_path / "bad.seg"
    bad.write_text('segment a = vists(30d) > 1\n\nsegment b = country != "FR"\n')
    run = segdsl("check", str(bad), "examples/lifecycle.seg")
    assert run.returncode == 1
    assert run.stderr == (
        f"{bad}:1:13: unknown function 'vists'\n"
        "  segment a = vists(30d) > 1\n"
        "              ^^^^^^^^^^\n"
        "  hint: did you mean 'visits'?\n"
        f"{bad}:3:13: warning: customers whose country is null are left out: the negation is "
        "unknown, not true, for them\n"
        '  segment b = country != "FR"\n'
        "              ^^^^^^^^^^^^^^^\n"
        "  hint: add 'or country is null' to keep them\n"
        "1 error, 1 warning in 2 files\n"
    )


def test_check_with_only_warnings_succeeds(tmp_path):
    """Warnings are shown but do not fail the check."""
    rules = tmp_path / "warn.seg"
    rules.write_text('segment b = country not in ["FR"]\n')
    run = segdsl("check", str(rules))
    assert run.returncode == 0
    assert "warning: customers whose country is null are left out" in run.stderr


@pytest.mark.parametrize("args, message", [
    (("eval", "missing.seg", "--data", JSONL), "segdsl: missing.seg: no such file\n"),
    (("eval", "examples/lifecycle.seg", "--data", "nowhere.jsonl"),
     "segdsl: nowhere.jsonl: no such file\n"),
    (("eval", "examples/lifecycle.seg", "--data", JSONL, "--now", "soon"),
     "segdsl: now must be a date or datetime such as 2026-07-15 or 2026-07-15T12:00:00Z, "
     "not 'soon'\n"),
    (("eval", "examples/lifecycle.seg", "--data", JSONL, "--segment", "vip"),
     "segdsl: no segment named 'vip'; the segments are new_customers, active, at_risk, churned, "
     "prospects, champions, cant_lose_them, hibernating\n"),
    (("explain", "examples/lifecycle.seg", "active", "--data", JSONL, "--customer", "999999"),
     f"segdsl: {JSONL}: no customer with id 999999\n"),
])
def test_bad_input_is_one_line_and_status_2(args, message):
    """Bad files, dates and names give one line on stderr and exit status 2."""
    run = segdsl(*args)
    assert (run.returncode, run.stdout, run.stderr) == (2, "", message)


def test_unreadable_json_names_the_line(tmp_path):
    """A broken JSON Lines file is reported with its line number."""
    data = tmp_path / "customers.jsonl"
    data.write_text('{"id": 1}\n{"id": 2,,}\n')
    run = segdsl("eval", "examples/lifecycle.seg", "--data", str(data), "--now", NOW)
    assert run.returncode == 2
    assert run.stderr == (f"segdsl: {data}:2: not valid JSON (Expecting property name enclosed "
                          f"in double quotes at column 10)\n")


def test_csv_without_id_column(tmp_path):
    """A customers CSV without an id column is refused with the columns it has."""
    data = tmp_path / "customers.csv"
    data.write_text("name,country\nAda,FR\n")
    run = segdsl("eval", "examples/lifecycle.seg", "--data", str(data), "--now", NOW)
    assert run.returncode == 2
    assert run.stderr == f"segdsl: {data}: no id column (the columns are name, country)\n"


def test_usage_errors_exit_2():
    """eval without data (no --data, no project file naming one) is a usage error, status 2."""
    run = segdsl("eval", "examples/lifecycle.seg", "--isolated")
    assert (run.returncode, run.stdout, run.stderr) == (
        2, "", 'segdsl: eval needs --data DATA (or data = "..." in the project file)\n')


def test_version():
    """--version names the package and its version."""
    run = segdsl("--version")
    assert run.returncode == 0 and run.stdout.startswith("segdsl ")


def test_eval_shows_warnings_on_stderr(tmp_path):
    """eval warns, like check, about negations that drop customers with nulls."""
    rules = tmp_path / "warn.seg"
    rules.write_text('segment b = country not in ["FR"]\n')
    run = segdsl("eval", str(rules), "--data", JSONL, "--now", NOW)
    assert run.returncode == 0
    assert "warning: customers whose country is null are left out" in run.stderr


def test_eval_refuses_customers_without_id_as_csv_does(tmp_path):
    """Customers without ids are refused by eval, naming the first one's position, as in Python."""
    data = tmp_path / "customers.json"
    data.write_text(json.dumps([{"country": "FR"}, {"country": "BE"}]))
    rules = tmp_path / "be.seg"
    rules.write_text('segment be = country == "BE"\n')
    listed = segdsl("eval", str(rules), "--data", str(data), "--now", NOW, "--format", "csv")
    assert listed.returncode == 2
    assert "the customer at position 0 has no id field" in listed.stderr


def test_eval_notes_fields_no_customer_has(tmp_path):
    """A misspelt field (no schema) matches no one; eval says so, with a suggestion."""
    rules = tmp_path / "typo.seg"
    rules.write_text('segment a = contry == "FR"\nsegment b = sum(orders.totl) > 100\n')
    run = segdsl("eval", str(rules), "--data", JSONL, "--now", NOW)
    assert run.returncode == 0
    assert run.stderr == (
        f"{rules}:1:13: warning: no customer has a field 'contry'\n"
        '  segment a = contry == "FR"\n'
        "              ^^^^^^\n"
        "  hint: did you mean 'country'?\n"
        f"{rules}:2:13: warning: no customer has a field 'totl'\n"
        "  segment b = sum(orders.totl) > 100\n"
        "              ^^^^^^^^^^^^^^^^\n"
        "  hint: did you mean 'total'?\n"
    )
