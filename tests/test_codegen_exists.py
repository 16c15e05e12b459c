"""Generated code for ``exists(items, where = ...)`` inside an order's ``where``
(``orders(365d, category = "shoes")``): it decides as the closures do, and hands
them every element it cannot decide."""

from __future__ import annotations

import pytest

import segdsl
from segdsl import checked as c
from segdsl import codegen

NOW = "2026-07-15T12:00:00Z"
AT = "2026-07-01T10:00:00Z"
RULES = {
    "shoes": 'orders(365d, category = "shoes") >= 1',
    "discounted": "purchased(12m, discounted = true)",
    "not_shoes": 'orders(365d, where = not exists(items, where = category == "shoes")) >= 1',
    "pricey": "orders(365d, where = exists(items, where = price > 20)) >= 1",
}
ITEMS = [
    [{"category": "shoes", "discounted": True, "price": 30}],
    [{"category": "bags", "discounted": False, "price": 10}],
    [],
    None,
    [None, {"category": "shoes", "price": 25}],
    [{"category": None, "discounted": None, "price": None}],
    [{"category": 5, "discounted": 1, "price": "x"}],
    ["shoes"],
    [{"category": "bags"}, {"category": "shoes", "discounted": True}],
    [{"price": 30.5}, {"price": True}],
]


def _customer(items) -> dict:
    order = {"at": AT, "total": 10}
    if items is not None:
        order["items"] = items
    return {"id": 1, "orders": [order, {"at": AT, "total": 5, "items": []}]}


def _closures(segment: segdsl.Segment, customer: dict):
    """The closures' answer (explain never takes the generated paths)."""
    try:
        return segment.explain(customer, now=NOW).value is True
    except segdsl.DataError as error:
        return ("error", str(error))


def _answer(segment: segdsl.Segment, customer: dict):
    try:
        return segment.matches(customer, now=NOW)
    except segdsl.DataError as error:
        return ("error", str(error))


@pytest.mark.parametrize("name", list(RULES))
@pytest.mark.parametrize("index", range(len(ITEMS)))
def test_generated_exists_agrees_with_the_closures(name, index):
    """Every item list, clean or not, gets the closures' answer or their error."""
    segment = segdsl.compile(RULES[name])
    customer = _customer(ITEMS[index])
    assert _answer(segment, customer) == _closures(segment, customer)


def test_an_orders_items_condition_is_generated_code():
    """The where of `orders(365d, category = ...)` is written as one generated filter."""
    segment = segdsl.compile(RULES["shoes"])
    aggregate = next(node for node in c.walk(segment._program.body(segment.name))
                     if isinstance(node, c.Aggregate) and node.function == "count")
    assert codegen.list_filter(aggregate.where, aggregate.depth) is not None


def test_hand_checked_memberships():
    """Shoes in one order of two, a discounted item, no items at all."""
    shoes = segdsl.compile(RULES["shoes"])
    discounted = segdsl.compile(RULES["discounted"])
    people = [_customer(items) for items in ITEMS[:4]]
    for identity, person in enumerate(people, start=1):
        person["id"] = identity
    assert [p["id"] for p in shoes.filter(people, now=NOW)] == [1]
    assert [p["id"] for p in discounted.filter(people, now=NOW)] == [1]


def test_an_items_condition_decides_clean_orders_alone():
    """The generated test of `exists(items, where = price > 20)` answers for orders whose
    items are plain records, without handing any to the closures."""
    segment = segdsl.compile(RULES["pricey"])
    aggregate = next(node for node in c.walk(segment._program.body(segment.name))
                     if isinstance(node, c.Aggregate) and node.function == "count")
    predicate = codegen.predicate(aggregate.where, aggregate.depth)
    kept = codegen.list_filter(aggregate.where, aggregate.depth)
    orders = [{"at": AT, "total": 10, "items": [{"price": 10}, {"price": 30}]},
              {"at": AT, "total": 10, "items": [{"price": 10}]},
              {"at": AT, "total": 10, "items": []}]
    assert [predicate(order) for order in orders] == [True, False, False]
    assert kept(orders) == orders[:1]


def test_exists_over_a_nested_path_reads_the_nested_elements():
    """`exists(orders.items, ...)` tests the items, not the orders, even where an order
    has a field of the same name: shoes on the order, bags in its items."""
    segment = segdsl.compile('exists(orders.items, where = category == "shoes")')
    order = {"at": AT, "total": 10, "category": "shoes", "items": [{"category": "bags"}]}
    customers = [{"id": 1, "orders": [order]},
                 {"id": 2, "orders": [{**order, "items": [{"category": "shoes"}]}]}]
    assert [segment.matches(customer, now=NOW) for customer in customers] == [False, True]
    assert segment.filter(customers, now=NOW) == customers[1:]
