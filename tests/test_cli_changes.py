"""The ``changes`` and ``history`` verbs: output formats, agreement with the API, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from command_line import run

import segdsl

RULES = """\
segment undecided = visits(30d) >= 2 and not purchased(30d)
segment lapsed = last(orders.at) < now - 90d
"""
CUSTOMERS = [
    {"id": 1, "orders": [{"at": "2026-05-01T10:00:00Z", "total": 5}],
     "events": [{"type": "visit", "at": "2026-07-01T08:00:00Z"},
                {"type": "visit", "at": "2026-07-03T09:30:00Z"}]},
    {"id": 2, "orders": [], "events": []},
]
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def files(tmp_path):
    rules = tmp_path / "rules.seg"
    rules.write_text(RULES, encoding="utf-8")
    data = tmp_path / "customers.jsonl"
    data.write_text("".join(json.dumps(c) + "\n" for c in CUSTOMERS), encoding="utf-8")
    return str(rules), str(data)


def test_changes_table(capsys, files):
    """The table lists each change by instant, then the count and the interval."""
    rules, data = files
    status, out, err = run(capsys, "changes", rules, "--data", data, "--since", "2026-06-01",
                           "--until", "2026-09-01", "--isolated")
    assert (status, err) == (0, "")
    assert out == (
        "at                           customer_id  segment    event\n"
        "---------------------------  -----------  ---------  -------\n"
        "2026-07-03T09:30:00Z         1            undecided  entered\n"
        "2026-07-30T10:00:00.000001Z  1            lapsed     entered\n"
        "2026-07-31T08:00:00Z         1            undecided  exited\n"
        "\n"
        "3 changes of 2 customers from 2026-06-01T00:00:00Z to 2026-09-01T00:00:00Z\n")


def test_changes_csv_of_one_segment(capsys, files):
    """--segment and --format csv give that segment's changes, one per line."""
    rules, data = files
    status, out, _ = run(capsys, "changes", rules, "--data", data, "--since", "2026-06-01",
                         "--until", "2026-09-01", "--segment", "undecided", "--format", "csv",
                         "--isolated")
    assert status == 0
    assert out == ("customer_id,segment,event,at\n"
                   "1,undecided,entered,2026-07-03T09:30:00Z\n"
                   "1,undecided,exited,2026-07-31T08:00:00Z\n")


def test_changes_json_is_the_api_result(capsys, files):
    """--format json prints what Changes.to_dict gives."""
    rules, data = files
    status, out, _ = run(capsys, "changes", rules, "--data", data, "--since", "2026-06-01",
                         "--until", "2026-09-01", "--format", "json", "--isolated")
    assert status == 0
    expected = segdsl.loads(RULES).changes(CUSTOMERS, since="2026-06-01", until="2026-09-01")
    assert json.loads(out) == expected.to_dict()


def test_changes_on_the_example_data_agree_with_the_api(capsys):
    """On the example customers the command lists exactly the API's changes, RFM sampled daily."""
    rule_file = str(EXAMPLES / "lifecycle.seg")
    data = str(EXAMPLES / "data" / "customers.jsonl")
    status, out, _ = run(capsys, "changes", rule_file, "--data", data, "--since", "2026-07-10",
                         "--until", "2026-07-13", "--format", "json", "--isolated")
    assert status == 0
    rules = segdsl.load(rule_file)
    customers = [json.loads(line) for line in Path(data).read_text().splitlines()]
    expected = rules.changes(customers, since="2026-07-10", until="2026-07-13")
    assert json.loads(out) == expected.to_dict()
    assert "daily" in expected.granularity.values() and len(expected) > 0


