"""The example rule files on the example data: the DuckDB engine gives exactly the
Python engine's members for every segment, RFM groups included, in UTC and in Paris;
the query text reads back through sqlglot's DuckDB parser unchanged. The recipes
(calendar functions, correlated conditions, distinct counts, distances) are read with
their schema, on the example data given coordinates and on the hand-built customers of
tests/test_recipes.py, whose members are known."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import sqlglot

import segdsl
import segdsl.sql
from segdsl.sql.layout import Layout
from tests import test_recipes

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "examples").glob("*.seg"))
NOW = "2026-07-15T12:00:00Z"
# The recipes read birth dates as dates, and coordinates, which the example data lacks.
SCHEMAS = {"recipes.seg": test_recipes.SCHEMA}


@pytest.fixture(scope="module")
def data():
    """The example customers, as records and as DuckDB tables."""
    with open(ROOT / "examples" / "data" / "customers.jsonl", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    for record in records:  # around Paris, some near the store of near_store
        record["lat"] = 48.2 + (record["id"] % 41) * 0.03
        record["lng"] = 1.6 + (record["id"] % 29) * 0.05
    connection = duckdb.connect()
    segdsl.sql.load_records(connection, records, Layout.from_schema(None))
    typed = duckdb.connect()
    segdsl.sql.load_records(typed, records, Layout.from_schema(test_recipes.SCHEMA))
    return records, {None: connection, "recipes.seg": typed}


@pytest.mark.parametrize("zone", [None, "Europe/Paris"])
@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_every_example_segment_has_the_python_engines_members(data, path, zone):
    """Every segment of the example files, on the 2,000 example customers."""
    records, connections = data
    schema = SCHEMAS.get(path.name)
    rules = segdsl.load(path, timezone=zone, schema=schema)
    expected = rules.evaluate(records, now=NOW)
    connection = connections["recipes.seg" if schema is not None else None]
    found = segdsl.sql.evaluate(rules, connection, now=NOW,
                                layout=Layout.from_schema(schema) if schema else None)
    assert found.members == {name: sorted(ids) for name, ids in expected.members.items()}
    assert found.total == expected.total == len(records)
    assert any(found.members.values())


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_example_queries_read_back_unchanged(path):
    """The query of each example file parses with sqlglot's DuckDB dialect and prints back
    the same text: what is generated is well-formed DuckDB SQL."""
    rules = segdsl.load(path, timezone="Europe/Paris", schema=SCHEMAS.get(path.name))
    for now in (None, NOW):
        text = rules.to_sql(now=now, pretty=False)
        assert sqlglot.parse_one(text, read="duckdb").sql("duckdb") == text


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/New_York"])
@pytest.mark.parametrize("schema", [test_recipes.SCHEMA, None], ids=["schema", "no schema"])
def test_every_recipe_has_the_python_engines_members_on_the_hand_built_customers(zone, schema):
    """Every recipe on the 46 customers built at its edges (birthdays on 29 February, month
    ends, carts abandoned just before or after an order, distances at the radius): the
    DuckDB engine gives the Python engine's members, which in UTC are the hand-worked ones.
    Without a schema the customers' fields take their columns' types (the recipes' schema
    writes the tables)."""
    rules = segdsl.load(test_recipes.RECIPES, schema=schema, timezone=zone)
    connection = duckdb.connect()
    layout = Layout.from_schema(test_recipes.SCHEMA, order_by={"events": "position"})
    segdsl.sql.load_records(connection, test_recipes.CUSTOMERS, layout,
                            rules._program.options.timezone)
    expected = rules.evaluate(test_recipes.CUSTOMERS, now=test_recipes.NOW)
    try:
        found = segdsl.sql.evaluate(rules, connection, now=test_recipes.NOW, layout=layout)
    except segdsl.CheckError as error:
        assert schema is None, error
        pytest.skip(f"without a schema: {error.message}")
    assert found.members == {name: sorted(ids) for name, ids in expected.members.items()}
    if zone == "UTC":
        assert {name: test_recipes._names(ids) for name, ids in found.members.items()} == \
            test_recipes.EXPECTED
