"""Membership over time on hand-checked data: exact instants of entries and exits."""

from __future__ import annotations

import datetime as dt

import pytest

import segdsl
from segdsl.dynamics import Change

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


UNDECIDED = segdsl.loads("""
segment undecided = visits(30d) >= 2 and not purchased(30d)
segment lapsed = last(orders.at) < now - 90d
segment due = last(orders.at) <= now - 90d
""")

ANNE = {"id": 1, "orders": [{"at": "2026-05-01T10:00:00Z", "total": 5}],
        "events": [{"type": "visit", "at": "2026-07-01T08:00:00Z"},
                   {"type": "email_open", "at": "2026-07-02T08:00:00Z"},
                   {"type": "visit", "at": "2026-07-03T09:30:00Z"}]}


def test_time_driven_entries_and_exits_at_their_instants():
    """The second visit makes Anne undecided; the first visit leaving the window ends it."""
    changes = UNDECIDED.changes([ANNE], since="2026-06-01", until="2026-09-01")
    assert changes.rows() == [
        (1, "undecided", "entered", at("2026-07-03T09:30:00Z")),
        (1, "due", "entered", at("2026-07-30T10:00:00Z")),
        (1, "lapsed", "entered", at("2026-07-30T10:00:00.000001Z")),
        (1, "undecided", "exited", at("2026-07-31T08:00:00Z")),
    ]
    assert changes.granularity == {"undecided": "exact", "lapsed": "exact", "due": "exact"}
    assert changes.start == {"undecided": [], "lapsed": [], "due": []}


def test_an_order_stamped_inside_the_interval_counts_from_its_stamp():
    """An order at 2026-07-10T12:00:05Z ends Anne's indecision at that second, and lapsing waits."""
    anne = {**ANNE, "orders": [*ANNE["orders"], {"at": "2026-07-10T12:00:05Z", "total": 9}]}
    changes = UNDECIDED.changes([anne], since="2026-07-01", until="2026-10-15")
    assert changes.rows() == [
        (1, "undecided", "entered", at("2026-07-03T09:30:00Z")),
        (1, "undecided", "exited", at("2026-07-10T12:00:05Z")),
        (1, "due", "entered", at("2026-10-08T12:00:05Z")),
        (1, "lapsed", "entered", at("2026-10-08T12:00:05.000001Z")),
    ]


def test_changes_at_the_ends_of_the_interval():
    """A change exactly at ``since`` is before the interval; one exactly at ``until`` is in it."""
    changes = UNDECIDED.changes([ANNE], since="2026-07-03T09:30:00Z",
                                until="2026-07-31T08:00:00Z", segments="undecided")
    assert changes.rows() == [(1, "undecided", "exited", at("2026-07-31T08:00:00Z"))]
    assert changes.start == {"undecided": [1]}


def test_a_calendar_month_window_on_the_last_day_of_january():
    """An order on January 31 stays in a one-month window until March 1 at midnight."""
    rules = segdsl.loads("segment recent = purchased(1m)")
    customer = {"id": 7, "orders": [{"at": "2026-01-31T10:00:00Z"}]}
    assert rules.changes([customer], since="2026-01-15", until="2026-04-01").rows() == [
        (7, "recent", "entered", at("2026-01-31T10:00:00Z")),
        (7, "recent", "exited", at("2026-03-01T00:00:00Z")),
    ]


def test_a_calendar_month_across_the_spring_change_in_paris():
    """March 1 00:30 in Paris (UTC+1) leaves a one-month window on April 1 00:30 (UTC+2)."""
    rules = segdsl.loads("segment recent = purchased(1m)", timezone="Europe/Paris")
    customer = {"id": 7, "orders": [{"at": "2026-02-28T23:30:00Z"}]}
    assert rules.changes([customer], since="2026-02-01", until="2026-05-01").rows() == [
        (7, "recent", "entered", at("2026-02-28T23:30:00Z")),
        (7, "recent", "exited", at("2026-03-31T22:30:00Z")),
    ]


def test_a_day_window_is_24_hours_across_the_autumn_change():
    """A visit at 2026-10-24T12:00Z leaves a 1d window 24 hours later, whatever Paris's clocks do."""
    rules = segdsl.loads("segment active = visits(1d) >= 1", timezone="Europe/Paris")
    customer = {"id": 3, "events": [{"type": "visit", "at": "2026-10-24T12:00:00Z"}]}
    assert rules.changes([customer], since="2026-10-24", until="2026-10-27").rows() == [
        (3, "active", "entered", at("2026-10-24T12:00:00Z")),
        (3, "active", "exited", at("2026-10-25T12:00:00Z")),
    ]


def test_today_changes_at_midnight_in_the_rules_timezone():
    """``weekday(today) == 1`` holds from Monday 00:00 to Tuesday 00:00 in Paris."""
    rules = segdsl.loads("segment monday = weekday(today) == 1", timezone="Europe/Paris")
    changes = rules.changes([{"id": 1}], since="2026-10-24", until="2026-10-28")
    assert changes.rows() == [(1, "monday", "entered", at("2026-10-25T23:00:00Z")),
                              (1, "monday", "exited", at("2026-10-26T23:00:00Z"))]


