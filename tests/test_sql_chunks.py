"""Large tables on DuckDB, a range of customer ids at a time (segdsl.sql.chunks):
the members are those of the single query and of the Python engine, rankings of
the whole population included, whatever the ranges; where ranges cannot be used
(ids other than whole numbers, a null or repeated id) the single query runs and
gives its answer or its error; nothing the ranges create is left behind."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp

import segdsl
import segdsl.sql
from segdsl.population import break_points
from segdsl.sql import chunks
from segdsl.sql.compiler import compile_rules
from segdsl.sql.layout import Layout
from tests import test_sql_differential as differential

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-07-15T12:00:00Z"


@pytest.fixture
def ranges(monkeypatch):
    """Ranges of about ``size`` customers from two customers on; returns the ranges
    of each evaluation, as they are made."""
    made: list[list[tuple[int, int]]] = []
    original = chunks.id_ranges

    def spied(*args):
        found = original(*args)
        if found is not None:
            made.append(found)
        return found

    monkeypatch.setattr(chunks, "SINGLE_QUERY_UP_TO", 1)
    monkeypatch.setattr(chunks, "CHUNK_CUSTOMERS", 300)
    monkeypatch.setattr(chunks, "id_ranges", spied)
    return made


def _leftovers(connection) -> list:
    return connection.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_name LIKE 'segdsl%'").fetchall()


@pytest.fixture(scope="module")
def examples():
    with open(ROOT / "examples" / "data" / "customers.jsonl", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    connection = duckdb.connect()
    segdsl.sql.load_records(connection, records, Layout.from_schema(None))
    return records, connection


@pytest.mark.parametrize("name", ["summer_sale.seg", "lifecycle.seg"])
def test_example_files_in_ranges_give_the_python_engines_members(examples, ranges, name):
    """RFM groups, windows, periods and nested items, 2,000 customers in 7 ranges."""
    records, connection = examples
    rules = segdsl.load(ROOT / "examples" / name)
    expected = rules.evaluate(records, now=NOW)
    found = segdsl.sql.evaluate(rules, connection, now=NOW)
    assert len(ranges) == 1 and len(ranges[0]) == 7
    assert found.members == {segment: sorted(ids) for segment, ids in expected.members.items()}
    assert found.total == len(records)
    assert _leftovers(connection) == []


@pytest.fixture
def selections(monkeypatch):
    """Each evaluation's selected break points (None where the measures were sorted),
    with the break points the Python engine finds by sorting the same measures."""
    made: list[tuple[dict | None, dict]] = []
    original = chunks.selected_break_points

    def spied(tiled, execute):
        found = original(tiled, execute)
        sorted_points = {}
        for j, tiles in tiled.items():
            values = [row[0] for row in execute(f"SELECT v{j} FROM segdsl_chunk_measures")]
            points = break_points(values, tiles) or [None] * (tiles - 1)
            sorted_points.update({f"b{j}_{i}": point for i, point in enumerate(points, 1)})
        made.append((found, sorted_points))
        return found

    monkeypatch.setattr(chunks, "selected_break_points", spied)
    return made


@pytest.mark.parametrize("name", ["summer_sale.seg", "lifecycle.seg"])
def test_rfm_break_points_are_selected_not_sorted(examples, ranges, selections, name):
    """The twelve RFM break points found by selection, proved in place: those of
    the sorted measures."""
    _, connection = examples
    rules = segdsl.load(ROOT / "examples" / name)
    segdsl.sql.evaluate(rules, connection, now=NOW)
    [(found, expected)] = selections
    assert found is not None and len(found) == 12
    assert found == expected


def test_a_value_not_proved_in_place_leaves_the_break_points_to_the_sort(
        examples, ranges, selections, monkeypatch):
    """Asking for the value one place further: the counts refuse it for the
    monetary measure (whose values differ), so every measure is sorted, with the
    Python engine's members."""
    monkeypatch.setattr(chunks, "_fraction", lambda place, size: (place + 1.5) / size)
    records, connection = examples
    rules = segdsl.load(ROOT / "examples" / "summer_sale.seg")
    found = segdsl.sql.evaluate(rules, connection, now=NOW)
    [(selected, _)] = selections
    assert selected is None
    expected = rules.evaluate(records, now=NOW)
    assert found.members == {segment: sorted(ids) for segment, ids in expected.members.items()}


