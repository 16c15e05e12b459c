"""What BigQuery and Snowflake spell alike: neither has ``FILTER (WHERE ...)`` on
aggregates. Neither documents how it reads a wall clock that a daylight-saving
change skips or repeats, so both read it from the zone's offsets, as
python-dateutil does (:meth:`Dialect.instant`)."""

from __future__ import annotations

from sqlglot import exp

from segdsl.sql.dialects.base import Dialect


class Warehouse(Dialect):
    """A dialect whose aggregates take their condition inside."""

    def function(self, name: str, *args: exp.Expr) -> exp.Expr:
        """A call of the database's function ``name``, spelled in capitals as the
        database's own parser prints it back."""
        return super().function(name.upper(), *args)

    def filtered_aggregate(self, aggregate: exp.Expr, condition: exp.Expr) -> exp.Expr:
        """``COUNT_IF(condition)`` for ``COUNT(*)``, else the aggregate of
        ``IF(condition, x, NULL)`` (a null condition counts as false, as in ``FILTER``)."""
        argument = aggregate.this
        if isinstance(aggregate, exp.Count) and isinstance(argument, exp.Star):
            return exp.CountIf(this=condition)
        if not isinstance(aggregate, (exp.Count, exp.Sum, exp.Min, exp.Max)):
            raise self.refuse(f"the aggregate {aggregate.key.upper()} with a condition")
        chosen = exp.If(this=condition, true=argument, false=exp.null())
        return aggregate.__class__(this=chosen)
