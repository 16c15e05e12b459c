"""Compiled behaviour that a mutation run found untested: each datetime field keeps
its own cached value, a bad value in a list's element is named by its place, a list
written in a rule is searched like one from the data, and a bad operand of a
negation is named in the message."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

import segdsl

NOW = "2026-07-15T12:00:00Z"
ORDERS = segdsl.ListOf({"total": "number", "at": "datetime", "paid_at": "datetime"})


def test_two_datetime_fields_of_a_customer_are_read_apart():
    """Each customer-level datetime is cached under its own name: a shared cache
    slot would read ``last_seen_at`` as ``joined_at`` and find 1 not a member."""
    rules = segdsl.loads("segment returning = joined_at < last_seen_at",
                         schema={"joined_at": "datetime", "last_seen_at": "datetime"})
    customers = [
        {"id": 1, "joined_at": "2025-01-01T00:00:00Z", "last_seen_at": "2026-06-01T00:00:00Z"},
        {"id": 2, "joined_at": "2026-06-01T00:00:00Z", "last_seen_at": "2025-01-01T00:00:00Z"},
    ]
    assert rules.evaluate(customers, now=NOW).members == {"returning": [1]}


def test_an_unreadable_datetime_of_an_element_names_its_place():
    rules = segdsl.loads("segment paid = exists(orders, where = paid_at >= 2026-01-01)",
                         schema={"orders": ORDERS})
    orders = [{"total": 1, "at": "2026-01-02T00:00:00Z", "paid_at": "2026-01-02T00:00:00Z"},
              {"total": 1, "at": "2026-01-02T00:00:00Z", "paid_at": "not a date"}]
    with pytest.raises(segdsl.DataError) as raised:
        rules.evaluate([{"id": 7, "orders": orders}], now=NOW)
    assert str(raised.value).startswith(
        "customer 7, field orders[1].paid_at: cannot read 'not a date' as a datetime (")


def test_a_written_list_contains_its_items():
    """A list written in the rule (a tuple once compiled) is searched like a list
    read from the data."""
    rules = segdsl.loads('segment small = [1, 2] contains visits_count\n'
                         'segment mine = [tier, "b"] contains "b"\n'
                         'segment other = ["b", "c"] contains tier\n',
                         schema={"tier": "string", "visits_count": "number"})
    customers = [{"id": 1, "tier": "a", "visits_count": 2},
                 {"id": 2, "tier": "c", "visits_count": 3}]
    assert rules.evaluate(customers, now=NOW).members == {
        "small": [1], "mine": [1, 2], "other": [2]}


def test_negating_text_names_the_value():
    rules = segdsl.loads("segment a = -score > 1")
    with pytest.raises(segdsl.DataError) as raised:
        rules.evaluate([{"id": 3, "score": "high"}], now=NOW)
    assert str(raised.value) == "customer 3, field score: cannot negate str 'high'"


class _Stamp(dt.datetime):
    """A datetime of another class, as some libraries return."""


def _functions() -> segdsl.Functions:
    functions = segdsl.Functions()

    @functions.register(params={"day": "string"}, returns="datetime")
    def noon(day):
        return _Stamp.fromisoformat(f"{day}T12:00:00+00:00")

    @functions.register(params={"day": "string"}, returns="number")
    def wordy(day):
        return "w" * 200

    return functions


def test_a_function_may_return_a_subclass_of_its_declared_type():
    rules = segdsl.loads("segment early = noon(day) < 2026-07-01T00:00:00Z",
                         schema={"day": "string"}, functions=_functions())
    customers = [{"id": 1, "day": "2026-06-30"}, {"id": 2, "day": "2026-07-01"}]
    assert rules.evaluate(customers, now=NOW).members == {"early": [1]}


def test_a_function_returning_another_type_is_named_in_80_characters():
    rules = segdsl.loads("segment big = wordy(day) > 1", schema={"day": "string"},
                         functions=_functions())
    with pytest.raises(segdsl.DataError) as raised:
        rules.evaluate([{"id": 4, "day": "2026-06-30"}], now=NOW)
    assert str(raised.value) == ("customer 4, field day: function wordy returned str '"
                                 + "w" * 76 + "..., not a number")


def test_a_duration_times_a_long_text_is_named_in_80_characters():
    rules = segdsl.loads("segment a = 30d * factor > 10d")
    with pytest.raises(segdsl.DataError) as raised:
        rules.evaluate([{"id": 3, "factor": "x" * 100}], now=NOW)
    assert str(raised.value) == ("customer 3, field factor: cannot evaluate timedelta 30d * "
                                 "str '" + "x" * 76 + "...")


GRACE = [{"id": 1, "birthday": dt.date(2026, 7, 1), "grace": 14},
         {"id": 2, "birthday": dt.date(2026, 7, 9), "grace": 3}]


@pytest.mark.parametrize("rule, expected", [
    ("birthday + grace * 1d >= today", [1]),       # 15 July, and 12 July
    ("today - grace * 1d <= birthday", [1]),       # 1 July, and 12 July
    ("grace * 1d + birthday == 2026-07-15", [1]),
    ("birthday + grace * 1d == 2026-07-12", [2]),
    ("birthday + grace * 1m > 2027-01-01", [1]),   # 1 September 2027, and 9 October 2026
])
def test_a_date_plus_a_computed_duration_of_days_is_a_date(rule, expected):
    rules = segdsl.loads(f"segment a = {rule}", schema={"birthday": "date", "grace": "number"})
    assert rules.evaluate(GRACE, now=NOW).members == {"a": expected}


@pytest.mark.parametrize("rule", ["birthday + grace * 1h > today", "grace * 1h + birthday > today",
                                  "today - grace * 1h < birthday"])
def test_a_date_plus_a_computed_duration_of_hours_is_bad_data(rule):
    rules = segdsl.loads(f"segment a = {rule}", schema={"birthday": "date", "grace": "number"})
    with pytest.raises(segdsl.DataError) as raised:
        rules.evaluate(GRACE[1:], now=NOW)
    assert str(raised.value).endswith(": a date has no hours, and 3h is not a whole number "
                                      "of days")


def test_an_untyped_text_read_as_a_datetime_is_named_in_80_characters():
    rules = segdsl.loads("segment a = seen < now")
    with pytest.raises(segdsl.DataError) as raised:
        rules.evaluate([{"id": 4, "seen": "z" * 100}], now=NOW)
    assert str(raised.value) == ("customer 4, field seen: cannot read '" + "z" * 76
                                 + "... as a datetime")


# A second mutation run (the compiler alone): the readers of declared fields, negated
# durations, the search of written lists and tuples, and the messages naming bad data.

ITEMS = segdsl.ListOf({"price": "number", "sku": "string"})
BASKETS = segdsl.ListOf({"total": "number", "at": "datetime", "items": ITEMS})


def _error(rule: str, customer: dict, schema: dict | None = None) -> str:
    with pytest.raises(segdsl.DataError) as raised:
        segdsl.loads(rule, schema=schema).evaluate([customer], now=NOW)
    return str(raised.value)


def test_a_bad_field_of_a_nested_element_is_named_by_both_places():
    basket = {"total": 1, "at": NOW, "items": [{"price": 1, "sku": "a"}, {"price": "x"}]}
    assert _error("segment a = exists(orders, where = exists(items, where = price > 5))",
                  {"id": 1, "orders": [basket]}, {"orders": BASKETS}) == (
        "customer 1, field orders[0].items[1].price: expected a number, found 'x'")


def test_an_element_that_is_no_record_is_named_by_its_place_alone():
    assert _error("segment a = exists(orders, where = total > 5)",
                  {"id": 1, "orders": [{"total": 1, "at": NOW}, 5]}, {"orders": BASKETS}) == (
        "customer 1, field orders[1]: expected a record with a field 'at', found 5")


def test_a_bad_element_read_as_itself_is_named_by_its_index_alone():
    assert _error("segment a = count(tags as t, where = -t > 3) > 0",
                  {"id": 3, "tags": [5, "x"]}) == "customer 3, field tags[1]: cannot negate str 'x'"


def test_a_negated_duration_computed_from_data():
    rules = segdsl.loads("segment recent = -(now - seen) > -3d", schema={"seen": "datetime"})
    customers = [{"id": 1, "seen": "2026-07-14T12:00:00Z"}, {"id": 2, "seen": "2026-07-01T00:00:00Z"},
                 {"id": 3, "seen": None}]
    assert rules.evaluate(customers, now=NOW).members == {"recent": [1]}


def test_a_long_negated_text_is_named_in_80_characters():
    assert _error("segment a = -score > 1", {"id": 3, "score": "x" * 200}) == (
        "customer 3, field score: cannot negate str '" + "x" * 76 + "...")


class _Address:
    def __init__(self, city: str) -> None:
        self.city = city


def test_a_declared_record_read_whole_may_be_a_mapping_or_an_object():
    import types

    rules = segdsl.loads("segment located = address is not null",
                         schema={"address": {"city": "string"}})
    customers = [{"id": 1, "address": types.MappingProxyType({"city": "Paris"})},
                 {"id": 2, "address": _Address("Paris")}, {"id": 3, "address": None},
                 {"id": 4, "address": {"city": "Lyon"}}]
    assert rules.evaluate(customers, now=NOW).members == {"located": [1, 2, 4]}


def test_a_declared_record_may_be_a_mapping_or_an_object():
    import types

    rules = segdsl.loads('segment paris = address.city == "Paris"',
                         schema={"address": {"city": "string"}})
    customers = [{"id": 1, "address": types.MappingProxyType({"city": "Paris"})},
                 {"id": 2, "address": _Address("Paris")}, {"id": 3, "address": _Address("Lyon")},
                 {"id": 4, "address": None}]
    assert rules.evaluate(customers, now=NOW).members == {"paris": [1, 2]}


def test_a_record_field_holding_text_is_named_in_80_characters_at_its_place():
    orders = segdsl.ListOf({"total": "number", "shipping": {"city": "string"}})
    assert _error("segment a = exists(orders, where = shipping is null)",
                  {"id": 2, "orders": [{"total": 1, "shipping": "y" * 200}]},
                  {"orders": orders}) == (
        "customer 2, field orders[0].shipping: expected a record, found str '"
        + "y" * 76 + "...")


def test_a_tuple_in_untyped_data_is_searched_as_a_list():
    """Python data may hold tuples (here inside a list, where they stay tuples); an item
    among them needing normalisation (NaN, read as null) does not stop the search."""
    rules = segdsl.loads('segment tagged = first(baskets) contains "x"')
    customers = [{"id": 1, "baskets": [("y", "x")]}, {"id": 2, "baskets": [("y",)]},
                 {"id": 3, "baskets": [(float("nan"), "x")]},
                 {"id": 4, "baskets": [(float("nan"),)]}]
    assert rules.evaluate(customers, now=NOW).members == {"tagged": [1, 3]}
    # matches asks the closures alone (evaluate's generated code decides clean records).
    assert [rules["tagged"].matches(c, now=NOW) for c in customers] == [True, False, True, False]


def test_a_written_list_of_datetimes_contains_a_date_by_its_day():
    rules = segdsl.loads("segment on_sale_day = [2026-07-01T22:30:00Z, 2026-07-03T10:00:00Z] "
                         "contains visited", schema={"visited": "date"})
    customers = [{"id": 1, "visited": "2026-07-01"}, {"id": 2, "visited": "2026-07-02"},
                 {"id": 3, "visited": "2026-07-03"}]
    assert rules.evaluate(customers, now=NOW).members == {"on_sale_day": [1, 3]}


def test_a_date_object_among_declared_datetimes_is_found_by_its_day():
    rules = segdsl.loads("segment came = visited in logins",
                         schema={"logins": "list[datetime]", "visited": "date"})
    logins = [dt.date(2026, 7, 1), dt.datetime(2026, 7, 2, 23, tzinfo=dt.UTC)]
    customers = [{"id": 1, "logins": logins, "visited": dt.date(2026, 7, 1)},
                 {"id": 2, "logins": logins, "visited": dt.date(2026, 7, 2)},
                 {"id": 3, "logins": logins, "visited": dt.date(2026, 7, 3)}]
    assert rules.evaluate(customers, now=NOW).members == {"came": [1, 2]}


def test_an_untyped_null_given_to_a_function_of_datetimes_is_null():
    rules = segdsl.loads("segment away = days_between(seen, now) > 3")
    customers = [{"id": 1, "seen": "2026-07-01T00:00:00Z"}, {"id": 2, "seen": None}, {"id": 3}]
    assert rules.evaluate(customers, now=NOW).members == {"away": [1]}


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


def test_a_function_raising_an_unprintable_error_is_named_by_its_class():
    functions = segdsl.Functions()

    @functions.register(params={"day": "string"}, returns="number")
    def fragile(day):
        raise _Unprintable

    rules = segdsl.loads("segment a = fragile(day) > 1", schema={"day": "string"},
                         functions=functions)
    with pytest.raises(segdsl.DataError) as raised:
        rules.evaluate([{"id": 5, "day": "x"}], now=NOW)
    assert str(raised.value) == ("customer 5, field day: function fragile failed: "
                                 "_Unprintable: <_Unprintable>")


def test_get_field_reads_dicts_objects_and_refuses_a_failing_property():
    from segdsl.compiler import get_field

    class Broken:
        @property
        def city(self):
            raise KeyError("gone")

    assert get_field({"city": float("nan")}, "city") is None
    assert get_field(_Address("Lyon"), "city") == "Lyon"
    assert get_field(_Address("Lyon"), "zip") is None and get_field(7, "city") is None
    with pytest.raises(segdsl.DataError) as raised:
        get_field(Broken(), "city")
    assert raised.value.field_path == "city" and "gone" in str(raised.value)
    with pytest.raises(segdsl.DataError) as raised:
        get_field(_Address(decimal.Decimal("Infinity")), "city")
    assert raised.value.field_path == "city"
    assert str(raised.value) == "field 'city': Infinity is not a finite number"


def test_a_long_customer_id_is_named_in_80_characters():
    assert _error("segment a = -score > 1", {"id": "i" * 200, "score": "x"}) == (
        "customer '" + "i" * 76 + "..., field score: cannot negate str 'x'")


@pytest.mark.parametrize("rule, customer, expected", [
    ('segment a = "x" in tags', {"id": 1, "tags": 5},
     "customer 1, field tags: cannot look for 'x' in 5 (expected a list, found int)"),
    ("segment a = code in tags", {"id": 1, "code": "c" * 200, "tags": [1]},
     None),
    ("segment a = code in tags", {"id": 1, "code": "c" * 200, "tags": 5},
     "customer 1, field code: cannot look for '" + "c" * 76 + "... in 5 (expected a list, "
     "found int)"),
    ("segment a = code in tags", {"id": 1, "code": 5, "tags": "t" * 200},
     "customer 1, field code: cannot look for 5 in '" + "t" * 76 + "... (text holds only "
     "text)"),
])
def test_a_search_in_what_is_no_list_names_both_sides(rule, customer, expected):
    rules = segdsl.loads(rule)
    if expected is None:
        assert rules.evaluate([customer], now=NOW).members == {"a": []}
        return
    assert _error(rule, customer) == expected
    with pytest.raises(segdsl.DataError) as raised:
        rules["a"].matches(customer, now=NOW)
    assert str(raised.value) == expected


def test_a_function_failing_on_written_arguments_names_no_field():
    functions = segdsl.Functions()

    @functions.register(params={"day": "string"}, returns="number")
    def fragile(day):
        raise ValueError("no such day")

    rules = segdsl.loads('segment a = fragile("x") > 1', functions=functions)
    with pytest.raises(segdsl.DataError) as raised:
        rules.evaluate([{"id": 5}], now=NOW)
    assert str(raised.value) == "customer 5: function fragile failed: ValueError: no such day"
    assert raised.value.field_path is None


def test_a_month_added_before_a_datetime_steps_in_the_zone():
    """In Paris, 15 March 13:00 (12:00 UTC) plus a month is 15 April 13:00 summer time,
    11:00 UTC: the first customer is there by 11:30 UTC, the second a day later."""
    rules = segdsl.loads("segment due = 1m + joined <= now", schema={"joined": "datetime"},
                         timezone="Europe/Paris")
    customers = [{"id": 1, "joined": "2026-03-15T12:00:00Z"},
                 {"id": 2, "joined": "2026-03-16T12:00:00Z"},
                 {"id": 3, "joined": None}]
    assert rules.evaluate(customers, now="2026-04-15T11:30:00Z").members == {"due": [1]}
    assert [rules["due"].matches(c, now="2026-04-15T11:30:00Z") for c in customers] == [
        True, False, False]


def test_an_untyped_date_meets_a_datetime_by_its_day_in_the_zone():
    """23:30 UTC on 1 July is 2 July in Paris."""
    rules = segdsl.loads("segment same_day = visit_day == at", schema={"at": "datetime", "visit_day": "any"},
                         timezone="Europe/Paris")
    customers = [{"id": 1, "visit_day": dt.date(2026, 7, 2), "at": "2026-07-01T23:30:00Z"},
                 {"id": 2, "visit_day": dt.date(2026, 7, 1), "at": "2026-07-01T23:30:00Z"}]
    assert rules.evaluate(customers, now=NOW).members == {"same_day": [1]}
    flipped = segdsl.loads("segment same_day = at == visit_day", schema={"at": "datetime", "visit_day": "any"},
                           timezone="Europe/Paris")
    assert flipped.evaluate(customers, now=NOW).members == {"same_day": [1]}


def test_a_datetime_field_read_twice_is_read_once_and_kept():
    """The second read comes from the customer's cache: it must hold the value read."""
    rules = segdsl.loads("segment july = seen >= 2026-07-01T00:00:00Z "
                         "and seen < 2026-08-01T00:00:00Z", schema={"seen": "datetime"})
    customers = [{"id": 1, "seen": "2026-07-10T00:00:00Z"},
                 {"id": 2, "seen": "2026-08-10T00:00:00Z"}]
    assert rules.evaluate(customers, now=NOW).members == {"july": [1]}
    assert [rules["july"].matches(c, now=NOW) for c in customers] == [True, False]


