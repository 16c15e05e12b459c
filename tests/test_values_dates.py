"""An untyped date object met by a datetime: compared by the datetime's day, stepped from midnight."""

from __future__ import annotations

import datetime as dt

import pytest

import segdsl

NOW = "2026-07-15T12:00:00Z"
CUSTOMER = {"id": 4, "signed_up_at": dt.date(2025, 3, 31)}


@pytest.mark.parametrize(("rule", "expected"), [
    ("signed_up_at == 2025-03-31T02:00:01", True),
    ("signed_up_at != 2025-03-31T02:00:01", False),
    ("signed_up_at < 2025-03-31T23:00:00", False),
    ("signed_up_at >= 2025-03-31T23:00:00", True),
    ("signed_up_at between 2025-03-31T02:00:00Z and 2025-04-02T00:00:00Z", True),
    ("signed_up_at in [2025-03-31T10:00:00Z]", True),
    ("signed_up_at not in [2025-04-01T10:00:00Z]", True),
    ("signed_up_at < now - 12h", True),
])
def test_a_date_object_is_compared_by_day_on_every_api(rule, expected):
    """Without a schema a date meets a datetime as a date field does: by the datetime's day
    in the configured zone, with the same answer from matches, filter, evaluate and explain."""
    segment = segdsl.compile(rule, timezone="Europe/Paris")
    rules = segdsl.loads(f"segment s = {rule}", timezone="Europe/Paris")
    answers = {segment.matches(CUSTOMER, now=NOW), segment.filter([CUSTOMER], now=NOW) != [],
               rules.evaluate([CUSTOMER], now=NOW)["s"] == [4],
               segment.explain(CUSTOMER, now=NOW).value is True}
    assert answers == {expected}


def test_a_date_object_in_arithmetic_with_a_datetime_is_its_first_instant():
    """`signed_up_at - now` reads the date as its midnight in the configured zone."""
    rule = "signed_up_at - 2025-03-30T23:00:00+02:00 == 1h"
    assert segdsl.compile(rule, timezone="Europe/Paris").matches(CUSTOMER, now=NOW)


@pytest.mark.parametrize(("customer", "zone", "now", "expected"), [
    # Text read as the datetime of its midnight in Paris: 2026-07-14T22:00Z, before now.
    ({"id": 1, "signed_up_at": "2026-07-15"}, "Europe/Paris", "2026-07-15T10:30:00Z", False),
    # One second before now on the same day: by the day it would be inside.
    ({"id": 2, "signed_up_at": dt.datetime(2024, 2, 29, 23, 59, 58, tzinfo=dt.timezone.utc)},
     "UTC", "2024-02-29T23:59:59Z", False),
    ({"id": 3, "signed_up_at": dt.datetime(2024, 3, 1, 0, 0, 0, tzinfo=dt.timezone.utc)},
     "UTC", "2024-02-29T23:59:59Z", True),
])
def test_a_datetime_between_a_date_and_an_untyped_bound_meets_each_on_its_own(
        customer, zone, now, expected):
    """`now between 2024-01-01 and signed_up_at` compares now with the untyped bound as
    `now <= signed_up_at` does (instants), and with the date bound by its day."""
    rule = "now between 2024-01-01 and signed_up_at"
    segment = segdsl.compile(rule, timezone=zone)
    alone = segdsl.compile("now <= signed_up_at", timezone=zone)
    assert segment.matches(customer, now=now) is expected
    assert alone.matches(customer, now=now) is expected
    assert segment.explain(customer, now=now).matched is expected
