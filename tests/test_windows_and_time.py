"""Windows, periods, calendar steps, timezones and the evaluation time, at their edges.

Decided semantics under test: ``within = W`` selects ``now - W < at <= now``;
h/d/w are exact lengths of time, m/y calendar steps; a period is whole days,
both ends included, in the configured timezone, and never reaches past
``now``; naive datetimes (in data, in rules, as ``now``) are read in the
configured timezone; a datetime compared with a date compares its calendar
day; ``days_between`` counts whole days of 24 hours, floored.
"""

from __future__ import annotations

import datetime as dt

import pytest
from dateutil import tz

import segdsl

NOW = "2026-07-15T12:00:00Z"
PARIS = "Europe/Paris"
UTC = dt.timezone.utc
SALE = "period summer_sale = 2026-06-24 .. 2026-07-21\n"


def visited(window: str, at, now=NOW, **options) -> bool:
    """Whether one visit at ``at`` is counted by ``visits(window)`` at ``now``."""
    rule = segdsl.compile(f"visits({window}) == 1", **options)
    return rule.matches({"id": 1, "events": [{"type": "visit", "at": at}]}, now=now)


def ordered_in_sale(at, now="2026-08-01T00:00:00Z", **options) -> bool:
    """Whether an order at ``at`` is a purchase during the summer sale."""
    rules = segdsl.loads(SALE + "segment s = purchased(summer_sale)", **options)
    return rules["s"].matches({"id": 1, "orders": [{"at": at, "total": 1}]}, now=now)


def holds(rule: str, customer: dict, now=NOW, **options) -> bool:
    """Whether ``rule`` is true for ``customer`` at ``now``."""
    return segdsl.compile(rule, **options).matches(customer, now=now)


def last_order(at) -> dict:
    """A customer whose only order is at ``at``."""
    return {"id": 1, "orders": [{"at": at, "total": 10}]}


# ---------------------------------------------------------------- windows back from now


def test_window_start_is_excluded():
    """An event exactly 30 days before now is not within 30d."""
    assert not visited("30d", "2026-06-15T12:00:00Z")


def test_window_includes_a_microsecond_after_its_start():
    """An event one microsecond after now - 30d is within 30d."""
    assert visited("30d", "2026-06-15T12:00:00.000001Z")


def test_window_includes_now():
    """An event exactly at now is within the window."""
    assert visited("30d", NOW)


@pytest.mark.parametrize("window", ["30d", "12h", "1w", "1m", "1y", "2026-07-01 .. 2026-07-31"])
def test_event_after_now_never_counts_in_a_window(window):
    """An event one microsecond after now is in no window, even a period that covers it."""
    assert not visited(window, "2026-07-15T12:00:00.000001Z")


def test_event_after_now_never_counts_without_a_window():
    """Aggregations without a window also see the list as it stood at now."""
    customer = {"id": 1, "orders": [{"at": "2026-07-16T00:00:00Z", "total": 500}],
                "events": [{"type": "visit", "at": "2026-07-15T12:00:01Z"}]}
    for rule in ("count(events) == 0", "not exists(orders)", "sum(orders.total) == 0",
                 "last_order_at is null", "not purchased()", "max(orders.total) is null"):
        assert holds(rule, customer), rule


@pytest.mark.parametrize(("window", "outside", "inside"), [
    ("12h", "2026-07-15T00:00:00Z", "2026-07-15T00:00:01Z"),
    ("36h", "2026-07-14T00:00:00Z", "2026-07-14T00:00:01Z"),
    ("1w", "2026-07-08T12:00:00Z", "2026-07-08T12:00:01Z"),
    ("2w", "2026-07-01T12:00:00Z", "2026-07-01T12:00:01Z"),
    ("1d", "2026-07-14T12:00:00Z", "2026-07-14T12:00:01Z"),
])
def test_hours_and_weeks_are_exact_lengths(window, outside, inside):
    """h, d and w windows start exactly that many hours before now, excluded."""
    assert not visited(window, outside)
    assert visited(window, inside)


# ------------------------------------------------------------------- calendar steps


