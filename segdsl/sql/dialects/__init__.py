"""One small module per SQL dialect: what each database spells its own way.

The compiler builds dialect-neutral parts of the query with ``sqlglot.exp``
and asks the dialect for everything a database spells or behaves its own way
(regular expressions, lists, time zones, raising an error from a query). A
dialect module exposes one :class:`~segdsl.sql.dialects.base.Dialect`
instance named ``DIALECT``.

Adding a dialect: implement the methods of
:class:`~segdsl.sql.dialects.base.Dialect` that raise by default. Those the
compiler used to write the DuckDB way are methods too: ``ordered_first``
(``FIRST(x ORDER BY ...)``), ``exact_units`` / ``from_exact_units`` (the exact
sum: ``HUGEINT``, read back by dividing by ``10**9`` below ``2**53`` units and as
``CAST(n AS VARCHAR) || 'e-9'`` beyond), ``modulo`` (``%`` on
doubles), ``not_nan`` (``NULLIF(x, 'NaN')``: NaN equals NaN in DuckDB, not in
every engine), ``date_plus_days``, ``days_apart`` and ``months_later``
(calendar steps of dates and wall clocks), ``plus_microseconds``,
``positions`` (``RANGE(1, k)``, the rankings' quantile positions),
``filtered_aggregate`` (``COUNT(*) FILTER (WHERE ...)``; BigQuery and Snowflake
have none), ``is_true`` (Snowflake has no ``IS TRUE``), ``text_test``
(``contains``/``starts_with``/``ends_with``), ``beyond_ascii`` and
``fail_when`` (stopping the query for the rows where a condition holds),
``wall_day`` (the day of an instant in a zone), ``ordered_text`` (text ordered
by code points, not by a collation), ``case_unsafe`` (the characters whose case
the database changes otherwise than Python), and the calendar functions' and
lists' ``date_part``, ``month_days``, ``make_date``, ``is_infinite``,
``list_transform``, ``list_distinct_count`` and ``list_items``. Still written
the same way for every dialect: ``COUNT(DISTINCT x)``, correlated scalar
subqueries inside ``FILTER`` (``events as e``), ``HUGEINT`` and ``//``
(durations divided as ``timedelta`` divides), ``LEAST``, ``trunc``, ``power``,
``sin``, ``cos``, ``asin`` and ``sqrt`` (the C library's, as Python's ``math``
is, for ``distance_km`` to give the same double).
``matches`` is RE2: a database whose regular expressions are not
(PostgreSQL's ``~``, Snowflake's) translates what means the same and refuses
the rest (:mod:`segdsl.sql.dialects.posix`, :mod:`.snowflake`).
BigQuery and Snowflake share :mod:`.warehouse` (aggregates without
``FILTER``, wall clocks read from the zone's offsets).
"""

from __future__ import annotations

import importlib

from segdsl.errors import UsageError
from segdsl.sql.dialects.base import Dialect

#: The dialects the compiler writes, by name (BigQuery and Snowflake: generated only).
KNOWN = ("duckdb", "postgres", "spark", "bigquery", "snowflake")


def dialect(name: str) -> Dialect:
    """The dialect called ``name``.

    Raises:
        UsageError: no such dialect.
    """
    if not isinstance(name, str) or name.lower() not in KNOWN:
        raise UsageError(f"unknown SQL dialect {name!r}; the dialects are {', '.join(KNOWN)}")
    module = importlib.import_module(f"segdsl.sql.dialects.{name.lower()}")
    return module.DIALECT
