"""Lists and aggregations: plain-value lists, bad lists, nested lists, dates, population functions."""

from __future__ import annotations

import collections
import datetime as dt
import types

import numpy as np
import pytest

import segdsl

NOW = "2026-07-15T12:00:00Z"


def _answers(rule: str, customers: list, **options) -> list:
    """Membership of each customer by matches, filter, evaluate and explain (all must agree)."""
    seg = segdsl.compile(rule, **options)
    rules = segdsl.loads(f"segment s = {rule}", **options)
    by_matches = [seg.matches(c, now=NOW) for c in customers]
    by_filter = [any(m is c for m in seg.filter(customers, now=NOW)) for c in customers]
    members = rules.evaluate(customers, now=NOW).members["s"]
    by_evaluate = [c["id"] in members for c in customers]
    by_explain = [seg.explain(c, now=NOW).value is True for c in customers]
    assert by_matches == by_filter == by_evaluate == by_explain, rule
    return by_matches


# ------------------------------------------------------------ lists of plain values

TAGGED = [{"id": 1, "tags": ["vip", "new"]}, {"id": 2, "tags": []}, {"id": 3, "tags": None},
          {"id": 4}, {"id": 5, "tags": ("vip", None, 3)}, {"id": 6, "tags": np.array(["a"])}]


def test_lists_count_and_exists_work_on_a_list_of_plain_values():
    """count/exists of strings or numbers need no timestamp: non-null items, no schema."""
    assert _answers("count(tags) == 2", TAGGED) == [True, False, False, False, True, False]
    assert _answers("exists(tags)", TAGGED) == [True, False, False, False, True, True]
    assert _answers("count(tags) == 0", TAGGED) == [False, True, True, True, False, False]


def test_lists_first_and_last_of_plain_values_follow_the_list():
    """Without timestamps, first and last are the list's own."""
    assert _answers('first(tags) == "vip" and last(tags) == "new"', TAGGED[:1]) == [True]


def test_lists_a_window_over_plain_values_is_bad_data():
    """A window needs timestamps: a list of strings with one is a DataError naming the item."""
    with pytest.raises(segdsl.DataError) as raised:
        segdsl.compile("count(tags, within = 30d) > 0").matches(TAGGED[0], now=NOW)
    assert str(raised.value) == ("customer 1, field tags[0]: expected a record with a field "
                                 "'at', found 'vip'")


@pytest.mark.parametrize(("value", "kind"), [("", "str"), (0, "int"), (False, "bool"),
                                             ({}, "dict"), ("vip", "str"), (7.5, "float")])
@pytest.mark.parametrize("rule", ["count(tags) == 0", "exists(tags)", "count(orders) == 0"])
def test_lists_a_value_that_is_no_list_is_bad_data(rule, value, kind):
    """`""`, `0`, `False`, `{}` or text where a list is expected: a DataError, not an empty list."""
    name = "orders" if "orders" in rule else "tags"
    with pytest.raises(segdsl.DataError) as raised:
        segdsl.compile(rule).matches({"id": 9, name: value}, now=NOW)
    assert str(raised.value) == f"customer 9, field {name}: expected a list, found {kind}"
    assert raised.value.field_path == name


def test_lists_a_schema_list_of_strings_counts_the_same():
    """With `list[string]` declared, count and exists give the same answers."""
    schema = segdsl.Schema({"id": "number", "tags": "list[string]"})
    customers = [*TAGGED[:4], {"id": 5, "tags": ("vip", None, "x")}]
    assert _answers("count(tags) == 2", customers, schema=schema) == [True, False, False, False,
                                                                      True]
    assert _answers("exists(tags)", customers, schema=schema) == [True, False, False, False,
                                                                  True]


# ------------------------------------------------------------------- nested lists

def _order(at: str, *items: tuple[str, float]) -> dict:
    return {"at": at, "total": sum(p for _, p in items),
            "items": [{"category": c, "price": p} for c, p in items]}


