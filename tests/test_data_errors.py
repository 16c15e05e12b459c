"""Bad data at run time: each error names the customer and the field path it found wrong.

Rules checked without a schema still run; a value they cannot use raises ``segdsl.DataError``
with ``customer_id`` and ``field_path``. Customers may be dicts or objects with attributes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

import segdsl

NOW = "2026-07-15T12:00:00Z"
UTC = dt.timezone.utc


def data_error(rule: str, customer, **options) -> tuple:
    """``(message, customer_id, field_path)`` of the DataError evaluating ``rule`` raises."""
    segment = segdsl.compile(rule, **options)
    with pytest.raises(segdsl.DataError) as raised:
        segment.matches(customer, now=NOW)
    error = raised.value
    return error.message, error.customer_id, error.field_path


# ------------------------------------------------------------- wrong values


def test_a_string_where_a_number_is_expected_without_schema():
    """Comparing text with a number fails naming the customer and the field."""
    assert data_error("age > 30", {"id": 17, "age": "forty"}) == (
        "customer 17, field age: cannot evaluate str 'forty' > int 30", 17, "age")


def test_a_string_where_the_schema_declares_a_number():
    """A declared number read as text is reported as such when the field is read."""
    schema = segdsl.Schema({"id": "number", "age": "number"})
    assert data_error("age > 30", {"id": 17, "age": "40"}, schema=schema) == (
        "customer 17, field age: expected a number, found '40'", 17, "age")


def test_a_string_in_an_order_total_is_named_with_its_position_in_where():
    """Inside ``where``, the path runs from the customer: ``orders[1].total``, not ``total``."""
    customer = {"id": 17, "orders": [{"at": "2026-07-01T10:00:00Z", "total": 12},
                                     {"at": "2026-07-02T10:00:00Z", "total": "12,50"}]}
    assert data_error("count(orders, where = total > 10) >= 1", customer) == (
        "customer 17, field orders[1].total: expected a number, found '12,50'", 17,
        "orders[1].total")


def test_the_position_is_the_one_in_the_input_list_not_in_time_order():
    """Orders are read in time order, but the error counts positions as the data lists them."""
    customer = {"id": 17, "orders": [{"at": "2026-07-09T10:00:00Z", "total": "bad"},
                                     {"at": "2026-07-01T10:00:00Z", "total": 1}]}
    assert data_error("exists(orders, where = total > 10)", customer)[2] == "orders[0].total"


def test_a_bad_value_in_a_list_inside_a_list_gets_both_positions():
    """An item's price inside an order's where is named ``orders[0].items[1].price``."""
    customer = {"id": 17, "orders": [{"at": "2026-07-01T10:00:00Z", "total": 20, "items": [
        {"sku": "A", "price": 5}, {"sku": "B", "price": "cheap"}]}]}
    rule = "count(orders, where = exists(items, where = price > 10)) >= 1"
    assert data_error(rule, customer) == (
        "customer 17, field orders[0].items[1].price: expected a number, found 'cheap'", 17,
        "orders[0].items[1].price")


def test_a_bad_value_in_an_undeclared_list_gets_its_position_too():
    """Without a schema, a failing comparison inside ``where`` names ``purchases[1].amount``."""
    customer = {"id": 17, "purchases": [{"amount": 3}, {"amount": "3 EUR"}]}
    assert data_error("count(purchases, where = amount > 2) >= 1", customer) == (
        "customer 17, field purchases[1].amount: cannot evaluate str '3 EUR' > int 2", 17,
        "purchases[1].amount")


def test_a_string_among_numbers_to_add_names_the_list_field():
    """``spent`` adds order totals; a text total is reported on ``orders.total``."""
    customer = {"id": 17, "orders": [{"at": "2026-07-01T10:00:00Z", "total": "89.90"}]}
    assert data_error("spent(365d) > 50", customer) == (
        "customer 17, field orders.total: expected a number, found '89.90'", 17, "orders.total")


@pytest.mark.parametrize(("rule", "bad", "message"), [
    ("count(orders, where = sum(items.price) > 10) >= 1", "cheap",
     "expected a number, found 'cheap'"),
    # the schema declares prices numbers: max and count_distinct check them first
    ("count(orders, where = max(items.price) > 10) >= 1", "cheap",
     "expected a number, found 'cheap'"),
    ("count(orders, where = count_distinct(items.price) > 1) >= 1", [1, 2],
     "expected a number, found [1, 2]"),
])
def test_an_aggregation_inside_an_element_names_the_element_it_reads(rule, bad, message):
    """Inside an order's where, ``sum(items.price)`` of the second order's bad price is
    reported on ``orders[1].items.price``, as reading it would be, not ``items.price``."""
    customer = {"id": 17, "orders": [
        {"at": "2026-07-01T10:00:00Z", "total": 20, "items": [{"price": 5}]},
        {"at": "2026-07-02T10:00:00Z", "total": 20, "items": [{"price": 5}, {"price": bad}]}]}
    assert data_error(rule, customer) == (
        f"customer 17, field orders[1].items.price: {message}", 17, "orders[1].items.price")


@pytest.mark.parametrize(("function", "bad", "message"), [
    ("avg", "cheap", "expected a number, found 'cheap'"),
    ("avg", 1.7e308, "the average is too large for a number"),
    ("sum", 1.7e308, "the sum is too large for a number"),
    ("min", "cheap", "values cannot be compared: [5, 'cheap']"),
    ("count_distinct", {"a": 1}, "count_distinct counts plain values, found a record {'a': 1}"),
    ("count_distinct", {1, 2}, "count_distinct counts plain values, found set {1, 2}"),
])
def test_an_aggregation_of_undeclared_values_inside_an_element_names_the_element(
        function, bad, message):
    """Without a schema every finisher reports bad values from the customer:
    ``baskets[1].lines.amount``, the basket whose ``where`` read them."""
    second = [{"amount": bad if isinstance(bad, float) else 5}, {"amount": bad}]
    customer = {"id": 17, "baskets": [{"lines": [{"amount": 5}]}, {"lines": second}]}
    rule = f"count(baskets, where = {function}(lines.amount) > 1) >= 1"
    assert data_error(rule, customer) == (
        f"customer 17, field baskets[1].lines.amount: {message}", 17, "baskets[1].lines.amount")


@pytest.mark.parametrize("function", ["sum", "avg", "min", "max", "first", "last"])
@pytest.mark.parametrize(("bad", "shown"), [([1, 2], "[1, 2]"), (True, "True")])
def test_a_declared_number_holding_no_number_is_bad_data_for_every_aggregation(function, bad,
                                                                             shown):
    """``orders.total`` is declared a number: an order whose total is a list or a boolean
    is a DataError for ``max(orders.total)`` as for ``sum``, never a silent false."""
    customer = {"id": 17, "orders": [{"at": "2026-07-01T10:00:00Z", "total": bad}]}
    assert data_error(f"{function}(orders.total) == 2", customer) == (
        f"customer 17, field orders.total: expected a number, found {shown}", 17, "orders.total")


# ------------------------------------------------------------------- timestamps


def test_an_unparsable_timestamp_names_the_order_and_its_field():
    """An order whose ``at`` is not ISO 8601 is named ``orders[2].at``."""
    customer = {"id": "C-9", "orders": [{"at": "2026-07-01T10:00:00Z"},
                                        {"at": "2026-07-02T10:00:00Z"}, {"at": "last Tuesday"}]}
    message, who, path = data_error("orders(30d) >= 1", customer)
    assert (who, path) == ("C-9", "orders[2].at")
    assert message.startswith("customer 'C-9', field orders[2].at: cannot read 'last Tuesday' "
                              "as a datetime")


def test_a_timestamp_of_the_wrong_type_is_named_too():
    """A number where a timestamp is expected is bad data, found even without a window."""
    customer = {"id": 17, "events": [{"type": "visit", "at": 1752577200}]}
    assert data_error("count(events) > 0", customer) == (
        "customer 17, field events[0].at: cannot read 1752577200 as a datetime (expected a "
        "datetime, found int)", 17, "events[0].at")


def test_a_text_operator_over_a_number_without_schema():
    """``starts_with`` over a field holding a number is bad data, not a Python exception."""
    assert data_error('code starts_with "FR"', {"id": 17, "code": 750}) == (
        "customer 17, field code: cannot evaluate int 750 starts_with str 'FR'", 17, "code")


def test_an_unparsable_date_field_compared_with_a_date():
    """A customer field compared with a date must read as one."""
    assert data_error("signed_up_at < 2026-01-01", {"id": 17, "signed_up_at": "soon"}) == (
        "customer 17, field signed_up_at: cannot read 'soon' as a date", 17, "signed_up_at")


# ------------------------------------------------------------------ shapes


@pytest.mark.parametrize(("orders", "found"), [("many", "str"), (3, "int"), ({"at": "x"}, "dict")],
                         ids=["string", "number", "record"])
def test_a_non_list_where_a_list_is_expected(orders, found):
    """``orders`` must be a list; anything else names the field and what was there."""
    assert data_error("purchased(30d)", {"id": 17, "orders": orders}) == (
        f"customer 17, field orders: expected a list, found {found}", 17, "orders")


def test_a_list_of_non_records_where_records_are_expected():
    """An order that is a bare string is named by its position."""
    assert data_error("count(orders) > 0", {"id": 17, "orders": ["ORD-1"]}) == (
        "customer 17, field orders[0]: expected a record with a field 'at', found 'ORD-1'", 17,
        "orders[0]")


def test_a_non_list_inside_an_element_is_named_from_the_customer():
    """An order's ``items`` that is not a list is named ``orders[0].items``."""
    customer = {"id": 17, "orders": [{"at": "2026-07-01T10:00:00Z", "items": "SKU-1"}]}
    assert data_error("count(orders, where = count(items) > 1) > 0", customer) == (
        "customer 17, field orders[0].items: expected a list, found str", 17, "orders[0].items")


