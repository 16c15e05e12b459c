"""The formatter keeps what the author wrote where layout does not decide: line endings,
numeric literals, a byte-order mark; and it never raises ValueError on odd text."""

import subprocess
import sys

import pytest

import segdsl
from segdsl.formatter import format_expression


def test_crlf_text_stays_crlf():
    """A text whose lines end with CRLF is formatted with CRLF line endings throughout."""
    text = "segment  a = x > 1   # one\r\n\r\n\r\nsegment b =\r\n  y < 2\r\n"
    assert segdsl.format(text) == "segment a = x > 1  # one\r\n\r\nsegment b = y < 2\r\n"


def test_lf_text_stays_lf():
    """A text with LF line endings keeps them."""
    assert segdsl.format("segment a = x>1\n") == "segment a = x > 1\n"


def test_fmt_command_keeps_a_crlf_file_crlf(tmp_path):
    """`segdsl fmt` rewrites a CRLF file with CRLF, and `fmt --check` then finds nothing to do."""
    path = tmp_path / "rules.seg"
    path.write_bytes(b"segment  a = x > 1_000\r\n\r\n\r\nsegment b = y == 1.5e3\r\n")
    run = [sys.executable, "-m", "segdsl", "fmt", str(path)]
    assert subprocess.run(run, capture_output=True, check=False).returncode == 0
    assert path.read_bytes() == b"segment a = x > 1_000\r\n\r\nsegment b = y == 1.5e3\r\n"
    check = subprocess.run(run[:4] + ["--check", str(path)], capture_output=True,
                           check=False)
    assert check.returncode == 0 and check.stdout == b""


@pytest.mark.parametrize("literal", ["1_000", "1.5e3", "0.10", "1E6", "007", "1_000.000_5"])
def test_numeric_literals_are_kept_as_written(literal):
    """Numbers are printed as their author wrote them, in files and single expressions."""
    assert segdsl.format(f"segment a = x>{literal}") == f"segment a = x > {literal}\n"
    assert format_expression(f"x>{literal}") == f"x > {literal}"


def test_numbers_of_a_tree_built_in_python_are_printed_canonically():
    """A Number node without source text prints as plain digits or Python's repr."""
    from segdsl import nodes as n
    from segdsl.formatter import render

    assert render(n.Number(1000)) == "1000"
    assert render(n.Number(1500.0)) == "1500.0"


def test_byte_order_mark_is_accepted_and_kept():
    """A UTF-8 byte-order mark at the start is accepted by format, and stays at the start."""
    assert segdsl.format("\ufeffsegment a = x>1\n") == "\ufeffsegment a = x > 1\n"
    assert format_expression("\ufeffx>1") == "x > 1"


@pytest.mark.parametrize("text, line, column", [
    ('segment a = x == "\\ud800"', 1, 19),
    ('segment a = x == "\\udc00 and more"', 1, 19),
    ('segment a = x == "a\ud800"', 1, 20),
    ('segment a = x > 1\n# note \udfff\n', 2, 8),
])
def test_lone_surrogates_are_a_parse_error_with_position(text, line, column):
    """A lone surrogate, escaped or raw, is a ParseError at its position, never a ValueError."""
    with pytest.raises(segdsl.ParseError) as caught:
        segdsl.format(text)
    assert (caught.value.line, caught.value.column) == (line, column)
    str(caught.value).encode("utf-8")  # the message can be printed


def test_escaped_surrogate_pair_is_one_character():
    """`\\ud83d\\ude00` is read as the character it encodes and formatted as that character."""
    tree = segdsl.parse('segment a = x == "\\ud83d\\ude00"')
    assert tree.statements[0].body.right.value == "\U0001f600"
    assert segdsl.format('segment a = x == "\\ud83d\\ude00"') == 'segment a = x == "\U0001f600"\n'