# Customer 1: shoes in July and in January; customer 2: hats only; customer 3: shoes twice in
# one July order; customer 4: no orders; customer 5: an order dated after now.
NESTED = [
    {"id": 1, "orders": [_order("2026-07-01T10:00:00Z", ("shoes", 10.0), ("hats", 3.0)),
                         _order("2026-01-01T10:00:00Z", ("shoes", 20.0))]},
    {"id": 2, "orders": [_order("2026-07-02T10:00:00Z", ("hats", 5.0), ("hats", 6.0))]},
    {"id": 3, "orders": [_order("2026-07-03T10:00:00Z", ("shoes", 1.0), ("shoes", 2.0)),
                         _order("2026-07-04T10:00:00Z")]},
    {"id": 4, "orders": []},
    {"id": 5, "orders": [_order("2026-08-01T10:00:00Z", ("shoes", 9.0))]},
]
SHOP = segdsl.Schema({
    "id": "number",
    "orders": segdsl.ListOf({"placed": "datetime", "total": "number",
                             "items": [{"category": "string", "price": "number"}]},
                            timestamp="placed"),
})
PLACED = [{"id": c["id"], "orders": [{"placed": o["at"], "total": o["total"], "items": o["items"]}
                                     for o in c["orders"]]} for c in NESTED]


@pytest.mark.parametrize(("schema", "customers"), [(None, NESTED), (SHOP, PLACED)],
                         ids=["no schema", "schema"])
def test_lists_nested_lists_flatten(schema, customers):
    """`orders.items` is the items of all orders, with and without a schema."""
    options = {"schema": schema}
    assert _answers('count(orders.items, where = category == "shoes") == 2', customers,
                    **options) == [True, False, True, False, False]
    assert _answers("count(orders.items) == 3", customers, **options) == [True, False, False,
                                                                          False, False]
    assert _answers("sum(orders.items.price) == 33", customers, **options) == [True, False,
                                                                               False, False,
                                                                               False]
    assert _answers("max(orders.items.price) == 6", customers, **options) == [False, True,
                                                                              False, False,
                                                                              False]
    assert _answers('last(orders.items.category) == "hats"', customers, **options) == [
        True, True, False, False, False]


@pytest.mark.parametrize(("schema", "customers"), [(None, NESTED), (SHOP, PLACED)],
                         ids=["no schema", "schema"])
def test_lists_a_window_over_nested_lists_applies_to_the_orders(schema, customers):
    """Items of orders outside the window (January; after now) are not counted."""
    options = {"schema": schema}
    assert _answers('count(orders.items, where = category == "shoes", within = 30d) == 1',
                    customers, **options) == [True, False, False, False, False]
    assert _answers("sum(orders.items.price, within = 30d) == 13", customers, **options) == [
        True, False, False, False, False]
    assert _answers("count(orders.items, within = 30d) == 0", customers, **options) == [
        False, False, False, True, True]


def test_lists_bad_data_inside_a_nested_list_is_named_from_the_customer():
    """An item's bad price is `orders[1].items[0].price`; a non-list `items` is `orders[0].items`."""
    customer = {"id": 8, "orders": [_order("2026-07-01T10:00:00Z", ("hats", 1.0)),
                                    {"at": "2026-07-02T10:00:00Z",
                                     "items": [{"category": "x", "price": "abc"}]}]}
    with pytest.raises(segdsl.DataError) as raised:
        segdsl.compile("count(orders.items, where = price > 2) > 0").matches(customer, now=NOW)
    assert str(raised.value) == ("customer 8, field orders[1].items[0].price: expected a number, "
                                 "found 'abc'")
    customer = {"id": 8, "orders": [{"at": "2026-07-01T10:00:00Z", "items": "abc"}]}
    with pytest.raises(segdsl.DataError) as raised:
        segdsl.compile("count(orders.items) > 0").matches(customer, now=NOW)
    assert str(raised.value) == "customer 8, field orders[0].items: expected a list, found str"


def test_lists_an_unknown_item_field_is_a_check_error_with_a_schema():
    """With a schema, a misspelt item field inside the 'where' is caught before any data."""
    with pytest.raises(segdsl.CheckError, match="unknown name 'categry'"):
        segdsl.compile('count(orders.items, where = categry == "shoes") > 0', schema=SHOP)


# ------------------------------------------------------------------- date fields

RENEWALS = segdsl.Schema({"id": "number", "renewals": [{"due": "date"}]})


@pytest.mark.parametrize("day", [str, lambda text: dt.date.fromisoformat(text)],
                         ids=["text", "date"])
