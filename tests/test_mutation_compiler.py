"""Compiled behaviour that a mutation run found untested: each datetime field keeps
its own cached value, a bad value in a list's element is named by its place, a list
written in a rule is searched like one from the data, and a bad operand of a
negation is named in the message."""

from __future__ import annotations

import datetime as dt

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
