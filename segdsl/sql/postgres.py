"""Running the SQL engine's queries on PostgreSQL (14 or later), through psycopg 3.

    >>> import psycopg, segdsl, segdsl.sql
    >>> rules = segdsl.load("examples/summer_sale.seg")
    >>> with psycopg.connect("postgresql://shop@localhost/shop") as connection:
    ...     result = segdsl.sql.evaluate(rules, connection, now="2026-07-15")

``now`` is bound as the query's parameter ``%(now)s``; the query runs in a
transaction of its own (a savepoint inside the caller's). Nothing in it
depends on the session's ``TimeZone``: instants are written with their
offset, wall clocks come from ``AT TIME ZONE``, and only whole hours are
added to instants. :func:`write_tables` writes the tables of
:func:`segdsl.sql.load_records` (tests, benchmarks, the README's examples).

Needs ``pip install 'segdsl[postgres]'`` (psycopg).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from operator import itemgetter
from typing import Any, Self

from sqlglot import exp

from segdsl import types as t
from segdsl.errors import DataError, UsageError
from segdsl.sql.dialects.postgres import FAILURE
from segdsl.sql.layout import Layout

# PostgreSQL's type names (regtype) as the layout knows them (DuckDB's names).
_TYPE_NAMES = {
    "double precision": "DOUBLE", "text": "VARCHAR", "character varying": "VARCHAR",
    "boolean": "BOOLEAN", "date": "DATE",
    "timestamp with time zone": "TIMESTAMP WITH TIME ZONE",
    "text[]": "VARCHAR[]", "character varying[]": "VARCHAR[]",
    "double precision[]": "DOUBLE[]", "boolean[]": "BOOLEAN[]",
    "integer": "INTEGER", "bigint": "BIGINT", "smallint": "SMALLINT", "real": "REAL",
}
_COLUMN_SQL = {"number": "DOUBLE PRECISION", "string": "TEXT", "bool": "BOOLEAN",
               "datetime": "TIMESTAMPTZ", "date": "DATE"}
_FAILED = re.compile(re.escape(FAILURE) + r'(.*?)"?$')
_OLDEST = 140000  # EXTRACT(EPOCH ...) is exact NUMERIC from 14 on


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise UsageError("the PostgreSQL engine needs psycopg: pip install "
                         "'segdsl[postgres]'") from None
    return psycopg


class PostgresRunner:
    """Runs queries on a psycopg connection, or on one it opens from a URL
    (closed again when done).

    Raises:
        UsageError: the server is older than PostgreSQL 14 or its encoding is
            not UTF-8 (text would be counted in bytes), or the URL reaches no
            server.
    """

    dialect = "postgres"
    binds_now = True

    def __init__(self, connection: Any) -> None:
        psycopg = _psycopg()
        self._owned = isinstance(connection, str)
        if self._owned:
            try:
                connection = psycopg.connect(connection, autocommit=True)
            except psycopg.Error as error:
                raise UsageError(f"cannot connect to PostgreSQL: {_first_line(error)}") \
                    from None
        self.connection = connection
        self._psycopg = psycopg

    def __enter__(self) -> Self:
        try:
            self._check_server()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owned:
            self.connection.close()

    def _check_server(self) -> None:
        version = self.connection.info.server_version
        if version < _OLDEST:
            raise UsageError(f"the PostgreSQL engine needs PostgreSQL 14 or later, not "
                             f"{version // 10000}")
        encoding = self.connection.info.parameter_status("server_encoding")
        if encoding not in ("UTF8", b"UTF8"):
            raise UsageError(f"the PostgreSQL engine needs a UTF8 database, not {encoding!r}")

    def column_types(self, layout: Layout) -> dict[tuple[str, str], str]:
        """``(table, column)`` to its type's name (as DuckDB names it), for the layout's
        tables as the search path finds them."""
        from segdsl.sql.engine import tables_of

        rows = self._run("SELECT t.name, a.attname, a.atttypid::regtype::text "
                         "FROM unnest(%(tables)s::text[]) AS t(name) JOIN pg_attribute a "
                         "ON a.attrelid = to_regclass(quote_ident(t.name)) "
                         "WHERE a.attnum > 0 AND NOT a.attisdropped",
                         {"tables": tables_of(layout)})
        return {(table, column): _TYPE_NAMES.get(kind, kind.upper())
                for table, column, kind in rows}

    def memberships(self, query: exp.Expr, at: dt.datetime) -> list[tuple]:
        """The query's rows (``now`` bound to ``at``), in the order of the ids."""
        rows = self._run(sql_text(query), {"now": at})
        rows.sort(key=itemgetter(0))  # as Python orders ids, whatever the collation
        return rows

    def _run(self, text: str, parameters: Mapping[str, Any]) -> list[tuple]:
        errors = self._psycopg.errors
        try:
            # A transaction of its own (a savepoint in the caller's): an error leaves the
            # caller's connection as it was.
            with self.connection.transaction(), self.connection.cursor() as cursor:
                cursor.execute(text, parameters)
                return list(cursor.fetchall())
        except (errors.UndefinedTable, errors.UndefinedColumn) as error:
            raise UsageError(f"the tables do not have the layout the rules read: "
                             f"{_first_line(error)}") from None
        except self._psycopg.Error as error:
            message = _first_line(error)
            failed = _FAILED.search(message)
            if failed is not None:  # fail() inside the query: data the rules cannot read
                raise DataError(failed.group(1)) from None
            raise DataError(f"the database could not compute the segments: {message}") \
                from None


