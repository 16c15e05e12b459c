"""The DuckDB engine's rankings: the Python engine's tiles on random populations, and
the query shape that keeps them cheap (break points from one sorted list per measure,
the RFM group named once, the windows' hull on each scan)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import duckdb
from hypothesis import example, given, settings
from hypothesis import strategies as st

import segdsl
import segdsl.sql
from segdsl.population import GROUP_OF_CODE
from segdsl.sql.layout import Layout

NOW = "2026-07-15T10:30:00Z"
SCHEMA = segdsl.Schema({"id": "number", "age": "number"})
LAYOUT = Layout.from_schema(SCHEMA)
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# few distinct values, so that ties are common; nulls and infinities among them
_AGES = st.lists(st.one_of(st.none(), st.sampled_from([0.0, -0.0, 1.5, 2.0, 7.25, 1e300,
                                                        math.inf, -math.inf, -3.0]),
                           st.floats(allow_nan=False, allow_infinity=False, width=32)),
                 max_size=25)


def _rules() -> segdsl.Rules:
    lines = [f"segment t{k}_{i} = ntile(age, {k}) == {i}" for k in (2, 3, 5) for i in
             range(1, k + 1)]
    lines += ["segment none = ntile(age, 4) is null", "segment top = percentile(age) >= 50"]
    return segdsl.loads("\n".join(lines), schema=SCHEMA)


_RULES = _rules()


@settings(max_examples=60, deadline=None)
@given(_AGES)
@example([0.0, 1.5, -math.inf])  # 3 tiles: break points [nan, 0.5]; bisect is no count
def test_tiles_are_the_python_engines_on_random_populations(ages):
    """ntile and percentile over random ages (ties, nulls, signed zeros, infinities, huge
    values; -infinity, whose break points can be NaN) give the Python engine's
    members exactly."""
    connection = duckdb.connect()
    connection.execute("CREATE TABLE customers (id BIGINT, age DOUBLE)")
    if ages:
        connection.executemany("INSERT INTO customers VALUES (?, ?)",
                               [(i, age) for i, age in enumerate(ages)])
    records = [{"id": i, "age": age} for i, age in enumerate(ages)]
    found = segdsl.sql.evaluate(_RULES, connection, now=NOW, layout=LAYOUT)
    assert found.members == _RULES.evaluate(records, now=NOW).members


def _query(name: str, dialect: str = "duckdb") -> str:
    return segdsl.load(EXAMPLES / name).to_sql(dialect=dialect, now=NOW)


def test_duckdb_ranks_without_numbered_rows_and_names_the_group_once():
    """DuckDB's query for the example files finds the break points of RFM recency and
    frequency (whole numbers) with quantile_cont and sorts the sums of money into one
    list (no numbered rows joined back), and names the RFM groups once, by one list
    of the 125 names, though three segments read it; PostgreSQL keeps the numbered
    rows and a CASE over the codes."""
    lifecycle = " ".join(_query("lifecycle.seg").split())
    assert "ROW_NUMBER" not in lifecycle and "ROW_NUMBER" not in _query("summer_sale.seg")
    for recency_or_frequency in ("pm.v0", "pm.v1"):
        assert lifecycle.count(f"QUANTILE_CONT( {recency_or_frequency}, [ CAST(0.2 AS DOUBLE),"
                               f" CAST(0.4 AS DOUBLE), CAST(0.6 AS DOUBLE), CAST(0.8 AS DOUBLE)")\
            == 1
    assert lifecycle.count("LIST_SORT(") == 1 and "LIST_SORT(ARRAY_AGG(pm.v2)" in lifecycle
    for i in range(1, 5):  # each compared with a margin its last bit cannot cross
        assert f"LIST_EXTRACT(pq.c0, {i}) + CAST(0.1 AS DOUBLE) AS b0_{i}" in lifecycle
    assert lifecycle.count("[ 'lost', 'lost', 'cant_lose_them', 'cant_lose_them',") == 1
    assert "WHEN 555" not in lifecycle
    postgres = _query("lifecycle.seg", "postgres")
    assert "ROW_NUMBER" in postgres and postgres.count("WHEN 555") == 1


def test_scans_of_several_windows_are_bounded_by_their_hull():
    """The events scan of summer_sale.seg (three types; 30 days back, and the sale from
    2026-06-24) keeps the rows of those types from the earliest start to the latest end
    of its windows, as plain conjuncts the database tests on its row groups, and
    leaves each aggregate's own window to its FILTER."""
    query = _query("summer_sale.seg")
    scan = query[query.index("FROM events"):]
    where = scan[scan.index("WHERE") + len("WHERE"):scan.index("GROUP BY")].split()
    assert where[:5] == ["s1.type", "IN", "('recommendation_click',", "'visit',",
                         "'cart_abandoned')"]
    text = " ".join(where)
    # the earlier of the starts, 30 days back and the sale's first day, chosen here
    assert "AND s1.\"at\" >= CAST('2026-06-15 10:30:00+00:00' AS TIMESTAMPTZ)" in text
    assert "'2026-06-24 00:00:00+00:00'" not in text and "LEAST(" not in text
    assert "'2026-07-22 00:00:00+00:00'" not in text  # the sale's own end: its FILTER's
    assert "= 'visit'" not in text


