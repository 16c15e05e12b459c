"""Checking costs time and memory in proportion to the rule text, whatever its shape."""

import time
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segdsl
from segdsl import checked as c
from segdsl.checker import Checker, Options
from segdsl.parser import parse


def _check(text):
    checker = Checker(parse(text), Options(), text)
    bodies = checker.check_file()
    return checker, bodies


def _distinct_nodes(node):
    seen, stack = {}, [node]
    while stack:
        current = stack.pop()
        if id(current) not in seen:
            seen[id(current)] = current
            stack.extend(c.checked_children(current))
    return len(seen)


def _diamond(levels):
    lines = ["def f0(x) = x + 1"]
    lines += [f"def f{i}(x) = f{i - 1}(x) + f{i - 1}(x)" for i in range(1, levels + 1)]
    lines.append(f"segment s = f{levels}(score) > 0")
    return "\n".join(lines)


def test_def_calling_a_def_twice_22_levels_deep_checks_in_under_a_second():
    """A def calling another twice, 22 levels deep, is checked in under a second as a shared DAG."""
    started = time.perf_counter()
    checker, bodies = _check(_diamond(22))
    assert time.perf_counter() - started < 1.0
    assert checker.errors == []
    assert _distinct_nodes(bodies["s"]) < 200  # the tree written out would have 2**23 nodes


def test_shared_expansions_keep_hashing_and_equality_cheap():
    """Hashing and comparing the checked body of a 22-level diamond takes no time."""
    _, first = _check(_diamond(22))
    _, second = _check(_diamond(22))
    started = time.perf_counter()
    assert hash(first["s"]) == hash(second["s"])
    assert first["s"] == first["s"]
    assert time.perf_counter() - started < 0.5


def test_calls_with_different_constant_kinds_are_not_shared():
    """`f(1)` and `f(true)` are checked apart: 1 == True in Python, not in the language."""
    text = "def f(x) = x\nsegment s = f(1) == 1 and f(true) == true"
    checker, bodies = _check(text)
    assert checker.errors == []
    first, second = bodies["s"].operands
    assert first.left.value == 1 and first.left.type.name == "number"
    assert second.left.value is True and second.left.type.name == "bool"


def test_a_chain_of_1000_segments_written_last_first_checks():
    """1,000 segments each referring to the next one down check with no RecursionError."""
    lines = ["segment s0 = score > 0"]
    lines += [f"segment s{i} = s{i - 1} and score > {i}" for i in range(1, 1000)]
    checker, bodies = _check("\n".join(reversed(lines)))
    assert checker.errors == []
    assert len(bodies) == 1000


def test_a_chain_of_1000_defs_each_calling_the_previous_checks():
    """1,000 defs each calling the previous check with no RecursionError."""
    lines = ["def f0(x) = x + 1"]
    lines += [f"def f{i}(x) = f{i - 1}(x) + 1" for i in range(1, 1000)]
    lines.append("segment s = f999(score) > 0")
    checker, bodies = _check("\n".join(lines))
    assert checker.errors == []
    assert bodies["s"].type.name == "bool"


def test_defs_nested_beyond_the_limit_are_a_check_error_at_the_call():
    """Defs nested beyond the checker's limit are a CheckError pointing at the user's call."""
    lines = ["def f0(x) = x > 1"]
    lines += [f"def f{i}(x) = f{i - 1}(x) and x > 0" for i in range(1, 4000)]
    lines.append("segment s = f3999(score)")
    text = "\n".join(lines)
    checker, _ = _check(text)
    assert [e.message for e in checker.errors] == [
        "the rule nests too deeply once its defs are expanded (more than 6,000 levels)"]
    assert checker.errors[0].line == 4001 and checker.errors[0].column == 13


def test_a_segment_cycle_is_still_reported_where_it_starts():
    """Checking referred segments first keeps the cycle error on the first segment of the cycle."""
    checker, _ = _check("segment a = b\nsegment b = a\n")
    assert [(e.message, e.line) for e in checker.errors] == [
        ("segments refer to each other in a cycle: a -> b -> a", 1)]


@pytest.mark.parametrize("literal", ['"' + "a" * 1_000_000 + '"',
                                     '"' + "\\n" * 500_000 + '"'])
