"""Check errors: unknown names, type mismatches, bad calls, cycles, found before any data is read.

The golden cases live in ``tests/cases/check_errors.json`` (language-neutral: rule text, schema,
expected position, message and hint); this module runs them and adds what a case file cannot say:
every error of a file is reported, in source order, and errors render like a compiler's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segdsl

CASE_FILE = Path(__file__).parent / "cases" / "check_errors.json"
CASES = json.loads(CASE_FILE.read_text(encoding="utf-8"))


def schema_of(case: dict) -> segdsl.Schema | None:
    """The case's schema: a name from the file's ``schemas``, a spelled-out one, or None."""
    spec = case.get("schema")
    if isinstance(spec, str):
        spec = CASES["schemas"][spec]
    return segdsl.Schema(spec) if spec is not None else None


def functions_of(case: dict) -> segdsl.Functions | None:
    """The case's registered functions (their bodies never run: checking reads no data)."""
    if "functions" not in case:
        return None
    functions = segdsl.Functions()
    for name, spec in case["functions"].items():
        functions.register(name, params=spec["params"], returns=spec["returns"])(lambda *a: None)
    return functions


def the_error(case: dict) -> segdsl.SegdslError:
    """The single error the case's rule text causes."""
    options = {"schema": schema_of(case), "functions": functions_of(case)}
    if "expression" in case:
        with pytest.raises(segdsl.SegdslError) as raised:
            segdsl.compile(case["expression"], **options)
        return raised.value
    errors, _ = segdsl.check(case["file"], **options)
    assert len(errors) == 1, [e.message for e in errors]
    with pytest.raises(segdsl.SegdslError) as raised:
        segdsl.loads(case["file"], **options)
    assert (raised.value.message, raised.value.span) == (errors[0].message, errors[0].span)
    return errors[0]


@pytest.mark.parametrize("case", CASES["cases"], ids=[c["id"] for c in CASES["cases"]])
def test_check_error_case(case):
    """The rule is refused with a CheckError at the expected span, message and hint."""
    error = the_error(case)
    assert type(error) is segdsl.CheckError
    span = (error.line, error.column, error.span.end_line, error.span.end_column)
    assert span == (case["line"], case["column"], case.get("end_line", case["line"]),
                    case["end_column"])
    assert error.message == case["message"]
    assert error.hint == case["hint"]


def test_the_case_file_covers_enough_cases_with_unique_ids():
    """The golden file keeps at least 40 cases, each with its own id."""
    ids = [case["id"] for case in CASES["cases"]]
    assert len(ids) >= 40
    assert len(set(ids)) == len(ids)


# ------------------------------------------------------------ all errors of a file

SEVERAL_ERRORS = """\
period sale = 2026-06-24 .. 2026-07-21

segment typo = vists(30d) >= 10
segment fine = visits(30d) >= 10 and not purchased(sale)
segment mixed = spent(365d) > "500"
segment loop_a = loop_b
segment loop_b = loop_a and fine
segment window = count(orders, whithin = 30d) >= 1
"""


def test_check_collects_every_error_of_a_file_in_source_order():
    """Independent errors in several segments are all reported, first to last, one per segment."""
    errors, warnings = segdsl.check(SEVERAL_ERRORS)
    assert [(e.line, e.column, e.message) for e in errors] == [
        (3, 16, "unknown function 'vists'"),
        (5, 17, "cannot compare a number with a string"),
        (6, 9, "segments refer to each other in a cycle: loop_a -> loop_b -> loop_a"),
        (8, 32, "'count' has no option 'whithin'"),
    ]
    assert warnings == []


def test_loads_raises_the_first_error_and_lists_them_all():
    """``loads`` raises the first error in the text; ``error.errors`` holds all of them."""
    with pytest.raises(segdsl.CheckError) as raised:
        segdsl.loads(SEVERAL_ERRORS)
    assert raised.value.line == 3
    assert [e.line for e in raised.value.errors] == [3, 5, 6, 8]


def test_errors_in_a_def_body_are_reported_once_at_the_def():
    """A def called from two segments with the same mistake reports it once, where it is written."""
    text = 'def young() = age < "30"\nsegment a = young\nsegment b = young and vip\n'
    schema = segdsl.Schema({"age": "number", "vip": "bool"})
    errors, _ = segdsl.check(text, schema=schema)
    assert [(e.line, e.column, e.message) for e in errors] == [
        (1, 15, "cannot compare a number with a string")]


# ---------------------------------------------------------------------- rendering


def test_render_of_an_unknown_function():
    """The rendering names the file, draws the source line, carets under the call and the hint."""
    errors, _ = segdsl.check(SEVERAL_ERRORS, file="rules/campaign.seg")
    assert errors[0].render() == (
        "rules/campaign.seg:3:16: unknown function 'vists'\n"
        "  segment typo = vists(30d) >= 10\n"
        "                 ^^^^^^^^^^\n"
        "  hint: did you mean 'visits'?")


