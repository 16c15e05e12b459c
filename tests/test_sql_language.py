"""The language's latest additions on DuckDB, on hand-built customers whose answers
were worked out by hand: the DuckDB engine and the Python engine both give them.

Calendar functions at month ends, on 29 February and on the days clocks change,
ISO weekdays, ``today``, anniversaries, whole months and years both ways; duration
arithmetic rounded to the microsecond as ``timedelta`` rounds; computed windows;
``count_distinct`` through nested lists; correlated conditions (``as``); ``lower``
of lists; ``sqrt``, ``floor``, ``ceil`` and ``distance_km``.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

import segdsl
import segdsl.sql
from segdsl.sql.layout import Layout

SCHEMA = segdsl.Schema({
    "id": "number", "birth_date": "date", "seen_at": "datetime", "other_at": "datetime",
    "age": "number", "tags": "list[string]", "lat": "number", "lng": "number",
    "orders": segdsl.ListOf({"at": "datetime", "total": "number", "items": [
        {"category": "string", "price": "number"}]}),
    "events": segdsl.ListOf({"type": "string", "at": "datetime"}),
})
LAYOUT = Layout.from_schema(SCHEMA, order_by={"events": "position",
                                              "orders.items": "position"})
# A common year's last day of February, a Saturday (ISO weekday 6).
NOW = "2026-02-28T12:00:00Z"
UTC = dt.UTC


def _members(text: str, records: list[dict], now: str = NOW, zone: str = "UTC") -> list:
    """The members of ``segment s = text``, the same on DuckDB as in Python."""
    rules = segdsl.loads(f"segment s = {text}\n", schema=SCHEMA, timezone=zone)
    connection = duckdb.connect()
    segdsl.sql.load_records(connection, records, LAYOUT, rules._program.options.timezone)
    found = segdsl.sql.evaluate(rules, connection, now=now, layout=LAYOUT).members["s"]
    assert found == sorted(rules.evaluate(records, now=now).members["s"]), text
    return found


BIRTHS = [
    {"id": 1, "birth_date": dt.date(2000, 2, 29)},  # leap day, a Tuesday
    {"id": 2, "birth_date": dt.date(1990, 1, 31)},  # month end, a Wednesday
    {"id": 3, "birth_date": dt.date(2008, 7, 15)},  # 17 and a half
    {"id": 4, "birth_date": None},
    {"id": 5, "birth_date": dt.date(2001, 3, 1)},   # day 60 of a common year, a Thursday
]


@pytest.mark.parametrize(("text", "expected"), [
    # 29 February is 28 February in 2026, and today counts.
    ("anniversary(birth_date) == 2026-02-28", [1]),
    ("anniversary(birth_date) == 2027-01-31", [2]),  # passed this year: next year's
    ("anniversary(birth_date) == 2026-03-01", [5]),
    ("anniversary(birth_date) is null", [4]),
    # 2000-02-29 to 2026-02-28 is 26 whole years (the day clipped to the month's end);
    # 2001-03-01 to 2026-02-28 is 24 years and 11 months.
    ("years_between(birth_date, today) == 26", [1]),
    ("years_between(birth_date, today) >= 18", [1, 2, 5]),
    ("months_between(birth_date, today) == 299", [5]),
    ("months_between(birth_date, today) == 211", [3]),
    # Backwards: 2026-02-28 back to 2000-02-29 is -311 months (-25 years, -11 months).
    ("months_between(today, birth_date) == -311", [1]),
    ("years_between(today, birth_date) == -25", [1]),
    ("years_between(today, birth_date) == -36", [2]),
    ("weekday(birth_date) == 2", [1, 3]),  # 2008-07-15 was a Tuesday too
    ("weekday(birth_date) == 3", [2]),
    ("weekday(today) == 6 and weekday(birth_date) == 4", [5]),
    ("day_of_year(birth_date) == 60", [1, 5]),
    ("month(birth_date) == month(today) and day(birth_date) >= 28", [1]),
    ("year(birth_date) < 2000", [2]),
])
def test_calendar_functions_at_month_ends_and_on_29_february(text, expected):
    """Anniversaries, whole months and years both ways and ISO weekdays at the edges of
    months and of leap years, as dateutil and the ISO calendar count them."""
    assert _members(text, BIRTHS) == expected


def test_month_ends_clip_the_day_both_ways():
    """31 January to 29 February is one whole month, to 28 February none; 31 March back
    to 29 February is minus one month (dateutil's relativedelta)."""
    records = [{"id": 1, "seen_at": "2024-01-31T10:00:00Z", "other_at": "2024-02-29T10:00:00Z"},
               {"id": 2, "seen_at": "2024-01-31T10:00:00Z", "other_at": "2024-02-28T10:00:00Z"},
               {"id": 3, "seen_at": "2024-03-31T10:00:00Z", "other_at": "2024-02-29T10:00:00Z"},
               {"id": 4, "seen_at": "2024-03-30T10:00:00Z", "other_at": "2024-02-29T10:00:00Z"}]
    assert _members("months_between(seen_at, other_at) == 1", records) == [1]
    assert _members("months_between(seen_at, other_at) == 0", records) == [2]
    assert _members("months_between(seen_at, other_at) == -1", records) == [3, 4]


# 2026-03-29 is the day Paris moves its clocks from 02:00 to 03:00 (a Sunday, 23 hours).
DST = [
    {"id": 1, "seen_at": "2026-03-28T22:59:59Z"},  # 23:59:59 on the 28th in Paris
    {"id": 2, "seen_at": "2026-03-28T23:00:00Z"},  # midnight on the 29th
    {"id": 3, "seen_at": "2026-03-29T21:59:59Z"},  # 23:59:59 on the 29th (UTC+2)
    {"id": 4, "seen_at": "2026-03-29T22:00:00Z"},  # midnight on the 30th
]


def test_datetimes_are_taken_by_their_day_in_the_zone_on_a_daylight_saving_day():
    """A datetime's calendar parts are those of its day in the configured zone: the
    23-hour day of 29 March in Paris holds exactly the instants from 23:00 to 21:59:59
    UTC; in UTC the days are others."""
    now = "2026-04-01T12:00:00Z"
    assert _members("day(seen_at) == 29", DST, now, "Europe/Paris") == [2, 3]
    assert _members("weekday(seen_at) == 7", DST, now, "Europe/Paris") == [2, 3]
    assert _members("day_of_year(seen_at) == 88", DST, now, "Europe/Paris") == [2, 3]
    assert _members("day(seen_at) == 29", DST, now, "UTC") == [3, 4]
    # today is 1 April in Paris; the 28th is 4 days before.
    assert _members("seen_at < today - 3d", DST, now, "Europe/Paris") == [1]
    assert _members("today == 2026-04-02", DST, "2026-04-01T22:00:00Z", "Europe/Paris") == \
        [1, 2, 3, 4]


def test_durations_are_divided_and_scaled_as_timedelta_rounds_them():
    """``(now - t) / 1d`` is exact across a 23-hour day; a duration times 0.5 is rounded
    half to even to the microsecond (1.5 us is 2, 2.5 us is 2, 0.5 us is 0); a duration
    divided by a count rounds alike."""
    now = dt.datetime(2026, 3, 30, 0, 0, tzinfo=UTC)
    micro = dt.timedelta(microseconds=1)
    records = [{"id": 1, "seen_at": now - 3 * micro, "other_at": now - 2 * micro},
               {"id": 2, "seen_at": now - 5 * micro, "other_at": now - 2 * micro},
               {"id": 3, "seen_at": now - micro, "other_at": now},
               {"id": 4, "seen_at": now - 2 * micro, "other_at": now}]
    at = now.isoformat()
    assert _members("(now - seen_at) * 0.5 == now - other_at", records, at) == [1, 2, 3]
    assert _members("(now - seen_at) / 2 == now - other_at", records, at) == [1, 2, 3]
    days = [{"id": 1, "seen_at": "2026-03-29T00:00:00Z"},
            {"id": 2, "seen_at": "2026-03-28T23:00:00Z", "age": 3},
            {"id": 3, "seen_at": "2026-03-28T12:00:00Z", "age": 2}]
    assert _members("(now - seen_at) / 1d == 1", days, at, "Europe/Paris") == [1]
    assert _members("(now - seen_at) / 1h == 25", days, at) == [2]
    assert _members("now - seen_at == 1d * age / 2 + 12h", days, at) == [3]
    assert _members("(now - seen_at) + 12h >= 2d and now - seen_at - 12h <= 1d", days,
                    at) == [3]


def test_a_window_computed_from_the_customer():
    """``within = 1d * age``: after now minus that many days (an order exactly at the
    start is out); a zero window holds nothing, a null one is no window, a negative one
    is bad data on both engines."""
    now = "2026-03-10T12:00:00Z"
    orders = [{"at": "2026-03-08T12:00:00Z", "total": 5}, {"at": "2026-03-09T12:00:01Z",
                                                          "total": 5}]
    records = [{"id": 1, "age": 1, "orders": orders}, {"id": 2, "age": 2, "orders": orders},
               {"id": 3, "age": 0, "orders": orders}, {"id": 4, "age": None, "orders": orders}]
    # (2 days back starts at the first order's instant, which is not after it)
    assert _members("count(orders, within = 1d * age) == 1", records, now) == [1, 2]
    assert _members("count(orders, within = 1d * age) == 2", records, now) == [4]
    assert _members("count(orders, within = 1d * age) == 0", records, now) == [3]
    bad = [{"id": 1, "age": -1, "orders": orders}]
    rules = segdsl.loads("segment s = count(orders, within = 1d * age) > 0", schema=SCHEMA)
    connection = duckdb.connect()
    segdsl.sql.load_records(connection, bad, LAYOUT)
    with pytest.raises(segdsl.DataError, match="window"):
        segdsl.sql.evaluate(rules, connection, now=now, layout=LAYOUT)
    with pytest.raises(segdsl.DataError, match="window"):
        rules.evaluate(bad, now=now)


def test_distinct_counts_flatten_nested_lists_and_leave_nulls_out():
    """``count_distinct`` over the items of all orders: repeated and null categories
    count once and not at all; 1 and 1.0 (and 0.0 and -0.0) are one price; a window
    keeps the recent orders' items; a list of texts counts its distinct texts."""
    records = [
        {"id": 1, "tags": ["vip", "VIP", "vip", None], "orders": [
            {"at": "2026-02-27T00:00:00Z", "items": [
                {"category": "a", "price": 1}, {"category": "a", "price": 1.0},
                {"category": None, "price": 0.0}]},
            {"at": "2025-01-01T00:00:00Z", "items": [
                {"category": "b", "price": -0.0}, {"category": "c"}]}]},
        {"id": 2, "tags": [None], "orders": [{"at": "2026-02-27T00:00:00Z", "items": [
            {"category": None}]}]},
        {"id": 3, "tags": None, "orders": [{"at": "2026-02-27T00:00:00Z", "items": []}]},
    ]
    assert _members("count_distinct(orders.items.category) == 3", records) == [1]
    assert _members("count_distinct(orders.items.category, within = 30d) == 1", records) \
        == [1]
    assert _members("count_distinct(orders.items.category) == 0", records) == [2, 3]
    assert _members("count_distinct(orders.items.price) == 2", records) == [1]
    assert _members("count_distinct(tags) == 2", records) == [1]
    assert _members("count_distinct(tags) == 0", records) == [2, 3]
    assert _members('count_distinct(orders.items.category, where = price > 0) == 1',
                    records) == [1]


CARTS = [
    # a cart abandoned, an order a day after it: recovered
    {"id": 1, "events": [{"type": "cart_abandoned", "at": "2026-02-20T10:00:00Z"}],
     "orders": [{"at": "2026-02-21T10:00:00Z", "total": 5}]},
    # the order 2 days and 1 second after: not recovered
    {"id": 2, "events": [{"type": "cart_abandoned", "at": "2026-02-20T10:00:00Z"}],
     "orders": [{"at": "2026-02-22T10:00:01Z", "total": 5}]},
    # two carts, the second one never recovered
    {"id": 3, "events": [{"type": "cart_abandoned", "at": "2026-02-20T10:00:00Z"},
                         {"type": "cart_abandoned", "at": "2026-02-25T10:00:00Z"}],
     "orders": [{"at": "2026-02-22T10:00:00Z", "total": 5}]},
    # no cart; tags in another case
    {"id": 4, "tags": ["VIP-gold", "new"], "events": [{"type": "visit",
                                                       "at": "2026-02-20T10:00:00Z"}]},
    {"id": 5, "tags": ["vipish", None], "events": []},
]


def test_the_specifications_correlated_examples():
    """The three examples of the language's specification: a cart not followed by an
    order within 2 days (``e.at`` read inside the aggregation over orders), the
    customer's ``orders`` read inside a ``where`` over events, and ``tags as tag``."""
    assert _members('exists(events as e, where = e.type == "cart_abandoned" and not '
                    'exists(orders, where = at between e.at and e.at + 2d))', CARTS) == [2, 3]
    assert _members('exists(events, where = type == "cart_abandoned" and count(orders) == 0)',
                    CARTS) == []
    assert _members('exists(events, where = type == "visit" and count(orders) == 0)',
                    CARTS) == [4]
    assert _members('count(tags as tag, where = tag starts_with "vip") >= 1', CARTS) == [5]
    assert _members('count(events as e, where = count(orders, where = at > e.at) >= 1) == 1',
                    CARTS) == [1, 2, 3]


def test_lower_and_upper_of_lists_keep_nulls_and_refuse_what_python_maps_otherwise():
    """``lower(tags) contains "vip"`` matches any case; ``upper`` of ß (SS in Python) stops
    the query rather than give another answer."""
    assert _members('lower(tags) contains "vip-gold"', CARTS) == [4]
    assert _members('upper(tags) contains "VIPISH"', CARTS) == [5]
    assert _members('"é" in lower(tags)', [{"id": 1, "tags": ["É"]}]) == [1]
    rules = segdsl.loads('segment s = upper(tags) contains "X"', schema=SCHEMA)
    connection = duckdb.connect()
    segdsl.sql.load_records(connection, [{"id": 1, "tags": ["straße"]}], LAYOUT)
    with pytest.raises(segdsl.DataError, match="otherwise than Python"):
        segdsl.sql.evaluate(rules, connection, now=NOW, layout=LAYOUT)


def test_numbers_and_places():
    """``sqrt`` of a negative number is null; ``floor`` and ``ceil`` are whole numbers;
    Paris to London is 343.9 km on the mean-radius sphere; a latitude of 91 is bad data."""
    records = [{"id": 1, "age": -4, "lat": 48.8566, "lng": 2.3522},
               {"id": 2, "age": 2.5, "lat": 51.5074, "lng": -0.1278},
               {"id": 3, "age": -2.5}]
    assert _members("sqrt(age) is null and age is not null", records) == [1, 3]
    assert _members("floor(age) == 2 and ceil(age) == 3", records) == [2]
    assert _members("floor(age) == -3 and ceil(age) == -2", records) == [3]
    assert _members("distance_km(lat, lng, 51.5074, -0.1278) between 343 and 344.5",
                    records) == [1]
    assert _members("distance_km(lat, lng, lat, lng) == 0", records) == [1, 2]
    rules = segdsl.loads("segment s = distance_km(lat, lng, 0, 0) < 10", schema=SCHEMA)
    connection = duckdb.connect()
    segdsl.sql.load_records(connection, [{"id": 1, "lat": 91, "lng": 0}], LAYOUT)
    with pytest.raises(segdsl.DataError, match="latitude"):
        segdsl.sql.evaluate(rules, connection, now=NOW, layout=LAYOUT)
    with pytest.raises(segdsl.DataError, match="latitude"):
        rules.evaluate([{"id": 1, "lat": 91, "lng": 0}], now=NOW)


def test_a_null_argument_is_null_before_any_other_is_checked():
    """``distance_km`` with one null coordinate and another out of range is null, not bad
    data; a duration divided by a null count is null: both engines, as built-ins are
    null-safe."""
    records = [{"id": 1, "lat": 91, "lng": None, "age": None, "seen_at": "2026-02-01T00:00:00Z"},
               {"id": 2, "lat": 10, "lng": 10, "age": 2, "seen_at": "2026-02-27T12:00:00Z"}]
    assert _members("distance_km(lat, lng, 0, 0) is null", records) == [1]
    assert _members("(now - seen_at) / age is null", records) == [1]
    assert _members("(now - seen_at) / age == 12h", records) == [2]


def test_distances_are_the_same_doubles_as_pythons():
    """On 2,000 random points (far apart, a few metres apart, rounded coordinates),
    DuckDB's ``distance_km`` is bit for bit the double Python computes: each customer
    holds its Python distance, and every one is a member of ``distance_km(...) == age``."""
    import random

    from segdsl.functions import _distance_km

    chance = random.Random(7)
    records = []
    for identity in range(2000):
        lat, lng = chance.uniform(-90, 90), chance.uniform(-180, 180)
        if identity % 3 == 1:
            other = (min(90.0, max(-90.0, lat + chance.uniform(-1e-4, 1e-4))),
                     min(180.0, max(-180.0, lng + chance.uniform(-1e-4, 1e-4))))
        elif identity % 3 == 2:
            lat, lng, other = round(lat, identity % 7), round(lng, identity % 5), \
                (48.8566, 2.3522)
        else:
            other = (chance.uniform(-90, 90), chance.uniform(-180, 180))
        records.append({"id": identity, "lat": lat, "lng": lng, "seen_at": None,
                        "age": _distance_km(lat, lng, *other), "birth_date": None,
                        "orders": [{"at": None, "total": other[0], "items": [
                            {"price": other[1]}]}]})
    text = ("exists(orders as o, where = exists(o.items, where = "
            "distance_km(lat, lng, o.total, price) == age))")
    assert _members(text, records) == list(range(2000))
