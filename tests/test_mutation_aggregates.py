"""Aggregations on hand-worked data: finishing a list of values (count, sum,
avg, min, max, first, last), nested lists, and the messages of bad data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

import pytest

import segdsl

NOW = "2026-07-15T12:00:00Z"


def members(rule: str, customer: dict) -> bool:
    """Whether ``customer`` is in the segment ``rule``."""
    return segdsl.loads(f"segment s = {rule}").evaluate([customer], now=NOW).members["s"] == [
        customer["id"]]


def data_error(rule: str, customer: dict) -> str:
    """The message of the DataError evaluating ``rule`` for ``customer`` raises."""
    with pytest.raises(segdsl.DataError) as caught:
        segdsl.loads(f"segment s = {rule}").evaluate([customer], now=NOW)
    return str(caught.value)


@pytest.mark.parametrize("rule, values, message", [
    ("max(scores) > 1", [3, True, 5], "values cannot be compared: [3, True, 5]"),
    ("max(scores) > 1", [True, 3], "values cannot be compared: [True, 3]"),
    ("min(scores) > 1", [1, "a", 2, "b"], "values cannot be compared: [1, 'a', 2]"),
    ("min(scores) > 1", [1, "y" * 200], f"values cannot be compared: [1, '{'y' * 112}..."),
    ('max(scores) == "b"', ["b", 1], "values cannot be compared: ['b', 1]"),
    ("sum(scores) == 3", [1, "2"], "expected a number, found '2'"),
    ("avg(scores) > 1", [1, True], "expected a number, found True"),
    ("sum(scores) > 1", [10 ** 400, 1.5], "the sum is too large for a number"),
    ("avg(scores) > 1", [10 ** 400, 1], "the average is too large for a number"),
])
def test_bad_values_of_a_plain_list_name_the_list(rule, values, message):
    """Values an aggregation cannot finish are bad data naming the list itself, no trailing dot."""
    assert data_error(rule, {"id": 1, "scores": values}) == f"customer 1, field scores: {message}"


@pytest.mark.parametrize("rule, values, expected", [
    ("avg(scores) == 2.5", [2, 3, None], True),
    ("avg(scores) is null", [None, None], True),
    ("avg(scores) is null", [], True),
    ("sum(scores) == 0", [None], True),
    ("sum(scores) == 5.5", [2, None, 3.5], True),
    ("count(scores) == 2", [2, None, 3.5], True),
    ("exists(scores)", [None], False),
    ("exists(scores)", [0], True),
    ('min(scores) == "a"', ["b", "a", None], True),
    ("min(scores) == -1", [3, -1, 2], True),
    ("max(scores) == 3", [3, -1, 2], True),
    ("max(scores) == true", [True, False], True),
    ("max(scores) is null", [None], True),
    ("first(scores) == 3", [3, 4], True),
    ("last(scores) == 4", [3, 4], True),
    ("first(scores) is null", [], True),
    ("last(scores) is null", [], True),
])
def test_finishing_a_plain_list(rule, values, expected):
    """Each aggregation of a plain list gives the value worked out by hand; nulls are left out."""
    assert members(rule, {"id": 1, "scores": values}) is expected


def test_values_of_nested_lists_are_flattened():
    """count and sum over lists inside lists count every innermost value."""
    customer = {"id": 1, "baskets": [{"lines": [1, 2]}, {"lines": [3]}, {"lines": []}],
                "orders": [{"items": [{"price": 1}, {"price": 2}]}, {"items": [{"price": 3}]}]}
    assert members("count(baskets.lines) == 3", customer)
    assert members("sum(orders.items.price) == 6", customer)
    assert members("max(orders.items.price) == 3", customer)
    assert members("count(orders.items, where = price > 1) == 2", customer)


@pytest.mark.parametrize("orders, message", [
    ([{"items": [{"price": 1}]}, {"items": 5}], "field orders[1].items: expected a list, found int"),
    ([{"items": [{"price": 1}, {"price": "x"}]}],
     "field orders.items.price: expected a number, found 'x'"),
])
def test_bad_nested_lists_name_the_element(orders, message):
    """Bad data inside nested lists names the element holding it."""
    assert data_error("sum(orders.items.price) == 6", {"id": 1, "orders": orders}) == (
        f"customer 1, {message}")


def test_a_where_over_nested_lists_names_the_item():
    """A bad value met by a 'where' inside nested lists names the item by its indexes."""
    customer = {"id": 1, "orders": [{"items": [{"price": 1}]},
                                    {"items": [{"price": 2}, {"price": "x"}]}]}
    assert data_error("count(orders.items, where = price > 1) == 1", customer) == (
        "customer 1, field orders[1].items[1].price: expected a number, found 'x'")


def test_tuples_and_arrays_inside_lists_of_unknown_records_are_lists():
    """Without a schema, a tuple or a numpy array met on a value's path is a list too."""
    import numpy as np

    customer = {"id": 1, "baskets": [{"lines": (1, 2)}, {"lines": np.array([3, 4])},
                                     {"lines": [5]}]}
    assert members("count(baskets.lines) == 5", customer)
    assert members("sum(baskets.lines) == 15", customer)
    assert members("max(baskets.lines) == 5", customer)