def test_a_text_where_a_record_is_expected():
    """``address.city`` over an address written as one string is bad data, not a missing city."""
    assert data_error('address.city == "Lyon"', {"id": 17, "address": "3 rue Neuve, Lyon"}) == (
        "customer 17, field address: expected a record with a field 'city', found "
        "'3 rue Neuve, Lyon'", 17, "address")


def test_a_customer_that_is_not_a_record():
    """Evaluating a string or None as a customer says what a customer must be."""
    rules = segdsl.loads('segment french = country == "FR"')
    with pytest.raises(segdsl.DataError) as raised:
        rules.evaluate([{"id": 1, "country": "FR"}, None], now=NOW)
    assert raised.value.message == (
        "the customer at position 1 is NoneType None, not a customer: a customer is a dict (or "
        "another mapping) or an object with attributes (a dataclass, a namedtuple)")


def test_a_customer_without_id_is_named_as_such():
    """The message says the customer has no id, and ``customer_id`` is None."""
    assert data_error("age > 30", {"age": "old"}) == (
        "a customer without id, field age: cannot evaluate str 'old' > int 30", None, "age")


# --------------------------------------------------------------- functions


def raising_functions() -> segdsl.Functions:
    """A registry with a function that fails on some input."""
    functions = segdsl.Functions()

    @functions.register(params={"email": "string"}, returns="string")
    def email_domain(email):
        user, domain = email.split("@")
        return domain

    return functions


