"""Arithmetic on durations, which the mutation run of ``segdsl/timeline.py``
showed no test was looking at closely: constant windows folded into one
duration, the hints that name the window meant, and the messages of durations
computed from data.

Every expectation is worked by hand from ``NOW`` (2026-07-15 12:00 UTC): a
window holds what is after ``now - window`` and at or before ``now``, and months
and years step the calendar (``2y`` back is 2024-07-15 12:00).
"""

from __future__ import annotations

import datetime as dt

import pytest

import segdsl

NOW = dt.datetime(2026, 7, 15, 12, tzinfo=dt.UTC)


def counted(rule: str, at: str) -> bool:
    """Whether ``rule`` holds for a customer with one order at ``at``."""
    return segdsl.compile(rule).matches({"id": 1, "orders": [{"at": at, "total": 10}]},
                                        now=NOW)


@pytest.mark.parametrize("window, inside, outside", [
    ("1y * 2", "2025-01-01T00:00:00Z", "2024-07-01T00:00:00Z"),          # 2 years
    ("2 * 1y", "2024-08-01T00:00:00Z", "2024-07-01T00:00:00Z"),
    ("1y + 6m", "2025-02-01T00:00:00Z", "2024-12-20T00:00:00Z"),         # 18 months
    ("3y - 1y", "2024-08-01T00:00:00Z", "2024-07-01T00:00:00Z"),         # 2 years
    ("6m * 4", "2024-07-16T00:00:00Z", "2024-07-15T12:00:00Z"),          # 24 months
    ("1w * 2", "2026-07-02T00:00:00Z", "2026-06-30T00:00:00Z"),          # 14 days
    ("1d + 12h", "2026-07-14T06:00:00Z", "2026-07-13T23:00:00Z"),        # 36 hours
    ("3w - 1w", "2026-07-01T13:00:00Z", "2026-07-01T12:00:00Z"),         # 14 days
])
def test_constant_windows_are_folded_to_the_duration_they_compute(window, inside, outside):
    rule = f"orders(within = {window}) > 0"
    assert counted(rule, inside) is True
    assert counted(rule, outside) is False


def refusal(rule: str) -> segdsl.SegdslError:
    with pytest.raises(segdsl.SegdslError) as caught:
        segdsl.compile(rule)
    return caught.value


@pytest.mark.parametrize("window, meant", [
    # the folded duration keeps the unit of its first operand where it is exact there
    ("3y - 60m", "within = 2y is the last 2 years"),
    ("1y - 18m", "within = 6m is the last 6 months"),
    ("2m - 3m", "within = 1m is the last 1 month"),
    ("1w - 3w", "within = 2w is the last 2 weeks"),
    ("14d - 21d", "within = 7d is the last 7 days"),
    ("1d - 36h", "within = 12h is the last 12 hours"),
    ("36h - 48h", "within = 12h is the last 12 hours"),
    ("2d - 3w", "within = 19d is the last 19 days"),
    ("1w * -1", "within = 1w is the last 1 week"),
])
def test_a_window_reaching_ahead_is_refused_with_the_window_meant(window, meant):
    error = refusal(f"orders(within = {window}) > 0")
    assert error.message == f"a window looks back from now: {window} holds nothing"
    assert error.hint == f"a window holds the past: {meant}"
    assert error.column == 17


@pytest.mark.parametrize("rule, message", [
    ("orders(within = 9000y * 2) > 0", "9000y * 2 is too long a duration"),
    ("orders(within = 5000y + 5000y) > 0", "5000y + 5000y is too long a duration"),
    ("now - 1d * 1e300 < now", "1d * 1e300 is too long a duration"),
    ("orders(within = 1m * 1.5) > 0", ("months and years have no fixed length, so 1m can be "
                                       "multiplied only by a whole number, not 1.5")),
])
def test_constant_durations_out_of_reach_are_refused(rule, message):
    assert refusal(rule).message == message


