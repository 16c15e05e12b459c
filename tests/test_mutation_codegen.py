"""Generated code against the reference interpreter, rule by rule: the cases the
mutation run of ``segdsl/codegen.py`` showed no test was looking at.

Every rule below is a simple condition, so it gets generated code. On *clean*
records (every field the rule reads holds a plain value of the kind it wants)
the generated predicate must decide by itself, without raising to hand over to
the closures, and give the reference interpreter's answer; on *dirty* records
(nulls, missing fields, NaN, a boolean where a number is wanted, a list where
text is wanted, ...) every API must still give the reference's answer, whichever
path decides. Expected values come from ``tests/reference.py`` only; a few
memberships are also worked out by hand.
"""

from __future__ import annotations

import ast
import inspect

import pytest

import segdsl
from segdsl import codegen
from tests import reference

NOW = "2026-07-15T12:00:00Z"

NUMBERS = [-1, 0, 1, 1.5, 2, 3]
CLEAN_NUMBERS = [{"a": a, "b": b} for a in NUMBERS for b in (-1, 0.5, 1, 2, 3)]
DIRTY_NUMBERS = [{"a": a, "b": 2} for a in (None, float("nan"), True, False, "1", [1])] + [
    {"a": 1.5, "b": b} for b in (None, True, False, "1", float("nan"))] + [
    {"a": None, "b": b} for b in ("1", True, [1])] + [
    {"b": 2}, {"a": 2}, {"a": None, "b": None}, {"a": 2, "b": 0}]
NUMBER_RULES = [
    "a > 1", "a >= 1", "a < 1", "a <= 1", "not (a > 1)", "not (a >= 1)", "not (a < 1)",
    "not (a <= 1)", "a == 1", "a != 1", "a == 0", "a != 0", "a == 2", "a != 2", "a == 1.5",
    "a != 1.5", "not (a == 2)", "not (a != 2)", "a > b", "a <= b",
    "a between 0 and 2", "not (a between 0 and 2)", "a between b and 2",
    "not (a between b and 2)", "a between 0 and b", "not (a between 0 and b)",
    "b between a and 2", "5 is null", "5 is not null", "not (5 is null)", "a > 1 or 5 is null",
    "a > 1 and 5 is not null", "a in [1, 2]", "a not in [1, 2]", "a in [0, 3]",
    "a not in [0, 3]", "not (a in [1, 2])", "a in [1.5, -1]", "a not in [1.5, -1]",
    "a in [2, null]", "a not in [2, null]", "a is null", "a is not null", "not (a is null)",
    "a / b > 1", "a / b == 2", "a * b > 1", "a * b == 2", "a % b == 1", "a % b == 0",
    "a - b > 0", "a + b > 2", "-a > -1", "-a == 1", "a > 1 and b > 1", "a > 1 or b > 1",
    "not (a > 1 and b > 1)", "not (a > 1 or b < 1)", "a > 0 and b > 0 and a < 3",
    "a > 2 or b > 2 or a < 0", "not (a > 0 and b > 0 and a < 3)", "a > 1 and not (b > 1)",
    "(a > 1 or b > 1) and a != 2",
    # After a null (a == 2 with a null a) the closures go on, and report bad data in b.
    "a == 2 and b > 1", "a in [2, 3] and b > 1", "a == 2 and b > 1 and b < 3",
    "not (a == 2 or b > 1)", "a == 2 and a != 3 and b > 1",
    "a > 0 and not (a in [1, 2])", "a > 0 and not (a not in [1, 2])",
    "2 == a", "1 != a", "0 == a", "1.5 == a",
    "a > 1 and true", "a > 1 or false", "not (a > 1 and false)", "a > 1 or null",
    "a > 1 and not null", "false or a > 1", "not (a > 1 or true)",
]

TEXTS = ["FR", "BE", "F", "R", "", "fr", "XFR", "FRX"]
CLEAN_TEXTS = [{"s": s, "t": t, "tags": tags} for s in TEXTS for t in ("R", "FR")
               for tags in (["vip"], [], ["x", "vip"])]
