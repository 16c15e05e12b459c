"""Calendar functions: year, month, day, weekday, day_of_year, anniversary, years_between and
months_between, on dates and on datetimes taken as their day in the configured timezone."""

from __future__ import annotations

import datetime as dt

import pytest
from agreement import check_error, located, members

import segdsl
from segdsl.repl import Session, complete

NEW_YEAR = {"id": 1, "at": "2026-12-31T23:30:00Z"}  # 1 January 2027 00:30 in Paris


@pytest.mark.parametrize("rule, zone", [
    ("year(at) == 2026 and month(at) == 12 and day(at) == 31", None),
    ("day_of_year(at) == 365 and weekday(at) == 4", None),  # a Thursday
    ("year(at) == 2027 and month(at) == 1 and day(at) == 1", "Europe/Paris"),
    ("day_of_year(at) == 1 and weekday(at) == 5", "Europe/Paris"),  # a Friday
    ("year(at) == 2026 and day(at) == 31", "America/New_York"),  # 18:30 on the 31st
])
def test_parts_of_a_datetime_are_those_of_its_day_in_the_timezone(rule, zone):
    """Half an hour before the new year in UTC is already 1 January 2027 in Paris."""
    assert members(rule, [NEW_YEAR], "2027-01-05", timezone=zone) == [1]


def test_iso_weekday_and_day_of_a_leap_year():
    """A Sunday is weekday 7, a Monday 1; the last day of a leap year is day 366."""
    customers = [{"id": "sunday", "d": "2026-07-12"}, {"id": "monday", "d": "2026-07-13"},
                 {"id": "leap", "d": "2024-12-31"}, {"id": "none", "d": None}]
    assert members("weekday(d) == 7", customers, "2030-01-01") == ["sunday"]
    assert members("weekday(d) == 1", customers, "2030-01-01") == ["monday"]
    assert members("day_of_year(d) == 366", customers, "2030-01-01") == ["leap"]
    assert members("weekday(d) is null", customers, "2030-01-01") == ["none"]


BIRTHDAYS = [
    {"id": "in 5 days", "birth_date": "1990-07-20"},
    {"id": "yesterday", "birth_date": "1990-07-14"},
    {"id": "today", "birth_date": "1990-07-15"},
    {"id": "in 30 days", "birth_date": "1985-08-14"},
    {"id": "in 31 days", "birth_date": "1985-08-15"},
    {"id": "unknown", "birth_date": None},
]


def test_birthday_in_the_next_30_days():
    """`anniversary(d) between today and today + 30d`: today counts, yesterday is next year's."""
    rule = "anniversary(birth_date) between today and today + 30d"
    assert members(rule, BIRTHDAYS, "2026-07-15T12:00:00Z") == [
        "in 5 days", "today", "in 30 days"]


def test_birthday_this_month():
    """`month(birth_date) == month(now)` finds the July birthdays."""
    assert members("month(birth_date) == month(now)", BIRTHDAYS, "2026-07-15T12:00:00Z") == [
        "in 5 days", "yesterday", "today"]


def test_anniversary_crosses_the_year_end():
    """On 31 December, a 5 January birthday is 5 days ahead, in the next year."""
    customers = [{"id": 1, "birth_date": "1990-01-05"}]
    assert members("anniversary(birth_date) == 2027-01-05", customers, "2026-12-31") == [1]
    assert members("anniversary(birth_date) between today and today + 30d", customers,
                   "2026-12-31") == [1]


@pytest.mark.parametrize("now, expected", [
    ("2027-02-28T12:00:00Z", "2027-02-28"),  # a common year: on 28 February, today
    ("2027-03-01T12:00:00Z", "2028-02-29"),  # past it: the next leap year's own day
    ("2028-02-29T12:00:00Z", "2028-02-29"),
    ("2028-01-01T12:00:00Z", "2028-02-29"),
])
def test_anniversary_of_29_february(now, expected):
    """29 February falls on 28 February in common years."""
    customers = [{"id": 1, "birth_date": "2000-02-29"}]
    assert members(f"anniversary(birth_date) == {expected}", customers, now) == [1]


def test_anniversary_of_a_datetime_is_that_of_its_day_in_the_timezone():
    """23:00 UTC on 14 July is 15 July in Paris: its anniversary is today there."""
    customers = [{"id": 1, "signed_up_at": "2020-07-14T23:00:00Z"}]
    rule = "anniversary(signed_up_at) == today"
    assert members(rule, customers, "2026-07-15T08:00:00Z", timezone="Europe/Paris") == [1]
    assert members(rule, customers, "2026-07-15T08:00:00Z") == []


def test_anniversary_of_null_is_null():
    """A missing date has no anniversary."""
    assert members("anniversary(birth_date) is null", BIRTHDAYS, "2026-07-15") == ["unknown"]


@pytest.mark.parametrize("born, adult", [
    ("2008-07-15", True), ("2008-07-16", False), ("1990-01-01", True), (None, False),
])
def test_age_with_years_between(born, adult):
    """`years_between(birth_date, today) >= 18`: 18 on the birthday itself, not the day before."""
    customers = [{"id": 1, "birth_date": born}]
    expected = [1] if adult else []
    assert members("years_between(birth_date, today) >= 18", customers, "2026-07-15") == expected


