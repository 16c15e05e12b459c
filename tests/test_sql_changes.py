"""``changes`` on DuckDB against the Python ``changes`` over the same customers.

The records are written into a DuckDB database by ``segdsl.sql.load_records``;
``rules.changes(connection, ...)`` must return the Changes the Python engine
returns over the records (customers by id): the same Change tuples in the same
order, the same start members, total and granularity. Rules and histories
come from the generators of tests/test_dynamics_property.py (windows in hours,
days and calendar months around daylight-saving days, periods, ``now - X``)
and of tests/test_sql_differential.py (the differential generator's rules
through windows and periods, nulls, missing keys, nested lists).
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segdsl
import segdsl.sql
from segdsl.sql import changes as sql_changes
from segdsl.sql.layout import Layout
from tests.strategies import SCHEMA as CUSTOMER_SCHEMA
from tests.test_dynamics_property import (
    ATOMS,
    LENGTH,
    SCHEMA,
    STARTS,
    condition,
    customers,
    rules_text,
)
from tests.test_sql_differential import LAYOUT as DIFFERENTIAL_LAYOUT
from tests.test_sql_differential import rule_file, timed_cases

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


UNDECIDED = segdsl.loads("""
segment undecided = visits(30d) >= 2 and not purchased(30d)
segment lapsed = last(orders.at) < now - 90d
segment recent = purchased(1m)
""")

ANNE = {"id": 1, "orders": [{"at": "2026-05-01T10:00:00Z", "total": 5}],
        "events": [{"type": "visit", "at": "2026-07-01T08:00:00Z"},
                   {"type": "email_open", "at": "2026-07-02T08:00:00Z"},
                   {"type": "visit", "at": "2026-07-03T09:30:00Z"}]}
BOB = {"id": 2, "orders": [{"at": "2025-01-01T00:00:00Z", "total": 1}], "events": []}


def database(records, rules, layout=None):
    """An in-memory DuckDB database holding ``records`` in the layout's tables."""
    connection = duckdb.connect()
    segdsl.sql.load_records(connection, records, layout or Layout.of_rules(rules),
                            rules._program.options.timezone)
    return connection


def same(found, expected) -> None:
    """Two Changes are equal in every part."""
    assert found.rows() == expected.rows()
    assert found.start == expected.start
    assert (found.total, found.granularity) == (expected.total, expected.granularity)
    assert (found.since, found.until) == (expected.since, expected.until)


class Reads:
    """Records which customers the DuckDB path reads back as records."""

    def __init__(self, monkeypatch) -> None:
        self.ids: list = []
        real = sql_changes.read_records

        def read(connection, layout, ids):
            self.ids += list(ids)
            return real(connection, layout, ids)

        monkeypatch.setattr(sql_changes, "read_records", read)


def test_entries_and_exits_at_their_instants_on_duckdb():
    """Anne's May order leaves the month on June 1, her second visit and her first one leaving count."""
    rules = segdsl.loads("segment undecided = visits(30d) >= 2 and not purchased(30d)\n"
                         "segment recent = purchased(1m)")
    with database([ANNE, BOB], rules) as connection:
        found = rules.changes(connection, since="2026-06-01", until="2026-09-01")
    assert found.rows() == [
        (1, "recent", "exited", at("2026-06-01T10:00:00Z")),
        (1, "undecided", "entered", at("2026-07-03T09:30:00Z")),
        (1, "undecided", "exited", at("2026-07-31T08:00:00Z")),
    ]
    assert found.start == {"undecided": [], "recent": [1]}
    assert found.total == 2
    assert found.granularity == {"undecided": "exact", "recent": "exact"}


