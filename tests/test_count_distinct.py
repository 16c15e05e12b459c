"""count_distinct: distinct non-null values under the rules' equality, windows and nested lists."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segdsl
from segdsl.compiler import equal

NOW = "2026-07-15T12:00:00Z"

SCHEMA = segdsl.Schema({
    "id": "number",
    "tags": "list[string]",
    "scores": "list[number]",
    "orders": segdsl.ListOf({"at": "datetime", "total": "number",
                             "items": [{"category": "string", "price": "number"}]}),
    "events": segdsl.ListOf({"type": "string", "at": "datetime"}),
})


def _order(at: str, *categories: str | None, total: float = 10) -> dict:
    return {"at": at, "total": total, "items": [{"category": c, "price": 1} for c in categories]}


# Worked out by hand: 365d back from NOW is after 2025-07-15T12:00:00Z.
CUSTOMERS = [
    # 1: shoes, bags, hats in the year (three categories), coats two years ago.
    {"id": 1, "orders": [_order("2026-07-01T00:00:00Z", "shoes", "bags"),
                         _order("2026-01-01T00:00:00Z", "shoes", "hats", None),
                         _order("2024-07-01T00:00:00Z", "coats")]},
    # 2: two categories in the year, a third (and fourth) before it.
    {"id": 2, "orders": [_order("2026-07-01T00:00:00Z", "shoes"),
                         _order("2026-06-01T00:00:00Z", "Shoes"),
                         _order("2025-07-01T00:00:00Z", "hats", "bags")]},
    # 3: one order with the same category three times.
    {"id": 3, "orders": [_order("2026-07-01T00:00:00Z", "shoes", "shoes", "shoes")]},
    # 4: no orders at all.
    {"id": 4},
    # 5: a third category only in an order after NOW (not seen).
    {"id": 5, "orders": [_order("2026-07-01T00:00:00Z", "shoes", "bags"),
                         _order("2026-07-20T00:00:00Z", "hats")]},
]


def _members(rule: str, customers: list, **options) -> list:
    """The ids in the segment by matches, filter, evaluate and explain (all must agree)."""
    seg = segdsl.compile(rule, **options)
    rules = segdsl.loads(f"segment s = {rule}", **options)
    by_matches = [c["id"] for c in customers if seg.matches(c, now=NOW)]
    by_filter = [c["id"] for c in seg.filter(customers, now=NOW)]
    by_evaluate = sorted(rules.evaluate(customers, now=NOW).members["s"])
    by_explain = [c["id"] for c in customers if seg.explain(c, now=NOW).value is True]
    assert by_matches == by_filter == by_evaluate == by_explain, rule
    return by_matches


@pytest.mark.parametrize("schema", [None, SCHEMA], ids=["no-schema", "schema"])
def test_bought_from_three_categories_in_a_year(schema):
    """The issue's rule: nested items flatten, the window applies to the orders, nulls are left out."""
    rule = "count_distinct(orders.items.category, within = 365d) >= 3"
    assert _members(rule, CUSTOMERS, schema=schema) == [1]
    assert _members("count_distinct(orders.items.category) >= 3", CUSTOMERS,
                    schema=schema) == [1, 2]
    assert _members("count_distinct(orders.items.category) == 0", CUSTOMERS,
                    schema=schema) == [4]


@pytest.mark.parametrize("schema", [None, SCHEMA], ids=["no-schema", "schema"])
def test_text_is_case_sensitive_and_where_filters_first(schema):
    """"shoes" and "Shoes" are two values; a where picks the elements counted."""
    assert _members("count_distinct(orders.items.category, within = 365d) == 2", CUSTOMERS,
                    schema=schema) == [2, 5]
    assert _members('count_distinct(orders.items.category, where = category != "shoes") == 0',
                    CUSTOMERS, schema=schema) == [3, 4]


def test_numbers_equal_under_the_rules_are_one_value_and_booleans_are_not_numbers():
    """1 and 1.0 are one value, true and 1 two, text "1" a third; nulls are not counted."""
    customers = [{"id": 1, "values": [1, 1.0, True, "1", None, float("nan")]},
                 {"id": 2, "values": [0, -0.0, False, 10**20, 1e20]},
                 {"id": 3, "values": []}]
    assert _members("count_distinct(values) == 3", customers) == [1, 2]
    assert _members("count_distinct(values) == 0", customers) == [3]


def test_a_date_and_a_datetime_are_two_values_and_equal_instants_one():
    """Without a schema values compare as read: a date is not a datetime; one instant is one value."""
    zone = dt.timezone(dt.timedelta(hours=2))
    customers = [{"id": 1, "days": [dt.date(2026, 7, 1), dt.datetime(2026, 7, 1, tzinfo=dt.UTC),
                                    dt.datetime(2026, 7, 1, 2, tzinfo=zone)]}]
    assert _members("count_distinct(days) == 2", customers) == [1]


def test_with_a_schema_datetimes_are_compared_as_instants():
    """Declared datetimes written as different text of one instant are one value."""
    customer = {"id": 1, "events": [{"type": "v", "at": "2026-07-01T10:00:00Z"},
                                    {"type": "v", "at": "2026-07-01T12:00:00+02:00"},
                                    {"type": "v", "at": "2026-07-02T10:00:00Z"}]}
    assert _members("count_distinct(events.at) == 2", [customer], schema=SCHEMA) == [1]


