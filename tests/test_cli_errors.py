"""The command line shows every error of a rule file, keeps checking past a missing file, and
never shows a traceback: status 1 for rule errors, 2 for usage problems."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from command_line import run

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-07-15T12:00:00Z"

TWO_ERRORS = 'segment a = vists(3d) > 1\nsegment b = qux(1) > 2\nsegment c = country != "FR"\n'


def rendered_problems(path: Path) -> str:
    """What `check` prints for the rule file ``path`` (its errors and warnings)."""
    return (
        f"{path}:1:13: unknown function 'vists'\n"
        "  segment a = vists(3d) > 1\n"
        "              ^^^^^^^^^\n"
        "  hint: did you mean 'visits'?\n"
        f"{path}:2:13: unknown function 'qux'\n"
        "  segment b = qux(1) > 2\n"
        "              ^^^^^^\n"
        f"{path}:3:13: warning: customers whose country is null are left out: the negation is "
        "unknown, not true, for them\n"
        '  segment c = country != "FR"\n'
        "              ^^^^^^^^^^^^^^^\n"
        "  hint: add 'or country is null' to keep them\n")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A rule file with two errors and a warning, a good one, and one customer."""
    bad, good = tmp_path / "bad.seg", tmp_path / "good.seg"
    bad.write_text(TWO_ERRORS)
    good.write_text("segment big = x > 1\n")
    data = tmp_path / "customers.jsonl"
    data.write_text('{"id": 1, "x": 2}\n')
    return {"bad": bad, "good": good, "data": data}


# ------------------------------------------------------ every error shown


def test_eval_shows_every_error_of_the_file_as_check_does(capsys, files):
    """eval of a file with two errors shows both, and the warning, exactly as check, status 1."""
    checked = run(capsys, "check", str(files["bad"]))
    evaluated = run(capsys, "eval", str(files["bad"]), "--data", str(files["data"]), "--now", NOW)
    assert checked == (1, "", rendered_problems(files["bad"]) + "2 errors, 1 warning in 1 file\n")
    assert evaluated == (1, "", rendered_problems(files["bad"]))


def test_explain_shows_every_error_of_the_file_as_check_does(capsys, files):
    """explain of a file with errors shows them all, status 1."""
    explained = run(capsys, "explain", str(files["bad"]), "a", "--data", str(files["data"]),
                    "--customer", "1", "--now", NOW)
    assert explained == (1, "", rendered_problems(files["bad"]))


# ----------------------------------------------- check past missing files


def test_check_goes_on_past_a_missing_file_and_exits_2(capsys, files, tmp_path):
    """check a.seg missing.seg b.seg checks both files that exist, reports the missing one, exit 2."""
    missing = tmp_path / "missing.seg"
    status, out, err = run(capsys, "check", str(files["bad"]), str(missing), str(files["bad"]))
    assert (status, out) == (2, "")
    assert err == (rendered_problems(files["bad"]) + f"segdsl: {missing}: no such file\n"
                   + "2 errors, 1 warning in 1 file\n")


def test_check_of_good_files_and_a_missing_one_exits_2(capsys, files, tmp_path):
    """A missing file makes check exit 2 even when every other file checks."""
    missing = tmp_path / "missing.seg"
    assert run(capsys, "check", str(missing), str(files["good"])) == (
        2, "", f"segdsl: {missing}: no such file\nno problems in 1 file\n")


def test_check_of_files_with_errors_exits_1(capsys, files):
    """Rule errors without usage problems keep status 1."""
    assert run(capsys, "check", str(files["good"]), str(files["bad"]))[0] == 1


# ------------------------------------------------------ data file problems


def test_an_empty_data_file_is_a_warning(capsys, files, tmp_path):
    """eval over a file without customers warns on stderr and succeeds."""
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    status, out, err = run(capsys, "eval", str(files["good"]), "--data", str(empty), "--now", NOW)
    assert (status, err) == (0, f"segdsl: warning: {empty} holds no customers\n")
    assert out.startswith("segment  customers  share\n")


def test_orders_csv_without_at_is_one_line_and_status_2(capsys, files, tmp_path):
    """An orders.csv without its timestamp column stops eval with the file and the column."""
    (tmp_path / "customers.csv").write_text("id,x\n1,2\n")
    (tmp_path / "orders.csv").write_text("customer_id,total\n1,5\n")
    status, out, err = run(capsys, "eval", str(files["good"]), "--data",
                           str(tmp_path / "customers.csv"), "--now", NOW)
    assert (status, out) == (2, "")
    assert err == (f"segdsl: {tmp_path / 'orders.csv'}: no at column, the time of each order "
                   f"(without it no order is in any window) (the columns are customer_id, total)\n")


@pytest.mark.parametrize("text, message", [
    ("[" * 100_000, "{data}:1: JSON nested too deeply"),
    ('[{"id": 1, "x": 1' + "0" * 5000 + "}]",
     ("{data}:1: bad number 1000000000000000000000000000000000000... (more digits than a "
      "number may have)")),
    ('[{"id": 1, "x": NaN}]', "{data}:1: bad number NaN (not a number in standard JSON)"),
])
def test_unexpected_data_is_one_line_and_status_2(capsys, files, tmp_path, text, message):
    """Data that used to raise RecursionError or ValueError is one line and status 2."""
    data = tmp_path / "customers.json"
    data.write_text(text)
    status, out, err = run(capsys, "eval", str(files["good"]), "--data", str(data), "--now", NOW)
    assert (status, out, err) == (2, "", "segdsl: " + message.format(data=data) + "\n")


def test_an_internal_error_is_one_line_and_status_2(capsys, files, monkeypatch):
    """A bug anywhere below is reported in one line, never a traceback."""
    def broken(path, **options):
        raise RuntimeError("something\nbroke")

    monkeypatch.setattr("segdsl.data.read_customers", broken)
    monkeypatch.setattr("segdsl.data.stream_customers", broken)
    assert run(capsys, "eval", str(files["good"]), "--data", str(files["data"])) == (
        2, "", "segdsl: internal error (RuntimeError: something broke); please report it\n")


def test_text_the_terminal_cannot_encode_is_escaped_not_a_traceback(tmp_path, files):
    """An id holding a lone surrogate prints as an escape, in a subprocess as a user runs it."""
    data = tmp_path / "customers.jsonl"
    data.write_text('{"id": "a\\udc80", "x": 2}\n')
    done = subprocess.run(
        [sys.executable, "-m", "segdsl", "eval", str(files["good"]), "--data", str(data),
         "--now", NOW, "--format", "csv"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "", "PYTHONIOENCODING": "ascii", "PYTHONPATH": str(ROOT)})
    assert (done.returncode, done.stdout, done.stderr) == (
        0, "segment,customer_id\nbig,a\\udc80\n", "")


def test_eval_reads_a_csv_with_the_schema_given(tmp_path, capsys, monkeypatch):
    """`--schema` declaring a string column: its digits stay text, as the rules compare them."""
    from tests.command_line import run

    monkeypatch.chdir(tmp_path)
    (tmp_path / "customers.csv").write_text("id,zip\n1,01234\n2,75001\n")
    (tmp_path / "schema.toml").write_text('[fields]\nid = "number"\nzip = "string"\n')
    (tmp_path / "z.seg").write_text('segment paris = zip starts_with "75"\n')
    status, out, err = run(capsys, "eval", "z.seg", "--data", "customers.csv", "--schema",
                           "schema.toml", "--isolated", "--now", "2026-07-15", "--format", "csv")
    assert (status, out, err) == (0, "segment,customer_id\nparis,2\n", "")
