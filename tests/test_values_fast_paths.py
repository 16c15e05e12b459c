"""The generated fast paths stay in use on clean data, and hand over exactly the rest.

These tests count how often the general evaluator (the closures) runs: on
plain dicts of plain values it must not run at all for simple rules, and for
a value the generated code does not decide it must run for that record alone.
"""

from __future__ import annotations

import datetime as dt
import linecache
import re

import numpy as np
import pytest

import segdsl
from segdsl import codegen, compiler

NOW = "2026-07-15T10:00:00Z"
RULE = 'age >= 30 and country == "FR" and not (score > 5) and tier in ["gold", "silver"]'


def _customers(count: int) -> list[dict]:
    return [{"id": i, "age": 20 + i % 30, "country": ("FR", "BE")[i % 2], "score": i % 9,
             "tier": ("gold", "silver", "bronze")[i % 3]} for i in range(count)]


def _expected(customers: list[dict]) -> list[int]:
    return [c["id"] for c in customers if c["age"] >= 30 and c["country"] == "FR"
            and not c["score"] > 5 and c["tier"] in ("gold", "silver")]


@pytest.fixture
def contexts(monkeypatch) -> list[int]:
    """Counts the customers the closures evaluate (one Context each)."""
    made = [0]
    original = compiler.Context.__init__

    def counting(self, *args, **kwargs):
        made[0] += 1
        original(self, *args, **kwargs)

    monkeypatch.setattr(compiler.Context, "__init__", counting)
    return made


@pytest.fixture
def element_checks(monkeypatch) -> set[int]:
    """The list elements (by id) a ``where`` condition is evaluated on by the closures."""
    seen: set[int] = set()
    original = compiler.Compiler.condition

    def condition(self, node):
        closure = original(self, node)

        def counted(ctx):
            if len(ctx.scopes) > 1:
                seen.add(id(ctx.scopes[-1]))
            return closure(ctx)

        return counted

    monkeypatch.setattr(compiler.Compiler, "condition", condition)
    return seen


@pytest.mark.parametrize("schema", [None, segdsl.Schema({
    "id": "number", "age": "number", "country": "string", "score": "number",
    "tier": "string"})], ids=["no schema", "schema"])
def test_filter_and_evaluate_on_clean_data_never_call_the_closures(contexts, schema):
    """Plain dicts of plain values: filter and evaluate decide every customer in generated code."""
    customers = _customers(3000)
    segment = segdsl.compile(RULE, schema=schema)
    assert [c["id"] for c in segment.filter(customers, now=NOW)] == _expected(customers)
    rules = segdsl.loads(f"segment s = {RULE}\n", schema=schema)
    assert rules.evaluate(customers, now=NOW)["s"] == _expected(customers)
    assert contexts[0] == 0


def test_values_the_generated_code_does_not_decide_go_to_the_closures_one_by_one(contexts):
    """A numpy number and a dict subclass go to the closures, alone; a NaN (null) is
    decided by the generated code, which finds it neither above nor below 5."""
    customers = _customers(3000)
    customers[10]["age"] = np.float64(45)
    customers[2000]["score"] = float("nan")
    odd = dict(customers[2500])
    customers[2500] = type("Row", (dict,), {})(odd)
    expected = [c["id"] for c in customers
                if c["age"] >= 30 and c["country"] == "FR" and not c["score"] > 5
                and c["tier"] in ("gold", "silver") and c["score"] == c["score"]]
    segment = segdsl.compile(RULE)
    assert [c["id"] for c in segment.filter(customers, now=NOW)] == expected
    assert contexts[0] == 2
    rules = segdsl.loads(f"segment s = {RULE}\n")
    assert rules.evaluate(customers, now=NOW)["s"] == expected
    assert contexts[0] == 4


