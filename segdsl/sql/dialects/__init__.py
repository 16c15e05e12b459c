"""One small module per SQL dialect: what each database spells its own way.

The compiler builds dialect-neutral parts of the query with ``sqlglot.exp``
and asks the dialect for everything a database spells or behaves its own way
(regular expressions, lists, time zones, raising an error from a query). A
dialect module exposes one :class:`~segdsl.sql.dialects.base.Dialect`
instance named ``DIALECT``.

Ordered aggregates (``ordered_first``), the exact sum's units
(``exact_units_sum``), double modulo (``remainder``), NaN (``nan_as_null``),
calendar steps and days of dates (``date_plus_days``, ``months_later``,
``wall_months_later``, ``day_difference``, ``wall_day``) and the rankings'
quantile positions (``positions``) are Dialect methods. The compiler still
writes ``CAST(n AS VARCHAR) || 'e-9'`` (reading the exact sum back) and
``COUNT(*) FILTER (WHERE ...)`` the same way for every dialect (DuckDB and
Spark 3 have both; BigQuery has no FILTER).
PostgreSQL's ``~`` is not RE2: ``matches`` must be refused there for patterns
whose meaning differs, or translated.
"""

from __future__ import annotations

import importlib

from segdsl.errors import UsageError
from segdsl.sql.dialects.base import Dialect

#: The dialects the compiler writes, by name.
KNOWN = ("duckdb", "spark")


def dialect(name: str) -> Dialect:
    """The dialect called ``name``.

    Raises:
        UsageError: no such dialect.
    """
    if not isinstance(name, str) or name.lower() not in KNOWN:
        raise UsageError(f"unknown SQL dialect {name!r}; the dialects are {', '.join(KNOWN)}")
    module = importlib.import_module(f"segdsl.sql.dialects.{name.lower()}")
    return module.DIALECT
