"""The DuckDB engine on random syntax trees from tests/strategies.py.

The trees are not type-checked: most do not check and are dropped; those that
do (mostly literals of every kind, now, arithmetic, comparisons, date ranges,
lists) are evaluated by both engines over the hand-built customers of
test_sql_engine, written into tables. Members must be equal, both engines
must raise a DataError together, or the SQL compiler must refuse the rule
with the documented CheckError.
"""

from __future__ import annotations

import duckdb
from hypothesis import HealthCheck, Phase, given, settings
from test_sql_engine import CUSTOMERS, LAYOUT, NOW

import segdsl
import segdsl.sql
from segdsl.formatter import render
from tests.strategies import SCHEMA, expressions

CONNECTION = duckdb.connect()
segdsl.sql.load_records(CONNECTION, CUSTOMERS, LAYOUT)


def test_random_trees_that_check_give_the_python_engines_members():
    """Every random rule that checks gives the Python engine's members on DuckDB,
    or a CheckError naming the dialect."""
    seen = {"checked": 0, "compared": 0}

    @settings(max_examples=600, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    @given(expressions(8))
    def check(tree):
        try:
            rules = segdsl.loads(f"segment s = {render(tree)}\nsegment u = not s", schema=SCHEMA)
        except segdsl.SegdslError:
            return
        seen["checked"] += 1
        try:
            rules.to_sql()
        except segdsl.CheckError as error:
            assert "duckdb engine" in error.message, error.message
            return
        try:
            expected = rules.evaluate(CUSTOMERS, now=NOW).members
        except segdsl.DataError:
            expected = None
        try:
            found = segdsl.sql.evaluate(rules, CONNECTION, now=NOW, layout=LAYOUT).members
        except segdsl.DataError as error:
            assert expected is None, (render(tree), str(error), expected)
            return
        assert found == expected, (render(tree), found, expected)
        seen["compared"] += 1

    check()
    print(seen)
    assert seen["compared"] >= 20