def test_history_sizes_every_week(capsys, files):
    """history prints each segment's size at each step."""
    rules, data = files
    status, out, _ = run(capsys, "history", rules, "--data", data, "--from", "2026-07-01",
                         "--to", "2026-08-05", "--every", "1w", "--format", "csv", "--isolated")
    assert status == 0
    assert out == ("at,undecided,lapsed\n"
                   "2026-07-01T00:00:00Z,0,0\n"
                   "2026-07-08T00:00:00Z,1,0\n"
                   "2026-07-15T00:00:00Z,1,0\n"
                   "2026-07-22T00:00:00Z,1,0\n"
                   "2026-07-29T00:00:00Z,1,0\n"
                   "2026-08-05T00:00:00Z,0,1\n")


def test_history_table_and_json(capsys, files):
    """The table has one row per step; JSON gives the sizes by instant."""
    rules, data = files
    status, out, _ = run(capsys, "history", rules, "--data", data, "--from", "2026-07-30",
                         "--to", "2026-08-01", "--isolated")
    assert status == 0
    assert out == ("at                    undecided  lapsed\n"
                   "--------------------  ---------  ------\n"
                   "2026-07-30T00:00:00Z  1          0\n"
                   "2026-07-31T00:00:00Z  1          1\n"
                   "2026-08-01T00:00:00Z  0          1\n"
                   "\n2 customers, every 1d\n")
    status, out, _ = run(capsys, "history", rules, "--data", data, "--from", "2026-07-30",
                         "--to", "2026-07-31", "--format", "json", "--isolated")
    assert json.loads(out)["sizes"] == [
        {"at": "2026-07-30T00:00:00Z", "sizes": {"undecided": 1, "lapsed": 0}},
        {"at": "2026-07-31T00:00:00Z", "sizes": {"undecided": 1, "lapsed": 1}}]


@pytest.mark.parametrize(("arguments", "message"), [
    (("changes", "--since", "yesterday", "--until", "2026-09-01"),
     ("segdsl: --since must be a date or datetime such as 2026-07-15 or 2026-07-15T12:00:00Z, "
      "not 'yesterday'\n")),
    (("changes", "--since", "2026-09-01", "--until", "2026-06-01"),
     "segdsl: --until (2026-06-01T00:00:00Z) is before --since (2026-09-01T00:00:00Z)\n"),
    (("changes", "--since", "2026-06-01", "--until", "2026-09-01", "--segment", "undecide"),
     ("segdsl: no segment named 'undecide'; did you mean 'undecided'? the segments are "
      "undecided, lapsed\n")),
    (("history", "--from", "2026-06-01", "--to", "2026-09-01", "--every", "3x"),
     "segdsl: --every must be a positive duration such as 1d, 12h, 1w or 1m, not '3x'\n"),
    (("history", "--from", "2026-06-01", "--to", "2026-09-01", "--every", "0d"),
     "segdsl: --every must be a positive duration such as 1d, 12h, 1w or 1m, not '0d'\n"),
])
def test_usage_errors_are_one_line(capsys, files, arguments, message):
    """Bad instants, steps and names end with status 2 and one line."""
    rules, data = files
    verb, *rest = arguments
    status, out, err = run(capsys, verb, rules, "--data", data, *rest, "--isolated")
    assert (status, out, err) == (2, "", message)


def test_a_rule_error_is_shown_at_its_position(capsys, tmp_path, files):
    """A rule file that does not check is reported as check reports it, status 1."""
    _, data = files
    broken = tmp_path / "broken.seg"
    broken.write_text("segment x = visits(30d) >= \"ten\"\n", encoding="utf-8")
    status, out, err = run(capsys, "changes", str(broken), "--data", data, "--since",
                           "2026-06-01", "--until", "2026-07-01", "--isolated")
    assert status == 1 and out == ""
    assert err.startswith(f"{broken}:1:13: ")


@pytest.mark.parametrize("verb", ["changes", "history"])
def test_help_has_an_example_and_the_exit_codes(capsys, verb):
    """changes and history --help give their usage, an example and the exit codes."""
    status, out, _ = run(capsys, verb, "--help")
    assert status == 0
    assert f"usage: segdsl {verb}" in out
    assert "\nexample:\n  segdsl " in out
    assert "exit status:\n  0  fine\n  1  findings: " in out