def test_a_user_function_raising_names_the_customer_and_its_argument_field():
    """An exception from a registered function becomes a DataError on the field it was given."""
    rule = 'email_domain(email) == "shop.fr"'
    assert data_error(rule, {"id": 17, "email": "nobody"}, functions=raising_functions()) == (
        "customer 17, field email: function email_domain failed: ValueError: not enough values "
        "to unpack (expected 2, got 1)", 17, "email")


def test_a_built_in_given_a_wrong_value_names_the_field():
    """A built-in fed bad data by an untyped field fails on that field."""
    message, who, path = data_error('lower(country) == "fr"', {"id": 17, "country": 33})
    assert (who, path) == (17, "country")
    assert message.startswith("customer 17, field country: function lower failed: TypeError")


def test_data_errors_are_segdsl_errors_and_render_their_message():
    """A DataError is a SegdslError without a source position; it renders as its message."""
    with pytest.raises(segdsl.SegdslError) as raised:
        segdsl.compile("age > 30").matches({"id": 17, "age": "forty"}, now=NOW)
    assert isinstance(raised.value, segdsl.DataError)
    assert raised.value.span is None
    assert raised.value.render() == "customer 17, field age: cannot evaluate str 'forty' > int 30"


def test_evaluate_stops_at_the_first_bad_customer_and_names_it():
    """``RuleSet.evaluate`` raises on the customer with bad data, not a later or earlier one."""
    rules = segdsl.loads("segment big = spent(365d) > 100")
    customers = [{"id": 1, "orders": []}, {"id": 2, "orders": [{"at": "2026-07-01", "total": "x"}]},
                 {"id": 3, "orders": "broken"}]
    with pytest.raises(segdsl.DataError) as raised:
        rules.evaluate(customers, now=NOW)
    assert (raised.value.customer_id, raised.value.field_path) == (2, "orders.total")