def test_only_customers_with_elements_in_reach_are_read_back(monkeypatch):
    """Bob's only order left every window long before: his start membership comes from the query."""
    rules = segdsl.loads("segment undecided = visits(30d) >= 2 and not purchased(30d)\n"
                         "segment recent = purchased(1m)")
    reads = Reads(monkeypatch)
    people = [ANNE, BOB, {"id": 3, "events": [{"type": "visit", "at": "2026-04-01T00:00:00Z"}]}]
    with database(people, rules) as connection:
        found = rules.changes(connection, since="2026-06-01", until="2026-09-01")
    assert reads.ids == [1]
    same(found, rules.changes(people, since="2026-06-01", until="2026-09-01"))


def test_a_window_of_a_month_reaches_back_31_days_and_more(monkeypatch):
    """An order on May 31 leaves a one-month window on July 1: it is read back for June 2 to July 2."""
    rules = segdsl.loads("segment recent = purchased(1m)")
    customer = {"id": 9, "orders": [{"at": "2026-05-31T10:00:00Z"}]}
    reads = Reads(monkeypatch)
    with database([customer], rules) as connection:
        found = rules.changes(connection, since="2026-06-02", until="2026-07-02")
    assert reads.ids == [9]
    assert found.rows() == [(9, "recent", "exited", at("2026-07-01T00:00:00Z"))]
    assert found.start == {"recent": [9]}


def test_exits_of_windowed_counts_are_computed_in_sql(monkeypatch):
    """Carl's 2nd most recent visit plus 30 days ends his indecision; no customer is read back."""
    rules = segdsl.loads('segment undecided = visits(30d) >= 2 and not purchased(30d)\n'
                         'segment french_visitor = visits(1w) >= 1 and country == "FR"',
                         schema={**SCHEMA, "country": "string"})
    carl = {"id": 3, "country": "FR", "orders": [{"at": "2026-06-01T00:00:00Z"}],
            "events": [{"type": "visit", "at": f"2026-06-{day:02d}T12:00:00Z"}
                       for day in (2, 5, 9, 20)]}
    dora = {"id": 4, "country": None, "orders": [{"at": "2026-06-10T00:00:00Z"}],
            "events": [{"type": "visit", "at": "2026-06-24T00:00:00Z"}]}
    reads = Reads(monkeypatch)
    with database([carl, dora], rules) as connection:
        found = rules.changes(connection, since="2026-06-25", until="2026-08-01")
    assert reads.ids == []
    assert found.rows() == [
        (3, "french_visitor", "exited", at("2026-06-27T12:00:00Z")),
        (3, "undecided", "entered", at("2026-07-01T00:00:00Z")),
        (3, "undecided", "exited", at("2026-07-09T12:00:00Z")),
    ]
    assert found.start == {"undecided": [], "french_visitor": [3]}
    same(found, rules.changes([carl, dora], since="2026-06-25", until="2026-08-01"))


def test_an_order_inside_the_interval_is_counted_in_sql(monkeypatch):
    """An order at 12:00:05 ends Eve's indecision at that second, found without reading her back."""
    rules = segdsl.loads("segment undecided = visits(30d) >= 2 and not purchased(30d)")
    eve = {"id": 5, "orders": [{"at": "2026-07-10T12:00:05Z"}],
           "events": [{"type": "visit", "at": "2026-07-01T08:00:00Z"},
                      {"type": "email_open", "at": "2026-07-02T08:00:00Z"},
                      {"type": "visit", "at": "2026-07-03T09:30:00Z"}]}
    reads = Reads(monkeypatch)
    with database([eve], rules) as connection:
        found = rules.changes(connection, since="2026-07-01", until="2026-10-15")
    assert reads.ids == []
    assert found.rows() == [(5, "undecided", "entered", at("2026-07-03T09:30:00Z")),
                            (5, "undecided", "exited", at("2026-07-10T12:00:05Z"))]