def test_a_where_condition_on_clean_elements_never_calls_the_closures(element_checks):
    """`count(orders, where = ...)` filters plain elements in generated code; a numpy total
    goes to the closures alone."""
    rule = 'count(orders, where = total > 10 and status == "paid") >= 2'
    segment = segdsl.compile(rule)
    customers = [{"id": i, "orders": [
        {"at": "2026-07-01T10:00:00Z", "total": 5 + i % 20, "status": "paid"},
        {"at": "2026-07-02T10:00:00Z", "total": 30, "status": ("paid", "void")[i % 2]},
        {"at": "2026-07-03T10:00:00Z", "total": 12, "status": "paid"}]} for i in range(500)]
    expected = [c["id"] for c in customers
                if sum(o["total"] > 10 and o["status"] == "paid" for o in c["orders"]) >= 2]
    assert [c["id"] for c in segment.filter(customers, now=NOW)] == expected
    assert element_checks == set()
    customers[8]["orders"][0]["total"] = np.int64(50)
    assert 8 in [c["id"] for c in segment.filter(customers, now=NOW)]
    assert element_checks == {id(customers[8]["orders"][0])}


@pytest.fixture
def generated_calls(monkeypatch) -> dict[str, int]:
    """How often the generated list filters and per-element predicates run."""
    calls = {"filter": 0, "predicate": 0}

    def counting(make, kind):
        def wrapped(*args, **kwargs):
            generated = make(*args, **kwargs)
            if generated is None:
                return None

            def counted(value):
                calls[kind] += 1
                return generated(value)
            return counted
        return wrapped

    monkeypatch.setattr(codegen, "list_filter", counting(codegen.list_filter, "filter"))
    monkeypatch.setattr(codegen, "predicate", counting(codegen.predicate, "predicate"))
    return calls


@pytest.mark.parametrize("stamp", ["2026-07-01T10:00:00Z", dt.datetime(2026, 7, 1, 10, tzinfo=dt.UTC)],
                         ids=["text", "datetime"])
def test_a_where_over_plain_elements_filters_each_list_in_one_call(generated_calls, stamp):
    """Orders stamped with text or datetimes: one generated filter call per customer's
    orders, never the element-by-element predicate."""
    segment = segdsl.compile('count(orders, where = total > 10) >= 2')
    customers = [{"id": i, "orders": [{"at": stamp, "total": 5 + i % 20},
                                      {"at": stamp, "total": 30}]} for i in range(300)]
    expected = [c["id"] for c in customers if c["orders"][0]["total"] > 10]
    assert [c["id"] for c in segment.filter(customers, now=NOW)] == expected
    assert generated_calls == {"filter": 300, "predicate": 0}


def _source(function) -> str:
    return "".join(linecache.getlines(function.__code__.co_filename))


def test_the_generated_code_guards_what_the_checker_did_not_prove():
    """Every field read checks its exact type, and the record is read only when it is a dict."""
    segment = segdsl.compile('age >= 30 and country == "FR"')
    checked = segment._program.body(segment.name)
    source = _source(codegen.list_filter(checked))
    assert "type(record) is _k1 or _bad()" in source
    reads = source.count("record['")
    assert reads >= 2 and source.count("if type(_t") == reads
    dated = segdsl.compile("x == 2024-10-17T11:31:59Z")
    assert codegen.predicate(dated._program.body(dated.name)) is None


def test_an_and_operand_that_is_not_true_is_retested_from_the_same_reads():
    """Where `age >= 30` is not true, the generated code asks whether it is false from the
    value already read, and on a null goes on testing the later operands as the closures do."""
    segment = segdsl.compile("age >= 30 and flag")
    source = _source(codegen.list_filter(segment._program.body(segment.name)))
    assert source.count("record['age']") == 1
    assert re.search(r"else \(False if \(_t\d+ < 30\) else", source)
    customers = [{"id": 1, "age": None, "flag": 7}, {"id": 2, "age": 20, "flag": 7}]
    with pytest.raises(segdsl.DataError, match="expected true or false, found 7"):
        segment.filter(customers[:1], now=NOW)  # null age: the closures go on to the bad flag
    assert segment.filter(customers[1:], now=NOW) == []  # false age: flag never needed