def data_message(rule: str, n) -> str:
    """The message of the DataError ``rule`` raises for a customer whose ``n`` is ``n``."""
    customer = {"id": 1, "n": n, "orders": [{"at": "2026-07-01T00:00:00Z", "total": 10}]}
    with pytest.raises(segdsl.DataError) as caught:
        segdsl.compile(rule).matches(customer, now=NOW)
    return caught.value.message


@pytest.mark.parametrize("rule, n, message", [
    ("orders(within = n * 1d) > 0", -14, "a window looks back from now: -2w holds nothing"),
    ("orders(within = n * 1d) > 0", -21, "a window looks back from now: -3w holds nothing"),
    ("orders(within = n * 1d) > 0", -3, "a window looks back from now: -3d holds nothing"),
    ("orders(within = n * 1d) > 0", -1.5, "a window looks back from now: -36h holds nothing"),
    ("orders(within = n * 1m) > 0", -24, "a window looks back from now: -2y holds nothing"),
    ("orders(within = n * 1m) > 0", -5, "a window looks back from now: -5m holds nothing"),
    ("orders(within = 1y * n) > 0", -2, "a window looks back from now: -2y holds nothing"),
    ("orders(within = n * 1m - 1y) > 0", 2, "a window looks back from now: -10m holds nothing"),
    ("orders(within = n * 1m - 1y) > 0", 0, "a window looks back from now: -1y holds nothing"),
    ("orders(within = 30d / n) > 0", -2, "a window looks back from now: -15d holds nothing"),
    ("orders(within = n * 1m) > 0", 1.5, ("months and years have no fixed length, so 1m can "
                                          "be multiplied only by a whole number, not 1.5")),
    ("orders(within = 1y * n) > 0", 2.5, ("months and years have no fixed length, so 1y can "
                                          "be multiplied only by a whole number, not 2.5")),
    ("orders(within = n * 1d) > 0", 1e300, "1e+300 * 1d is too long a duration"),
    # 9,999 years of months is the longest duration; one month more is too long
    ("orders(within = n * 1m) > 0", 119_989, "119989 * 1m is too long a duration"),
    ("orders(within = n * 1m + 1y) > 0", 119_977, "119977m + 1y is too long a duration"),
])
def test_durations_computed_from_data_are_described_as_rules_write_them(rule, n, message):
    assert data_message(rule, n) == f"customer 1, field n: {message}"


@pytest.mark.parametrize("rule, n, expected", [
    ("orders(within = n * 1m) > 0", 119_988, True),
    ("orders(within = n * 1m + 1y) > 0", 119_976, True),
    # a window of zero computed from data holds nothing, and is no error
    ("orders(within = n * 1m) > 0", 0, False),
    ("orders(within = n * 1d) > 0", 0, False),
    ("orders(within = n * 1m - 1y) > 0", 12, False),
])
def test_windows_at_the_ends_of_their_range(rule, n, expected):
    """The longest duration (9,999 years of months) is a window over everything."""
    customer = {"id": 1, "n": n, "orders": [{"at": "0002-01-01T00:00:00Z", "total": 10},
                                            {"at": "2026-07-15T11:00:00Z", "total": 10}]}
    assert segdsl.compile(rule).matches(customer, now=NOW) is expected


@pytest.mark.parametrize("rule, n, expected", [
    ("(n * 1d) / 12h == 4", 2, True),
    ("(n * 1d) / 12h == 4", 3, False),
    ("30d / (n * 1d) == 15", 2, True),
    ("30d / (n * 1d) is null", 0, True),        # division by a zero duration is null
    ("(n * 1d) / 2 == 36h", 3, True),
    ("(n * 1d) / 0 is null", 3, True),          # and by zero
])
def test_divisions_of_computed_durations(rule, n, expected):
    assert segdsl.compile(rule).matches({"id": 1, "n": n}, now=NOW) is expected