def test_a_clock_compared_with_an_orders_stamp_reads_back_who_may_cross(monkeypatch):
    """``last(orders.at) < now - 90d``: Anne's May 1 order crosses on July 30, Bob's order of
    January 2025 crossed long before the interval, so only Anne is read back."""
    reads = Reads(monkeypatch)
    with database([ANNE, BOB], UNDECIDED) as connection:
        found = UNDECIDED.changes(connection, since="2026-06-01", until="2026-09-01")
    assert reads.ids == [1]
    expected = UNDECIDED.changes([ANNE, BOB], since="2026-06-01", until="2026-09-01")
    same(found, expected)
    assert (1, "lapsed", "entered", at("2026-07-30T10:00:00.000001Z")) in found.rows()
    assert found.start["lapsed"] == [2]


def test_a_crossing_at_until_itself_is_found(monkeypatch):
    """The order of June 2 crosses 90 days one microsecond after August 31 begins: at ``until``."""
    rules = segdsl.loads("segment lapsed = last(orders.at) < now - 90d")
    customer = {"id": 4, "orders": [{"at": "2026-06-02T00:00:00Z"}]}
    reads = Reads(monkeypatch)
    with database([customer], rules) as connection:
        found = rules.changes(connection, since="2026-06-01",
                              until="2026-08-31T00:00:00.000001Z")
    assert reads.ids == [4]
    assert found.rows() == [(4, "lapsed", "entered", at("2026-08-31T00:00:00.000001Z"))]


def test_days_between_reads_back_the_customers_near_a_threshold(monkeypatch):
    """90 days after March 5 and 366 after June 20, 2025 fall in June 2026; January 1 is
    90 days before April and 365 before next January: that customer is not read back."""
    rules = segdsl.loads(
        "segment at_risk = days_between(last(orders.at), now) between 90 and 365")
    people = [{"id": 1, "orders": [{"at": "2026-03-05T08:00:00Z"}]},
              {"id": 2, "orders": [{"at": "2025-06-20T08:00:00Z"}]},
              {"id": 3, "orders": [{"at": "2026-01-01T08:00:00Z"}]}]
    reads = Reads(monkeypatch)
    with database(people, rules) as connection:
        found = rules.changes(connection, since="2026-06-01", until="2026-07-01")
    assert reads.ids == [1, 2]
    same(found, rules.changes(people, since="2026-06-01", until="2026-07-01"))
    assert found.rows() == [(1, "at_risk", "entered", at("2026-06-03T08:00:00Z")),
                            (2, "at_risk", "exited", at("2026-06-21T08:00:00Z"))]
    assert found.start == {"at_risk": [2, 3]}


@pytest.mark.parametrize(("rule", "ordered"), [
    ("days_between(last(orders.at), now) == 100", "2026-02-24T05:00:00Z"),
    ("last(orders.at) between now - 91d and now - 90d", "2026-03-06T05:00:00Z"),
    ("now - last(orders.at) >= 90d and now - last(orders.at) < 91d", "2026-03-06T05:00:00Z"),
    ("last(orders.at) between now - 2m and now - 1m", "2026-05-10T05:00:00Z"),
])
def test_a_stamp_before_since_that_enters_and_exits_inside_is_read_back(monkeypatch, rule,
                                                                         ordered):
    """The membership is the same at both ends, so only the stamps' bound finds the customer."""
    rules = segdsl.loads(f"segment once = {rule}")
    customer = {"id": 7, "orders": [{"at": ordered}]}
    reads = Reads(monkeypatch)
    with database([customer], rules) as connection:
        found = rules.changes(connection, since="2026-06-01", until="2026-08-01")
    assert reads.ids == [7]
    expected = rules.changes([customer], since="2026-06-01", until="2026-08-01")
    same(found, expected)
    assert [row[2] for row in found.rows()] == ["entered", "exited"]


def test_a_clock_compared_with_a_customer_field_reads_every_customer_back(monkeypatch):
    """``signed_up_at > now - 1d`` is bounded by no list: the general path still agrees."""
    rules = segdsl.loads("segment fresh = signed_up_at > now - 1d", schema=SCHEMA)
    people = [{"id": 1, "signed_up_at": "2026-06-10T00:00:00Z"},
              {"id": 2, "signed_up_at": "2024-01-01T00:00:00Z"}]
    reads = Reads(monkeypatch)
    with database(people, rules) as connection:
        found = rules.changes(connection, since="2026-06-01", until="2026-07-01")
    assert reads.ids == [1, 2]
    same(found, rules.changes(people, since="2026-06-01", until="2026-07-01"))
    assert found.rows() == [(1, "fresh", "exited", at("2026-06-11T00:00:00Z"))]