def sql_text(query: exp.Expr) -> str:
    """The query as psycopg runs it: its parameter ``%(now)s``, every other ``%`` doubled
    (``x % y`` written ``MOD(x, y)``)."""
    escaped = query.copy()
    for modulo in list(escaped.find_all(exp.Mod)):  # of whole numbers: MOD, no '%' to escape
        modulo.replace(exp.Anonymous(this="MOD", expressions=[modulo.this, modulo.expression]))
    for node in escaped.find_all(exp.Literal, exp.Identifier):
        if isinstance(node, exp.Identifier) or node.is_string:
            node.set("this", node.this.replace("%", "%%"))
    return escaped.sql(dialect="postgres")


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# ------------------------------------------------------------------ writing tables


def write_tables(connection: Any, tables: list[tuple[str, dict[str, t.Type],
                                                   dict[str, list]]]) -> None:
    """Create (replacing) each table ``(name, column types, column values)`` and copy
    its rows in, in one transaction. A column of type ``any`` holds ids: whole
    numbers (``BIGINT``) or text.

    A record of plain values (a struct column) gets a composite type named
    ``<table>_<column>``.

    Raises:
        UsageError: ids of mixed kinds.
    """
    psycopg = _psycopg()
    from psycopg import sql

    with connection.transaction(), connection.cursor() as cursor:
        for name, types, columns in tables:
            cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
            declared = []
            for column, values in columns.items():
                type_ = types[column]
                if type_.is_record:  # a composite type of its own, named after the column
                    composite = f"{name}_{column}"
                    fields = sql.SQL(", ").join(sql.SQL("{} {}").format(
                        sql.Identifier(field), sql.SQL(_sql_type(sub, [])))
                        for field, sub in (type_.fields or {}).items())
                    cursor.execute(sql.SQL("DROP TYPE IF EXISTS {}").format(
                        sql.Identifier(composite)))
                    cursor.execute(sql.SQL("CREATE TYPE {} AS ({})").format(
                        sql.Identifier(composite), fields))
                    declared.append(sql.SQL("{} {}").format(sql.Identifier(column),
                                                            sql.Identifier(composite)))
                    columns[column] = [_composite(value, type_) for value in values]
                else:
                    declared.append(sql.SQL("{} {}").format(sql.Identifier(column),
                                                            sql.SQL(_sql_type(type_, values))))
            cursor.execute(sql.SQL("CREATE TABLE {} ({})").format(
                sql.Identifier(name), sql.SQL(", ").join(declared)))
            names = sql.SQL(", ").join(sql.Identifier(column) for column in columns)
            try:
                with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
                        sql.Identifier(name), names)) as copy:
                    for row in zip(*columns.values()):
                        copy.write_row(row)
            except psycopg.Error as error:
                raise DataError(f"PostgreSQL could not store the records in {name}: "
                                f"{_first_line(error)}") from None


def _composite(value: dict | None, type_: t.Type) -> str | None:
    """A record of plain values as the text of a composite value: ``("Paris",)``."""
    if value is None:
        return None
    parts = []
    for field in type_.fields or {}:
        item = value.get(field)
        if item is None:
            parts.append("")
            continue
        text = ("t" if item else "f") if isinstance(item, bool) else (
            repr(item) if isinstance(item, float) else
            item.isoformat() if isinstance(item, dt.date) else str(item))
        parts.append('"' + text.replace("\\", "\\\\").replace('"', '""') + '"')
    return "(" + ",".join(parts) + ")"


def _sql_type(type_: t.Type, values: list) -> str:
    if type_.is_list:
        return _sql_type(type_.element or t.ANY, []) + "[]"
    if type_.name == "any":
        kinds = {type(v) for v in values if v is not None}
        if kinds <= {int}:
            return "BIGINT"
        if kinds <= {str}:
            return "TEXT"
        raise UsageError("ids must be all whole numbers or all text")
    return _COLUMN_SQL[type_.name]


_ID_TYPES = {"VARCHAR": "text", "BIGINT": "bigint", "DOUBLE": "double precision"}


def write_memberships(connection: Any, table: str, rows: list[tuple[str, Any]], id_type: str,
                      now: dt.datetime) -> None:
    """Append ``(segment, customer_id, now)`` for each of ``rows`` to ``table`` (made
    when missing, its ids of ``id_type``) of a psycopg connection or a URL, in one
    transaction.

    Raises:
        UsageError: the server cannot be reached, or the table has other columns.
    """
    psycopg = _psycopg()
    from psycopg import sql

    owned = isinstance(connection, str)
    try:
        if owned:
            connection = psycopg.connect(connection, autocommit=True)
        target = sql.Identifier(*table.split("."))
        with connection.transaction(), connection.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (segment text, customer_id "
                                   "{}, now timestamptz)").format(
                target, sql.SQL(_ID_TYPES[id_type])))
            with cursor.copy(sql.SQL("COPY {} (segment, customer_id, now) FROM STDIN").format(
                    target)) as copy:
                for name, identity in rows:
                    copy.write_row((name, identity, now))
    except psycopg.Error as error:
        raise UsageError(f"cannot write the memberships into {table}: "
                         f"{_first_line(error)}") from None
    finally:
        if owned and not isinstance(connection, str):
            connection.close()
