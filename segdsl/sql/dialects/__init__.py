"""One small module per SQL dialect: what each database spells its own way.

The compiler builds dialect-neutral parts of the query with ``sqlglot.exp``
and asks the dialect for everything a database spells or behaves its own way
(regular expressions, lists, time zones, raising an error from a query). A
dialect module exposes one :class:`~segdsl.sql.dialects.base.Dialect`
instance named ``DIALECT``.

Adding a dialect: implement every method of
:class:`~segdsl.sql.dialects.base.Dialect` the database can compute exactly
(the base class refuses each with a ``CheckError`` naming the construct and
the dialect). Among them are the constructs the compiler once wrote the DuckDB
way: ordered aggregates (``first_value``: ``FIRST(x ORDER BY ...)``), the exact
sum's integers (``sum_units``: ``HUGEINT`` in DuckDB, ``NUMERIC`` in
PostgreSQL), ``%`` on doubles (``remainder``), NaN as null (``not_nan``),
``date + integer`` (``add_days``), the rankings' quantile positions
(``positions``: ``RANGE(1, k)``), ``COUNT(*) FILTER (WHERE ...)``
(``filtered``), text ordered by code points (``ordered_text``), ``contains``
/ ``starts_with`` / ``ends_with`` (``text_test``) and ``fail`` with the type
it stands in for. ``matches`` is RE2: a database whose regular expressions
are not (PostgreSQL's ``~``) translates what means the same and refuses the
rest (:mod:`segdsl.sql.dialects.posix`).
"""

from __future__ import annotations

import importlib

from segdsl.errors import UsageError
from segdsl.sql.dialects.base import Dialect

#: The dialects the compiler writes, by name.
KNOWN = ("duckdb", "postgres")


def dialect(name: str) -> Dialect:
    """The dialect called ``name``.

    Raises:
        UsageError: no such dialect.
    """
    if not isinstance(name, str) or name.lower() not in KNOWN:
        raise UsageError(f"unknown SQL dialect {name!r}; the dialects are {', '.join(KNOWN)}")
    module = importlib.import_module(f"segdsl.sql.dialects.{name.lower()}")
    return module.DIALECT