def test_each_customer_is_followed_only_for_the_segments_that_may_move(monkeypatch):
    """``fresh`` compares the clock with a customer's field: everyone is followed for it.
    Anne's order of May 1 crosses 90 days and leaves ``recent``'s month in the interval;
    Bob's order of January 2025 does neither, so he is followed for ``fresh`` alone."""
    rules = segdsl.loads("segment lapsed = last(orders.at) < now - 90d\n"
                         "segment fresh = signed_up_at > now - 1d\n"
                         "segment recent = purchased(1m)", schema=SCHEMA)
    people = [{**ANNE, "signed_up_at": "2026-06-10T00:00:00Z"},
              {**BOB, "signed_up_at": "2024-01-01T00:00:00Z"}]
    followed = []
    real = sql_changes.dynamics.changes

    def following(rules, customers, since, until, names, *rest, **options):
        if isinstance(customers, list):  # the timeline's part, not the call on the database
            followed.append(([record["id"] for record in customers], names))
        return real(rules, customers, since, until, names, *rest, **options)

    monkeypatch.setattr(sql_changes.dynamics, "changes", following)
    with database(people, rules) as connection:
        found = rules.changes(connection, since="2026-06-01", until="2026-09-01")
    assert sorted(followed) == [([1], ["lapsed", "fresh", "recent"]), ([2], ["fresh"])]
    monkeypatch.setattr(sql_changes.dynamics, "changes", real)
    same(found, rules.changes(people, since="2026-06-01", until="2026-09-01"))


def test_a_ranking_segment_is_followed_day_by_day_on_duckdb():
    """A segment ranking customers is sampled at each midnight, as the Python changes does."""
    rules = segdsl.loads("segment top = ntile(spent(30d), 2) == 1\n"
                         "segment recent = purchased(7d)")
    people = [{"id": i, "orders": [{"at": f"2026-06-{10 + i:02d}T12:00:00Z", "total": 10 * i}]}
              for i in range(1, 5)]
    with database(people, rules) as connection:
        found = rules.changes(connection, since="2026-06-05", until="2026-07-20")
    expected = rules.changes(people, since="2026-06-05", until="2026-07-20")
    assert expected.granularity == {"top": "daily", "recent": "exact"}
    same(found, expected)


def test_rules_the_compiler_refuses_take_the_general_path():
    """A function registered from Python is no SQL: the DuckDB source still gets the Python answer."""
    functions = segdsl.Functions()

    @functions.register(params={"x": "number"}, returns="number")
    def double(x):
        return 2 * x

    rules = segdsl.loads("segment big = double(spent(30d)) > 15", functions=functions)
    people = [{"id": 1, "orders": [{"at": "2026-06-10T00:00:00Z", "total": 8}]},
              {"id": 2, "orders": [{"at": "2026-06-10T00:00:00Z", "total": 7}]}]
    with database(people, rules) as connection, pytest.raises(segdsl.CheckError):
        segdsl.sql.evaluate(rules, connection, now="2026-06-20")
    with database(people, rules) as connection:
        found = rules.changes(connection, since="2026-06-01", until="2026-07-31")
    assert found.rows() == [(1, "big", "entered", at("2026-06-10T00:00:00Z")),
                            (1, "big", "exited", at("2026-07-10T00:00:00Z"))]


