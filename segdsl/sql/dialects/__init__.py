"""One small module per SQL dialect: what each database spells its own way.

The compiler builds dialect-neutral parts of the query with ``sqlglot.exp``
and asks the dialect for everything a database spells or behaves its own way
(regular expressions, lists, time zones, raising an error from a query). A
dialect module exposes one :class:`~segdsl.sql.dialects.base.Dialect`
instance named ``DIALECT``.
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
