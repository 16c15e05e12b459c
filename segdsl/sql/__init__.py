"""The SQL engine: a rule file's segments computed by a database, in one query.

    >>> rules = segdsl.load("examples/summer_sale.seg")
    >>> print(rules.to_sql(dialect="duckdb"))          # the query, now as $now
    >>> import duckdb, segdsl.sql
    >>> connection = duckdb.connect("shop.duckdb")      # customers, orders, order_items, events
    >>> result = segdsl.sql.evaluate(rules, connection, now="2026-07-15")
    >>> result["sale_buyers"]                           # the same Result as rules.evaluate

The query is built by :mod:`segdsl.sql.compiler` from the checked rules (the
same tree the Python engine compiles), as a ``sqlglot`` expression tree,
over the tables :mod:`segdsl.sql.layout` says hold each list; the quirks of
each database live in :mod:`segdsl.sql.dialects`; :mod:`segdsl.sql.engine`
runs it on DuckDB, and :mod:`segdsl.sql.postgres` on PostgreSQL. Memberships are those of the Python engine for the same
data and ``now`` (``ntile``, ``percentile`` and ``rfm.*`` included, ranked over
the whole table); a construct not covered yet (functions registered from Python,
fields of unknown type, ...) is a
:class:`~segdsl.errors.CheckError` naming it and the dialect, raised before
any data is read. ``rules.evaluate(source)`` reaches the engine from files,
DataFrames, DuckDB connections and relations (:mod:`segdsl.sql.sources`, which
also writes nested records as the tables: :func:`write_tables`).
:mod:`segdsl.sql.records` writes Python records into the
tables (tests, benchmarks); :mod:`segdsl.sums` defines sums independently
of the elements' order.

Needs ``pip install 'segdsl[sql]'`` (sqlglot and duckdb), and for PostgreSQL
``pip install 'segdsl[postgres]'`` (psycopg).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from segdsl.sql.layout import Layout, ListTable

__all__ = ["Layout", "ListTable", "evaluate", "layout_of", "load_records", "to_sql",
           "write_tables"]


def to_sql(rules: Any, dialect: str = "duckdb", *, now: Any = None,
           segments: str | Iterable[str] | None = None, layout: Layout | None = None,
           pretty: bool = True) -> str:
    """The query computing the segments of ``rules``: one row per customer,
    ``customer_id`` and one boolean column per segment (true: a member).

    Args:
        rules: a :class:`~segdsl.rules.RuleSet`.
        dialect: ``"duckdb"``, ``"postgres"``, ``"spark"``, ``"bigquery"`` or
            ``"snowflake"`` (the last two generated only: run the text on the warehouse).
        now: the evaluation time written into the query; None leaves the
            parameter (a TIMESTAMPTZ: ``$now`` in DuckDB, psycopg's ``%(now)s``
            in PostgreSQL) to bind when it runs.
        segments: only this segment, or only these segments.
        layout: where the lists live (default: the normalized layout of the
            rules' schema).
        pretty: lay the query out on several lines.

    Raises:
        CheckError: a rule uses what the dialect does not compute yet.
    """
    from segdsl.rules import evaluation_time
    from segdsl.sql.compiler import compile_rules
    from segdsl.sql.dialects import dialect as find_dialect

    found = find_dialect(dialect)
    names = rules._names(segments)
    at: dt.datetime | None = None if now is None else evaluation_time(now, rules)
    query = compile_rules(rules, names, dialect=found.name, now=at, layout=layout)
    return write(query, found.name, pretty)


def write(query: Any, dialect: str, pretty: bool = True) -> str:
    """The text of a compiled query in ``dialect``.

    Raises:
        CheckError: sqlglot cannot write a part of it in that dialect (it would
            otherwise drop it with a warning, and the query would mean another thing).
    """
    from sqlglot.errors import ErrorLevel, UnsupportedError

    from segdsl.errors import CheckError

    try:
        text: str = query.sql(dialect=dialect, pretty=pretty,
                              unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as error:
        raise CheckError(f"the query cannot be written for the {dialect} engine: "
                         f"{error}") from None
    return text


def evaluate(rules: Any, connection: Any, now: Any = None, **options: Any):
    """Evaluate ``rules`` on a DuckDB connection, a psycopg connection to PostgreSQL or a
    ``postgresql://`` URL, or a SparkSession (see :func:`segdsl.sql.engine.evaluate`)."""
    from segdsl.sql.engine import evaluate as run

    return run(rules, connection, now, **options)


def layout_of(connection: Any, layout: Layout | None = None) -> Layout:
    """The layout knowing its tables' column types in a DuckDB or PostgreSQL connection (see
    :func:`segdsl.sql.engine.layout_of`)."""
    from segdsl.sql.engine import layout_of as described

    return described(connection, layout)


def load_records(connection: Any, records: Iterable[Any], layout: Layout,
                 zone: dt.tzinfo | None = None) -> int:
    """Write Python records into the layout's tables (see :mod:`segdsl.sql.records`)."""
    from segdsl.sql.records import load_records as load
    from segdsl.timeline import UTC

    return load(connection, records, layout, zone or UTC)


def write_tables(source: Any, directory: Any, **options: Any) -> list:
    """Write nested customer records (a JSON Lines or Parquet file, a DataFrame)
    as the normalized tables, one file per table (see
    :func:`segdsl.sql.sources.write_tables`)."""
    from segdsl.sql.sources import write_tables as write

    return write(source, directory, **options)