def test_a_naive_datetime_of_the_data_is_in_the_rules_zone():
    """11:30 without an offset is 09:30 UTC in Paris in summer."""
    rules = segdsl.loads("segment morning = seen < 2026-07-01T10:00:00Z",
                         schema={"seen": "datetime"}, timezone="Europe/Paris")
    customer = {"id": 1, "seen": "2026-07-01T11:30:00"}
    assert rules.evaluate([customer], now=NOW).members == {"morning": [1]}
    assert rules["morning"].matches(customer, now=NOW)


@pytest.mark.parametrize("rule, schema, value, expected", [
    ("segment a = seen > 2026-01-01T00:00:00Z", {"seen": "datetime"}, "s" * 200,
     "customer 1, field seen: cannot read '" + "s" * 76 + "... as a datetime ("),
    ("segment a = spend > 1", {"spend": "number"}, "n" * 200,
     "customer 1, field spend: expected a number, found '" + "n" * 76 + "..."),
])
def test_a_long_bad_value_of_a_declared_field_is_named_in_80_characters(rule, schema, value,
                                                                       expected):
    rules = segdsl.loads(rule, schema=schema)
    with pytest.raises(segdsl.DataError) as raised:
        rules["a"].matches({"id": 1, next(iter(schema)): value}, now=NOW)
    assert str(raised.value).startswith(expected)


@pytest.mark.parametrize("customer", [{"id": 1, "score": 0, "flag": True},
                                      {"id": 1, "score": True, "flag": 0}])
def test_a_number_and_a_boolean_are_not_ordered_either_way(customer):
    rules = segdsl.loads("segment a = score < flag")
    with pytest.raises(segdsl.DataError, match="cannot evaluate"):
        rules["a"].matches(customer, now=NOW)
