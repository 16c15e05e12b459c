"""Timestamps and windows at the edges: impossible stamps, years 1 and 9999, huge numbers."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segdsl
from segdsl import aggregates

NOW = "2026-07-15T12:00:00Z"
IMPOSSIBLE = {
    "2026-07-00T10:00:00Z": "day is out of range for month",
    "2026-02-30T10:00:00Z": "day is out of range for month",
    "2026-07-01T25:61:61Z": "hour must be in 0..23",
    "2026-04-31T10:00:00Z": "day is out of range for month",
    "2026-13-01T10:00:00Z": "month must be in 1..12",
    "2025-02-29T10:00:00Z": "day is out of range for month",
    "0000-01-01T10:00:00Z": "year 0 is out of range",
}
RULES = ["count(orders) > 0", "count(orders, within = 30d) > 0",
         'count(orders, where = total > 1) > 0', "last(orders.at) > 2026-01-01"]


def _customer(stamp: str) -> dict:
    return {"id": 7, "orders": [{"at": "2026-07-01T10:00:00Z", "total": 5},
                                {"at": stamp, "total": 5}]}


def _every_api(rule: str, customer: dict) -> list[BaseException | bool]:
    """What matches, filter, evaluate and explain make of ``rule`` for ``customer``."""
    seg = segdsl.compile(rule)
    rules = segdsl.loads(f"segment s = {rule}")
    outcomes: list[BaseException | bool] = []
    for call in (lambda: seg.matches(customer, now=NOW),
                 lambda: bool(seg.filter([customer], now=NOW)),
                 lambda: rules.evaluate([customer], now=NOW).sizes["s"] == 1,
                 lambda: seg.explain(customer, now=NOW).value is True):
        try:
            outcomes.append(call())
        except segdsl.SegdslError as error:
            outcomes.append(error)
    return outcomes


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("stamp", sorted(IMPOSSIBLE))
def test_time_an_impossible_text_stamp_is_bad_data_on_every_api(stamp, rule):
    """An impossible UTC stamp is a DataError naming customer and `orders[1].at`, never counted."""
    for outcome in _every_api(rule, _customer(stamp)):
        assert isinstance(outcome, segdsl.DataError), (rule, outcome)
        assert str(outcome) == (f"customer 7, field orders[1].at: cannot read {stamp!r} as a "
                                f"datetime ({IMPOSSIBLE[stamp]})")
        assert outcome.field_path == "orders[1].at"


def test_time_a_leap_day_is_a_possible_stamp():
    """February 29th of a leap year counts; of another year it is bad data."""
    seg = segdsl.compile("count(orders, within = 1000d) == 2")
    assert seg.matches(_customer("2024-02-29T10:00:00Z"), now=NOW)
    with pytest.raises(segdsl.DataError, match=r"orders\[1\]\.at"):
        seg.matches(_customer("2023-02-29T10:00:00Z"), now=NOW)


def test_time_possible_utc_text_stamps_are_never_parsed(monkeypatch):
    """Possible `...Z` stamps to the second take the text shortcut: no stamp is parsed."""
    def refuse(*args):
        raise AssertionError("a UTC text stamp was parsed")

    monkeypatch.setattr(aggregates, "read_datetime", refuse)
    customer = {"id": 1, "orders": [{"at": f"2026-{m:02d}-{d:02d}T23:59:59Z", "total": 1}
                                    for m, d in ((1, 31), (3, 31), (4, 30), (6, 30), (7, 15),
                                                 (12, 31), (2, 28))]}
    # July 15th 23:59:59 and December 31st are after now.
    assert segdsl.compile("count(orders) == 5").matches(customer, now=NOW)
    assert segdsl.compile("count(orders, within = 30d) == 1").matches(customer, now=NOW)


_fields = st.tuples(st.integers(0, 10), st.integers(0, 14), st.integers(0, 33),
                    st.integers(0, 26), st.integers(0, 62), st.integers(0, 62))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from([0, 1, 2023, 2024, 2026, 9999]), _fields), max_size=6))
def test_time_text_stamps_are_counted_exactly_when_possible(stamps):
    """Any digits in the stamp's shape: a count when every stamp is possible, else a DataError."""
    texts = [f"{year:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}Z"
             for year, (_, mo, d, h, mi, s) in stamps]
    expected: int | None = 0
    for text in texts:
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            expected = None
            break
        expected += moment <= dt.datetime(2026, 7, 15, 12, tzinfo=dt.UTC)
    seg = segdsl.compile(f"count(orders) == {expected or 0}")
    customer = {"id": 1, "orders": [{"at": text} for text in texts]}
    if expected is None:
        with pytest.raises(segdsl.DataError, match="cannot read"):
            seg.matches(customer, now=NOW)
    else:
        assert seg.matches(customer, now=NOW)