@pytest.mark.parametrize(("now", "start"), [
    ("2026-03-31T12:00:00Z", "2026-02-28T12:00:00Z"),
    ("2024-03-31T12:00:00Z", "2024-02-29T12:00:00Z"),
    ("2026-05-31T12:00:00Z", "2026-04-30T12:00:00Z"),
    ("2026-03-15T12:00:00Z", "2026-02-15T12:00:00Z"),
])
def test_one_month_back_is_a_calendar_step(now, start):
    """1m back from the 31st lands on the last day of the shorter month."""
    assert holds(f"now - 1m == {start}", {}, now=now)
    assert not visited("1m", start, now=now)
    assert visited("1m", start.replace(":00Z", ":01Z"), now=now)


def test_one_year_back_from_a_leap_day():
    """1y back from 2024-02-29 is 2023-02-28; 12m is the same step."""
    now = "2024-02-29T12:00:00Z"
    assert holds("now - 1y == 2023-02-28T12:00:00Z", {}, now=now)
    assert holds("now - 12m == 2023-02-28T12:00:00Z", {}, now=now)
    assert not visited("1y", "2023-02-28T12:00:00Z", now=now)
    assert visited("1y", "2023-02-28T12:00:01Z", now=now)


def test_a_year_across_a_leap_day_is_366_days():
    """1y back from 2024-07-15 reaches 366 days back, whereas 365d does not."""
    now = "2024-07-15T12:00:00Z"
    at = "2023-07-15T18:00:00Z"  # 365 days and 18 hours before now
    assert visited("1y", at, now=now)
    assert not visited("365d", at, now=now)


def test_date_minus_months():
    """A date minus 1m is a date, clamped to the month's end."""
    schema = segdsl.Schema({"id": "number", "renewal": "date"})
    assert holds("renewal - 1m == 2026-02-28", {"renewal": "2026-03-31"}, schema=schema)
    assert holds("renewal - 1y == 2023-02-28", {"renewal": "2024-02-29"}, schema=schema)


# ------------------------------------------------------------------------- periods


@pytest.mark.parametrize(("at", "inside"), [
    ("2026-06-23T23:59:59.999999Z", False),
    ("2026-06-24T00:00:00Z", True),
    ("2026-07-01T12:00:00Z", True),
    ("2026-07-21T23:59:59.999999Z", True),
    ("2026-07-22T00:00:00Z", False),
])
def test_period_is_whole_days_both_ends_included(at, inside):
    """A period runs from its first day's first instant to the end of its last day."""
    assert ordered_in_sale(at) is inside


def test_period_written_inline_and_with_during():
    """An inline date range and `during =` select the same whole days."""
    customer = {"id": 1, "orders": [{"at": "2026-07-01T00:00:00Z", "total": 1},
                                    {"at": "2026-07-01T23:59:59Z", "total": 2},
                                    {"at": "2026-07-02T00:00:00Z", "total": 4}]}
    assert holds("orders(2026-07-01 .. 2026-07-01) == 2", customer)
    assert holds("sum(orders.total, during = 2026-07-01 .. 2026-07-01) == 3", customer)
    assert holds("sum(orders.total, within = 2026-07-01 .. 2026-07-02) == 7", customer)


def test_period_stops_at_now():
    """An order later today, inside the sale but after now, is not a purchase yet."""
    assert not ordered_in_sale("2026-07-15T12:00:00.000001Z", now=NOW)
    assert ordered_in_sale("2026-07-15T12:00:00Z", now=NOW)


def test_period_before_it_starts_is_empty():
    """Evaluated before the period begins, nothing is in it."""
    assert not ordered_in_sale("2026-06-24T10:00:00Z", now="2026-06-20T00:00:00Z")


# ------------------------------------------------------------------------ timezones


def test_period_days_in_paris_start_before_utc_midnight():
    """At 2026-06-23T22:30Z it is already June 24 in Paris: in the sale there, not in UTC."""
    assert ordered_in_sale("2026-06-23T22:30:00Z", timezone=PARIS)
    assert not ordered_in_sale("2026-06-23T22:30:00Z")


def test_period_days_in_paris_end_before_utc_midnight():
    """At 2026-07-21T22:30Z it is already July 22 in Paris: after the sale there, not in UTC."""
    assert not ordered_in_sale("2026-07-21T22:30:00Z", timezone=PARIS)
    assert ordered_in_sale("2026-07-21T22:30:00Z")


def test_naive_text_in_data_is_read_in_the_configured_zone():
    """A naive 13:00 is 13:00Z in UTC but 11:00Z in Paris (summer), before the 30d window."""
    assert visited("30d", "2026-06-15T13:00:00")
    assert not visited("30d", "2026-06-15T13:00:00", timezone=PARIS)
    assert not visited("30d", "2026-06-15T14:00:00", timezone=PARIS)  # exactly now - 30d
    assert visited("30d", "2026-06-15T14:00:01", timezone=PARIS)