# -------------------------------------------------------- objects as customers


@dataclasses.dataclass
class Item:
    sku: str
    category: str
    price: float
    discounted: bool = False


@dataclasses.dataclass
class Order:
    at: dt.datetime
    total: float
    items: list


@dataclasses.dataclass
class Event:
    type: str
    at: str


@dataclasses.dataclass(frozen=True, slots=True)
class Address:
    city: str


@dataclasses.dataclass
class Customer:
    id: int
    country: str | None
    address: Address | None
    orders: list
    events: list


class PlainCustomer:
    """A customer as a plain class with attributes (no dataclass, no dict access)."""

    def __init__(self, id, country, orders, events):  # noqa: A002 - the record's own field
        self.id = id
        self.country = country
        self.orders = orders
        self.events = events


RULES = """\
segment shoe_buyers = purchased(30d, category = "shoes")
segment undecided = visits(30d) >= 2 and not purchased(30d)
segment lyon = address.city == "Lyon"
segment foreign = country != "FR"
"""


def as_dicts(customer) -> dict:
    """The same customer as nested dicts."""
    return dataclasses.asdict(customer)


def shop_customers() -> list:
    """Three dataclass customers, worked out by hand against ``RULES`` at ``NOW``."""
    july = dt.datetime(2026, 7, 10, 9, tzinfo=UTC)
    return [
        Customer(1, "FR", Address("Lyon"),
                 [Order(july, 90.0, [Item("S1", "shoes", 90.0)])], []),
        Customer(2, "BE", None, [],
                 [Event("visit", "2026-07-12T10:00:00Z"), Event("visit", "2026-07-13T10:00:00Z")]),
        Customer(3, None, Address("Paris"),
                 [Order(dt.datetime(2026, 5, 1, tzinfo=UTC), 20.0, [Item("B1", "bags", 20.0)])],
                 [Event("visit", "2026-07-14T10:00:00Z")]),
    ]


EXPECTED = {"shoe_buyers": [1], "undecided": [2], "lyon": [1], "foreign": [2]}


def test_dataclass_customers_evaluate_like_dicts():
    """Dataclasses with nested dataclasses give the same memberships as their dict forms."""
    rules = segdsl.loads(RULES)
    customers = shop_customers()
    assert rules.evaluate(customers, now=NOW).members == EXPECTED
    assert rules.evaluate([as_dicts(c) for c in customers], now=NOW).members == EXPECTED


def test_plain_class_customers_evaluate_like_dicts():
    """Objects of a plain class, with dict orders, are read by attribute."""
    customers = [PlainCustomer(c.id, c.country, [dataclasses.asdict(o) for o in c.orders],
                               c.events) for c in shop_customers()]
    result = segdsl.loads(RULES).evaluate(customers, now=NOW, segments=["shoe_buyers",
                                                                        "undecided", "foreign"])
    assert result.members == {"shoe_buyers": [1], "undecided": [2], "foreign": [2]}


def test_a_missing_attribute_is_null_like_a_missing_key():
    """An object without the attribute behaves as a dict without the key: the value is null."""
    customer = PlainCustomer(5, "FR", [], [])
    assert segdsl.compile("loyalty_points is null").matches(customer, now=NOW)
    assert not segdsl.compile("loyalty_points > 0 or loyalty_points < 1").matches(customer,
                                                                                  now=NOW)


def test_bad_data_in_an_object_customer_names_its_id_and_path():
    """Data errors name attribute paths the same way as dict keys."""
    customer = shop_customers()[0]
    customer.orders[0].items[0].price = "ninety"
    rule = "count(orders, where = exists(items, where = price > 50)) >= 1"
    assert data_error(rule, customer)[1:] == (1, "orders[0].items[0].price")