DIRTY_TEXTS = [{"s": s, "t": "R", "tags": ["vip"]} for s in (None, 1, True, ["FR"], 1.5)] + [
    {"s": "FR", "t": t, "tags": ["vip"]} for t in (None, 1, True, ["R"])] + [
    {"t": "R", "tags": ["vip"]}, {"s": "FR", "t": "R"}, {"s": "FR", "t": "R", "tags": None},
    {"s": "FR", "t": "R", "tags": "vip"}]
TEXT_RULES = [
    's == "FR"', 's != "FR"', 'not (s == "FR")', 's starts_with "F"',
    'not (s starts_with "F")', 's ends_with "R"', 'not (s ends_with "R")', 's contains "R"',
    'not (s contains "R")', 's matches "^F"', 'not (s matches "^F")', 's matches "R$"',
    's in ["FR", "BE"]', 's not in ["FR", "BE"]', 's < "F"', 's >= "F"',
    's between "BE" and "FR"', 'not (s between "BE" and "FR")', 'tags contains "vip"',
    'not (tags contains "vip")', 's contains "R" and tags contains "vip"',
    's is null', 's is not null', "s contains t", "not (s contains t)", "s starts_with t",
    "s ends_with t", "s < t",
]

CLEAN_FLAGS = [{"flag": f, "a": a} for f in (True, False) for a in (0, 1, 2)]
DIRTY_FLAGS = [{"flag": f, "a": 1} for f in (None, 0, 1, "yes")] + [{"a": True}, {"a": False}]
FLAG_RULES = [
    "flag", "not flag", "flag == true", "flag != true", "flag == false", "flag != false",
    "flag in [true]", "flag not in [true]", "flag and a > 1", "flag or a > 1",
    "not (flag and a > 1)", "a == 1", "a != 1", "a == 0", "a != 0", "a in [0, 1]",
    "a not in [0, 1]", "a in [1, 3]", "a not in [1, 3]", "a in [0.0, 3]", "a not in [3, 1.0]",
    "flag == true and a == 1", "a > 0 and not flag", "a > 0 and not (not flag)",
]

# Nested records are read only through exact dicts.
CLEAN_NESTED = [{"address": {"city": city, "zip": z}} for city in ("Paris", "Lyon", "")
                for z in (75001, 69001)]
DIRTY_NESTED = [{"address": None}, {}, {"address": {}}, {"address": {"city": None, "zip": 1}},
                {"address": ["Paris"]}, {"address": "Paris"}, {"address": {"city": 1, "zip": "x"}}]
NESTED_RULES = ['address.city == "Paris"', 'address.city != "Paris"', "address.zip > 70000",
                'address.city starts_with "P" and address.zip < 70000',
                "address.city is null", 'not (address.city == "Lyon" or address.zip > 70000)']

# Where nulls are asked about, a missing field is clean: the generated code reads it as null.
CLEAN_NULLS = [{"a": None}, {}, {"a": 1}, {"a": "x"}, {"a": 0}, {"a": False}]
DIRTY_NULLS = [{"a": float("nan")}, {"a": [1]}, {"a": {"k": 1}}]
NULL_RULES = ["a is null", "a is not null", "not (a is null)", "not (a is not null)",
              "a is null or a == 1", "a is not null and a != 1"]

CASES = ([(rule, CLEAN_NULLS, DIRTY_NULLS) for rule in NULL_RULES]
         + [(rule, CLEAN_NESTED, DIRTY_NESTED) for rule in NESTED_RULES]
         + [(rule, CLEAN_NUMBERS, DIRTY_NUMBERS) for rule in NUMBER_RULES]
         + [(rule, CLEAN_TEXTS, DIRTY_TEXTS) for rule in TEXT_RULES]
         + [(rule, CLEAN_FLAGS, DIRTY_FLAGS) for rule in FLAG_RULES])


