"""One small module per SQL dialect: what each database spells its own way.

The compiler builds dialect-neutral parts of the query with ``sqlglot.exp``
and asks the dialect for everything a database spells or behaves its own way
(regular expressions, lists, time zones, raising an error from a query). A
dialect module exposes one :class:`~segdsl.sql.dialects.base.Dialect`
instance named ``DIALECT``.

Adding PostgreSQL or Spark: besides the methods of
:class:`~segdsl.sql.dialects.base.Dialect`, the compiler still writes a few
constructs the DuckDB way that a new dialect must take over (move each behind
a ``Dialect`` method as the dialect arrives): ``FIRST(x ORDER BY ...)``
ordered aggregates (``first``/``last``), ``HUGEINT`` and ``CAST(n AS
VARCHAR) || 'e-9'`` (the exact sum), ``x % y`` on doubles (PostgreSQL has no
double modulo), ``NULLIF(x, 'NaN')`` (NaN equals NaN in DuckDB and
PostgreSQL, not in every engine), ``date + integer`` and ``date + to_months(n)``
(calendar steps of dates), ``RANGE(1, k)`` (the rankings' quantile positions)
and ``COUNT(*) FILTER (WHERE ...)`` (Spark 3 has it; BigQuery does not); for the
language's latest additions: ``COUNT(DISTINCT x)`` (``count_distinct``), correlated
scalar subqueries inside ``FILTER`` (aggregations reading an enclosing element,
``events as e``), ``HUGEINT`` and ``//`` (durations divided as ``timedelta`` divides),
``LEAST``, ``trunc``, ``power``, ``sin``, ``cos``, ``asin`` and ``sqrt`` (which must be
the C library's, as Python's ``math`` is, for ``distance_km`` to give the same double).
PostgreSQL's ``~`` is not RE2: ``matches`` must be refused there for patterns
whose meaning differs, or translated.
"""

from __future__ import annotations

import importlib

from segdsl.errors import UsageError
from segdsl.sql.dialects.base import Dialect

#: The dialects the compiler writes, by name; PostgreSQL and Spark come next.
KNOWN = ("duckdb",)


def dialect(name: str) -> Dialect:
    """The dialect called ``name``.

    Raises:
        UsageError: no such dialect.
    """
    if not isinstance(name, str) or name.lower() not in KNOWN:
        raise UsageError(f"unknown SQL dialect {name!r}; the dialects are {', '.join(KNOWN)}")
    module = importlib.import_module(f"segdsl.sql.dialects.{name.lower()}")
    return module.DIALECT
