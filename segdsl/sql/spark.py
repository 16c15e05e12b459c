"""Running a rule set's query on a SparkSession.

    >>> spark = SparkSession.builder.getOrCreate()   # tables or temp views: customers,
    >>> rules = segdsl.load("examples/summer_sale.seg")   # orders, order_items, events
    >>> result = segdsl.sql.evaluate(rules, spark, now="2026-07-15")

The tables (or temporary views) have the normalized layout of
:mod:`segdsl.sql.layout`, named by the layout (``Layout.from_schema(tables=...)``
for other names; a catalog's ``db.table`` names work). The query is compiled
for the Spark SQL dialect (:mod:`segdsl.sql.dialects.spark`) with ``now`` a
literal, run with ``spark.sql`` and collected: one row per customer. While it
runs, the session's ``spark.sql.session.timeZone`` is ``UTC`` and ANSI mode is
off (both restored afterwards); the answer depends on neither.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlglot import exp

from segdsl.errors import DataError, UsageError
from segdsl.rules import Result, evaluation_time
from segdsl.sql.compiler import compile_rules
from segdsl.sql.layout import Layout

#: The settings a query runs under.
SETTINGS = {"spark.sql.session.timeZone": "UTC", "spark.sql.ansi.enabled": "false"}

# Spark's names of column types, as the layout knows them (segdsl.sql.layout).
_TYPE_NAMES = {
    "double": "DOUBLE", "string": "VARCHAR", "boolean": "BOOLEAN", "date": "DATE",
    "timestamp": "TIMESTAMP WITH TIME ZONE", "array<string>": "VARCHAR[]",
    "array<double>": "DOUBLE[]", "array<boolean>": "BOOLEAN[]", "tinyint": "TINYINT",
    "smallint": "SMALLINT", "int": "INTEGER", "bigint": "BIGINT", "float": "FLOAT",
}
_RAISED = re.compile(r"\[USER_RAISED_EXCEPTION\]\s*(.*?)(\s+SQLSTATE: \w+)?$", re.DOTALL)


def is_session(connection: Any) -> bool:
    """Whether ``connection`` is a SparkSession (pyspark not imported otherwise)."""
    return any(kind.__name__ == "SparkSession" and kind.__module__.startswith("pyspark.")
               for kind in type(connection).__mro__)


def evaluate(rules: Any, session: Any, now: Any = None, *,
             segments: str | Iterable[str] | None = None, layout: Layout | None = None
             ) -> Result:
    """Every segment of ``rules`` (or the named ones) over the customers in the
    tables of ``session`` (see :func:`segdsl.sql.engine.evaluate`).

    Raises:
        CheckError: a rule uses what the Spark dialect cannot compute exactly.
        DataError: the data holds what the rules cannot read.
        UsageError: a table or column of the layout is missing.
    """
    from segdsl.sql.engine import result_of

    names = rules._names(segments)
    at = evaluation_time(now, rules)
    if layout is None:
        layout = Layout.of_rules(rules)
    layout = layout_of(session, layout)
    query = compile_rules(rules, names, dialect="spark", now=at, layout=layout)
    return result_of(names, run(session, query), at)


def layout_of(session: Any, layout: Layout | None = None) -> Layout:
    """``layout`` knowing the column types of its tables in ``session``."""
    layout = layout if layout is not None else Layout.from_schema(None)
    described: dict[tuple[str, str], str] = {}
    for name in [layout.customers, *(table.table for table in layout.lists.values())]:
        try:
            fields = session.table(name).schema.fields
        except Exception:  # noqa: BLE001, S112 - a missing table: the query says which
            continue
        for field in fields:
            kind = _TYPE_NAMES.get(field.dataType.simpleString())
            if kind is not None:
                described[(name, field.name)] = kind
    return layout.with_column_types(described)


def run(session: Any, query: exp.Select) -> list[Any]:
    """The rows of ``query``, run under :data:`SETTINGS`.

    Spark computes a CTE again wherever it is read (the rankings read each
    customer's measures a dozen times): each CTE read more than once is computed
    once, into a temporary view checkpointed on the spot, before the query reads it.

    Raises:
        DataError: the query stopped on data (``raise_error``) or failed.
        UsageError: a table or column is missing.
    """
    saved = {key: session.conf.get(key, None) for key in SETTINGS}
    for key, value in SETTINGS.items():
        session.conf.set(key, value)
    steps, final = _steps(query)
    try:
        for view, sql in steps:
            session.sql(sql).localCheckpoint(eager=True).createOrReplaceTempView(view)
        return session.sql(final).collect()
    except Exception as error:  # noqa: BLE001 - pyspark's errors, sorted below
        raise _error(error) from None
    finally:
        for view, _sql in steps:
            session.catalog.dropTempView(view)
        for key, value in saved.items():
            if value is None:
                session.conf.unset(key)
            else:
                session.conf.set(key, value)


def _steps(query: exp.Select) -> tuple[list[tuple[str, str]], str]:
    """``query``'s CTEs read more than once as ``(view, SQL)`` to compute in turn,
    and the final query reading them; the views are named uniquely (the query's
    aliases are kept)."""
    query = query.copy()
    with_ = query.args.get("with_") or query.args.get("with")
    if with_ is None:
        return [], query.sql(dialect="spark")
    reads = Counter(table.name for table in query.find_all(exp.Table))
    kept: set[str] = set()
    needed: set[str] = set()  # read by a CTE computed on its own (the CTEs come in order)
    for cte in reversed(with_.expressions):
        if reads[cte.alias] > 1 or cte.alias in needed:
            kept.add(cte.alias)
            needed |= {table.name for table in cte.this.find_all(exp.Table)}
    ctes = [cte for cte in with_.expressions if cte.alias in kept]
    for cte in ctes:
        cte.pop()
    if not with_.expressions:
        with_.pop()
    token = uuid.uuid4().hex[:12]
    names = {cte.alias: f"segdsl_{token}_{cte.alias}" for cte in ctes}

    def renamed(tree: exp.Expr) -> str:
        for table in list(tree.find_all(exp.Table)):
            if table.name in names and not table.args.get("db"):
                if not table.alias:
                    table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
                table.set("this", exp.to_identifier(names[table.name]))
        return tree.sql(dialect="spark")

    return [(names[cte.alias], renamed(cte.this.copy())) for cte in ctes], renamed(query)


def _error(error: Exception) -> Exception:
    text = str(error).strip()
    raised = _RAISED.search(text.splitlines()[0] if text else "")
    if raised is not None:
        return DataError(raised.group(1))
    first = text.splitlines()[0] if text else type(error).__name__
    if type(error).__name__ == "AnalysisException":
        return UsageError(f"the tables do not have the layout the rules read: {first}")
    return DataError(f"the database could not compute the segments: {first}")


def create_table(session: Any, name: str, table: Any) -> None:
    """The temporary view ``name`` over ``table`` (a pyarrow Table)."""
    try:
        frame = session.createDataFrame(table)
    except TypeError:  # pyspark 3.5 takes no Arrow table: its rows, with its schema
        from pyspark.sql.pandas.types import from_arrow_schema

        frame = session.createDataFrame(table.to_pylist(), schema=from_arrow_schema(
            table.schema))
    frame.createOrReplaceTempView(name)
