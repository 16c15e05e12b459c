"""The REPL opens a rule file with errors so it can be used to fix it, and shows every error."""

from __future__ import annotations

import io
from pathlib import Path

from segdsl import repl
from segdsl.repl import Session

NOW = "2026-07-15T12:00:00Z"

# Line 2 and line 7 have errors; b uses a, d uses b; ok, c and the period check.
MIXED = """\
segment ok = x > 1
segment a = vists(3d) > 1
segment b = a and y > 2
segment c = ok and z == 1
segment d = b or ok
period p = 2026-01-01 .. 2026-02-01
def f(v) = v > zz(1)
"""


def write(tmp_path: Path, text: str, name: str = "rules.seg") -> Path:
    """``text`` as a rule file in ``tmp_path``."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_script(path: Path | None, script: str, data: Path | None = None) -> tuple[int, str]:
    """The exit status and output of the REPL started on ``path`` with ``script`` piped in."""
    out = io.StringIO()
    status = repl.main(str(path) if path else None, str(data) if data else None, NOW,
                       stdin=io.StringIO(script), stdout=out)
    return status, out.getvalue()


def test_a_file_with_errors_opens_showing_every_error_and_what_was_not_loaded(tmp_path):
    """Both errors are shown, the statements that check are loaded, the others named with lines."""
    path = write(tmp_path, MIXED)
    opened = Session(now=NOW).open_rules(path)
    assert opened.error
    assert opened.text == (
        f"{path}:2:13: unknown function 'vists'\n"
        "  segment a = vists(3d) > 1\n"
        "              ^^^^^^^^^\n"
        "  hint: did you mean 'visits'?\n"
        f"{path}:7:16: unknown function 'zz'\n"
        "  def f(v) = v > zz(1)\n"
        "                 ^^^^^\n"
        f"loaded {path}: 2 segments and 1 period\n"
        "not loaded, because of the errors above: segment a (line 2), def f (line 7)\n"
        "not loaded, because they use what is not loaded: segment b (line 3), segment d (line 5)")


def test_the_segments_that_check_can_be_used_and_the_broken_ones_fixed(tmp_path):
    """After opening a file with errors, the good segments evaluate and a fixed one can be typed."""
    path = write(tmp_path, MIXED)
    data = write(tmp_path, '{"id": 1, "x": 2, "z": 1}\n{"id": 2, "x": 0}\n', "customers.jsonl")
    status, out = run_script(path, "c\nsegment a = visits(3d) >= 0\nsegment b = a and x > 1\n"
                                   ":segments\n", data)
    assert out.splitlines()[-11:] == [
        f"loaded 2 customers from {data}",
        "1 of 2 customers match (50.0%)",
        "ids: 1",
        "segment a defined: 2 of 2 customers match (100.0%)",
        "segment b defined: 1 of 2 customers match (50.0%)",
        "segment  customers   share  description",
        "ok               1   50.0%",
        "c                1   50.0%",
        "a                2  100.0%",
        "b                1   50.0%",
        "periods: p (2026-01-01 .. 2026-02-01)",
    ]
    assert status == 1  # the file had errors: a piped script fails


def test_a_file_with_a_syntax_error_opens_with_nothing_loaded(tmp_path):
    """A syntax error is shown, nothing is loaded, and the session still answers."""
    path = write(tmp_path, "segment a = x >\nsegment b = y > 1\n")
    status, out = run_script(path, "1 > 0\n")
    assert out == (
        f"{path}:1:15: expected an expression after '>'\n"
        "  segment a = x >\n"
        "                ^\n"
        f"loaded nothing from {path}\n"
        "the rule checks; load customers with :data FILE to see whom it matches\n")
    assert status == 1


def test_a_name_defined_twice_in_the_file_keeps_the_first(tmp_path):
    """The second definition of a name is an error; the first one is loaded."""
    path = write(tmp_path, "segment a = x > 1\nsegment a = x > 2\n")
    opened = Session(now=NOW).open_rules(path)
    assert opened.text == (
        f"{path}:2:9: 'a' is defined twice (first on line 1)\n"
        "  segment a = x > 2\n"
        "          ^\n"
        "  hint: rename one of them\n"
        f"loaded {path}: 1 segment")


def test_a_good_file_opens_as_before(tmp_path):
    """A file without errors loads entirely, with no error flagged."""
    path = write(tmp_path, "segment a = x > 1\nperiod p = 2026-01-01 .. 2026-02-01\n")
    opened = Session(now=NOW).open_rules(path)
    assert (opened.text, opened.error) == (f"loaded {path}: 1 segment and 1 period", False)


def test_every_error_of_a_typed_input_is_shown(tmp_path):
    """An input with two bad statements and a name defined twice shows all three errors."""
    session = Session(now=NOW)
    answer = session.run("segment a = nope(1) > 2\nsegment b = zzz(2) > 1\nsegment a = x > 2")
    assert [line for line in answer.splitlines() if line.startswith("<input>")] == [
        "<input>:1:13: unknown function 'nope'",
        "<input>:2:13: unknown function 'zzz'",
        "<input>:3:9: 'a' is defined twice (first on line 1)",
    ]
    assert session.names() == {}


def test_load_of_a_file_with_a_name_defined_twice_lists_every_error(tmp_path):
    """:load refuses the whole file and lists the duplicate with the other errors."""
    path = write(tmp_path, "segment a = nope(1) > 2\nsegment a = x > 2\n")
    session = Session(now=NOW)
    answer = session.run(f":load {path}")
    assert [line for line in answer.splitlines() if line.startswith(str(path))] == [
        f"{path}:1:13: unknown function 'nope'",
        f"{path}:2:9: 'a' is defined twice (first on line 1)",
    ]
    assert session.names() == {}


def test_an_empty_data_file_is_a_warning(tmp_path):
    """Loading a data file without customers says so."""
    data = write(tmp_path, "", "customers.jsonl")
    assert Session(now=NOW).run(f":data {data}") == f"warning: {data} holds no customers"
