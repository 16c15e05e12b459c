"""Checker messages and limits that a mutation run found untested, each with its
exact text and place."""

from __future__ import annotations

import datetime as dt

import pytest

import segdsl


def test_rfm_without_an_orders_list_says_what_to_declare():
    with pytest.raises(segdsl.CheckError) as raised:
        segdsl.loads("segment a = rfm.score >= 100", schema={"age": "number"})
    assert str(raised.value) == (
        "<rule>:1:13: RFM scores read the customer's orders, and the schema has no 'orders' "
        "list\n  segment a = rfm.score >= 100\n              ^^^^^^^^^\n"
        '  hint: declare it: "orders": ListOf({"at": "datetime", "total": "number"})')


def test_a_keyword_written_in_capitals_is_warned_about_as_a_keyword():
    rules = segdsl.loads("segment a = Or == 1")
    assert [str(warning) for warning in rules.warnings] == [(
        "<rule>:1:13: warning: 'Or' is read as a field of the customer, not the keyword "
        "'or': names and keywords are case-sensitive\n  segment a = Or == 1\n"
        "              ^^\n  hint: write or")]


def test_the_poles_and_the_date_line_are_places():
    """Latitude 90 and -90, longitude 180 and -180 are in range (the limits are
    inclusive); one step past them is refused."""
    rules = segdsl.loads("segment north = distance_km(lat, lng, 90, 180) < 10\n"
                         "segment south = distance_km(lat, lng, -90, -180) < 10\n",
                         schema={"lat": "number", "lng": "number"})
    customers = [{"id": 1, "lat": 90, "lng": 180}, {"id": 2, "lat": -90, "lng": 0}]
    assert rules.evaluate(customers, now="2026-01-01T00:00:00Z").members == {
        "north": [1], "south": [2]}
    with pytest.raises(segdsl.CheckError, match="a latitude is from -90 to 90 degrees, not 90.5"):
        segdsl.loads("segment a = distance_km(lat, lng, 90.5, 0) < 10",
                     schema={"lat": "number", "lng": "number"})


def test_a_misspelt_nested_field_is_not_offered_a_segment():
    """Segments are names of the customer: a field of ``address`` spelt like one
    gets no hint (``address.loyal`` would be no segment either)."""
    with pytest.raises(segdsl.CheckError) as raised:
        segdsl.loads('segment loyal = age >= 30\nsegment b = address.loyl == "x"',
                     schema={"age": "number", "address": {"city": "string"}})
    assert str(raised.value) == (
        "<rule>:2:13: unknown field 'loyl' of address\n"
        '  segment b = address.loyl == "x"\n              ^^^^^^^^^^^^')


def test_a_date_is_looked_for_among_written_datetimes_by_their_days_in_the_zone():
    """23:30 UTC on 1 January is 2 January in Paris: the birthday on the 2nd is in."""
    rules = segdsl.loads("segment a = birthday in [2026-01-01T23:30:00Z, 2026-02-01T00:00:00Z]",
                         schema={"birthday": "date"}, timezone="Europe/Paris")
    customers = [{"id": 1, "birthday": dt.date(2026, 1, 2)},
                 {"id": 2, "birthday": dt.date(2026, 1, 1)},
                 {"id": 3, "birthday": dt.date(2026, 2, 1)}]
    assert rules.evaluate(customers, now="2026-07-15T12:00:00Z").members == {"a": [1, 3]}


DAYS_SCHEMA = {"birthday": "date", "last": "datetime", "seen": "list[datetime]",
               "days": "list[date]"}
# 23:30 UTC on 1 January is 2 January in Paris; the text items are read as datetimes
# and dates, as the lists' aggregations read them
SEEN = [dt.datetime(2026, 1, 1, 23, 30, tzinfo=dt.UTC), "2026-03-01T00:00:00Z"]
DAYS = ["2026-03-01", dt.date(2026, 1, 2)]


@pytest.mark.parametrize("rule, expected", [
    ("birthday in seen", [1, 3]),
    ("birthday not in seen", [2]),
    ("seen contains birthday", [1, 3]),
    ("last in seen", [1]),
    ("seen contains last", [1]),
    ("last in days", [1, 2]),
    ("days contains last", [1, 2]),
    ("birthday in days", [1, 3]),
    ("[2026-01-01T23:30:00Z, 2026-03-01T00:00:00Z] contains birthday", [1, 3]),
    ("[2026-03-01] contains last", [1, 2]),
])
def test_declared_lists_of_datetimes_and_dates_are_searched_by_instant_and_day(rule, expected):
    rules = segdsl.loads(f"segment a = {rule}", schema=DAYS_SCHEMA, timezone="Europe/Paris")
    customers = [
        {"id": 1, "birthday": dt.date(2026, 1, 2), "last": "2026-03-01T00:00:00Z"},
        {"id": 2, "birthday": dt.date(2026, 1, 1), "last": "2026-03-01T00:00:01Z"},
        {"id": 3, "birthday": dt.date(2026, 3, 1), "last": None},
    ]
    customers = [dict(customer, seen=SEEN, days=DAYS) for customer in customers]
    assert rules.evaluate(customers, now="2026-07-15T12:00:00Z").members == {"a": expected}
    assert [rules["a"].matches(customer, now="2026-07-15T12:00:00Z")
            for customer in customers] == [c["id"] in expected for c in customers]
