"""Running a rule set's query on a DuckDB connection.

The query is compiled for the evaluation time (a literal, never the
database's clock), run once, and its wide table of memberships read back into
the same :class:`~segdsl.rules.Result` the Python engine returns: member ids
per segment, in the order of the customers' ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from segdsl.errors import DataError, UsageError
from segdsl.rules import Result, evaluation_time
from segdsl.sql.compiler import compile_rules
from segdsl.sql.layout import Layout


def evaluate(rules: Any, connection: Any, now: Any = None, *,
             segments: str | Iterable[str] | None = None, layout: Layout | None = None
             ) -> Result:
    """Every segment of ``rules`` (or the named ones) over the customers in
    ``connection``'s tables (a ``duckdb.DuckDBPyConnection``, or a
    ``pyspark.sql.SparkSession``: see :mod:`segdsl.sql.spark`).

    Args:
        rules: a :class:`~segdsl.rules.RuleSet`.
        connection: a DuckDB connection holding the layout's tables.
        now: the evaluation time (datetime, date or ISO text; default: now).
        segments: only this segment, or only these segments.
        layout: where the lists live (default: the normalized layout of the
            rules' schema).

    Raises:
        CheckError: a rule uses what the DuckDB engine does not compute yet.
        DataError: the data holds what the rules cannot read (a step leaving
            the years 1 to 9999, a customer without id or two with the same).
        UsageError: a table or column of the layout is missing.
    """
    from segdsl.sql import spark

    if spark.is_session(connection):
        return spark.evaluate(rules, connection, now, segments=segments, layout=layout)
    names = rules._names(segments)
    at = evaluation_time(now, rules)
    if layout is None:
        layout = Layout.from_schema(rules._program.options.schema)
    layout = layout_of(connection, layout)
    query = compile_rules(rules, names, dialect="duckdb", now=at, layout=layout)
    sql = query.sql(dialect="duckdb")
    return result_of(names, _run(connection, sql), at)


def result_of(names: list[str], rows: list[Any], at: Any) -> Result:
    """The Result of a query's rows: each customer's id, then one boolean per segment.

    Raises:
        DataError: a customer without id, or two with the same.
    """
    members: dict[str, list[Any]] = {name: [] for name in names}
    seen: set[Any] = set()
    for row in rows:
        identity = row[0]
        if identity is None or identity in seen:
            what = "without an id" if identity is None else f"{identity!r} twice"
            raise DataError(f"the customers table holds a customer {what}",
                            customer_id=identity)
        seen.add(identity)
        for name, member in zip(names, row[1:]):
            if member:
                members[name].append(identity)
    return Result(members, len(rows), at)


def layout_of(connection: Any, layout: Layout | None = None) -> Layout:
    """``layout`` (default: the normalized one of the default schema) knowing the
    column types of its tables in ``connection``, so that rules checked without
    a schema can be compiled for them (``to_sql(rules, layout=layout_of(db))``).

    Raises:
        UsageError: ``connection`` is not a DuckDB connection.
    """
    from segdsl.sql import spark

    if spark.is_session(connection):
        return spark.layout_of(connection, layout)
    _check_connection(connection)
    layout = layout if layout is not None else Layout.from_schema(None)
    return layout.with_column_types(_column_types(connection, layout))


def _column_types(connection: Any, layout: Layout) -> dict[tuple[str, str], str]:
    """``(table, column)`` to its type's name, for the layout's tables."""
    tables = [layout.customers, *(table.table for table in layout.lists.values())]
    marks = ", ".join("?" for _ in tables)
    rows = _run(connection, f"SELECT table_name, column_name, data_type FROM "
                            f"information_schema.columns WHERE table_name IN ({marks})", tables)
    return {(table, column): kind for table, column, kind in rows}


def _check_connection(connection: Any) -> None:
    try:
        import duckdb
    except ImportError:
        raise UsageError("the DuckDB engine needs duckdb: pip install 'segdsl[sql]'") from None
    if not isinstance(connection, duckdb.DuckDBPyConnection):
        raise UsageError(f"the DuckDB engine evaluates on a duckdb connection, not "
                         f"{type(connection).__name__}")


def _run(connection: Any, sql: str, parameters: list | None = None) -> list[tuple]:
    import duckdb

    try:
        return connection.execute(sql, parameters).fetchall()
    except duckdb.InvalidInputException as error:
        # error() inside the query: data the rules cannot read.
        raise DataError(_first_line(error)) from None
    except (duckdb.CatalogException, duckdb.BinderException) as error:
        raise UsageError(f"the tables do not have the layout the rules read: "
                         f"{_first_line(error)}") from None
    except duckdb.Error as error:
        raise DataError(f"the database could not compute the segments: "
                        f"{_first_line(error)}") from None


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