def outcomes(rule: str, records: list[dict]) -> list[reference.Outcome]:
    """The reference interpreter's outcome of ``rule`` for each record."""
    tree = segdsl.parse_expression(rule)
    return [reference.outcome(tree, record, NOW) for record in records]


@pytest.mark.parametrize("rule, clean, dirty", CASES, ids=[case[0] for case in CASES])
def test_generated_code_decides_clean_records_as_the_reference(rule, clean, dirty):
    """On clean records the generated predicate and filter answer alone, as the reference does."""
    segment = segdsl.compile(rule)
    fast = segment._program.fast_path("rule")
    assert fast is not None
    expected = outcomes(rule, clean)
    assert all(o.kind == "value" for o in expected), [o for o in expected if o.kind != "value"]
    truths = [o.value is True for o in expected]
    assert [fast.predicate(record) for record in clean] == truths
    members = [record for record, truth in zip(clean, truths) if truth]
    assert fast.filter(clean) == members
    assert segment.filter(clean, now=NOW) == members
    assert [segment.matches(record, now=NOW) for record in clean] == truths


@pytest.mark.parametrize("rule, clean, dirty", CASES, ids=[case[0] for case in CASES])
def test_every_api_agrees_with_the_reference_on_dirty_records(rule, clean, dirty):
    """With nulls and odd values mixed in, filter and matches give the reference's answers."""
    segment = segdsl.compile(rule)
    records = [*dirty, *clean, *dirty]
    expected = outcomes(rule, records)
    decided = [(record, o) for record, o in zip(records, expected) if o.kind == "value"]
    for record, o in zip(records, expected):
        if o.kind == "error":
            with pytest.raises(segdsl.DataError):
                segment.matches(record, now=NOW)
        elif o.kind == "value":
            assert segment.matches(record, now=NOW) is (o.value is True), record
    kept = segment.filter([record for record, _ in decided], now=NOW)
    assert kept == [record for record, o in decided if o.value is True]


def test_a_handful_of_memberships_worked_out_by_hand():
    """The reference's answers above, checked by hand on a few rules that were easy to break."""
    records = [{"id": 1, "a": 3, "b": 2, "s": "FR", "tags": ["vip"]},
               {"id": 2, "a": 1, "b": 2, "s": "BE", "tags": []},
               {"id": 3, "a": None, "b": 2, "s": "XFR", "tags": ["x"]},
               {"id": 4, "a": 4, "b": 2, "s": "fr", "tags": ["vip", "x"]}]

    def ids(rule: str) -> list[int]:
        return [r["id"] for r in segdsl.compile(rule).filter(records, now=NOW)]

    assert ids("a / b > 1") == [1, 4]           # 1.5 and 2; 0.5 is not
    assert ids("a * b > 5") == [1, 4]           # 6 and 8; 2 is not
    assert ids("a % b == 1") == [1, 2]          # 3 % 2 and 1 % 2
    assert ids("not (a between 2 and 3)") == [2, 4]   # null is neither in nor out
    assert ids('s matches "^F"') == [1]
    assert ids('not (s matches "^F")') == [2, 3, 4]
    assert ids('s contains "R"') == [1, 3]
    assert ids('not (tags contains "vip")') == [2, 3]
    assert ids("a not in [1, 4]") == [1]        # null is unknown, never "not in"


def test_membership_in_lists_the_generated_code_leaves_alone():
    """`in` a field's list, a list holding a field, or booleans next to other values, gives
    the members worked out by hand (a boolean is found only among booleans)."""
    records = [{"id": 1, "s": "vip", "tags": ["vip", "x"], "a": 1, "b": 2},
               {"id": 2, "s": "no", "tags": ["vip"], "a": 2, "b": 2},
               {"id": 3, "s": "x", "tags": [], "a": 3, "b": 2},
               {"id": 4, "s": True, "tags": [], "a": True, "b": 2}]
    for rule, expected in [("s in tags", [1]), ("s not in tags", [2, 3, 4]),
                           ("a in [1, b]", [1, 2]), ('s in ["x", true]', [3, 4]),
                           ('s not in ["x", true]', [1, 2]), ("a in [true, 3]", [3, 4])]:
        segment = segdsl.compile(rule)
        assert [r["id"] for r in segment.filter(records, now=NOW)] == expected
        assert [r["id"] for r in records if segment.matches(r, now=NOW)] == expected


