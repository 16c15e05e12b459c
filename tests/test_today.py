"""`today`: a keyword for the evaluation time's day in the configured timezone, a date that
compares with datetimes by their day; parsed, checked, evaluated, explained, formatted and
completed like `now`."""

from __future__ import annotations

import datetime as dt

import pytest
from time_agreement import check_error, located, members

import segdsl
from segdsl import nodes as n
from segdsl.repl import Session, complete

# 23:30 UTC on 14 July: already 15 July in Paris, still 14 July in New York.
NOW = "2026-07-14T23:30:00Z"

CUSTOMERS = [
    {"id": "a", "seen_at": "2026-06-30T22:30:00Z"},  # Paris 07-01 00:30, UTC 06-30, NY 06-30
    {"id": "b", "seen_at": "2026-06-30T21:30:00Z"},  # Paris 06-30 23:30, UTC 06-30, NY 06-30
    {"id": "c", "seen_at": "2026-06-29T23:00:00Z"},  # Paris 06-30 01:00, UTC 06-29, NY 06-29
    {"id": "d", "seen_at": None},
    {"id": "e"},
]


@pytest.mark.parametrize("zone, expected", [
    (None, ["a", "b"]),                 # today 07-14, today - 2w = 06-30
    ("Europe/Paris", ["a"]),            # today 07-15, today - 2w = 07-01
    ("America/New_York", ["a", "b"]),   # today 07-14, today - 2w = 06-30
])
def test_today_minus_two_weeks_counts_whole_days_in_the_timezone(zone, expected):
    """`seen_at >= today - 2w` compares each datetime by its day in the configured timezone."""
    assert members("seen_at >= today - 2w", CUSTOMERS, NOW, timezone=zone) == expected


def test_today_is_the_day_of_now_in_the_timezone():
    """`today` is 15 July in Paris and 14 July in UTC at 23:30 UTC on 14 July."""
    customers = [{"id": 1}]
    assert members("today == 2026-07-15", customers, NOW, timezone="Europe/Paris") == [1]
    assert members("today == 2026-07-14", customers, NOW) == [1]
    assert members("today == 2026-07-14", customers, NOW, timezone="America/New_York") == [1]


def test_today_against_a_declared_date_and_datetime_field():
    """With a schema, a date field compares with `today` as dates, a datetime by its day."""
    schema = segdsl.Schema({"id": "string", "born": "date", "seen_at": "datetime"})
    customers = [{"id": "x", "born": dt.date(2026, 7, 15), "seen_at": "2026-07-14T22:30:00Z"},
                 {"id": "y", "born": dt.date(2026, 7, 14), "seen_at": "2026-07-14T21:30:00Z"}]
    paris = {"schema": schema, "timezone": "Europe/Paris"}
    assert members("born == today", customers, NOW, **paris) == ["x"]
    assert members("seen_at == today", customers, NOW, **paris) == ["x"]
    assert members("born + 30d > today", customers, NOW, **paris) == ["x", "y"]


def test_today_equals_now_by_day_and_is_never_null():
    """`today == now` holds (a datetime meets a date by its day); `today is null` never does."""
    customers = [{"id": 1}, {"id": 2}]
    assert members("today == now", customers, NOW, timezone="Europe/Paris") == [1, 2]
    assert members("today is null", customers, NOW) == []


def test_today_inside_a_where():
    """`today` inside an aggregation's `where` is the same day for every element."""
    customer = {"id": 1, "events": [{"type": "visit", "at": "2026-07-14T22:00:00Z"},
                                    {"type": "visit", "at": "2026-07-13T21:00:00Z"}]}
    rule = "count(events, where = at >= today) == 1"
    assert members(rule, [customer], NOW, timezone="Europe/Paris") == [1]
    assert members("count(events, where = at >= today) == 2", [customer], NOW,
                   timezone="Europe/Paris") == []


def test_today_is_a_date_in_messages():
    """`today` is a date: it has no hours, and it is no condition on its own."""
    assert located(check_error("today + 1h > now")) == (
        "a date has no hours: add hours to a datetime instead", 1, 11, None)
    error = check_error("today")
    assert error.message == ("a rule must be a condition (true or false), but this is a date")


def test_today_parses_to_its_node_and_is_reserved():
    """`today` parses to `n.Today` and is a reserved word: no definition can take its name."""
    assert segdsl.parse_expression("today") == n.Today()
    assert segdsl.parse_expression("today - 2w") == n.Arithmetic(
        n.ArithmeticOp.SUBTRACT, n.Today(), n.Duration(2, n.DurationUnit("w")))
    with pytest.raises(segdsl.ParseError):
        segdsl.loads("segment today = true\n")


def test_today_formats_and_round_trips():
    """`fmt` prints `today` and its output parses to the same tree."""
    text = "segment recent = seen_at>=today-2w\n"
    formatted = segdsl.format(text)
    assert formatted == "segment recent = seen_at >= today - 2w\n"
    assert segdsl.parse(formatted) == segdsl.parse(text)
    assert segdsl.parse(formatted).statements[0].body.right.left == n.Today()


def test_explain_shows_the_day_today_stands_for():
    """The explanation shows `today - 2w` with its value, the day in the configured zone."""
    segment = segdsl.compile("seen_at >= today - 2w", timezone="Europe/Paris")
    assert segment.explain(CUSTOMERS[0], now=NOW).render() == (
        "seen_at >= today - 2w -> true\n"
        "├── seen_at = \"2026-06-30T22:30:00Z\"\n"
        "└── today - 2w = 2026-07-01")


def test_repl_completes_today():
    """The REPL offers `today` as a keyword."""
    found = [(candidate.text, candidate.meta)
             for candidate in complete(Session(now=NOW), "seen_at >= tod")]
    assert ("today", "keyword") in found


def test_days_between_takes_today_as_its_first_instant():
    """Where only a datetime is taken, `today` (and any date) is its first instant in the zone."""
    customers = [{"id": 1, "x": "2026-07-01T12:00:00Z"}]
    # Midnight of 15 July in Paris is 22:00 UTC on 14 July: 13 days and 10 hours after x.
    assert members("days_between(x, today) == 13", customers, NOW,
                   timezone="Europe/Paris") == [1]
    schema = segdsl.Schema({"id": "number", "born": "date"})
    born = [{"id": 1, "born": dt.date(2026, 7, 1)}]
    assert members("days_between(born, now) == 13", born, NOW, schema=schema) == [1]


def test_today_past_year_9999_in_the_timezone_is_an_evaluation_error():
    """At 23:00 UTC on 31 December 9999, Tokyo is past the last day: an EvaluationError."""
    segment = segdsl.compile("today == 2026-01-01", timezone="Asia/Tokyo")
    with pytest.raises(segdsl.EvaluationError) as raised:
        segment.matches({"id": 1}, now="9999-12-31T23:00:00Z")
    assert str(raised.value) == ("today is outside the years 1 to 9999 in the configured "
                                 "timezone (now is 9999-12-31T23:00:00Z)")