def test_naive_datetime_objects_in_data_are_read_in_the_configured_zone():
    """Python naive datetimes are read like naive text."""
    assert visited("30d", dt.datetime(2026, 6, 15, 13))
    assert not visited("30d", dt.datetime(2026, 6, 15, 13), timezone=PARIS)


def test_naive_datetime_in_a_rule_is_read_in_the_configured_zone():
    """`2026-07-01T00:00:00` in a rule is midnight in Paris, i.e. 2026-06-30T22:00Z."""
    customer = last_order("2026-06-30T22:30:00Z")
    assert holds("last_order_at >= 2026-07-01T00:00:00", customer, timezone=PARIS)
    assert not holds("last_order_at >= 2026-07-01T00:00:00", customer)


def test_naive_data_on_a_period_day_is_that_day_in_any_zone():
    """A naive timestamp's day is its written day, whatever the configured zone."""
    assert ordered_in_sale("2026-06-24T00:30:00", timezone=PARIS)
    assert not ordered_in_sale("2026-06-23T23:30:00", timezone=PARIS)


# Paris moves its clocks forward on 2026-03-29 (02:00 CET -> 03:00 CEST) and back on
# 2026-10-25 (03:00 CEST -> 02:00 CET). 1d stays exactly 24 hours across both.

@pytest.mark.parametrize("now", [
    "2026-03-29T10:00:00Z",
    "2026-03-29T12:00:00+02:00",
    "2026-03-29T12:00:00",
    dt.datetime(2026, 3, 29, 12, 0),
    dt.datetime(2026, 3, 29, 12, 0, tzinfo=tz.gettz(PARIS)),
])
def test_one_day_is_24_hours_across_the_spring_dst_change(now):
    """On the day Paris loses an hour, 1d reaches back 24 hours, to 11:00 CET the day before,
    however now is written."""
    assert not visited("1d", "2026-03-28T11:00:00+01:00", now=now, timezone=PARIS)
    assert visited("1d", "2026-03-28T11:00:01+01:00", now=now, timezone=PARIS)
    assert visited("1d", "2026-03-28T11:30:00", now=now, timezone=PARIS)  # naive: Paris
    assert visited("1d", "2026-03-28T12:00:00", now=now, timezone=PARIS)


@pytest.mark.parametrize("now", ["2026-10-25T11:00:00Z", "2026-10-25T12:00:00"])
def test_one_day_is_24_hours_across_the_autumn_dst_change(now):
    """On the day Paris gains an hour, 1d reaches back 24 hours, to 13:00 CEST the day before."""
    assert not visited("1d", "2026-10-24T12:30:00", now=now, timezone=PARIS)
    assert not visited("1d", "2026-10-24T13:00:00", now=now, timezone=PARIS)
    assert visited("1d", "2026-10-24T13:00:01", now=now, timezone=PARIS)


def test_days_between_is_24_hour_days_across_dst():
    """Noon to noon across the spring change is 23 hours: 0 whole days."""
    customer = last_order("2026-03-28T12:00:00")
    assert holds("days_since_last_order == 0", customer, now="2026-03-29T12:00:00",
                 timezone=PARIS)
    assert holds("days_since_last_order == 1", customer, now="2026-03-29T13:00:00",
                 timezone=PARIS)


# ----------------------------------------------------------- dates against datetimes


@pytest.mark.parametrize(("rule", "in_utc", "in_paris"), [
    ("last_order_at == 2026-07-01", True, False),
    ("last_order_at != 2026-07-01", False, True),
    ("last_order_at <= 2026-07-01", True, False),
    ("last_order_at > 2026-07-01", False, True),
    ("last_order_at < 2026-07-02", True, False),
    ("last_order_at >= 2026-07-02", False, True),
    ("last_order_at == 2026-07-02", False, True),
    ("last_order_at between 2026-07-01 and 2026-07-01", True, False),
    ("last_order_at between 2026-06-30 and 2026-07-01", True, False),
])
def test_datetime_against_date_compares_the_calendar_day(rule, in_utc, in_paris):
    """An order at 2026-07-01T23:30Z is on July 1 in UTC and on July 2 in Paris."""
    customer = last_order("2026-07-01T23:30:00Z")
    assert holds(rule, customer) is in_utc
    assert holds(rule, customer, timezone=PARIS) is in_paris


