"""Running a rule set's query on a database: DuckDB, or PostgreSQL.

The query is compiled for the evaluation time (a literal or a bound
parameter, never the database's clock), run once, and its wide table of
memberships read back into the same :class:`~segdsl.rules.Result` the Python
engine returns: member ids per segment, in the order of the customers' ids.
What differs between databases (the connection, reading column types,
binding ``now``, turning errors into segdsl's) is a small *runner*: DuckDB's
here, PostgreSQL's in :mod:`segdsl.sql.postgres`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any, Self

from sqlglot import exp

from segdsl.errors import DataError, UsageError
from segdsl.rules import Result, evaluation_time
from segdsl.sql import chunks
from segdsl.sql.compiler import compile_rules
from segdsl.sql.layout import Layout


def evaluate(rules: Any, connection: Any, now: Any = None, *,
             segments: str | Iterable[str] | None = None, layout: Layout | None = None
             ) -> Result:
    """Every segment of ``rules`` (or the named ones) over the customers in
    ``connection``'s tables (a DuckDB connection, a psycopg connection to PostgreSQL or
    a ``postgresql://`` URL, or a ``pyspark.sql.SparkSession``: see :mod:`segdsl.sql.spark`).

    Args:
        rules: a :class:`~segdsl.rules.RuleSet`.
        connection: a DuckDB connection, a psycopg (3) connection to PostgreSQL
            or a ``postgresql://`` URL, holding the layout's tables.
        now: the evaluation time (datetime, date or ISO text; default: now).
        segments: only this segment, or only these segments.
        layout: where the lists live (default: the normalized layout of the
            rules' schema).

    Raises:
        CheckError: a rule uses what the database's engine does not compute yet.
        DataError: the data holds what the rules cannot read (a step leaving
            the years 1 to 9999, a customer without id or two with the same).
        UsageError: a table or column of the layout is missing, or the
            connection is of no database the engine knows.
    """
    from segdsl.sql import spark

    if spark.is_session(connection):
        return spark.evaluate(rules, connection, now, segments=segments, layout=layout)
    names = rules._names(segments)
    at = evaluation_time(now, rules)
    if layout is None:
        layout = Layout.of_rules(rules)
    with runner_for(connection) as runner:
        described = runner.column_types(layout)
        refuse_wall_clocks(layout, described, rules._program.options.timezone)
        layout = layout.with_column_types(described)
        def compiled(**options: bool) -> Any:
            return compile_rules(rules, names, dialect=runner.dialect,
                                 now=None if runner.binds_now else at, layout=layout, **options)

        query = compiled()
        try:
            if not isinstance(runner, DuckDBRunner):
                return result_of(names, runner.memberships(query, at), at)
            found = _in_ranges(runner.connection, compiled, layout, described, names)
            if found is None:
                # the tree is read again only to explain a refusal: no copy first
                text = query.sql(dialect="duckdb", copy=False)
                found = _columns(runner.connection, text, names)
                if found is None:
                    return result_of(names, _run(runner.connection, text), at)
        except UsageError as error:
            raise _explained(error, query, layout, described) from None
    return Result(found[0], found[1], at)


def _explained(error: UsageError, query: Any, layout: Layout,
               described: dict[tuple[str, str], str]) -> UsageError:
    """A refusal of the query said in the rules' terms: the first table or column it
    reads that the database lacks, or holds as text where the rules read another type
    (else ``error`` itself: the database's words)."""
    from segdsl.sql.layout import declared_columns

    try:
        read = _columns_read(query)
    except Exception:  # noqa: BLE001 - the database's own message is still right
        return error
    tables = {table for table, _ in described}
    if layout.customers not in tables:
        return UsageError(f"no {layout.customers} table, which holds the customers")
    for table, column in read:
        if table not in tables:
            return UsageError(f"no {table} table, which the rules read ({table}.{column})")
        if (table, column) not in described:
            held = ", ".join(sorted(name for owner, name in described if owner == table))
            return UsageError(f"{table} has no column {column}, which the rules read (its "
                              f"columns are {held})")
    declared = declared_columns(layout)
    for key in read:
        wanted, held = declared.get(key), described[key]
        stored = _STORED_AS.get(wanted.name) if wanted is not None else None
        if stored is not None and held.upper() in _TEXT_TYPES:
            return UsageError(f"{key[0]}.{key[1]} is {held}, not a {wanted}: store it as "
                              f"{stored}")
    return error


def _columns_read(query: Any) -> list[tuple[str, str]]:
    """``(table, column)`` of every column of a table the query reads, in order met."""
    from sqlglot import exp
    from sqlglot.optimizer.scope import traverse_scope

    read: dict[tuple[str, str], None] = {}
    for scope in traverse_scope(query):
        for column in scope.columns:
            source = scope.sources.get(column.table)
            if isinstance(source, exp.Table):
                read[(source.name, column.name)] = None
    return list(read)


_TEXT_TYPES = frozenset(("VARCHAR", "TEXT", "CHARACTER VARYING", "CHARACTER"))
_STORED_AS = {"number": "a number (DOUBLE, an integer)", "datetime": "TIMESTAMPTZ",
              "date": "DATE", "bool": "BOOLEAN"}


def _in_ranges(connection: Any, compiled: Any, layout: Layout, described: dict,
               names: list[str]) -> tuple[dict[str, list[Any]], int] | None:
    """The members of a large table, a range of ids at a time (see
    :mod:`segdsl.sql.chunks`), or None where a single query must do.

    The query is compiled with the rankings' scans apart: gathering each
    range's measures then scans only what the measures read."""
    ranges = chunks.id_ranges(connection, layout, described)
    if ranges is None:
        return None
    query = compiled(own_ranking_scans=True)
    if not chunks.Plan.shaped(query):
        return None
    plan = chunks.Plan(chunks.reading_views(query, layout))
    members: dict[str, list[Any]] = {name: [] for name in names}
    total = 0
    with contextlib.closing(chunks.run(plan, layout, ranges, lambda sql: _run(connection, sql),
                                       lambda sql: _columns(connection, sql, names))) as read:
        for found in read:
            if found is None:  # a repeated id, or ids numpy does not hold: the single query
                return None
            for name in names:
                members[name] += found[0][name]
            total += found[1]
    return members, total


# Column types holding a wall clock without its zone (DuckDB's, then PostgreSQL's).
_WALL_CLOCKS = frozenset(("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS",
                          "TIMESTAMP WITHOUT TIME ZONE"))


def refuse_wall_clocks(layout: Layout, described: dict[tuple[str, str], str],
                        zone: Any) -> None:
    """Refuses (UsageError) a datetime field held as a wall clock without zone when the
    rules' zone is not UTC: the Python engine reads such a value in the rules' zone,
    the database as UTC (outside UTC, the two instants differ)."""
    from segdsl.sql.layout import declared_columns
    from segdsl.timeline import UTC

    if zone is None or zone is UTC or str(zone) == "UTC":
        return
    for (table, column), declared in declared_columns(layout).items():
        held = described.get((table, column), "")
        if declared.name == "datetime" and held.upper() in _WALL_CLOCKS:
            raise UsageError(f"{table}.{column} is {held}, a wall clock without zone, which "
                             f"the rules read in {zone}: store the instants (TIMESTAMPTZ), or "
                             f"evaluate with the timezone UTC")


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


def _columns(connection: Any, sql: str, names: list[str]
             ) -> tuple[dict[str, list[Any]], int] | None:
    """The members and the number of customers, read column by column (numpy),
    or None where the row by row reading must do it: numpy missing, ids other
    than whole numbers or text, or a null or repeated id (whose error names it).

    A million customers' rows cost seconds of Python as tuples; their
    columns, a boolean mask per segment, a fraction of it."""
    try:
        import numpy as np
    except ImportError:
        return None
    found = _run_numpy(connection, sql)
    if list(found) != ["customer_id", *names]:  # a segment named customer_id
        return None
    ids = found.pop("customer_id")
    if isinstance(ids, np.ma.MaskedArray):
        if np.ma.is_masked(ids):
            return None
        ids = ids.filled()
    if ids.dtype.kind in "iu":
        # the query orders by id: strictly ascending ids are distinct, checked in
        # one pass (np.unique sorts them again, most of a second for a million)
        ascending = bool((ids[1:] > ids[:-1]).all())
        if not ascending and len(np.unique(ids)) != len(ids):
            return None
    elif ids.dtype.kind == "O" and all(type(i) is str for i in ids.tolist()):
        if len(set(ids.tolist())) != len(ids):
            return None
    else:
        return None
    masks = [np.ma.filled(found[name], False) for name in names]
    return {name: ids[mask].tolist() for name, mask in zip(names, masks)}, len(ids)


def _run_numpy(connection: Any, sql: str) -> dict[str, Any]:
    import duckdb

    try:
        return connection.execute(sql).fetchnumpy()
    except duckdb.Error:
        return _run(connection, sql)  # type: ignore[return-value]  # raises as _run does


def layout_of(connection: Any, layout: Layout | None = None) -> Layout:
    """``layout`` (default: the normalized one of the default schema) knowing the
    column types of its tables in ``connection``, so that rules checked without
    a schema can be compiled for them (``to_sql(rules, layout=layout_of(db))``).

    Raises:
        UsageError: ``connection`` is no DuckDB or PostgreSQL connection.
    """
    from segdsl.sql import spark

    if spark.is_session(connection):
        return spark.layout_of(connection, layout)
    layout = layout if layout is not None else Layout.from_schema(None)
    with runner_for(connection) as runner:
        return layout.with_column_types(runner.column_types(layout))


def runner_for(connection: Any) -> Any:
    """The runner of the database ``connection`` reaches (a context manager).

    Raises:
        UsageError: a connection of no database the engine knows.
    """
    if _is_postgres(connection):
        from segdsl.sql.postgres import PostgresRunner

        return PostgresRunner(connection)
    _check_connection(connection)
    return DuckDBRunner(connection)


def _is_postgres(connection: Any) -> bool:
    if isinstance(connection, str):
        return connection.startswith(("postgresql://", "postgres://"))
    return type(connection).__module__.split(".")[0] == "psycopg"


def tables_of(layout: Layout) -> list[str]:
    """The names of the layout's tables, customers first."""
    return [layout.customers, *(table.table for table in layout.lists.values())]


class DuckDBRunner:
    """Runs queries on a DuckDB connection (``now`` is written into the query)."""

    dialect = "duckdb"
    binds_now = False

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def column_types(self, layout: Layout) -> dict[tuple[str, str], str]:
        """``(table, column)`` to its type's name, for the layout's tables."""
        import duckdb

        described: dict[tuple[str, str], str] = {}
        for table in tables_of(layout):
            # the result's description, without reading a row (half the time of
            # duckdb_columns(), which describes every table of the database)
            try:
                empty = self.connection.execute(
                    f"SELECT * FROM {exp.to_table(table).sql('duckdb')} LIMIT 0")
            except duckdb.Error:
                continue  # the query names what is missing
            described.update(((table, column), str(kind))
                             for column, kind, *_ in empty.description)
        return described


def _check_connection(connection: Any) -> None:
    try:
        import duckdb
    except ImportError:
        raise UsageError("the DuckDB engine needs duckdb: pip install 'segdsl[sql]'") from None
    if not isinstance(connection, duckdb.DuckDBPyConnection):
        raise UsageError(f"the SQL engine evaluates on a duckdb connection or a PostgreSQL "
                         f"(psycopg) connection or URL, not {type(connection).__name__}")


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