class _Unreadable(Mapping):
    """A record whose fields cannot be read (a lazy row whose source went away)."""

    def __getitem__(self, key):
        raise RuntimeError("disk gone")

    def __iter__(self):
        return iter(["at"])

    def __len__(self):
        return 1


AT = "2026-07-01T00:00:00Z"
LONG = "x" * 100


@pytest.mark.parametrize("rule, customer, message", [
    ("orders(30d) > 0", {"orders": [{"at": AT}, 1 + 2j]},
     "field orders[1]: (1+2j) is a complex number"),
    ("orders(30d) > 0", {"orders": [{"at": 1 + 2j}]},
     "field orders[0].at: (1+2j) is a complex number"),
    ("orders(30d) > 0", {"orders": [{"at": AT}, _Unreadable()]},
     "field orders[1].at: reading field 'at' raised RuntimeError: disk gone"),
    ("orders(30d) > 0", {"orders": [{"at": LONG}]},
     (f"field orders[0].at: cannot read '{'x' * 76}... as a datetime "
      f"(Invalid isoformat string: '{LONG}')")),
    ("count(tags) > 1", {"tags": ["a", 1 + 2j]}, "field tags[1]: (1+2j) is a complex number"),
    ("count(orders, where = count(items, where = price > 20) >= 1) >= 1",
     {"orders": [{"at": AT, "items": [{"price": 30}, 1 + 2j]}]},
     "field orders[0].items: (1+2j) is a complex number"),
    ("count(orders.items, where = price > 20) >= 1",
     {"orders": [{"at": AT, "items": [{"price": 3}]}, {"at": AT, "items": [1 + 2j]}]},
     "field orders[1].items: (1+2j) is a complex number"),
    ("min(scores) > 5", {"scores": ["a", 3]}, "field scores: values cannot be compared: ['a', 3]"),
    ("max(scores) > 5", {"scores": ["a", 3]}, "field scores: values cannot be compared: ['a', 3]"),
    # a nested timeline names its element from the customer down
    ("count(orders, where = count(shipments, within = 30d) >= 1) >= 1",
     {"orders": [{"at": AT, "shipments": [{"at": AT}, {"at": 1 + 2j}]}]},
     "field orders[0].shipments[1].at: (1+2j) is a complex number"),
    ("count(orders, where = count(shipments, within = 30d) >= 1) >= 1",
     {"orders": [{"at": AT, "shipments": [{"at": AT}, 1 + 2j]}]},
     "field orders[0].shipments[1]: (1+2j) is a complex number"),
    ("count(orders, where = count(shipments, within = 30d) >= 1) >= 1",
     {"orders": [{"at": AT, "shipments": []}, {"at": AT, "shipments": [{"at": "nope"}]}]},
     ("field orders[1].shipments[0].at: cannot read 'nope' as a datetime "
      "(Invalid isoformat string: 'nope')")),
    ("count(orders, where = count(shipments, within = 30d) >= 1) >= 1",
     {"orders": [{"at": AT, "shipments": [_Unreadable()]}]},
     "field orders[0].shipments[0].at: reading field 'at' raised RuntimeError: disk gone"),
])
def test_bad_data_in_timelines_and_lists_is_named_where_it_lies(rule, customer, message):
    assert data_error(rule, {"id": 7, **customer}) == f"customer 7, {message}"


PARIS_SUMMER = dt.timedelta(hours=2)


@pytest.mark.parametrize("values, distinct", [
    # 14:00 on a Paris wall clock is 12:00 UTC in July: one instant
    ([dt.datetime(2026, 7, 1, 14), dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC)], 1),
    ([dt.datetime(2026, 7, 1, 14), dt.datetime(2026, 7, 1, 14, tzinfo=dt.UTC)], 2),
    ([dt.datetime(2026, 7, 1, 14), dt.datetime(2026, 7, 1, 14, tzinfo=dt.timezone(PARIS_SUMMER))], 1),
    ([dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 1)], 2),
    ([dt.date(2026, 1, 1), dt.datetime(2026, 1, 1, tzinfo=dt.UTC)], 2),  # a date is no instant
])
def test_count_distinct_tells_instants_and_days_apart(values, distinct):
    segment = segdsl.compile(f"count_distinct(values) == {distinct}", timezone="Europe/Paris")
    assert segment.matches({"id": 7, "values": values}, now=NOW) is True