def test_parquet_tables_take_the_duckdb_route(tmp_path):
    """A directory of Parquet tables gives the changes of the records they were written from."""
    rules = segdsl.loads("segment undecided = visits(30d) >= 2 and not purchased(30d)")
    with database([ANNE, BOB], rules) as connection:
        for table in ("customers", "orders", "order_items", "events"):
            connection.execute(f"COPY {table} TO '{tmp_path / table}.parquet' (FORMAT parquet)")
    found = rules.changes(str(tmp_path), since="2026-06-01", until="2026-09-01")
    same(found, rules.changes([ANNE, BOB], since="2026-06-01", until="2026-09-01"))


def test_a_customer_without_id_in_the_database_is_a_data_error():
    """A null id in the customers table is a DataError naming it, as evaluation says."""
    rules = segdsl.loads("segment recent = purchased(30d)")
    with database([ANNE], rules) as connection:
        connection.execute("INSERT INTO customers (id) VALUES (NULL)")
        with pytest.raises(segdsl.DataError, match="without an id"):
            rules.changes(connection, since="2026-06-01", until="2026-07-01")


def test_until_before_since_is_a_usage_error_on_duckdb():
    """The interval is checked before the database is read."""
    rules = segdsl.loads("segment recent = purchased(30d)")
    with database([ANNE], rules) as connection, pytest.raises(
            segdsl.UsageError, match="is before since"):
        rules.changes(connection, since="2026-07-01", until="2026-06-01")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_changes_on_duckdb_agree_with_python_on_random_histories(data):
    """Random rules of windows, periods and clock comparisons give the same Changes on DuckDB."""
    start = data.draw(st.sampled_from(STARTS))
    zone = data.draw(st.sampled_from(["Europe/Paris", None]))
    rules = segdsl.loads(data.draw(rules_text()), timezone=zone, schema=SCHEMA)
    people = data.draw(customers(start))
    expected = rules.changes(people, since=start, until=start + LENGTH)
    with database(people, rules) as connection:
        found = rules.changes(connection, since=start, until=start + LENGTH)
    same(found, expected)


# The atoms whose changes a window bounds: the query flags the customers to follow.
WINDOWED = [ATOMS[0], ATOMS[1], ATOMS[2], ATOMS[3], ATOMS[12]]


# The atoms comparing the clock with an element's stamp: bounded by where the stamps lie.
CLOCKED = [ATOMS[4], ATOMS[7], ATOMS[8], ATOMS[13]]


def agree_when_bounded(data, atoms: list) -> None:
    """Random rules of ``atoms``, which the query bounds: the same Changes on DuckDB."""
    start = data.draw(st.sampled_from(STARTS))
    zone = data.draw(st.sampled_from(["Europe/Paris", None]))
    rules = segdsl.loads(data.draw(rules_text(atoms)), timezone=zone, schema=SCHEMA)
    people = data.draw(customers(start))
    assert sql_changes.bounded_reads(rules._program, list(rules)) is not None
    expected = rules.changes(people, since=start, until=start + LENGTH)
    with database(people, rules) as connection:
        found = rules.changes(connection, since=start, until=start + LENGTH)
    same(found, expected)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_bounded_changes_on_duckdb_agree_with_python(data):
    """Windows and periods only."""
    agree_when_bounded(data, WINDOWED)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_clock_comparisons_with_stamps_on_duckdb_agree_with_python(data):
    """Windows, and the clock compared with stamps (``last(orders.at) < now - 1m``,
    ``now - last(orders.at) > 30h``, ``days_between``, ``between now - 2d and now - 1h``)."""
    agree_when_bounded(data, [*CLOCKED, *WINDOWED])


FIXED = ["1h", "12h", "1d", "2d", "1w"]
# Conditions DuckDB decides: counts in windows of fixed length, and one constant in time.
DECIDED = [
    st.builds("visits({}) >= {}".format, st.sampled_from(FIXED), st.integers(1, 3)),
    st.builds("count(events, within = {}, where = type == \"visit\") < {}".format,
              st.sampled_from(FIXED), st.integers(1, 3)),
    st.builds("purchased({})".format, st.sampled_from(FIXED)),
    st.builds("count(orders, within = {}) {} {}".format, st.sampled_from(FIXED),
              st.sampled_from(["==", "!=", ">"]), st.integers(0, 2)),
    st.just("signed_up_at is null"),
]