def test_days_since_last_order_steps_every_24_hours():
    """``days_since_last_order() >= 2`` starts 48 hours after the last order."""
    rules = segdsl.loads("segment waiting = days_since_last_order() >= 2")
    customer = {"id": 1, "orders": [{"at": "2026-07-01T10:15:00Z"}]}
    assert rules.changes([customer], since="2026-07-01", until="2026-07-10").rows() == [
        (1, "waiting", "entered", at("2026-07-03T10:15:00Z"))]


def test_a_segment_using_another_changes_with_it():
    """``vip_undecided = undecided and country == "FR"`` enters and exits with undecided."""
    rules = segdsl.loads("segment undecided = visits(30d) >= 2\n"
                         "segment fr = undecided and country == \"FR\"")
    anne = {**ANNE, "country": "FR"}
    rows = rules.changes([anne], since="2026-06-01", until="2026-09-01").rows()
    assert rows == [(1, "undecided", "entered", at("2026-07-03T09:30:00Z")),
                    (1, "fr", "entered", at("2026-07-03T09:30:00Z")),
                    (1, "undecided", "exited", at("2026-07-31T08:00:00Z")),
                    (1, "fr", "exited", at("2026-07-31T08:00:00Z"))]


def test_ranking_segments_change_daily_at_midnight():
    """An RFM segment is sampled at each midnight, and the result says so."""
    rules = segdsl.loads("segment top = rfm.frequency >= 5\nsegment active = visits(30d) >= 1")
    people = [{"id": i, "orders": [{"at": f"2026-06-{10 + i:02d}T10:00:00Z", "total": 1}]
               * (i + 1)} for i in range(5)]
    people[0]["orders"] = people[0]["orders"] + [{"at": "2026-07-02T15:00:00Z", "total": 1}] * 9
    changes = rules.changes(people, since="2026-07-01", until="2026-07-04")
    assert changes.granularity == {"top": "daily", "active": "exact"}
    assert changes.start["top"] == [4]
    assert changes.rows() == [(0, "top", "entered", at("2026-07-03T00:00:00Z")),
                              (4, "top", "exited", at("2026-07-03T00:00:00Z"))]


def test_next_change_is_the_next_flip_or_none():
    """next_change gives the next flip, and None when nothing will ever change."""
    undecided = UNDECIDED["undecided"]
    assert undecided.next_change(ANNE, now="2026-06-01") == at("2026-07-03T09:30:00Z")
    assert undecided.next_change(ANNE, now="2026-07-03T09:30:00Z") == at("2026-07-31T08:00:00Z")
    assert undecided.next_change(ANNE, now="2026-07-31T08:00:00Z") is None
    assert UNDECIDED["lapsed"].next_change(ANNE, now="2026-07-31") is None
    assert segdsl.compile('country == "FR"').next_change({"country": "FR"}) is None


def test_next_change_of_a_calendar_rule_within_its_horizon():
    """A rule on ``today`` finds its next midnight, and None past ``until``."""
    rule = segdsl.compile("today >= 2027-01-01")
    assert rule.next_change({}, now="2026-12-30T10:00:00Z") == at("2027-01-01T00:00:00Z")
    assert rule.next_change({}, now="2026-12-30T10:00:00Z", until="2026-12-31") is None


def test_next_changes_for_every_segment():
    """next_changes lists each customer's next change in each segment, and the first of all."""
    found = UNDECIDED.next_changes([ANNE, {"id": 2}], now="2026-07-04")
    assert found.rows() == [(1, "due", "entered", at("2026-07-30T10:00:00Z")),
                            (1, "lapsed", "entered", at("2026-07-30T10:00:00.000001Z")),
                            (1, "undecided", "exited", at("2026-07-31T08:00:00Z"))]
    assert found.next == at("2026-07-30T10:00:00Z")
    assert found.to_dict()["changes"][0] == {"customer_id": 1, "segment": "due",
                                             "event": "entered", "at": "2026-07-30T10:00:00Z"}


def test_changes_have_the_shape_of_a_result():
    """to_dict, rows and to_dataframe carry the same changes."""
    changes = UNDECIDED.changes([ANNE], since="2026-06-01", until="2026-08-01",
                                segments="undecided")
    assert list(changes) == [Change(1, "undecided", "entered", at("2026-07-03T09:30:00Z")),
                             Change(1, "undecided", "exited", at("2026-07-31T08:00:00Z"))]
    assert changes.to_dict() == {
        "since": "2026-06-01T00:00:00Z", "until": "2026-08-01T00:00:00Z", "total": 1,
        "granularity": {"undecided": "exact"},
        "changes": [{"customer_id": 1, "segment": "undecided", "event": "entered",
                     "at": "2026-07-03T09:30:00Z"},
                    {"customer_id": 1, "segment": "undecided", "event": "exited",
                     "at": "2026-07-31T08:00:00Z"}]}
    frame = changes.to_dataframe()
    assert list(frame.columns) == ["customer_id", "segment", "event", "at"]
    assert frame["event"].tolist() == ["entered", "exited"]