@pytest.mark.parametrize("values, found", [
    ([{"sku": "a"}], "a record {'sku': 'a'}"),
    ([[1], [1]], "a list [1]"),
])
def test_count_distinct_refuses_lists_and_records_by_name(values, found):
    assert data_error("count_distinct(values) == 1", {"id": 7, "values": values}) == (
        f"customer 7, field values: count_distinct counts plain values, found {found}")


def test_count_distinct_names_a_long_list_or_record_in_80_characters():
    values = [["z" * 200]]
    assert data_error("count_distinct(values) == 1", {"id": 7, "values": values}) == (
        "customer 7, field values: count_distinct counts plain values, found a list ['"
        + "z" * 75 + "...")


def test_count_distinct_tells_other_hashable_values_apart_by_equality():
    """Values of other kinds (bytes here) are one when equal, two when not."""
    assert members("count_distinct(codes) == 2", {"id": 7, "codes": [b"a", b"b", b"a"]})
    assert not members("count_distinct(codes) == 1", {"id": 7, "codes": [b"a", b"b"]})


def test_count_distinct_refuses_an_unhashable_value_by_its_place_in_80_characters():
    """A set is no plain value; it is named by the element field holding it."""
    customer = {"id": 7, "orders": [{"code": "a"}, {"code": {"y" * 200}}]}
    assert data_error("count_distinct(orders.code) == 2", customer) == (
        "customer 7, field orders.code: count_distinct counts plain values, found set {'"
        + "y" * 75 + "...")


def test_summing_a_long_text_names_it_in_80_characters():
    assert data_error("sum(orders.total) > 1",
                      {"id": 7, "orders": [{"total": 1}, {"total": "q" * 200}]}) == (
        "customer 7, field orders.total: expected a number, found '" + "q" * 76 + "...")


class _UnreadableOrder:
    """An order whose items cannot be read: its property raises."""

    at = "2026-01-02T00:00:00Z"

    @property
    def items(self):
        raise RuntimeError("no items today")


def test_a_nested_list_that_cannot_be_read_names_its_element():
    customer = {"id": 7, "orders": [{"at": "2026-01-01T00:00:00Z", "items": [1]},
                                    _UnreadableOrder()]}
    with pytest.raises(segdsl.DataError) as caught:
        segdsl.compile("count(orders.items) >= 1").matches(customer, now=NOW)
    assert str(caught.value) == ("customer 7, field orders[1].items: reading field 'items' "
                                 "raised RuntimeError: no items today")
    assert (caught.value.customer_id, caught.value.field_path) == (7, "orders[1].items")


DECLARED = {"orders": segdsl.ListOf({"at": "datetime", "total": "number",
                                     "seen": "list[datetime]"})}


def test_count_distinct_names_a_long_value_of_the_wrong_declared_type_in_80_characters():
    customer = {"id": 1, "orders": [{"at": "2026-01-01T00:00:00Z", "total": "y" * 200}]}
    with pytest.raises(segdsl.DataError) as caught:
        segdsl.compile("count_distinct(orders.total) == 2", schema=DECLARED).matches(
            customer, now=NOW)
    assert str(caught.value) == ("customer 1, field orders.total: expected a number, found '"
                                 + "y" * 76 + "...")


def test_count_distinct_reads_declared_datetimes_of_nested_lists_as_instants():
    """Midnight UTC and one o'clock at +01:00 are one instant: two distinct, not three."""
    customer = {"id": 1, "orders": [
        {"at": "2026-01-01T00:00:00Z",
         "seen": ["2026-01-01T00:00:00Z", "2026-01-01T01:00:00+01:00"]},
        {"at": "2026-01-02T00:00:00Z", "seen": ["2026-01-03T00:00:00Z"]}]}
    segment = segdsl.compile("count_distinct(orders.seen) == 2", schema=DECLARED)
    assert segment.matches(customer, now=NOW)