@st.composite
def independent_rules(draw) -> str:
    """Two segments of conditions DuckDB decides (and one it does not), neither using the other."""
    return (f"period spring = 2026-03-29 .. 2026-03-29\n"
            f"segment a = {draw(condition(DECIDED))}\n"
            f"segment b = {draw(condition(DECIDED))}\n"
            f"segment c = {draw(condition(WINDOWED))}\n")


@st.composite
def recent_customers(draw, start: dt.datetime) -> list[dict]:
    """Customers whose elements are stamped in the 9 days before ``start`` (a few after it)."""
    def stamp():
        minutes = draw(st.integers(-9 * 24 * 60, 6 * 60 if draw(st.integers(0, 9)) == 0 else 0))
        return (start + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")

    found = []
    for number in range(draw(st.integers(2, 5))):
        events = [{"type": draw(st.sampled_from(["visit", "visit", "email_open"])),
                   "at": stamp()} for _ in range(draw(st.integers(0, 6)))]
        orders = [{"at": stamp(), "total": 5} for _ in range(draw(st.integers(0, 3)))]
        signed = draw(st.sampled_from([None, "2026-01-01T00:00:00Z"]))
        found.append({"id": number, "events": events, "orders": orders,
                      "signed_up_at": signed, "signed_up_day": None})
    return found


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_changes_decided_in_sql_agree_with_python(data):
    """Segments whose exits DuckDB computes: the same Changes as Python, and as the timeline path."""
    start = data.draw(st.sampled_from(STARTS))
    zone = data.draw(st.sampled_from(["Europe/Paris", None]))
    rules = segdsl.loads(data.draw(independent_rules()), timezone=zone, schema=SCHEMA)
    people = data.draw(recent_customers(start))
    until = start + data.draw(st.sampled_from([LENGTH, dt.timedelta(days=10)]))
    expected = rules.changes(people, since=start, until=until)
    with database(people, rules) as connection:
        found = rules.changes(connection, since=start, until=until)
        same(found, expected)
        sql_changes.DECIDE = False
        try:
            same(rules.changes(connection, since=start, until=until), expected)
        finally:
            sql_changes.DECIDE = True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timed_cases(), st.sampled_from([dt.timedelta(hours=6), dt.timedelta(days=3),
                                       dt.timedelta(days=40)]))
def test_changes_on_duckdb_agree_with_python_on_differential_cases(case, length):
    """The differential generator's rules and records: the same Changes, or both refuse the data."""
    setting, rule, records, _now = case
    rules = segdsl.loads(rule_file(setting, rule), schema=CUSTOMER_SCHEMA,
                         timezone=setting.zone_name)
    since, until = setting.now - length, setting.now
    try:
        expected = rules.changes(sorted(records, key=lambda r: r["id"]), since=since,
                                 until=until)
    except segdsl.SegdslError:
        expected = None
    connection = duckdb.connect()
    try:
        segdsl.sql.load_records(connection, records, DIFFERENTIAL_LAYOUT,
                                rules._program.options.timezone)
    except segdsl.DataError:
        return  # no table holds such a value
    with connection:
        try:
            found = sql_changes.changes(rules, connection, since, until,
                                        layout=DIFFERENTIAL_LAYOUT)
        except segdsl.SegdslError as error:
            assert expected is None, f"DuckDB raised {error!r}, Python gave {expected.rows()}"
            return
    assert expected is not None, f"Python raised, DuckDB gave {found.rows()}"
    same(found, expected)


