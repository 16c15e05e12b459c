"""The DuckDB engine's rankings: the Python engine's tiles on random populations, and
the query shape that keeps them cheap (break points from one sorted list per measure,
the RFM group named once, the windows' hull on each scan)."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
from hypothesis import example, given, settings
from hypothesis import strategies as st

import segdsl
import segdsl.sql
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


def test_duckdb_ranks_from_sorted_lists_and_names_the_group_once():
    """DuckDB's query for the example files sorts each RFM measure into one list (no
    numbered rows joined back) and writes the RFM group table once, though three
    segments read it; PostgreSQL keeps the numbered rows."""
    lifecycle = _query("lifecycle.seg")
    assert "ROW_NUMBER" not in lifecycle and "ROW_NUMBER" not in _query("summer_sale.seg")
    assert lifecycle.count("LIST_SORT(") == 3
    assert lifecycle.count("WHEN 555") == 1
    assert "ROW_NUMBER" in _query("lifecycle.seg", "postgres")


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
    assert "LEAST(" in text and "'2026-06-24 00:00:00+00:00'" in text
    assert "'2026-07-22 00:00:00+00:00'" not in text  # the sale's own end: its FILTER's
    assert "= 'visit'" not in text