@pytest.mark.parametrize("schema", [RENEWALS, None], ids=["schema", "no schema"])
def test_lists_an_aggregated_date_field_is_a_date(schema, day):
    """`last(renewals.due) == 2026-08-01` holds for an equal date, and max compares with a date."""
    customers = [{"id": 1, "renewals": [{"due": day("2026-03-01")}, {"due": day("2026-08-01")}]},
                 {"id": 2, "renewals": [{"due": day("2026-07-31")}]}]
    options = {"schema": schema}
    assert _answers("last(renewals.due) == 2026-08-01", customers, **options) == [True, False]
    assert _answers("max(renewals.due) >= 2026-08-01", customers, **options) == [True, False]
    assert _answers("min(renewals.due) < 2026-07-31", customers, **options) == [True, False]


# ----------------------------------------------------------------- records are read

def test_lists_aggregations_never_mutate_records():
    """defaultdict customers, orders and items, Mappings and objects are left as they were."""
    def order(at, total):
        items = [collections.defaultdict(list, {"category": "shoes", "price": total})]
        return collections.defaultdict(list, {"at": at, "total": total, "items": items})

    def make():
        return [
            collections.defaultdict(list, {"id": 1, "orders": [order("2026-07-01T10:00:00Z", 5),
                                                               order("2026-07-02T10:00:00Z", 7)]}),
            {"id": 2, "orders": [types.MappingProxyType({"at": "2026-07-01T10:00:00Z",
                                                         "total": 5})]},
            {"id": 3, "orders": [types.SimpleNamespace(at="2026-07-01T10:00:00Z", total=5)]},
        ]

    customers, before = make(), make()
    rules = [
        "count(orders, where = total > 6 and discounted != true) == 1",
        'count(orders.items, where = category == "shoes" and sku == null) > 0',
        "sum(orders.total, within = 30d) >= 5 and exists(orders, where = coupon == null)",
        "first(orders.total) == 5 and max(orders.items.price) >= 0",
    ]
    for rule in rules:
        seg = segdsl.compile(rule)
        for customer in customers:
            seg.matches(customer, now=NOW)
            seg.explain(customer, now=NOW)
        seg.filter(customers, now=NOW)
    assert [sorted(c) for c in customers] == [sorted(c) for c in before]
    assert dict(customers[1]["orders"][0]) == dict(before[1]["orders"][0])
    assert customers[2]["orders"] == before[2]["orders"]
    assert [dict(o) for o in customers[0]["orders"]] == [dict(o) for o in before[0]["orders"]]
    assert [dict(i) for o in customers[0]["orders"] for i in o["items"]] == [
        dict(i) for o in before[0]["orders"] for i in o["items"]]


def test_lists_numpy_and_nan_values_read_as_numbers_and_nulls():
    """numpy numbers are numbers and NaN is null inside lists, on every API."""
    customers = [{"id": 1, "orders": [{"at": "2026-07-01T10:00:00Z", "total": np.int64(4)},
                                      {"at": "2026-07-02T10:00:00Z", "total": float("nan")},
                                      {"at": "2026-07-03T10:00:00Z", "total": np.float32(2.5)}]}]
    assert _answers("sum(orders.total) == 6.5 and count(orders.total) == 2", customers) == [True]
    assert _answers("avg(orders.total) == 3.25", customers) == [True]


# ------------------------------------------------------------- population functions

@pytest.mark.parametrize("values", [["a", 1, 2], [[1], 2, 3], [True, 2, 3], [1, "b", 2.5]],
                         ids=["string", "list", "bool", "mixed"])
@pytest.mark.parametrize("rule", ["ntile(score, 4) == 1", "percentile(score) > 10"])
def test_lists_ranking_values_that_are_not_numbers_is_bad_data(rule, values):
    """ntile/percentile over strings, lists, bools or mixed values: a DataError naming the customer."""
    customers = [{"id": i, "score": v} for i, v in enumerate(values, start=1)]
    bad = next(i for i, v in enumerate(values, start=1) if type(v) not in (int, float))
    rules = segdsl.loads(f"segment s = {rule}")
    with pytest.raises(segdsl.DataError) as raised:
        rules.evaluate(customers, now=NOW)
    assert raised.value.customer_id == bad
    assert raised.value.field_path == "score"
    kind = rule.split("(")[0]
    assert str(raised.value).startswith(f"customer {bad}, field score: {kind} ranks numbers, "
                                        f"not {type(values[bad - 1]).__name__}")