def test_date_field_against_now_uses_the_day_in_the_zone():
    """At 2026-07-15T23:30Z it is July 15 in UTC and July 16 in Paris."""
    schema = segdsl.Schema({"id": "number", "signup_day": "date"})
    customer = {"id": 1, "signup_day": "2026-07-16"}
    now = "2026-07-15T23:30:00Z"
    assert holds("signup_day == now", customer, now=now, schema=schema, timezone=PARIS)
    assert not holds("signup_day == now", customer, now=now, schema=schema)
    assert holds("signup_day > now", customer, now=now, schema=schema)


# ----------------------------------------------------------------- the evaluation time


@pytest.mark.parametrize(("now", "timezone", "instant"), [
    ("2026-07-15T12:00:00Z", None, "2026-07-15T12:00:00Z"),
    ("2026-07-15T14:00:00+02:00", None, "2026-07-15T12:00:00Z"),
    ("2026-07-15", None, "2026-07-15T00:00:00Z"),
    ("2026-07-15", PARIS, "2026-07-14T22:00:00Z"),
    ("2026-07-15T12:00:00", PARIS, "2026-07-15T10:00:00Z"),
    (dt.date(2026, 7, 15), None, "2026-07-15T00:00:00Z"),
    (dt.date(2026, 7, 15), PARIS, "2026-07-14T22:00:00Z"),
    (dt.datetime(2026, 7, 15, 12), None, "2026-07-15T12:00:00Z"),
    (dt.datetime(2026, 7, 15, 12), PARIS, "2026-07-15T10:00:00Z"),
    (dt.datetime(2026, 7, 15, 21, tzinfo=tz.gettz("Asia/Tokyo")), None, "2026-07-15T12:00:00Z"),
    (dt.datetime(2026, 7, 15, 21, tzinfo=tz.gettz("Asia/Tokyo")), PARIS, "2026-07-15T12:00:00Z"),
])
def test_now_in_every_accepted_form(now, timezone, instant):
    """`now` as ISO text, a date or a datetime (naive: configured zone; a date: its first
    instant) is the given instant: an event then is counted, one a second later is not."""
    later = (dt.datetime.fromisoformat(instant) + dt.timedelta(seconds=1)).isoformat()
    assert visited("1d", instant, now=now, timezone=timezone)
    assert not visited("1d", later, now=now, timezone=timezone)
    assert holds(f"now == {instant}", {}, now=now, timezone=timezone)


def test_now_defaults_to_the_current_time():
    """Without `now`, an event a minute ago is within 1h and one tomorrow is not."""
    current = dt.datetime.now(UTC)
    assert visited("1h", (current - dt.timedelta(minutes=1)).isoformat(), now=None)
    assert not visited("1h", (current + dt.timedelta(days=1)).isoformat(), now=None)


@pytest.mark.parametrize("now", ["yesterday", "2026-13-01", 20260715])
def test_bad_now_is_a_usage_error(now):
    """An unreadable `now` is refused with a message showing the accepted forms."""
    with pytest.raises(segdsl.UsageError, match="now must be a"):
        visited("1d", NOW, now=now)


# --------------------------------------------------------------------- days_between


@pytest.mark.parametrize(("at", "days"), [
    ("2026-07-15T12:00:00Z", 0),
    ("2026-07-14T12:00:01Z", 0),    # 23:59:59 ago
    ("2026-07-14T12:00:00Z", 1),
    ("2026-04-16T13:00:00Z", 89),   # 89 days 23 hours ago
    ("2026-04-16T12:00:00Z", 90),
])
def test_days_since_last_order_counts_whole_days_floored(at, days):
    """days_since_last_order drops the part of a day not yet complete."""
    assert holds(f"days_since_last_order == {days}", last_order(at))


def test_days_between_floors_negative_spans_down():
    """From now back to a day and an hour earlier is -2 whole days (floored), not -1."""
    customer = last_order("2026-07-14T11:00:00Z")
    assert holds("days_between(last_order_at, now) == 1", customer)
    assert holds("days_between(now, last_order_at) == -2", customer)


def test_days_between_of_null_is_null():
    """Without orders, days_since_last_order is null: neither above nor below a bound."""
    customer = {"id": 1, "orders": []}
    assert holds("days_since_last_order is null", customer)
    assert not holds("days_since_last_order > 365 or days_since_last_order <= 365", customer)