@pytest.mark.parametrize("schema", [None, SCHEMA], ids=["no-schema", "schema"])
def test_the_elements_themselves_of_a_list_of_scalars(schema):
    """count_distinct(tags) counts distinct items; a named where works on them."""
    customers = [{"id": 1, "tags": ["vip", "vip", "new", None]}, {"id": 2, "tags": ["a"]},
                 {"id": 3}]
    assert _members("count_distinct(tags) == 2", customers, schema=schema) == [1]
    assert _members('count_distinct(tags as t, where = t != "vip") == 1', customers,
                    schema=schema) == [1, 2]


@pytest.mark.parametrize(("customer", "path"), [
    ({"id": 7, "tags": ["a", ["b"]]}, "tags"),
    ({"id": 8, "tags": [{"b": 1}]}, "tags"),
    ({"id": 9, "orders": [{"at": "2026-07-01T00:00:00Z", "items": [{"category": ["x"]}]}]},
     "orders.items.category"),
])
def test_a_list_or_record_value_is_bad_data_naming_customer_and_path(customer, path):
    """Without a schema, a list or record where a value is counted is a DataError."""
    rule = "count_distinct(orders.items.category) > 0" if "orders" in customer else \
        "count_distinct(tags) > 0"
    with pytest.raises(segdsl.DataError) as caught:
        segdsl.compile(rule).matches(customer, now=NOW)
    assert (caught.value.customer_id, caught.value.field_path) == (customer["id"], path)


def test_a_list_value_at_an_undeclared_path_is_bad_data():
    """An undeclared nested value that is a list is not entered: it is bad data."""
    customer = {"id": 5, "baskets": [{"lines": ["a", "b"]}]}
    with pytest.raises(segdsl.DataError) as caught:
        segdsl.compile("count_distinct(baskets.lines) > 0").matches(customer, now=NOW)
    assert str(caught.value) == ("customer 5, field baskets.lines: count_distinct counts plain "
                                 "values, found a list ['a', 'b']")


def test_a_declared_type_is_enforced():
    """A number where the schema says string is bad data, as on every path."""
    customer = {"id": 6, "orders": [{"at": "2026-07-01T00:00:00Z", "items": [{"category": 3}]}]}
    with pytest.raises(segdsl.DataError) as caught:
        segdsl.compile("count_distinct(orders.items.category) > 0", schema=SCHEMA).matches(
            customer, now=NOW)
    assert str(caught.value) == ("customer 6, field orders.items.category: expected a string, "
                                 "found 3")


@pytest.mark.parametrize(("rule", "message", "column", "end_column"), [
    ("count_distinct(orders) > 1",
     "'count_distinct' counts values such as numbers or text, but orders holds records", 16, 22),
    ("count_distinct(orders.items) > 1",
     "'count_distinct' counts values such as numbers or text, but orders.items holds records",
     16, 28),
])
@pytest.mark.parametrize("schema", [None, SCHEMA], ids=["no-schema", "schema"])
def test_records_are_refused_when_checking(rule, message, column, end_column, schema):
    """count_distinct over a path typed as records is a CheckError at the path."""
    with pytest.raises(segdsl.CheckError) as caught:
        segdsl.compile(rule, schema=schema)
    error = caught.value
    assert (error.message, error.column, error.span.end_column) == (message, column, end_column)
    assert error.hint == "name a field of the elements: count_distinct(orders.items.category)"


def test_a_list_typed_value_is_refused_when_checking():
    """A declared list of lists has list values: count_distinct refuses them."""
    schema = segdsl.Schema({"grid": "list[list[number]]"})
    with pytest.raises(segdsl.CheckError) as caught:
        segdsl.compile("count_distinct(grid) > 1", schema=schema)
    assert caught.value.message == ("'count_distinct' counts values such as numbers or text, but "
                                    "grid holds lists")


def test_count_distinct_is_a_number_never_null_and_is_formatted():
    """Its result compares with numbers, is 0 for no values, and fmt prints it unchanged."""
    assert segdsl.compile("count_distinct(tags) == 0").matches({"id": 1}, now=NOW) is True
    text = "segment s = count_distinct(orders.items.category, within = 365d) >= 3\n"
    assert segdsl.format(text) == text
    explanation = segdsl.compile("count_distinct(tags) == 2").explain(
        {"id": 1, "tags": ["a", "b", "a"]}, now=NOW)
    assert str(explanation).splitlines()[1] == "└── count_distinct(tags) = 2"


_SCALARS = st.one_of(st.integers(-3, 3), st.sampled_from([0.0, -0.0, 1.0, 2.5, 1e20, 10**20]),
                     st.booleans(), st.sampled_from(["a", "A", "1", ""]), st.none())


@settings(max_examples=150, deadline=None)
@given(st.lists(_SCALARS, max_size=8))
def test_count_distinct_counts_the_classes_of_the_rules_equality(values):
    """count_distinct equals the number of groups of non-null values under the rules' `==`."""
    groups: list = []
    for value in values:
        if value is not None and not any(equal(value, kept) for kept in groups):
            groups.append(value)
    customer = {"id": 1, "values": values}
    rule = segdsl.compile(f"count_distinct(values) == {len(groups)}")
    assert rule.matches(customer, now=NOW) is True
    assert rule.explain(customer, now=NOW).value is True