ORDERS = {"id": 1, "orders": [{"at": "0005-03-01T00:00:00Z", "total": 2},
                              {"at": "2026-07-01T00:00:00Z", "total": 3}]}


@pytest.mark.parametrize("window", ["2026y", "3659634d", "9999y", "30000m", "110000w"])
def test_time_a_window_before_year_1_reaches_the_beginning_of_time(window):
    """A window reaching before year 1 holds every order up to now."""
    seg = segdsl.compile(f"sum(orders.total, within = {window}) == 5")
    assert seg.matches(ORDERS, now=NOW)
    assert seg.filter([ORDERS], now=NOW) == [ORDERS]


def test_time_an_rfm_window_of_9999_years_counts_every_order():
    """rfm_window="9999y": frequency counts all orders, no OverflowError."""
    rules = segdsl.loads("segment s = rfm.frequency == 1", rfm_window="9999y")
    other = {"id": 2, "orders": [{"at": "2026-07-01T00:00:00Z", "total": 3}]}
    assert rules.evaluate([ORDERS, other], now=NOW).members["s"] == [2]


def test_time_now_at_the_edges_of_the_calendar():
    """Now at year 1 or 9999: windows clamp, no OverflowError."""
    first = {"id": 1, "orders": [{"at": "0001-01-01T00:00:00Z", "total": 1}]}
    seg = segdsl.compile("count(orders, within = 30d) == 1")
    assert seg.matches(first, now="0001-01-02T00:00:00Z")
    last = {"id": 1, "orders": [{"at": "9999-12-31T23:59:59Z", "total": 1}]}
    assert seg.matches(last, now="9999-12-31T23:59:59.999999Z")
    assert segdsl.compile("count(orders, during = 9999-12-01 .. 9999-12-31) == 1").matches(
        last, now="9999-12-31T23:59:59.999999Z")


def test_time_a_far_dated_stamp_with_an_offset_is_bad_data():
    """`0001-01-01T00:00:00+05:00` is before year 1 in UTC: a DataError naming the stamp."""
    customer = {"id": 3, "orders": [{"at": "0001-01-01T00:00:00+05:00", "total": 1}]}
    with pytest.raises(segdsl.DataError) as raised:
        segdsl.compile("count(orders) > 0").matches(customer, now=NOW)
    assert raised.value.field_path == "orders[0].at"
    assert "outside the years 1 to 9999" in str(raised.value)


def test_time_far_dated_text_as_now_is_a_usage_error():
    """Now `0001-01-01T00:00:00+05:00` is a UsageError, not an OverflowError."""
    with pytest.raises(segdsl.UsageError):
        segdsl.compile("count(orders, within = 30d) > 0").matches(
            ORDERS, now="0001-01-01T00:00:00+05:00")


@pytest.mark.parametrize("window", ["abc", 30, True, {"d": 30}])
def test_time_a_window_read_from_data_must_be_a_duration(window):
    """A window field holding anything but a duration is a DataError naming that field."""
    customer = {**ORDERS, "span": window}
    with pytest.raises(segdsl.DataError) as raised:
        segdsl.compile("count(orders, within = span) > 0").matches(customer, now=NOW)
    assert raised.value.field_path == "span"
    assert "a window is a duration or a period" in str(raised.value)


def test_time_a_duration_read_from_data_is_a_window():
    """A timedelta in the data is a window like a literal."""
    customer = {**ORDERS, "span": dt.timedelta(days=30)}
    assert segdsl.compile("count(orders, within = span) == 1").matches(customer, now=NOW)


def test_time_huge_sums_and_averages_are_exact_or_bad_data():
    """A sum of 10**400 is exact; with a float it overflows, and so does its average: DataErrors."""
    huge = {"id": 4, "orders": [{"at": "2026-07-01T00:00:00Z", "total": 10**400},
                                {"at": "2026-07-02T00:00:00Z", "total": 10**400}]}
    seg = segdsl.compile("sum(orders.total) > 1e308 and max(orders.total) > 1e308")
    assert seg.matches(huge, now=NOW)
    with pytest.raises(segdsl.DataError, match="the average is too large for a number"):
        segdsl.compile("avg(orders.total) > 1").matches(huge, now=NOW)
    mixed = {"id": 4, "orders": [*huge["orders"], {"at": "2026-07-03T00:00:00Z", "total": 1.5}]}
    with pytest.raises(segdsl.DataError, match="the sum is too large for a number"):
        segdsl.compile("sum(orders.total) > 1").matches(mixed, now=NOW)