@pytest.mark.parametrize("start, end, years, months", [
    ("2000-01-31", "2000-02-29", 0, 1),  # 31 January plus a month is 29 February
    ("2000-01-31", "2000-02-28", 0, 0),
    ("2000-01-31", "2000-03-31", 0, 2),
    ("2000-03-15", "2026-03-14", 25, 311),
    ("2026-03-14", "2000-03-15", -25, -311),  # negative when end is earlier
    ("2008-02-29", "2026-02-28", 18, 216),  # as dateutil's relativedelta counts
])
def test_years_and_months_between_count_whole_calendar_steps(start, end, years, months):
    """Whole years and months from start to end, as dateutil's relativedelta counts them."""
    customers = [{"id": 1, "a": start, "b": end}]
    assert members(f"years_between(a, b) == {years}", customers, "2030-01-01") == [1]
    assert members(f"months_between(a, b) == {months}", customers, "2030-01-01") == [1]


def test_between_functions_take_datetimes_by_their_day():
    """In Paris, 23:30 UTC on 31 December 2025 is 1 January 2026: no whole year to 31 December."""
    schema = segdsl.Schema({"id": "number", "start": "datetime", "end": "date"})
    customers = [{"id": 1, "start": "2025-12-31T23:30:00Z", "end": dt.date(2026, 12, 31)}]
    assert members("years_between(start, end) == 0", customers, "2030-01-01",
                   schema=schema, timezone="Europe/Paris") == [1]
    assert members("years_between(start, end) == 1", customers, "2030-01-01",
                   schema=schema) == [1]


@pytest.mark.parametrize("rule, expected", [
    ("year(5) == 1", ("'date' of year must be a date or a datetime, not a number", 6, 7,
                      "year(date: date or datetime) -> number")),
    ('weekday("2026-07-12") == 7', (
        "'date' of weekday must be a date or a datetime, not a string", 9, 21,
        "weekday(date: date or datetime) -> number")),
    ("anniversary(30d) == today", (
        "'date' of anniversary must be a date or a datetime, not a duration", 13, 16,
        "anniversary(date: date or datetime) -> date")),
    ("years_between(birth_date) > 1", (
        "'years_between' is missing its argument 'end'", 1, 26,
        "years_between(start: date or datetime, end: date or datetime) -> number")),
    ("month(now, now) == 1", ("'month' takes 1 argument but 2 were given", 1, 16,
                              "month(date: date or datetime) -> number")),
    ("anniversary(birth_date) > 3", ("cannot compare a date with a number", 1, 28, None)),
])
def test_calendar_functions_are_type_checked(rule, expected):
    """Wrong arguments are CheckErrors with the signature as hint and a caret under the value."""
    assert located(check_error(rule)) == expected


@pytest.mark.parametrize("value, shown", [
    (5, "cannot read 5 as a date (expected a date, found int)"),
    ("soon", "cannot read 'soon' as a date (Invalid isoformat string: 'soon')"),
    (True, "cannot read True as a date (expected a date, found bool)"),
    # A long value is shown in 80 characters; the parser's own message quotes it whole.
    ("x" * 100, "cannot read '" + "x" * 76 + "... as a date (Invalid isoformat string: '"
     + "x" * 100 + "')"),
])
def test_a_value_that_is_no_date_is_bad_data(value, shown):
    """An untyped field holding no date is a DataError naming the customer and the field."""
    segment = segdsl.compile("year(d) == 2026")
    with pytest.raises(segdsl.DataError) as raised:
        segment.matches({"id": 7, "d": value}, now="2026-07-15")
    assert str(raised.value) == f"customer 7, field d: {shown}"


def test_an_anniversary_after_year_9999_is_bad_data():
    """The next anniversary past the last representable day is a DataError, not a traceback."""
    segment = segdsl.compile("anniversary(d) == today")
    with pytest.raises(segdsl.DataError) as raised:
        segment.matches({"id": 7, "d": "2000-01-01"}, now="9999-12-31")
    assert str(raised.value) == (
        "customer 7, field d: function anniversary failed: ValueError: the anniversary of "
        "2000-01-01 after 9999-12-31 is after the year 9999")


def test_explain_shows_the_anniversary():
    """The explanation shows the anniversary's date and the value it came from."""
    segment = segdsl.compile("anniversary(birth_date) between today and today + 30d")
    assert segment.explain(BIRTHDAYS[0], now="2026-07-15T12:00:00Z").render() == (
        "anniversary(birth_date) between today and today + 30d -> true\n"
        "├── anniversary(birth_date) = 2026-07-20\n"
        "│   └── birth_date = \"1990-07-20\"\n"
        "└── today + 30d = 2026-08-14")


def test_calendar_functions_format_and_complete():
    """`fmt` prints calendar calls faithfully and the REPL completes their names."""
    text = "segment adult = years_between( birth_date,today )>=18\n"
    assert segdsl.format(text) == "segment adult = years_between(birth_date, today) >= 18\n"
    assert [c.text for c in complete(Session(), "anniv")] == ["anniversary"]
    assert "day_of_year" in [c.text for c in complete(Session(), "day_")]


def test_a_user_function_cannot_take_a_calendar_name():
    """The calendar functions are built-ins: registering one of their names is refused."""
    functions = segdsl.Functions()
    with pytest.raises(segdsl.UsageError, match="'weekday' is already a built-in"):
        functions.register("weekday", params={"d": "date"}, returns="number")(lambda d: 1)