def test_window_starts_are_constants_and_the_whole_history_keeps_every_row():
    """With ``now`` written into the query, each window starts at a constant the Python
    engine's own window computes (365 days and 12 months back from now, for the shoes,
    the discounts and RFM frequency and monetary value); the orders
    scan of summer_sale.seg, whose last(orders.at) reads every order up to now, keeps
    just those rows instead of the disjunction of every window."""
    query = " ".join(_query("summer_sale.seg").split())
    assert "TO_MICROSECONDS" not in query and "TO_MONTHS" not in query
    assert "EPOCH_US(CAST(" not in query  # days since the last order: now's epoch, written
    assert query.count("s1.\"at\" > CAST('2025-07-15 10:30:00+00:00' AS TIMESTAMPTZ)") == 4
    scan = query[query.index("FROM orders"):]
    assert scan[:scan.index("GROUP BY")].split("WHERE")[1].strip() == \
        "( s1.\"at\" <= CAST('2026-07-15 10:30:00+00:00' AS TIMESTAMPTZ) )"


_RFM_RULES = segdsl.loads("\n".join(
    [f"segment {part}{i} = rfm.{part} == {i}" for part in ("recency", "frequency", "monetary")
     for i in range(1, 6)]
    + [f"segment {group} = rfm.group == \"{group}\"" for group in sorted(set(GROUP_OF_CODE.values()))]))

# Orders a few whole days back (recency ties), a few per customer (frequency ties), and
# totals with nine decimals (sums of money a nano-unit apart).
_ORDERS = st.lists(st.tuples(st.sampled_from([0, 1, 2, 3, 30, 31, 100, 364]),
                             st.sampled_from([0.0, 1.0, 19.99, 19.990000001, 1e6, 1e6 + 1e-9])),
                   max_size=6)


@settings(max_examples=80, deadline=None)
@given(st.lists(_ORDERS, min_size=1, max_size=30))
@example([[(1, 1.0)]])  # one measure: every position is whole
@example([[(1, 1.0)], [(2, 1.0), (2, 1.0)]])  # two: positions 0.2 to 0.8
def test_rfm_tiles_from_quantile_cont_are_the_python_engines(histories):
    """RFM recency and frequency, whose break points DuckDB finds with quantile_cont, and
    monetary, found from the sorted sums, give the Python engine's tiles and groups on
    populations of one customer and more, with ties everywhere."""
    now = dt.datetime(2026, 7, 15, 10, 30, tzinfo=dt.UTC)
    records = [{"id": i, "orders": [{"at": now - dt.timedelta(days=days, hours=1), "total": total}
                                    for days, total in orders]}
               for i, orders in enumerate(histories)]
    layout = Layout.of_rules(_RFM_RULES)
    connection = duckdb.connect()
    segdsl.sql.load_records(connection, records, layout)
    found = segdsl.sql.evaluate(_RFM_RULES, connection, now=now)
    assert found.members == _RFM_RULES.evaluate(records, now=now).members


def test_quintile_positions_are_whole_or_a_fifth_away_from_whole():
    """What the margin of whole-number break points rests on: the fraction of a
    quintile's position (n - 1) * (i / 5), in doubles as both engines compute it, is 0
    exactly when the position is whole and between 0.19 and 0.81 otherwise."""
    for measures in range(1, 200_001):
        for i in range(1, 5):
            position = (measures - 1) * (i / 5)
            fraction = position - math.floor(position)
            if (measures - 1) * i % 5 == 0:
                assert fraction == 0.0, (measures, i)
            else:
                assert 0.19 <= fraction <= 0.81, (measures, i)