def test_a_million_character_string_literal_costs_a_few_megabytes(literal):
    """Parsing and checking a 1 M-character string literal peaks at a few MB, not hundreds."""
    text = "segment s = name == " + literal
    tracemalloc.start()
    try:
        segdsl.check(text)
        segdsl.format(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40_000_000


@pytest.mark.parametrize("kind", ["segments", "defs"])
def test_chains_of_1000_evaluate(kind):
    """Chains of 1,000 segments or defs also compile to closures and evaluate."""
    if kind == "segments":
        lines = ["segment s0 = score > 0"]
        lines += [f"segment s{i} = s{i - 1} and score > {i}" for i in range(1, 1000)]
        name = "s999"
    else:
        lines = ["def f0(x) = x + 1"]
        lines += [f"def f{i}(x) = f{i - 1}(x) + 1" for i in range(1, 1000)]
        lines.append("segment s = f999(score) > 1000")
        name = "s"
    rules = segdsl.loads("\n".join(lines))
    assert rules[name].matches({"id": 1, "score": 2000}) is True
    assert rules[name].matches({"id": 2, "score": 0}) is False


def test_a_failing_chain_of_1000_segments_reports_one_error_quickly():
    """When the bottom of a 1,000-segment chain is wrong, its error is reported once, fast."""
    lines = ["segment s0 = visits(30d)"]
    lines += [f"segment s{i} = s{i - 1} and score > {i}" for i in range(1, 1000)]
    started = time.perf_counter()
    checker, _ = _check("\n".join(reversed(lines)))
    assert time.perf_counter() - started < 2.0
    assert [(e.message, e.line) for e in checker.errors] == [
        ("a segment's rule must be a condition (true or false), but this is a number", 1000)]


def test_segment_asked_alone_checks_a_chain_of_1000_in_a_loop():
    """Checker.segment on the top of a 1,000-segment chain, on a fresh checker, needs no recursion."""
    lines = ["segment s0 = score > 0"]
    lines += [f"segment s{i} = s{i - 1} and score > {i}" for i in range(1, 1000)]
    text = "\n".join(lines)
    checker = Checker(parse(text), Options(), text)
    started = time.perf_counter()
    body = checker.segment("s999")
    assert time.perf_counter() - started < 1.0
    assert isinstance(body, c.And) and body.operands[0] == c.SegmentRef("s998", body.type, False)


class _NoSharing(dict):
    """An expansion table that never keeps anything: every call is expanded anew."""

    def __setitem__(self, key, value):
        pass


_ARGUMENTS = ["1", "1.0", "true", '"a"', "score", "score + 1", "2026-01-01", "30d", "null",
              "[1, true]", "[true, 1]", "x"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_ARGUMENTS), st.sampled_from(_ARGUMENTS)),
                min_size=1, max_size=6))
def test_shared_expansions_are_the_expansions(calls):
    """Sharing the expansions of equal calls gives the same checked rule as expanding each."""
    defs = "def pick(x, y) = coalesce(x, y) is not null\n"
    defs += "def both(x, y) = pick(x, y) and pick(y, x)\n"
    body = " and ".join(f"both({a}, {b})" for a, b in calls)
    text = defs + f"segment s = {body}\n"
    shared, bodies = _check(text)
    alone = Checker(parse(text), Options(), text)
    alone._expansions = _NoSharing()
    expected = alone.check_file()
    assert [e.message for e in shared.errors] == [e.message for e in alone.errors]
    assert bodies == expected
    assert repr(bodies) == repr(expected)


def test_a_def_diamond_22_levels_deep_compiles_evaluates_and_explains_at_once():
    """`f(x) + f(x)` nested 22 deep is compiled, evaluated and explained once per shared node."""
    lines = ["def f0(x) = x + 1"]
    lines += [f"def f{i}(x) = f{i - 1}(x) + f{i - 1}(x)" for i in range(1, 23)]
    rules = segdsl.loads("\n".join(lines) + "\nsegment s = f22(score) >= 8388608")
    now = "2026-07-15T12:00:00Z"
    customers = [{"id": 1, "score": 1}, {"id": 2, "score": 0}]
    started = time.perf_counter()
    # f22(x) = (x + 1) * 2**22: 8,388,608 for score 1, 4,194,304 for score 0.
    assert [rules["s"].matches(customer, now=now) for customer in customers] == [True, False]
    assert rules.evaluate(customers, now=now)["s"] == [1]
    explanation = rules["s"].explain(customers[0], now=now)
    assert time.perf_counter() - started < 1.0
    assert explanation.value is True
    lines_shown = str(explanation).splitlines()
    assert len(lines_shown) < 100
    assert any(line.endswith("(see above)") for line in lines_shown)
