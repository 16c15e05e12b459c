"""`matches` runs on RE2: linear time, RE2 syntax, refused patterns caught at check time."""

import time

import pytest

import segdsl

NOW = "2026-07-15T12:00:00Z"


def _matches(rule, value):
    return segdsl.compile(rule).matches({"id": 1, "email": value}, now=NOW)


def test_catastrophic_pattern_answers_in_milliseconds():
    """`email matches "(a+)+$"` on 10,000 a's and a b answers in milliseconds, on every API."""
    rule = segdsl.compile('email matches "(a+)+$"')
    customers = [{"id": 1, "email": "a" * 10_000 + "b"}, {"id": 2, "email": "a" * 10_000}]
    started = time.perf_counter()
    assert [rule.matches(c, now=NOW) for c in customers] == [False, True]
    assert [c["id"] for c in rule.filter(customers, now=NOW)] == [2]
    assert time.perf_counter() - started < 0.2


@pytest.mark.parametrize("pattern, column, end, hint_start", [
    (r"(a)\\1", 15, 23, "RE2 has no backreferences"),
    ("(?=a)b", 15, 23, "RE2 has no lookahead"),
    ("(?!a)b", 15, 23, "RE2 has no negative lookahead"),
    ("(?<=a)b", 15, 24, "RE2 has no lookbehind"),
])
def test_patterns_re2_refuses_are_check_errors_on_the_pattern(pattern, column, end, hint_start):
    """Backreferences and lookaround are CheckErrors with the caret on the pattern and a hint."""
    with pytest.raises(segdsl.CheckError) as caught:
        segdsl.compile(f'email matches "{pattern}"')
    error = caught.value
    assert error.message.startswith("invalid regular expression: ")
    assert (error.line, error.column, error.span.end_column) == (1, column, end)
    assert error.hint.startswith(hint_start)
    rendered = str(error).splitlines()
    assert rendered[2] == "  " + " " * (column - 1) + "^" * (end - column)


def test_refused_pattern_prints_nothing_on_stderr(capfd):
    """RE2's own logging of refused patterns never reaches the user's terminal."""
    with pytest.raises(segdsl.CheckError):
        segdsl.compile('email matches "(?=x)"')
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("rule, value, expected", [
    ('email matches "^caf.$"', "café", True),          # . is one character, not one byte
    ('email matches "(?i)^CAFÉ$"', "café", True),      # case folding beyond ASCII
    ('email matches "^\\\\pL+$"', "héllo", True),       # \pL: any letter
    ('email matches "^\\\\w+$"', "héllo", False),       # \w is ASCII in RE2
    ('email matches "a$"', "a\n", False),              # $ only at the very end
    ('email matches "😀"', "x😀y", True),
    ('email matches "^.$"', "\ud800", True),           # a lone surrogate reads as U+FFFD
])
def test_re2_semantics_on_unicode_text(rule, value, expected):
    """RE2 matches str data as Unicode characters, with its documented ASCII classes."""
    assert _matches(rule, value) is expected
    customers = [{"id": 1, "email": value}]
    assert [c["id"] for c in segdsl.compile(rule).filter(customers, now=NOW)] == (
        [1] if expected else [])


def test_checked_pattern_offers_search_like_re():
    """The checked tree holds a compiled pattern whose search returns a match object or None."""
    from segdsl.checker import Checker, Options
    from segdsl.parser import parse_expression

    checker = Checker(segdsl.parse(""), Options(), None)
    node = checker.expression(parse_expression('email matches "sh(o)p"'))
    assert node.pattern.search("no") is None
    assert node.pattern.search("a shop").group(1) == "o"
    assert node.pattern.pattern == "sh(o)p"
