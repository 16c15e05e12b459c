"""Malformed rules raise ParseError with the exact position, message and hint
of the golden cases in tests/cases/parse_errors.json, and render like a
compiler's message."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import segdsl

CASE_FILE = Path(__file__).parent / "cases" / "parse_errors.json"
CASES = json.loads(CASE_FILE.read_text(encoding="utf-8"))["cases"]
PARSERS = {"file": segdsl.parse, "expression": segdsl.parse_expression}


def case_text(case: dict) -> str:
    """The case's rule text; a list stands for the lines of a multi-line text."""
    text = case["text"]
    return "\n".join(text) if isinstance(text, list) else text


def raised_by(text: str, mode: str = "expression", file: str | None = None) -> segdsl.ParseError:
    """The ParseError that parsing ``text`` raises."""
    with pytest.raises(segdsl.ParseError) as caught:
        PARSERS[mode](text, file=file)
    return caught.value


# ------------------------------------------------------------ golden cases


def test_the_case_file_is_large_and_its_ids_unique():
    """The golden file keeps at least 40 cases, each with its own id."""
    ids = [case["id"] for case in CASES]
    assert len(ids) >= 40
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_golden_case(case):
    """The error has the case's exact line, column, message, hint and file name."""
    error = raised_by(case_text(case), case["mode"], case.get("file"))
    line, column, message = re.fullmatch(r"(\d+):(\d+): (.*)", case["error"], re.S).groups()
    assert (error.line, error.column, error.message) == (int(line), int(column), message)
    assert error.hint == case["hint"]
    assert error.file == case.get("file")


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_no_message_names_a_grammar_terminal(case):
    """Messages speak the rule author's words, never Lark's terminal names."""
    error = raised_by(case_text(case), case["mode"])
    terminals = r"__ANON|\$END|\b(?:LPAR|RPAR|LSQB|RSQB|EQUAL|COMMA|STRING|DURATION)\b"
    assert not re.search(terminals + r"|\bNAME\b|\bNUMBER\b", error.message)
    # Hints may show a statement's form, e.g. segment NAME = EXPRESSION.
    assert not re.search(terminals, error.hint or "")


# --------------------------------------------------------------- rendering


def test_render_shows_location_source_line_caret_and_hint():
    """A rendered error is file:line:col, the source line, carets under the token, the hint."""
    text = "segment a = b\n\nsegment c =\n  d and\n  or e"
    assert raised_by(text, "file", "rules.seg").render() == (
        "rules.seg:5:3: expected an expression after 'and', found 'or'\n"
        "    or e\n"
        "    ^^\n"
        "  hint: put a condition between 'and' and 'or'"
    )


def test_render_points_at_the_operator_left_dangling():
    """When the text ends after 'and', the caret sits under that 'and'."""
    text = "segment undecided =\n    visits(30d) >= 10 and\n"
    assert raised_by(text, "file", "rules.seg").render() == (
        "rules.seg:2:23: expected an expression after 'and'\n"
        "      visits(30d) >= 10 and\n"
        "                        ^^^"
    )


def test_render_underlines_the_whole_offending_literal():
    """The carets cover the whole bad date, not just its first character."""
    assert raised_by("first_order_at >= 2026-02-30").render() == (
        "<rule>:1:19: invalid date 2026-02-30: February 2026 has 28 days\n"
        "  first_order_at >= 2026-02-30\n"
        "                    ^^^^^^^^^^\n"
        "  hint: dates are written YYYY-MM-DD, e.g. 2026-06-24"
    )


def test_render_points_at_the_unclosed_opener_on_an_earlier_line():
    """An unclosed '[' is reported where it opens, even when the text goes on."""
    text = 'segment a =\n  country in ["FR",\n    "BE"\n\nsegment b = c'
    assert raised_by(text, "file", "rules.seg").render() == (
        "rules.seg:2:14: '[' is never closed\n"
        '    country in ["FR",\n'
        "               ^\n"
        "  hint: add ']' to close it before the next statement"
    )


def test_render_of_an_unterminated_string_underlines_the_rest_of_the_line():
    """An unterminated string is underlined from its quote to the end of its line."""
    assert raised_by('country == "FR\nor b', "expression", "r.seg").render() == (
        "r.seg:1:12: unterminated string\n"
        '  country == "FR\n'
        "             ^^^\n"
        "  hint: close it with \" on the same line; a line break in a string is written \\n"
    )


# --------------------------------------------------------- error attributes


def test_errors_carry_span_source_and_file():
    """The error's span covers the offending token and keeps the file name and source."""
    text = "visits(30d) >= 10 adn not purchased(30d)"
    error = raised_by(text, "expression", "rules.seg")
    span = error.span
    assert (span.line, span.column, span.end_line, span.end_column) == (1, 19, 1, 22)
    assert text[span.start:span.end] == "adn"
    assert (span.file, error.file, error.source) == ("rules.seg", "rules.seg", text)
    assert isinstance(error, segdsl.SegdslError)


def test_errors_without_a_file_name_say_rule():
    """Text not read from a file is located as <rule>."""
    error = raised_by("a and")
    assert error.file is None
    assert error.location == "<rule>:1:3"


def test_an_error_after_trailing_blank_lines_points_at_the_last_token():
    """Blank lines and comments after a dangling operator do not move the caret."""
    error = raised_by("a > 1 or\n\n   # more to come\n\n")
    assert (error.line, error.column, error.message) == (1, 7, "expected an expression after 'or'")


def test_errors_inside_a_rule_file_keep_the_first_statement_intact():
    """A mistake in the second statement is reported there, not in the first."""
    text = 'segment ok = country == "FR"\nsegment bad = visits(30x) > 1'
    error = raised_by(text, "file", "rules.seg")
    assert (error.line, error.column) == (2, 22)
    assert error.message == "unknown duration unit 'x' in '30x'"