def test_break_points_of_a_measure_without_values_are_null(ranges, selections):
    """No customer has a measure: no break point and no tile, so ``low`` is empty and
    ``none`` holds the customers with an order (4 has none), as in the Python engine."""
    records = _customers([1, 2, 3, 4, 5])
    connection = duckdb.connect()
    segdsl.sql.load_records(connection, records, Layout.from_schema(None))
    rules = segdsl.loads("segment low = ntile(max(orders.total, where = total > 1000), 4) == 1\n"
                         "segment none = ntile(max(orders.total, where = total > 1000), 4) == 1 "
                         "or orders(365d) >= 1\n")
    found = segdsl.sql.evaluate(rules, connection, now=NOW)
    [(selected, _)] = selections
    assert selected == {"b0_1": None, "b0_2": None, "b0_3": None}
    assert found.members == {"low": [], "none": [1, 2, 3, 5]}
    assert found.members == rules.evaluate(records, now=NOW).members


def _tables_read(sql: str) -> set[str]:
    query = sqlglot.parse_one(sql, read="duckdb")
    named = {cte.alias for cte in query.find_all(exp.CTE)}
    return {table.name for table in query.find_all(exp.Table)} - named


def test_a_ranges_measures_scan_only_what_the_rankings_read():
    """summer_sale's RFM measures read the orders; its segments read the orders
    joined to their items, in one scan of the orders. Compiled for ranges, the
    measures have a scan of their own: gathering them reads no item, and each
    range's members read no ranking's scan."""
    rules = segdsl.load(ROOT / "examples" / "summer_sale.seg")
    layout = Layout.of_rules(rules)
    single = chunks.Plan(chunks.reading_views(compile_rules(rules), layout))
    apart = chunks.Plan(chunks.reading_views(compile_rules(rules, own_ranking_scans=True),
                                             layout))
    assert _tables_read(single.measures) == {
        "segdsl_chunk_customers", "segdsl_chunk_orders", "segdsl_chunk_order_items"}
    assert _tables_read(apart.measures) == {"segdsl_chunk_customers", "segdsl_chunk_orders"}
    assert _tables_read(apart.members) == {
        "segdsl_chunk_customers", "segdsl_chunk_orders", "segdsl_chunk_order_items",
        "segdsl_chunk_events", "segdsl_chunk_range_tiles"}
    assert apart.members.count("segdsl_chunk_orders") == 1


def test_ranges_give_views_only_to_the_lists_the_query_reads(examples, ranges, monkeypatch):
    """lifecycle.seg reads no order item: its ranges define no view of the items,
    and run no query for the bounds of their orders' keys."""
    records, connection = examples
    statements: list[str] = []
    original = chunks._define_view

    def spied(execute, views, table, condition):
        statements.append(table)
        original(execute, views, table, condition)

    monkeypatch.setattr(chunks, "_define_view", spied)
    rules = segdsl.load(ROOT / "examples" / "lifecycle.seg")
    found = segdsl.sql.evaluate(rules, connection, now=NOW)
    expected = rules.evaluate(records, now=NOW)
    assert found.members == {segment: sorted(ids) for segment, ids in expected.members.items()}
    assert sorted(set(statements)) == ["customers", "events", "orders"]
    assert len(statements) == 3 * 2 * 7  # three views, for the measures then the members


def _customers(ids: list[int]) -> list[dict]:
    return [{"id": identity, "orders": [
        {"id": identity * 10 + k, "at": f"2026-0{1 + k}-10T00:00:00Z", "total": identity % 7 + k,
         "items": [{"sku": "a", "category": "shoes" if identity % 3 else "bags",
                    "price": 10.0, "discounted": bool(k % 2)}]}
        for k in range(identity % 4)],
        "events": [{"type": "visit", "at": "2026-07-10T00:00:00Z"}] * (identity % 3)}
        for identity in ids]


def test_rankings_are_of_the_whole_population_across_ranges_with_gaps(ranges, monkeypatch):
    """ntile, percentile and RFM over ids with wide gaps (ranges of unequal numbers
    of customers): each customer is ranked among all, not among its range."""
    monkeypatch.setattr(chunks, "CHUNK_CUSTOMERS", 2)
    records = _customers([3, 4, 5, 900, 901, 5_000, 5_001, 5_002, 70_000, 70_001])
    connection = duckdb.connect()
    segdsl.sql.load_records(connection, records, Layout.from_schema(None))
    rules = segdsl.loads(
        'segment top = ntile(orders(365d), 3) == 3\n'
        'segment high = percentile(sum(orders.total)) >= 60\n'
        'segment shoes = orders(365d, category = "shoes") >= 1 '
        'and rfm.monetary >= 3\n')
    found = segdsl.sql.evaluate(rules, connection, now=NOW)
    expected = rules.evaluate(records, now=NOW)
    assert ranges and len(ranges[0]) > 1
    assert found.members == expected.members
    assert found.members["top"] == [3, 5_002]  # 3 and 2 orders; the others 0 or 1
    assert _leftovers(connection) == []


