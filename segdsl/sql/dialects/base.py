"""What every dialect provides to the compiler."""

from __future__ import annotations

from sqlglot import exp

from segdsl.errors import CheckError


class Dialect:
    """A database's spellings of the operations rules need.

    Each method returns a ``sqlglot`` expression; a dialect that cannot express
    an operation exactly raises :class:`CheckError` naming it (see
    :meth:`refuse`).
    """

    #: the dialect's name, as sqlglot knows it
    name = "generic"

    def refuse(self, construct: str, why: str = "") -> CheckError:
        """The error for ``construct``, which this dialect cannot compute exactly."""
        return CheckError(f"{construct} is not supported by the {self.name} engine yet"
                          + (f": {why}" if why else ""))

    def function(self, name: str, *args: exp.Expr) -> exp.Expr:
        """A call of the database's own function ``name``."""
        return exp.Anonymous(this=name, expressions=list(args))

    def fail(self, message: str) -> exp.Expr:
        """An expression that stops the query with ``message`` when evaluated."""
        raise self.refuse("raising an error from a query")

    def now(self) -> exp.Expr:
        """The evaluation time, a parameter bound when the query runs."""
        raise self.refuse("now as a parameter")

    def struct_field(self, record: exp.Expr, name: str) -> exp.Expr:
        """Field ``name`` of a struct column (null when the struct is null)."""
        raise self.refuse("nested record fields")

    def regex_search(self, text: exp.Expr, pattern: str) -> exp.Expr:
        """Whether RE2 ``pattern`` matches somewhere in ``text``."""
        raise self.refuse("matches")

    def list_contains(self, items: exp.Expr, value: exp.Expr) -> exp.Expr:
        """Whether a list column holds ``value`` (false when not, null items or not)."""
        raise self.refuse("lists of values")

    def list_length(self, items: exp.Expr) -> exp.Expr:
        """How many items a list column holds, nulls included."""
        raise self.refuse("lists of values")

    def list_present(self, items: exp.Expr) -> exp.Expr:
        """How many items of a list column are not null."""
        raise self.refuse("lists of values")

    def epoch_us(self, instant: exp.Expr) -> exp.Expr:
        """An instant (or a naive timestamp, read in UTC) as microseconds since 1970."""
        raise self.refuse("time arithmetic")

    def microseconds(self, amount: exp.Expr) -> exp.Expr:
        """An interval of exactly ``amount`` microseconds."""
        raise self.refuse("time arithmetic")

    def months(self, amount: int) -> exp.Expr:
        """An interval of ``amount`` calendar months."""
        raise self.refuse("calendar steps")

    def wall_clock(self, instant: exp.Expr, zone: str) -> exp.Expr:
        """The naive wall-clock time of ``instant`` in ``zone``."""
        raise self.refuse("time zones")

    def instant(self, wall: exp.Expr, zone: str) -> exp.Expr:
        """The instant of wall-clock time ``wall`` in ``zone``, as python-dateutil reads it."""
        raise self.refuse("time zones")

    def wall_day(self, instant: exp.Expr, zone: str) -> exp.Expr:
        """The calendar day (a DATE) of ``instant`` in ``zone``."""
        raise self.refuse("time zones")

    def wall_months_later(self, wall: exp.Expr, months: int) -> exp.Expr:
        """The wall clock ``months`` calendar months after wall clock ``wall``
        (the day of the month kept, or the month's last)."""
        raise self.refuse("calendar steps")

    def months_later(self, day: exp.Expr, months: int) -> exp.Expr:
        """The DATE ``months`` calendar months after DATE ``day`` (the day of the
        month kept, or the month's last)."""
        raise self.refuse("calendar steps")

    def date_plus_days(self, day: exp.Expr, days: int) -> exp.Expr:
        """The DATE ``days`` days after DATE ``day``."""
        raise self.refuse("calendar steps")

    def day_difference(self, later: exp.Expr, earlier: exp.Expr) -> exp.Expr:
        """How many days DATE ``later`` is after DATE ``earlier`` (an integer)."""
        raise self.refuse("date arithmetic")

    def ordered_first(self, value: exp.Expr, order: list[exp.Ordered]) -> exp.Expr:
        """The aggregate: ``value`` of the first row in ``order`` (its value even when
        null; rows equal in ``order`` do not occur)."""
        raise self.refuse("first() and last()")

    def exact_units_sum(self, value: exp.Expr, scale: int) -> exp.Expr:
        """The aggregate: the exact integer sum of ``round(value * 10**scale)``
        (the product a double, halves away from zero; see :mod:`segdsl.sums`)."""
        raise self.refuse("sum() and avg()")

    def remainder(self, left: exp.Expr, right: exp.Expr) -> exp.Expr:
        """``left`` modulo ``right``, doubles, with the sign of ``left`` (C's fmod;
        ``right`` is never zero)."""
        raise self.refuse("'%'")

    def nan_as_null(self, value: exp.Expr) -> exp.Expr:
        """``value`` (a double), or null when it is NaN."""
        raise self.refuse("arithmetic")

    def positions(self, count: int, alias: str, column: str) -> exp.Expr:
        """A table ``alias`` of one column ``column``: the integers 1 to ``count - 1``."""
        raise self.refuse("ntile(), percentile() and rfm")


def case(condition: exp.Expr, then: exp.Expr,
         otherwise: exp.Expr | None = None) -> exp.Expr:
    """``CASE WHEN condition THEN then ELSE otherwise END``."""
    return exp.Case(ifs=[exp.If(this=condition, true=then)], default=otherwise)


# Operators (sqlglot counts AND and OR among functions, and parentheses among unary operators).
_COMPOUND = (exp.Binary, exp.Connector, exp.Unary, exp.Predicate, exp.Between, exp.In, exp.Is)


def wrap(operand: exp.Expr) -> exp.Expr:
    """``operand`` in parentheses when it is an operation: sqlglot prints a
    tree as built, so ``a - (b - c)`` needs them written in."""
    if isinstance(operand, exp.Paren) or not isinstance(operand, _COMPOUND):
        return operand
    return exp.Paren(this=operand)


def binary(kind: type[exp.Binary], left: exp.Expr, right: exp.Expr
           ) -> exp.Expr:
    """``left <kind> right``, each side parenthesised where needed."""
    made: exp.Expr = kind(this=wrap(left), expression=wrap(right))
    return made
