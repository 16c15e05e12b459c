"""Windows look back from now: computed windows (`within = 30d * 2`) work, a constant window of
zero or less is a CheckError under its value with the forward-looking rule as hint, and a
computed negative window is a DataError."""

from __future__ import annotations

import pytest
from time_agreement import located, members

import segdsl

NOW = "2026-07-15T12:00:00Z"

CUSTOMERS = [
    {"id": "2h ago", "days": 3, "orders": [{"at": "2026-07-15T10:00:00Z", "total": 1}]},
    {"id": "20 days ago", "days": 30, "orders": [{"at": "2026-06-25T12:00:00Z", "total": 1}]},
    {"id": "50 days ago", "days": 60, "orders": [{"at": "2026-05-26T12:00:00Z", "total": 1}]},
    {"id": "70 days ago", "days": 0, "orders": [{"at": "2026-05-06T12:00:00Z", "total": 1}]},
]


@pytest.mark.parametrize("window, expected", [
    ("30d * 2", ["2h ago", "20 days ago", "50 days ago"]),
    ("2 * 30d", ["2h ago", "20 days ago", "50 days ago"]),
    ("90d / 3", ["2h ago", "20 days ago"]),
    ("1w + 2w", ["2h ago", "20 days ago"]),
    ("1m * 2", ["2h ago", "20 days ago", "50 days ago"]),
    ("1d / 7", ["2h ago"]),  # about 3.4 hours: computed at each evaluation
    ("days * 1d", ["2h ago", "20 days ago", "50 days ago"]),  # each customer's own window
])
def test_computed_windows(window, expected):
    """A window may be any duration computed from constants or from the customer's fields."""
    assert members(f"count(orders, within = {window}) == 1", CUSTOMERS, NOW) == expected


def test_a_computed_window_is_the_same_as_its_constant():
    """`within = 30d * 2` selects exactly what `within = 60d` selects."""
    assert members("count(orders, within = 30d * 2) == 1", CUSTOMERS, NOW) == members(
        "count(orders, within = 60d) == 1", CUSTOMERS, NOW)


@pytest.mark.parametrize("rule, expected", [
    ("count(orders, within = -7d) >= 1", (
        "a window looks back from now: -7d holds nothing", 24, 27,
        "for the coming 7 days, write where = at between now and now + 7d")),
    ("count(orders, within = 0d) >= 1", (
        "a window looks back from now: 0d holds nothing", 24, 26, None)),
    ("count(orders, within = 30d * -1) >= 1", (
        "a window looks back from now: 30d * -1 holds nothing", 24, 32,
        "for the coming 30 days, write where = at between now and now + 30d")),
    ("count(orders, within = 1d / -7) >= 1", (  # no literal: computed when checking
        "a window looks back from now: 1d / -7 holds nothing", 24, 31, None)),
    ("exists(events, within = -1m)", (
        "a window looks back from now: -1m holds nothing", 25, 28,
        "for the coming 1 month, write where = at between now and now + 1m")),
    ("visits(-2w) >= 1", (
        "a window looks back from now: -2w holds nothing", 8, 11,
        "for the coming 2 weeks, write where = at between now and now + 2w")),
    ("orders(-1y) >= 1", (
        "a window looks back from now: -1y holds nothing", 8, 11,
        "for the coming 1 year, write where = at between now and now + 1y")),
])
def test_a_constant_window_of_zero_or_less_is_a_check_error(rule, expected):
    """The caret is under the window's value, even when a prelude function holds the window."""
    with pytest.raises(segdsl.CheckError) as raised:
        segdsl.compile(rule)
    assert located(raised.value) == expected


def test_the_hint_names_the_declared_timestamp():
    """With a schema naming the list's timestamp `placed`, the hint's `where` reads `placed`."""
    schema = segdsl.Schema({"id": "number", "purchases": segdsl.ListOf(
        {"placed": "datetime"}, timestamp="placed")})
    errors, _ = segdsl.check("segment s = count(purchases, within = -7d) >= 1", schema=schema)
    assert [(e.message, e.hint) for e in errors] == [(
        "a window looks back from now: -7d holds nothing",
        "for the coming 7 days, write where = placed between now and now + 7d")]


def test_a_computed_negative_window_is_a_data_error():
    """`within = days * 1d` with a negative `days` is bad data naming the customer and field."""
    segment = segdsl.compile("count(orders, within = days * 1d) >= 1")
    customer = {"id": 7, "days": -3, "orders": [{"at": "2026-07-15T10:00:00Z", "total": 1}]}
    with pytest.raises(segdsl.DataError) as raised:
        segment.matches(customer, now=NOW)
    assert str(raised.value) == (
        "customer 7, field days: a window looks back from now: -3d holds nothing")
    with pytest.raises(segdsl.DataError):
        segdsl.loads("segment s = count(orders, within = days * 1d) >= 1\n").evaluate(
            [customer], now=NOW)


def test_a_computed_zero_window_holds_nothing():
    """A computed window of zero is no error: it holds no element."""
    assert members("count(orders, within = days * 1d) == 0", CUSTOMERS, NOW) == ["70 days ago"]