def test_text_ids_are_evaluated_in_one_query(ranges):
    """Ids that are not whole numbers: no ranges, the single query's members."""
    records = [{"id": f"c{i}", "orders": [], "events": []} for i in range(5)]
    connection = duckdb.connect()
    segdsl.sql.load_records(connection, records, Layout.from_schema(None))
    found = segdsl.sql.evaluate(segdsl.loads("segment none = orders(30d) == 0"), connection,
                                now=NOW)
    assert ranges == []
    assert found["none"] == [f"c{i}" for i in range(5)]


def test_a_null_id_is_the_single_querys_error(ranges):
    """A customer without id stops the evaluation as it does in one query."""
    connection = duckdb.connect()
    connection.execute("CREATE TABLE customers AS SELECT * FROM (VALUES (1), (2), (NULL), (4)) "
                       "t(id)")
    connection.execute("CREATE TABLE orders (id BIGINT, customer_id BIGINT, \"at\" TIMESTAMPTZ, "
                       "total DOUBLE)")
    connection.execute("CREATE TABLE events (customer_id BIGINT, type VARCHAR, "
                       "\"at\" TIMESTAMPTZ)")
    connection.execute("CREATE TABLE order_items (order_id BIGINT, sku VARCHAR, "
                       "category VARCHAR, price DOUBLE, discounted BOOLEAN)")
    with pytest.raises(segdsl.DataError, match="the customers table holds a customer "
                                               "without an id"):
        segdsl.sql.evaluate(segdsl.loads("segment none = orders(30d) == 0"), connection,
                            now=NOW)
    assert ranges == []


def test_an_error_in_a_range_leaves_nothing_behind(ranges, monkeypatch):
    """Data the rules cannot read stops the evaluation with the single query's
    DataError, and the ranges' views and tables are dropped."""
    monkeypatch.setattr(chunks, "CHUNK_CUSTOMERS", 3)
    records = _customers(list(range(1, 10)))
    records[6]["orders"][0]["at"] = "0001-01-02T00:00:00Z"
    connection = duckdb.connect()
    segdsl.sql.load_records(connection, records, Layout.from_schema(None))
    rules = segdsl.loads("segment old = first_order_at - 1000d < now\n"
                         "segment top = ntile(sum(orders.total), 2) == 2")
    with pytest.raises(segdsl.DataError) as ranged:
        segdsl.sql.evaluate(rules, connection, now=NOW)
    assert len(ranges[0]) == 3 and _leftovers(connection) == []
    monkeypatch.setattr(chunks, "SINGLE_QUERY_UP_TO", 100)
    with pytest.raises(segdsl.DataError) as single:
        segdsl.sql.evaluate(rules, connection, now=NOW)
    assert str(ranged.value) == str(single.value)
    assert "outside the years 1 to 9999" in str(single.value)


@pytest.mark.parametrize("features, examples", [
    (frozenset({"population"}), 120), (frozenset({"nested"}), 120), (None, 120)],
    ids=["rankings", "nested", "windows"])
def test_random_rules_in_ranges_give_the_python_engines_members(monkeypatch, features,
                                                                examples):
    """The differential cases (random rules and customers), every table cut into
    ranges of two ids: the Python engine's members."""
    monkeypatch.setattr(chunks, "SINGLE_QUERY_UP_TO", 0)
    monkeypatch.setattr(chunks, "CHUNK_CUSTOMERS", 2)
    tally = differential.run(features, examples, f"sql_chunks_{features}")
    assert tally.compared >= 0.8 * (tally.compared + tally.uncovered + tally.bad_data)


def test_segments_built_on_others_and_on_rankings_in_ranges(examples, ranges):
    """Segments reading other segments (computed in layers) and rankings, over
    ranges, and only some of the segments asked for."""
    records, connection = examples
    rules = segdsl.loads(
        'segment loyal = rfm.group in ["champions", "loyal"]\n'
        'segment loyal_recent = loyal and orders(90d) >= 1\n'
        'segment lapsing = not loyal_recent and percentile(orders(365d)) > 50\n'
        'segment heavy = ntile(sum(orders.total), 4) == 4 and not lapsing\n')
    expected = rules.evaluate(records, now=NOW)
    found = segdsl.sql.evaluate(rules, connection, now=NOW)
    assert found.members == {name: sorted(ids) for name, ids in expected.members.items()}
    assert all(found.members.values())
    some = segdsl.sql.evaluate(rules, connection, now=NOW, segments=["heavy", "loyal"])
    assert some.members == {"heavy": found["heavy"], "loyal": found["loyal"]}
    assert len(ranges) == 2 and all(len(made) == 7 for made in ranges)