def test_render_of_a_type_mismatch_underlines_the_whole_comparison():
    """A comparison of a number with a string is underlined from its first to its last character."""
    errors, _ = segdsl.check(SEVERAL_ERRORS, file="rules/campaign.seg")
    assert str(errors[1]) == (
        "rules/campaign.seg:5:17: cannot compare a number with a string\n"
        "  segment mixed = spent(365d) > \"500\"\n"
        "                  ^^^^^^^^^^^^^^^^^^^\n"
        "  hint: numbers are written without quotes: 42, strings with them: \"42\"")


def test_render_of_a_cycle_on_a_file_read_from_disk(tmp_path):
    """``load`` attaches the path it read to the error it raises."""
    path = tmp_path / "loop.seg"
    path.write_text("segment a = b\nsegment b = c\nsegment c = a\n", encoding="utf-8")
    with pytest.raises(segdsl.CheckError) as raised:
        segdsl.load(path)
    assert raised.value.render() == (
        f"{path}:1:9: segments refer to each other in a cycle: a -> b -> c -> a\n"
        "  segment a = b\n"
        "          ^\n"
        "  hint: a segment cannot depend on itself, directly or not")


def test_a_standalone_rule_renders_as_rule():
    """An expression given to ``compile`` has no file: its location reads ``<rule>``."""
    with pytest.raises(segdsl.CheckError) as raised:
        segdsl.compile("last_order_at < 30d")
    assert raised.value.render().splitlines()[0] == (
        "<rule>:1:1: cannot compare a datetime with a duration")


# ---------------------------------------------------------------------- robustness

SHOP = segdsl.Schema(CASES["schemas"]["shop"])
NAMES = ["country", "age", "vip", "tags", "email", "address", "address.city", "orders",
         "orders.total", "events", "events.type", "rfm", "rfm.frequency", "rfm.group", "total",
         "type", "at", "signed_up_at", "last_order_at", "days_since_last_order", "visits",
         "loyal", "sale", "big", "x"]
LITERALS = ["1", "-2.5", '"FR"', '"^a.*"', '"("', "true", "null", "30d", "3m", "12h",
            "2026-07-01", "2026-07-01T10:00:00Z", "now", '["FR", "BE"]', "[1, null]", "[]",
            "2026-06-24 .. 2026-07-21"]
FUNCTIONS = ["count", "sum", "avg", "min", "max", "first", "last", "exists", "orders",
             "purchased", "spent", "aov", "visits", "events", "ntile", "percentile", "round",
             "lower", "length", "days_between", "coalesce", "big", "loyal", "vists"]
KEYWORDS = ["within", "during", "where", "category", "discounted", "window", "whithin"]
BINARY = ["and", "or", "==", "!=", "<", ">=", "+", "-", "*", "/", "in", "not in", "contains",
          "starts_with", "matches"]


def expressions():
    """Random expressions over the language's names, literals, calls and operators."""
    atoms = st.sampled_from(NAMES + LITERALS)

    def extend(inner):
        call = st.builds(
            lambda name, args, keywords: f"{name}({', '.join(args + keywords)})",
            st.sampled_from(FUNCTIONS), st.lists(inner, max_size=2),
            st.lists(st.builds(lambda k, v: f"{k} = {v}", st.sampled_from(KEYWORDS), inner),
                     max_size=2))
        return st.one_of(
            call,
            st.builds(lambda a, op, b: f"{a} {op} {b}", inner, st.sampled_from(BINARY), inner),
            st.builds(lambda a: f"not {a}", inner),
            st.builds(lambda a: f"({a})", inner),
            st.builds(lambda a, b, c: f"{a} between {b} and {c}", inner, inner, inner),
            st.builds(lambda a, n: f"{a} is {n}null", inner, st.sampled_from(["", "not "])),
        )

    return st.recursive(atoms, extend, max_leaves=8)


PREAMBLE = ("period sale = 2026-06-24 .. 2026-07-21\n"
            "def big(window) = spent(window) > 500\n")


def assert_inside(item, text: str) -> None:
    """``item`` (an error or a warning) points into ``text``."""
    assert item.span is not None
    assert 0 <= item.span.start <= item.span.end <= len(text)
    assert 1 <= item.span.line <= text.count("\n") + 1


@settings(max_examples=150, deadline=None)
@given(expressions(), expressions(), st.booleans())
def test_any_rule_checks_or_raises_a_positioned_segdsl_error(first, second, with_schema):
    """Whatever names, calls and operators are combined, checking yields SegdslErrors with spans
    inside the text (never another exception), and warnings that point inside it too."""
    text = f"{PREAMBLE}segment loyal = {first}\nsegment other = {second} or loyal\n"
    errors, warnings = segdsl.check(text, schema=SHOP if with_schema else None)
    for item in errors:
        assert isinstance(item, segdsl.SegdslError)
        assert_inside(item, text)
    for item in warnings:
        assert_inside(item, text)


@settings(max_examples=100, deadline=None)
@given(expressions())
def test_any_single_rule_compiles_or_raises_a_positioned_segdsl_error(rule):
    """``compile`` of a random rule returns a Segment or raises a SegdslError pointing into it."""
    try:
        segdsl.compile(rule)
    except segdsl.SegdslError as error:
        assert_inside(error, rule)
