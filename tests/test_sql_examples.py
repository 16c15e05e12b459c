"""The example rule files on the example data: the DuckDB engine gives exactly the
Python engine's members for every segment, RFM groups included, in UTC and in Paris;
the query text reads back through sqlglot's DuckDB parser unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import sqlglot

import segdsl
import segdsl.sql
from segdsl.sql.layout import Layout

ROOT = Path(__file__).resolve().parents[1]
# recipes.seg uses the calendar functions, not compiled to SQL yet.
FILES = sorted(path for path in (ROOT / "examples").glob("*.seg") if path.name != "recipes.seg")
NOW = "2026-07-15T12:00:00Z"


@pytest.fixture(scope="module")
def data():
    """The example customers, as records and as DuckDB tables."""
    with open(ROOT / "examples" / "data" / "customers.jsonl", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    connection = duckdb.connect()
    segdsl.sql.load_records(connection, records, Layout.from_schema(None))
    return records, connection


@pytest.mark.parametrize("zone", [None, "Europe/Paris"])
@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_every_example_segment_has_the_python_engines_members(data, path, zone):
    """Every segment of the example files, on the 2,000 example customers."""
    records, connection = data
    rules = segdsl.load(path, timezone=zone)
    expected = rules.evaluate(records, now=NOW)
    found = segdsl.sql.evaluate(rules, connection, now=NOW)
    assert found.members == {name: sorted(ids) for name, ids in expected.members.items()}
    assert found.total == expected.total == len(records)
    assert any(found.members.values())


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_example_queries_read_back_unchanged(path):
    """The query of each example file parses with sqlglot's DuckDB dialect and prints back
    the same text: what is generated is well-formed DuckDB SQL."""
    rules = segdsl.load(path, timezone="Europe/Paris")
    for now in (None, NOW):
        text = rules.to_sql(now=now, pretty=False)
        assert sqlglot.parse_one(text, read="duckdb").sql("duckdb") == text
