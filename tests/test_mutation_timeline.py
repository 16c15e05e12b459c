"""Time read from data, and windows at the ends of the calendar: the cases the
mutation run of ``segdsl/timeline.py`` showed no test was looking at.

A date field given a datetime holds that datetime's day in the configured
timezone: a naive datetime (object or text) is read in that zone, an aware one
is converted to it. The test process runs in UTC, so a zone far from UTC
(Tokyo, UTC+9; New York, UTC-4 in August) tells the zone's day from the host's.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from host_zone import host_zone

import segdsl

UTC = dt.UTC
NOW = dt.datetime(2026, 7, 15, 12, tzinfo=UTC)
DAYS = {"jul31": dt.date(2026, 7, 31), "aug1": dt.date(2026, 8, 1), "aug2": dt.date(2026, 8, 2)}
RENEWAL_RULES = "\n".join(f"segment {name} = renewal == {day.isoformat()}"
                          for name, day in DAYS.items())


def renewal_day(value, zone: str) -> list[str]:
    """The segments (named after days) whose day equals a declared date field holding ``value``."""
    rules = segdsl.loads(RENEWAL_RULES, schema={"id": "number", "renewal": "date"},
                         timezone=zone)
    members = rules.evaluate([{"id": 1, "renewal": value}], now=NOW).members
    return [name for name, ids in members.items() if ids]


@pytest.mark.parametrize("value, zone, day", [
    # naive: the wall clock of the zone
    ("2026-08-01T23:30:00", "Asia/Tokyo", "aug1"),
    ("2026-08-01T05:00:00", "Asia/Tokyo", "aug1"),
    (dt.datetime(2026, 8, 1, 23, 30), "Asia/Tokyo", "aug1"),
    (dt.datetime(2026, 8, 1, 0, 30), "America/New_York", "aug1"),
    # ISO basic format, 11 characters: a datetime, not a date
    ("20260801T05", "Asia/Tokyo", "aug1"),
    # aware: the day it is in the zone at that instant
    ("2026-08-01T23:30:00Z", "Asia/Tokyo", "aug2"),
    ("2026-08-01T02:00:00Z", "America/New_York", "jul31"),
    (dt.datetime(2026, 8, 1, 23, 30, tzinfo=UTC), "Asia/Tokyo", "aug2"),
    (dt.datetime(2026, 8, 1, 2, 0, tzinfo=UTC), "America/New_York", "jul31"),
    ("2026-08-01", "Asia/Tokyo", "aug1"),
])
def test_a_date_field_holds_the_day_in_the_configured_zone(value, zone, day):
    """A datetime met where a date is declared is its day in the rules' timezone."""
    assert renewal_day(value, zone) == [day]


def test_a_number_in_a_date_field_is_bad_data():
    """A number where a date is declared names the customer, the field and what was found."""
    with pytest.raises(segdsl.DataError) as caught:
        renewal_day(7, "Asia/Tokyo")
    assert str(caught.value) == ("customer 1, field renewal: cannot read 7 as a date "
                                 "(expected a date, found int)")


ORDERS = {"id": 1, "orders": [{"at": "0001-01-01T00:30:00Z"}, {"at": "2026-07-01T00:00:00Z"},
                              {"at": "9999-12-31T22:00:00Z"}]}


def counted(window: str, now: dt.datetime) -> int:
    """How many of ORDERS' orders ``count(orders, within = window)`` finds at ``now``."""
    text = "\n".join(f"segment c{k} = count(orders, within = {window}) == {k}" for k in range(4))
    members = segdsl.loads(text).evaluate([ORDERS], now=now).members
    (found,) = [k for k in range(4) if members[f"c{k}"]]
    return found


@pytest.mark.parametrize("window, found", [("1m", 1), ("1y", 1), ("2h", 1), ("1d", 1)])
def test_a_window_reaching_before_year_one_starts_at_the_first_instant(window, found):
    """An hour into year 1, a window back past the calendar's start holds all until now."""
    assert counted(window, dt.datetime(1, 1, 1, 1, tzinfo=UTC)) == found


@pytest.mark.parametrize("window, found", [("5h", 1), ("1m", 1), ("1h", 0), ("2h", 1)])
def test_a_window_an_hour_before_the_calendar_ends_holds_the_order_before_now(window, found):
    """An hour before year 9999 ends, a window back holds the order at 22:00 when it starts
    before it: `1h` starts at 22:00 exactly, which it leaves out."""
    assert counted(window, dt.datetime(9999, 12, 31, 23, tzinfo=UTC)) == found


def test_a_month_back_steps_the_calendar_of_the_rules_zone():
    """From April 1st 00:30 in Paris (22:30 UTC the day before), 1m back is March 1st 00:30 in
    Paris, 23:30 UTC on February 28th: an order at 23:15 UTC is before it, one at 23:45 after.
    On the UTC calendar a month back would be February 28th 22:30 UTC, taking both."""
    customer = {"id": 1, "orders": [{"at": "2026-02-28T23:15:00Z"},
                                    {"at": "2026-02-28T23:45:00Z"}]}
    rules = segdsl.loads("segment one = count(orders, within = 1m) == 1\n"
                         "segment two = count(orders, within = 1m) == 2\n",
                         timezone="Europe/Paris")
    now = dt.datetime.fromisoformat("2026-04-01T00:30:00+02:00")
    assert rules.evaluate([customer], now=now).members == {"one": [1], "two": []}


@pytest.fixture
def host_in_kolkata():
    """The process's own timezone set to Asia/Kolkata (UTC+5:30) for one test."""
    if not hasattr(time, "tzset"):
        pytest.skip("the host timezone can only be changed where time.tzset exists")
    with host_zone("Asia/Kolkata"):
        yield


def test_times_read_from_data_are_shown_in_utc_whatever_the_host_zone(host_in_kolkata):
    """An explanation shows a stamp read from data in UTC, not in the host's zone."""
    customer = {"id": 1, "orders": [{"at": "2026-07-01T10:12:00Z"},
                                    {"at": "2026-07-01T23:30:00+02:00"}]}
    explained = segdsl.compile("last(orders.at) > 2026-06-01T00:00:00Z").explain(customer, now=NOW)
    assert str(explained).splitlines() == [
        "last(orders.at) > 2026-06-01T00:00:00Z -> true",
        "└── last(orders.at) = 2026-07-01T21:30:00Z",
    ]
