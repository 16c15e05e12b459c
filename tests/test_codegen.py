"""Generated code: it only evaluates, and it agrees with the closures."""

from __future__ import annotations

import ast
import linecache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segdsl
from segdsl import codegen
from segdsl.formatter import render
from tests.strategies import names, strings

NOW = "2026-07-15T12:00:00Z"
FIELDS = ("a", "b", "c")

# Everything generated code may name: its argument, its temporaries and constants,
# and a few helpers. Anything else would mean rule text leaked into the source.
ALLOWED_NAMES = {"record", "records", "type", "bool", "str", "_NUMBER_TYPES", "_bad", "_nn"}
ALLOWED_METHODS = {"get", "startswith", "endswith", "search"}


def generated_source(function) -> str:
    return "".join(linecache.getlines(function.__code__.co_filename))


def assert_only_evaluates(source: str) -> None:
    """The source defines one function whose body reads and compares, nothing else."""
    tree = ast.parse(source)
    assert len(tree.body) == 1 and isinstance(tree.body[0], ast.FunctionDef)
    for node in ast.walk(tree.body[0]):
        assert not isinstance(node, (ast.Import, ast.ImportFrom, ast.Global, ast.Lambda,
                                     ast.Delete, ast.Assign, ast.AugAssign, ast.Await,
                                     ast.Yield, ast.YieldFrom)), ast.dump(node)
        if isinstance(node, ast.Name):
            assert (node.id in ALLOWED_NAMES or node.id[:2] in ("_t", "_k")
                    and node.id[2:].isdigit()), node.id
        if isinstance(node, ast.Attribute):
            assert node.attr in ALLOWED_METHODS, node.attr
        if isinstance(node, ast.Call):
            callee = node.func
            assert (isinstance(callee, ast.Attribute) or isinstance(callee, ast.Name)
                    and callee.id in {"type", "_bad", "_nn"}), ast.dump(callee)


constants = (
    strings().map(render)
    | st.integers(-3, 3).map(str)
    | st.sampled_from(["0.5", "1.0", "true", "false", "null", "1e+20"])
)
fields = st.sampled_from(FIELDS) | names().map(lambda name: name)
comparisons = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "starts_with", "ends_with",
                               "contains", "matches"])


@st.composite
def conditions(draw, depth: int = 2) -> str:
    """Rule text for simple conditions: comparisons, membership, nulls, logic."""
    if depth == 0 or draw(st.booleans()):
        field = draw(st.sampled_from(FIELDS))
        kind = draw(st.sampled_from(["compare", "in", "null", "between", "field"]))
        if kind == "compare":
            op = draw(comparisons)
            constant = draw(strings().map(render)) if op in ("starts_with", "ends_with",
                                                            "contains") else draw(constants)
            if op == "matches":
                constant = '"^[a-z]+$"'
            return f"{field} {op} {constant}"
        if kind == "in":
            items = draw(st.lists(constants, max_size=4))
            word = draw(st.sampled_from(["in", "not in"]))
            return f"{field} {word} [{', '.join(items)}]"
        if kind == "null":
            return f"{field} is {draw(st.sampled_from(['null', 'not null']))}"
        if kind == "between":
            low, high = sorted(draw(st.lists(st.integers(-5, 5), min_size=2, max_size=2)))
            return f"{field} between {low} and {high}"
        return field
    left, right = draw(conditions(depth - 1)), draw(conditions(depth - 1))
    shape = draw(st.sampled_from(["and", "or", "not"]))
    if shape == "not":
        return f"not ({left})"
    return f"({left}) {shape} ({right})"


values = st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(
    [0.5, 1.0, "", "abc", "x\n\"y", "FR", [], ["abc"], {"k": 1}])
records = st.fixed_dictionaries({}, optional={field: values for field in FIELDS})


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(conditions(), st.lists(records, max_size=8))
def test_generated_code_agrees_with_the_closures(text, customers):
    """Filtering with generated code keeps exactly the records the closures keep."""
    try:
        seg = segdsl.compile(text)
    except segdsl.SegdslError:
        return
    closure = seg._program.closure("rule")
    expected = []
    for customer in customers:
        try:
            if closure(seg._program.context(customer, segdsl.rules._now(NOW, None), None)) is True:
                expected.append(customer)
        except segdsl.DataError:
            return  # bad data raises the same error on both paths (checked below)
    assert seg.filter(customers, now=NOW) == expected
    assert [seg.matches(c, now=NOW) for c in customers] == [c in expected for c in customers]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(conditions())
def test_generated_code_only_evaluates(text):
    """Whatever the rule text, the generated source only reads and compares."""
    try:
        seg = segdsl.compile(text)
    except segdsl.SegdslError:
        return
    fast = seg._program.fast_path("rule")
    if fast is None:
        return
    assert_only_evaluates(generated_source(fast.predicate))
    assert_only_evaluates(generated_source(fast.filter))


def test_hostile_strings_stay_data():
    """Quotes, backslashes and code in a string literal are compared, never run."""
    hostile = '"\\"); import os; os.system(\\"echo pwned\\"); (\\""'
    seg = segdsl.compile(f"a == {hostile} or b in [{hostile}, \"x\"]")
    source = generated_source(seg._program.fast_path("rule").predicate)
    assert_only_evaluates(source)
    literal = '"); import os; os.system("echo pwned"); ("'
    constants = [node.value for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Constant)]
    assert literal in constants
    assert seg.filter([{"a": literal}, {"a": "x"}, {"b": literal}], now=NOW) == [
        {"a": literal}, {"b": literal}]


def test_simple_rules_get_generated_code():
    """The benchmark's scalar rule runs as generated code; a rule with dates does not."""
    assert segdsl.compile("rfm_frequency >= 4 and visits_30d >= 10 and not (purchases_30d > 0)"
                          )._program.fast_path("rule") is not None
    assert segdsl.compile("signed_up_at > now - 30d")._program.fast_path("rule") is None


def test_generated_source_is_shown_in_tracebacks():
    """Generated code is registered so a debugger or traceback can show it."""
    fast = segdsl.compile('a == "x"')._program.fast_path("rule")
    assert generated_source(fast.predicate).startswith("def _generated(record):")


def test_bad_data_is_still_reported():
    """A value the closures reject as bad data is rejected on the fast path too."""
    schema = segdsl.Schema({"a": "number"})
    seg = segdsl.compile("a > 1", schema=schema)
    assert codegen.predicate(seg._program.body("rule")) is not None
    try:
        seg.filter([{"a": 2}, {"a": "three"}], now=NOW)
    except segdsl.DataError as error:
        assert "field a" in str(error)
    else:
        raise AssertionError("bad data went unreported")
