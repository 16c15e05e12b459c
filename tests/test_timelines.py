"""Timestamps compared as text give the same windows as timestamps parsed."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

import segdsl

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 7, 15, 12, 0, 0, tzinfo=UTC)
RULES = [
    "count(events, within = 30d)",
    "count(events, within = 1m)",
    "count(events, within = 12h)",
    "count(events, during = 2026-06-15 .. 2026-07-15)",
    "count(events)",
    "count(events, within = 30d, where = type == \"visit\")",
]


def as_text(moment: dt.datetime, utc_suffix: str) -> str:
    return moment.replace(tzinfo=None).isoformat(timespec="seconds") + utc_suffix


moments = st.sampled_from([
    NOW, NOW - dt.timedelta(days=30), NOW - dt.timedelta(hours=12),
    dt.datetime(2026, 6, 15, tzinfo=UTC), dt.datetime(2026, 7, 16, tzinfo=UTC),
]).flatmap(lambda edge: st.integers(-2, 2).map(lambda s: edge + dt.timedelta(seconds=s)))


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(moments, max_size=12), st.integers(0, 999_999), st.sampled_from(["UTC", "Europe/Paris"]))
def test_text_and_parsed_stamps_agree(stamps, microseconds, zone):
    """The same events stamped `...Z` (compared as text) or `...+00:00` (parsed)
    fall in the same windows, whatever the fraction of a second in now."""
    now = NOW + dt.timedelta(microseconds=microseconds)
    textual = {"events": [{"type": "visit", "at": as_text(m, "Z")} for m in stamps]}
    parsed = {"events": [{"type": "visit", "at": as_text(m, "+00:00")} for m in stamps]}
    for rule in RULES:
        for size in range(len(stamps) + 1):
            seg = segdsl.compile(f"{rule} == {size}", timezone=zone)
            assert seg.matches(textual, now=now) == seg.matches(parsed, now=now), (rule, size)


def test_unsorted_text_stamps_are_sorted():
    """Events out of order still give the right first and last."""
    customer = {"orders": [{"at": "2026-07-10T00:00:00Z", "total": 2},
                           {"at": "2026-07-01T00:00:00Z", "total": 1},
                           {"at": "2026-07-05T00:00:00Z", "total": 3}]}
    assert segdsl.compile("first(orders.total) == 1 and last(orders.total) == 2").matches(
        customer, now=NOW)


def test_a_window_edge_to_the_second():
    """An event exactly 30 days before now is out; one second later is in."""
    edge = NOW - dt.timedelta(days=30)
    customer = {"events": [{"type": "visit", "at": as_text(edge, "Z")},
                           {"type": "visit", "at": as_text(edge + dt.timedelta(seconds=1), "Z")}]}
    assert segdsl.compile("visits(30d) == 1").matches(customer, now=NOW)


def test_mixed_formats_are_parsed():
    """One stamp in another format sends the whole list to the parser, with the same result."""
    customer = {"events": [{"type": "visit", "at": "2026-07-14T10:00:00Z"},
                           {"type": "visit", "at": "2026-07-14T12:00:00+02:00"},
                           {"type": "visit", "at": "2026-07-14"}]}
    assert segdsl.compile("visits(2d) == 3").matches(customer, now=NOW)
