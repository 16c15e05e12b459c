"""Adversarial customers: an answer or a SegdslError, the same on all four APIs, records unchanged.

Every field of a customer (and of its list elements, and of theirs) holds a
value drawn from the hostile kinds of :mod:`tests.strategies`: every null
(NaN, pandas.NA, NaT), numpy scalars, Decimals (also infinite or beyond a
double), bools next to numbers, ``10**400``, impossible and far-dated ISO
stamps, lone surrogates, cyclic lists, lists nested 100,000 deep, objects
whose properties, ``__getattr__``, ``get``/``[]``/``in`` or ``__repr__`` raise,
lists where records are expected and ``""``, ``0``, ``False``, ``{}`` or a
record where a list is expected; the customer itself is a dict, a
``defaultdict``, a ``MappingProxyType``, a ``SimpleNamespace`` or a raising
object or Mapping. A fixed set of rules covers every operator and
aggregation. For each customer and rule, with and without a schema:

- ``Segment.matches``, ``Segment.filter``, ``RuleSet.evaluate`` and
  ``Segment.explain`` (its value, and its rendering) each give an answer or
  raise a ``SegdslError``; nothing else escapes;
- the four give the same membership, or all four raise the same class of error;
- the customer is unchanged afterwards (deep-compared; a ``defaultdict``
  grows no key).
"""

from __future__ import annotations

import collections
import functools
import reprlib
import types
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import segdsl
from tests.strategies import SCHEMA, RaisingGetattr, hostile_customers, snapshot

NOW = "2026-07-15T12:00:00Z"

# name -> rule text; every operator, aggregation, prelude entry and ranking.
RULES = {
    "eq": 'country == "FR"', "ne": 'country != "FR"', "lt": "age < 30", "le": "age <= 30",
    "gt": "age > 30", "ge": "age >= 30", "between": "age between 18 and 65",
    "in": 'country in ["FR", "BE", null]', "not_in": "age not in [1, 2.5]",
    "contains_text": 'email contains "@"', "contains_list": 'tags contains "vip"',
    "in_field": '"vip" in tags', "starts": 'email starts_with "a"', "ends": 'email ends_with ".fr"',
    "regex": 'email matches "^[a-z]+@"', "is_null": "age is null",
    "is_not_null": "signed_up_at is not null", "bare": "email_subscribed",
    "bool_eq": "email_subscribed == true", "bool_ne": "email_subscribed != false",
    "add": "age + 1 == 2", "sub": "age - 1 > 0", "mul": "age * 3 == 21",
    "big_mul": "age * 100000000 > 0", "div": "age / 2 > 1", "mod": "age % 2 == 1",
    "neg": "-age < 0", "logic": "not (age > 1 and country == \"FR\") or email_subscribed",
    "datetime_eq": "signed_up_at == 2026-07-15T10:00:00Z",
    "datetime_in": "signed_up_at in [2026-07-15T10:00:00Z, 2026-07-15]",
    "date_cmp": "signed_up_at >= 2026-07-01", "moment": "signed_up_at > now - 30d",
    "step": "signed_up_at + 1m > now", "elapsed": "now - signed_up_at < 400d",
    "count": "count(orders) > 0", "count_window": "count(orders, within = 30d) >= 1",
    "count_where": 'count(events, where = type == "visit") >= 1',
    "sum": "sum(orders.total) > 10", "avg": "avg(orders.total, within = 365d) > 10",
    "min": "min(orders.total) < 5", "max": "max(orders.at) > now - 7d",
    "first": "first(orders.total) == 1", "last": "last(orders.at) < now",
    "exists": "exists(events, within = 7d)",
    "nested": 'count(orders.items, where = category == "shoes") >= 1',
    "nested_where": "exists(orders.items, where = price > 10)", "plain_list": "count(tags) >= 1",
    "during": "count(orders, during = 2026-06-01 .. 2026-07-31) > 0",
    "long_window": "count(orders, within = 2026y) > 0",
    "huge_window": "count(orders, within = 3659634d) > 0",
    "prelude": "purchased(30d) or visits(30d) >= 2 or spent(365d) > 100 or aov(365d) > 10",
    "orders_filter": 'orders(365d, category = "shoes", discounted = true) >= 1',
    "events": 'events("email_open", 30d) >= 1 or abandoned_cart(7d) or opened_email(30d)',
    "recency": "days_since_last_order < 30 or last_order_at > now - 1d "
               "or first_order_at < 2026-01-01",
    "functions": 'length(email) > 3 and lower(country) == "fr" and abs(age) > 1 '
                 "and round(age) == 7 and coalesce(age, 0) >= 0",
    "days_between": "days_between(signed_up_at, now) > 10",
    "ntile": "ntile(age, 4) >= 2", "percentile": "percentile(sum(orders.total)) >= 50",
    "rfm": 'rfm.recency >= 3 or rfm.group == "champions" or rfm.score > 300',
    "secret": '_secret starts_with "sk-live"',
}
RANKING = {"ntile", "percentile", "rfm"}
LABELS = {name: f"rule{index}" for index, name in enumerate(RULES)}  # segment names in a file
SCHEMAS = {"schema": SCHEMA, "no schema": None}