def test_the_generated_source_can_be_read_back_like_any_function():
    """inspect.getsource (as debuggers use it) gives the generated function's source, line by line."""
    fast = segdsl.compile('a > 1 and s == "x"')._program.fast_path("rule")
    source = inspect.getsource(fast.predicate)
    assert source.startswith("def _generated(record):\n    return ")
    assert isinstance(ast.parse(source).body[0], ast.FunctionDef)


def test_an_operand_retested_from_its_own_reads():
    """`a > b` with a NaN a is neither true nor false, so the closures go on and meet bad data
    in c; the generated code, retesting `a > b` from the values it read, must do the same."""
    segment = segdsl.compile("a > b and c > 1")
    with pytest.raises(segdsl.DataError) as caught:
        segment.filter([{"id": 1, "a": float("nan"), "b": 1, "c": "x"}], now=NOW)
    assert str(caught.value) == "customer 1, field c: cannot evaluate str 'x' > int 1"
    assert segment.filter([{"id": 2, "a": 2, "b": 1, "c": 2}, {"id": 3, "a": 1, "b": 2, "c": "x"}],
                          now=NOW) == [{"id": 2, "a": 2, "b": 1, "c": 2}]


@pytest.mark.parametrize("rule", ["a between b and 2", "a between 0 and b", "a > b", "b <= a"])
@pytest.mark.parametrize("record", [{"id": 1, "a": 1.5, "b": True}, {"id": 2, "a": 1.5, "b": False},
                                    {"id": 3, "a": True, "b": 2}], ids=["true", "false", "bool a"])
def test_ordering_a_boolean_against_a_number_is_bad_data_on_every_path(rule, record):
    """The reference leaves it open; matches and filter (generated code first) must then do
    what explain (the closures alone) does: report bad data."""
    segment = segdsl.compile(rule)
    with pytest.raises(segdsl.DataError):
        segment.explain(record, now=NOW)
    with pytest.raises(segdsl.DataError):
        segment.matches(record, now=NOW)
    with pytest.raises(segdsl.DataError):
        segment.filter([record], now=NOW)


def test_the_whole_list_is_filtered_in_one_call_when_nothing_is_undecided():
    calls = []

    def fast_filter(records):
        calls.append(len(records))
        return [record for record in records if record > 0]

    def never(record):
        raise AssertionError(f"asked about {record} alone")

    records = list(range(-5, 3000))
    assert codegen.filter_records(records, fast_filter, never, never) == list(range(1, 3000))
    assert calls == [3005]


def test_only_the_chunk_holding_an_undecided_record_goes_record_by_record():
    """3,000 records, one the generated code cannot decide (text where a number is
    wanted): the whole list, then its chunks of 1,024, and only the second chunk
    one record at a time; only that record reaches the closures."""
    records: list = list(range(3000))
    records[1500] = "bad"
    filtered, predicted, careful = [], [], []

    def fast_filter(chunk):
        filtered.append(len(chunk))
        return [record for record in chunk if record % 2 == 0]  # raises on text

    def fast_predicate(record):
        predicted.append(record)
        return record % 2 == 0

    def closures(record):
        careful.append(record)
        return False

    kept = codegen.filter_records(records, fast_filter, fast_predicate, closures)
    assert kept == [number for number in range(3000) if number % 2 == 0 and number != 1500]
    assert filtered == [3000, 1024, 1024, 952]
    assert predicted == records[1024:2048]
    assert careful == ["bad"]