def test_lists_rfm_reads_the_schema_order_timestamp():
    """With `ListOf(..., timestamp="placed")`, RFM recency comes from `placed`, not `at`."""
    schema = segdsl.Schema({"id": "number", "orders": segdsl.ListOf(
        {"placed": "datetime", "at": "datetime", "total": "number"}, timestamp="placed")})
    customers = [
        {"id": 1, "orders": [{"placed": "2026-07-14T00:00:00Z", "at": None, "total": 50}]},
        {"id": 2, "orders": [{"placed": "2025-09-01T00:00:00Z", "at": None, "total": 10}]},
        {"id": 3, "orders": []},
    ]
    rules = segdsl.loads("segment recent = rfm.recency == 5\n"
                         "segment scored = rfm.score >= 111", schema=schema)
    result = rules.evaluate(customers, now=NOW)
    # Recency in days: 1 and 317; customer 1 is in the most recent fifth, 3 never ordered.
    assert result.members == {"recent": [1], "scored": [1, 2]}


def test_lists_rfm_without_order_timestamp_points_at_rfm():
    """RFM over orders whose schema has no timestamp or no total: a check error at `rfm.*`."""
    no_stamp = segdsl.Schema({"orders": segdsl.ListOf({"total": "number"}, timestamp=None)})
    with pytest.raises(segdsl.CheckError) as raised:
        segdsl.compile("country == 1 or rfm.recency > 2", schema=segdsl.Schema(
            {"country": "number", "orders": segdsl.ListOf({"total": "number"},
                                                          timestamp=None)}))
    assert raised.value.message == ("RFM scores need the orders' timestamp, and the schema "
                                    "declares none")
    assert (raised.value.span.column, raised.value.span.end_column) == (17, 28)
    no_total = segdsl.Schema({"orders": segdsl.ListOf({"placed": "datetime"},
                                                      timestamp="placed")})
    with pytest.raises(segdsl.CheckError) as raised:
        segdsl.compile("rfm.monetary > 2", schema=no_total)
    assert raised.value.message == ("rfm.monetary reads sum(orders.total, within = 365d), but "
                                    "unknown field 'total' of the elements of orders")
    assert raised.value.span.column == 1
    assert no_stamp is not None


def test_lists_an_item_that_is_no_number_after_all_is_bad_data():
    """An infinite Decimal inside a list (plain or nested) is a DataError naming the list."""
    import decimal

    infinite = decimal.Decimal("Infinity")
    with pytest.raises(segdsl.DataError) as raised:
        segdsl.compile("count(tags) > 0").matches({"id": 1, "tags": ["a", infinite]}, now=NOW)
    assert raised.value.field_path == "tags[1]"
    customer = {"id": 1, "orders": [{"at": "2026-07-01T10:00:00Z", "items": [infinite]}]}
    with pytest.raises(segdsl.DataError) as raised:
        segdsl.compile("count(orders.items) > 0").matches(customer, now=NOW)
    assert raised.value.field_path == "orders[0].items"


def test_lists_values_that_are_lists_flatten_without_a_schema():
    """Without a schema, list values met on the path are flattened: lines are counted, not baskets."""
    customers = [
        {"id": 1, "baskets": [{"lines": [{"sku": "a", "price": 2}, {"sku": "b", "price": 3}]},
                              {"lines": [{"sku": "a", "price": 5}]}, {"lines": None}]},
        {"id": 2, "baskets": [{"lines": []}, {"lines": [{"sku": "c", "price": 1}]}]},
        {"id": 3, "people": [{"tags": ["x", "y"]}, {"tags": ("z",)}]},
    ]
    assert _answers("count(baskets.lines) == 3", customers) == [True, False, False]
    assert _answers("sum(baskets.lines.price) == 10", customers) == [True, False, False]
    assert _answers("max(baskets.lines.price) == 1", customers) == [False, True, False]
    assert _answers('first(baskets.lines.sku) == "c"', customers) == [False, True, False]
    assert _answers("count(people.tags) == 3", customers) == [False, False, True]


def test_lists_length_of_a_record_is_bad_data_not_zero():
    """`length(tags)` with `{}` where a list is expected is a DataError naming the field."""
    rule = segdsl.compile("length(tags) > 0")
    with pytest.raises(segdsl.DataError) as raised:
        rule.matches({"id": 1, "tags": {}}, now=NOW)
    assert raised.value.field_path == "tags"
    assert "expected text or a list, found dict" in str(raised.value)
    assert [rule.matches({"id": 2, "tags": value}, now=NOW) for value in ("", [], ("a",))] == [
        False, False, True]
