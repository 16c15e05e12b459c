"""What BigQuery and Snowflake spell alike: neither has ``FILTER (WHERE ...)`` on
aggregates, and neither documents how it reads a wall clock that a
daylight-saving change skips or repeats, so both read it from the zone's offsets,
as python-dateutil does."""

from __future__ import annotations

from sqlglot import exp

from segdsl.sql.dialects.base import Dialect, binary, case

_DAY_US = 86_400_000_000


class Warehouse(Dialect):
    """A dialect whose aggregates take their condition inside, and whose time zone
    conversions go through microseconds since 1970 (see :meth:`instant`)."""

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

    def wall_epoch_us(self, wall: exp.Expr) -> exp.Expr:
        """A naive wall clock, read in UTC, as microseconds since 1970."""
        raise self.refuse("time zones")

    def from_epoch_us(self, micros: exp.Expr) -> exp.Expr:
        """The instant ``micros`` microseconds after 1970-01-01 00:00 UTC."""
        raise self.refuse("time zones")

    def instant(self, wall: exp.Expr, zone: str) -> exp.Expr:
        """The instant of wall-clock time ``wall`` in ``zone``, read as python-dateutil
        reads it: with the offset in effect before a change when that offset
        still reaches ``wall`` (a repeated hour: its first occurrence), else
        with the offset after it (a skipped hour)."""
        wall_us = self.wall_epoch_us(wall)
        if zone == "UTC":
            return self.from_epoch_us(wall_us)
        day = exp.Literal.number(_DAY_US)
        before = self._offset_us(binary(exp.Sub, wall_us, day), zone)
        after = self._offset_us(binary(exp.Add, wall_us.copy(), day.copy()), zone)
        early = binary(exp.Sub, wall_us.copy(), before)
        holds = binary(exp.EQ, self._offset_us(early, zone), before.copy())
        chosen = case(holds, early.copy(), binary(exp.Sub, wall_us.copy(), after))
        return self.from_epoch_us(chosen)

    def _offset_us(self, instant_us: exp.Expr, zone: str) -> exp.Expr:
        """The zone's offset from UTC, in microseconds, at an instant given in microseconds."""
        moment = self.from_epoch_us(instant_us)
        return binary(exp.Sub, self.wall_epoch_us(self.wall_clock(moment, zone)),
                      instant_us.copy())