@functools.cache
def programs(schema_name: str) -> tuple[dict, segdsl.RuleSet, dict]:
    """Every rule compiled as a segment and, together, as one rule file; and
    the rules that do not compile (``test_every_rule_compiles`` fails on them,
    the property checks the others)."""
    schema = SCHEMAS[schema_name]
    segments, refused = {}, {}
    for name, text in RULES.items():
        if schema is not None and name == "secret":
            continue  # _secret is no declared field
        try:
            segments[name] = segdsl.compile(text, schema=schema)
        except segdsl.SegdslError as error:
            refused[name] = str(error)
    ruleset = segdsl.loads("".join(f"segment {LABELS[name]} = {RULES[name]}\n" for name in segments),
                           schema=schema)
    return segments, ruleset, refused


def outcome(action):
    """``("answer", value)`` or ``("error", class name)``; any other exception escapes."""
    try:
        return ("answer", action())
    except segdsl.SegdslError as error:
        return ("error", type(error).__name__)


def explained(segment, customer, population):
    explanation = segment.explain(customer, now=NOW, **population)
    explanation.render()
    return explanation.value is True


def answers(segment, ruleset, name: str, customer) -> dict:
    """The four APIs' answers for one rule and customer."""
    population = {"population": [customer]} if name in RANKING else {}
    label = LABELS[name]
    return {
        "matches": outcome(lambda: segment.matches(customer, now=NOW, **population)),
        "filter": outcome(lambda: segment.filter([customer], now=NOW) != []),
        "evaluate": outcome(lambda: ruleset.evaluate(
            [customer], now=NOW, segments=[label]).members[label] != []),
        "explain": outcome(lambda: explained(segment, customer, population)),
    }


def check_customer(customer) -> list[str]:
    """Problems of one customer over every rule, API and schema."""
    problems = []
    before = snapshot(customer)
    for schema_name in SCHEMAS:
        segments, ruleset, _ = programs(schema_name)
        for name, segment in segments.items():
            try:
                got = answers(segment, ruleset, name, customer)
            except Exception as error:  # noqa: BLE001 - the finding
                problems.append(f"[{schema_name}] {name}: escape {type(error).__name__}: "
                                f"{reprlib.repr(str(error))}")
                continue
            if len(set(got.values())) != 1:
                problems.append(f"[{schema_name}] {name}: the APIs disagree: {got}")
    if snapshot(customer) != before:
        problems.append("the customer changed")
    return problems


def test_every_rule_compiles():
    """The fixed rules are valid with and without the schema (the property relies on it)."""
    for schema_name in SCHEMAS:
        segments, ruleset, refused = programs(schema_name)
        assert refused == {}
        assert {LABELS[name] for name in segments} == set(ruleset)


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(hostile_customers())
def test_adversarial_customers_get_one_answer_or_a_segdsl_error(customer):
    """Whatever a customer holds: an answer or a SegdslError, the same on all four APIs,
    the customer unchanged."""
    problems = check_customer(customer)
    assert not problems, reprlib.repr(customer) + "\n" + "\n".join(problems)


def _defaultdict(factory: Callable[[], Any], fields: dict) -> collections.defaultdict:
    found: collections.defaultdict = collections.defaultdict(factory)
    found.update(fields)
    return found


@pytest.mark.parametrize("customer", [
    _defaultdict(list, {"id": 1, "orders": [_defaultdict(
        dict, {"at": "2026-07-01T00:00:00Z", "total": 5})]}),
    _defaultdict(str, {"id": 2}),
], ids=["list factory", "str factory"])
def test_a_defaultdict_customer_grows_no_key(customer):
    """Reading a defaultdict customer (and its elements) never runs its default factory."""
    before = snapshot(customer)
    assert check_customer(customer) == []
    assert snapshot(customer) == before
    assert sorted(customer) == (["id", "orders"] if "orders" in customer else ["id"])


def test_private_attributes_of_objects_read_as_null():
    """A field path never reads an attribute starting with '_' from an object: null on
    every API, and the secret is never shown."""
    customer = types.SimpleNamespace(id=1, _secret="sk-live-123")
    for text in ('_secret starts_with "sk-live"',
                 '__class__.__init__.__globals__.API_KEY starts_with "sk-live"'):
        segment = segdsl.compile(text)
        assert segment.matches(customer, now=NOW) is False
        assert segment.filter([customer], now=NOW) == []
        assert segdsl.loads(f"segment s = {text}").evaluate([customer], now=NOW).members == {
            "s": []}
        explanation = segment.explain(customer, now=NOW)
        assert explanation.value is None
        assert "sk-live-123" not in explanation.render()
    assert segdsl.compile("_secret is null").matches(customer, now=NOW) is True


def test_an_object_whose_getattr_raises_is_bad_data_naming_the_field():
    """`__getattr__` raising something else than AttributeError is a DataError naming the
    customer and the field, on every API."""
    customer = RaisingGetattr(id=7)
    segment = segdsl.compile('country == "FR"')
    for action in (lambda: segment.matches(customer, now=NOW),
                   lambda: segment.filter([customer], now=NOW),
                   lambda: segdsl.loads('segment s = country == "FR"').evaluate(
                       [customer], now=NOW),
                   lambda: segment.explain(customer, now=NOW)):
        with pytest.raises(segdsl.DataError) as caught:
            action()
        assert "7" in str(caught.value) and "country" in str(caught.value)