@pytest.mark.parametrize("rule, customer, message", [
    ("count(orders) > 0", {"id": 1, "orders": Decimal("Infinity")},
     "customer 1, field orders: Infinity is not a finite number"),
    ("count(orders.items) > 0",
     {"id": 1, "orders": [{"items": [1]}, {"items": Decimal("Infinity")}]},
     "customer 1, field orders[1].items: Infinity is not a finite number"),
    ("count(orders.items) > 0", {"id": 1, "orders": [{"items": [1]}, {"items": "abc"}]},
     "customer 1, field orders[1].items: expected a list, found str"),
])
def test_a_list_that_is_no_list_is_named_where_it_lies(rule, customer, message):
    assert data_error(rule, customer) == message


def test_a_tuple_of_orders_is_a_list():
    orders = ({"at": "2026-01-01T00:00:00Z"}, {"at": "2026-02-01T00:00:00Z"})
    assert members("count(orders) == 2", {"id": 1, "orders": orders})


@pytest.mark.parametrize("items, message", [
    ("abc", "expected a list, found str"),
    (Decimal("Infinity"), "Infinity is not a finite number"),
])
def test_a_list_read_inside_an_element_is_named_from_the_customer(items, message):
    customer = {"id": 1, "orders": [{"items": [1]}, {"items": items}]}
    assert data_error("count(orders, where = count(items) > 0) > 0", customer) == (
        f"customer 1, field orders[1].items: {message}")


def test_numpy_arrays_of_orders_and_of_their_items_are_lists():
    import numpy as np

    orders = np.array([{"at": "2026-01-01T00:00:00Z", "items": np.array([1, 2])},
                       {"at": "2026-02-01T00:00:00Z", "items": (3,)}], dtype=object)
    assert members("count(orders) == 2 and count(orders.items) == 3",
                   {"id": 1, "orders": orders})


_SHIPPED = {"id": 1, "orders": [
    {"at": "2026-07-01T00:00:00Z", "shipping": {"cost": 4},
     "items": [{"box": {"kg": 2}}, {"box": {"kg": 5}}]},
    {"at": "2026-07-02T00:00:00Z", "shipping": {"cost": 3}, "items": [{"box": {"kg": 5}}]},
    {"at": "2026-07-03T00:00:00Z", "shipping": {"cost": 4}, "items": []}]}


@pytest.mark.parametrize("rule", [
    "sum(orders.shipping.cost) == 11",
    "max(orders.shipping.cost) == 4",
    "count_distinct(orders.shipping.cost) == 2",
    "sum(orders.items.box.kg) == 12",
    "count_distinct(orders.items.box.kg) == 2",
])
def test_a_field_of_a_record_in_each_element_is_aggregated(rule):
    """``orders.shipping.cost`` reads a record's field in every order, and
    ``orders.items.box.kg`` one in every item of every order (costs 4, 3, 4; weights 2, 5, 5)."""
    assert members(rule, _SHIPPED)


def test_a_window_read_from_data_that_is_no_duration_is_named_in_40_characters():
    customer = {"id": 1, "grace": "x" * 60, "orders": [{"at": "2026-07-01T00:00:00Z"}]}
    assert data_error("count(orders, within = grace) >= 1", customer) == (
        "customer 1, field grace: a window is a duration or a period, not str '"
        + "x" * 36 + "...")


def test_count_distinct_reads_declared_dates_as_dates():
    """A due date given as text, as a date or as a datetime (its day in UTC, the rules'
    zone) is one value: customers 1 and 3 have one due date, customer 2 two."""
    rules = segdsl.loads("segment one = count_distinct(renewals.due) == 1",
                         schema={"renewals": segdsl.ListOf({"due": "date"})})
    late_evening = dt.datetime(2026, 8, 1, 22, 0, tzinfo=dt.timezone.utc)
    customers = [{"id": 1, "renewals": [{"due": "2026-08-01"}, {"due": dt.date(2026, 8, 1)}]},
                 {"id": 2, "renewals": [{"due": "2026-08-01"}, {"due": "2026-08-02"}]},
                 {"id": 3, "renewals": [{"due": "2026-08-01"}, {"due": late_evening}]}]
    assert rules.evaluate(customers, now=NOW).members == {"one": [1, 3]}


def test_an_elements_list_is_never_read_from_the_customer_of_the_same_name():
    """Inside an order, ``items`` is the order's items, even when the customer has a
    list called ``items`` too: the order holds one item, so it has fewer than two."""
    customer = {"id": 1, "items": [{"price": 1}, {"price": 2}, {"price": 3}],
                "orders": [{"at": "2026-07-01T00:00:00Z", "items": [{"price": 5}]}]}
    assert not members("count(orders, where = count(items) >= 2) >= 1", customer)
    assert members("count(orders, where = count(items) == 1) >= 1", customer)
    assert members("count(items) == 3", customer)