def test_the_changes_verb_reads_a_duckdb_file_where_it_lies(capsys, tmp_path, monkeypatch):
    """``segdsl changes --data shop.duckdb`` lists what ``--data customers.jsonl`` lists."""
    from command_line import run

    rules_text = "segment undecided = visits(30d) >= 2 and not purchased(30d)\n"
    rules_file = tmp_path / "rules.seg"
    rules_file.write_text(rules_text, encoding="utf-8")
    lines = tmp_path / "customers.jsonl"
    lines.write_text("".join(json.dumps(c) + "\n" for c in [ANNE, BOB]), encoding="utf-8")
    with duckdb.connect(str(tmp_path / "shop.duckdb")) as connection:
        segdsl.sql.load_records(connection, [ANNE, BOB],
                                Layout.of_rules(segdsl.loads(rules_text)))
    called = []
    real = sql_changes.changes
    monkeypatch.setattr(sql_changes, "changes", lambda *a, **k: called.append(1) or real(*a, **k))
    outputs = []
    for data in (lines, tmp_path / "shop.duckdb"):
        status, out, err = run(capsys, "changes", str(rules_file), "--data", str(data),
                               "--since", "2026-06-01", "--until", "2026-09-01",
                               "--format", "csv", "--isolated")
        assert (status, err) == (0, "")
        outputs.append(out)
    assert called == [1]
    assert outputs[0] == outputs[1] == (
        "customer_id,segment,event,at\n1,undecided,entered,2026-07-03T09:30:00Z\n"
        "1,undecided,exited,2026-07-31T08:00:00Z\n")


def test_the_changes_verb_refuses_postgres(capsys, tmp_path):
    """``changes`` runs on DuckDB or Python: a postgresql:// URL is a usage error."""
    from command_line import run

    rules_file = tmp_path / "rules.seg"
    rules_file.write_text("segment recent = purchased(30d)\n", encoding="utf-8")
    status, _, err = run(capsys, "changes", str(rules_file), "--data", "postgresql://x/y",
                         "--since", "2026-06-01", "--until", "2026-09-01", "--isolated")
    assert status == 2
    assert "changes runs on the Python or the DuckDB engine, not postgres" in err


def large_frame_customers() -> list[dict]:
    """10,000 customers (a table that large goes through DuckDB), a few of them busy."""
    people = [{"id": i, "orders": [], "events": []} for i in range(10_000)]
    people[17] = {**ANNE, "id": 17}
    people[9_000] = {"id": 9_000, "orders": [{"at": "2026-06-20T00:00:00Z", "total": 3.0}],
                     "events": [{"type": "visit", "at": "2026-06-21T00:00:00Z"}]}
    return people


def test_a_large_dataframe_goes_through_duckdb_with_the_python_answer(monkeypatch):
    """A DataFrame of 10,000 customers takes the DuckDB route and gives the records' Changes."""
    pandas = pytest.importorskip("pandas")
    rules = segdsl.loads("segment undecided = visits(30d) >= 2 and not purchased(30d)\n"
                         "segment recent = purchased(1w)")
    people = large_frame_customers()
    answered = []
    real = sql_changes._changes
    monkeypatch.setattr(sql_changes, "_changes",
                        lambda *a: answered.append(1) or real(*a))
    found = rules.changes(pandas.DataFrame(people), since="2026-06-01", until="2026-09-01")
    assert answered == [1]
    same(found, rules.changes(people, since="2026-06-01", until="2026-09-01"))
    assert (17, "undecided", "entered", at("2026-07-03T09:30:00Z")) in found.rows()


def test_a_dataframe_duckdb_cannot_read_gets_the_python_answer(monkeypatch):
    """When DuckDB refuses a table in memory, the Python changes answers, without looping back."""
    pandas = pytest.importorskip("pandas")
    rules = segdsl.loads("segment recent = purchased(1w)")

    def refuse(*args, **kwargs):
        raise segdsl.UsageError("refused")

    monkeypatch.setattr(sql_changes, "_changes", refuse)
    people = large_frame_customers()
    found = rules.changes(pandas.DataFrame(people), since="2026-06-01", until="2026-09-01")
    same(found, rules.changes(people, since="2026-06-01", until="2026-09-01"))