def test_bad_intervals_and_names_are_usage_errors():
    """An interval ending before it starts, or an unknown segment, is refused before any data."""
    with pytest.raises(segdsl.UsageError, match=r"until \(2026-06-01T00:00:00Z\) is before since"):
        UNDECIDED.changes([ANNE], since="2026-07-01", until="2026-06-01")
    with pytest.raises(segdsl.UsageError, match="no segment named 'undecide'; did you mean"):
        UNDECIDED.changes([ANNE], since="2026-06-01", until="2026-07-01", segments="undecide")
    with pytest.raises(segdsl.UsageError, match="must be after now"):
        UNDECIDED["undecided"].next_change(ANNE, now="2026-07-01", until="2026-06-01")


def test_bad_data_is_a_data_error_naming_the_customer():
    """A timestamp that is no datetime fails as evaluation fails, naming customer and field."""
    customer = {"id": 9, "events": [{"type": "visit", "at": "yesterday"}]}
    with pytest.raises(segdsl.DataError, match=r"customer 9, field events\[0\]\.at"):
        UNDECIDED.changes([customer], since="2026-06-01", until="2026-07-01")


def test_a_clock_inside_a_where_is_sampled_daily_and_says_so():
    """``now`` inside an aggregation's where has no derived instants: the segment goes daily."""
    rules = segdsl.loads("segment recent = count(orders, where = at > now - 2d) >= 1")
    customer = {"id": 5, "orders": [{"at": "2026-07-01T10:00:00Z"}]}
    changes = rules.changes([customer], since="2026-06-30", until="2026-07-05")
    assert changes.granularity == {"recent": "daily"}
    assert changes.rows() == [(5, "recent", "entered", at("2026-07-02T00:00:00Z")),
                              (5, "recent", "exited", at("2026-07-04T00:00:00Z"))]


def test_next_changes_agree_with_each_segments_next_change():
    """rules.next_changes gives, for every customer and segment, what Segment.next_change gives."""
    people = [ANNE, {"id": 2, "orders": [{"at": "2026-07-02T00:00:00Z"}]},
              {"id": 3, "events": [{"type": "visit", "at": "2026-07-04T23:59:59Z"}] * 2}]
    found = UNDECIDED.next_changes(people, now="2026-07-04")
    expected = []
    for person in people:
        for name in UNDECIDED:
            moment = UNDECIDED[name].next_change(person, now="2026-07-04")
            if moment is not None:
                member = UNDECIDED[name].matches(person, now=moment)
                expected.append((moment, person["id"], name,
                                 "entered" if member else "exited"))
    assert sorted(expected) == sorted((ch.at, ch.customer_id, ch.segment, ch.event)
                                      for ch in found)


def test_changes_of_objects_and_ids_by_position():
    """Customers given as objects are read as evaluate reads them; ids may be positions."""
    class Customer:
        def __init__(self, events):
            self.id, self.events, self.orders = 1, events, []

    person = Customer(ANNE["events"])
    rows = UNDECIDED.changes([person], since="2026-06-01", until="2026-08-01",
                             segments="undecided", ids="position").rows()
    assert rows == [(0, "undecided", "entered", at("2026-07-03T09:30:00Z")),
                    (0, "undecided", "exited", at("2026-07-31T08:00:00Z"))]


def test_at_risk_enters_and_leaves_at_its_day_counts():
    """``days_since_last_order between 90 and 365``: in at 90 days, out at 366, found unbounded."""
    rules = segdsl.loads("segment at_risk = days_since_last_order between 90 and 365")
    customer = {"id": 1, "orders": [{"at": "2025-01-10T08:00:00Z"}]}
    rule = rules["at_risk"]
    assert rule.next_change(customer, now="2025-02-01") == at("2025-04-10T08:00:00Z")
    assert rule.next_change(customer, now="2025-04-10T08:00:00Z") == at("2026-01-11T08:00:00Z")
    assert rule.next_change(customer, now="2026-01-11T08:00:00Z") is None


def test_a_bad_instant_is_named_by_its_option():
    """since, until and now are each named in the message of their own bad value."""
    rules = segdsl.loads("segment a = visits(30d) >= 1")
    with pytest.raises(segdsl.UsageError, match="^since must be a date or datetime"):
        rules.changes([{"id": 1}], since="nope", until="2026-06-01")
    with pytest.raises(segdsl.UsageError, match="^until must be a datetime"):
        rules.changes([{"id": 1}], since="2026-06-01", until=5)
    with pytest.raises(segdsl.UsageError, match="^now must be a date or datetime"):
        rules["a"].next_change({"id": 1}, now="nope")
