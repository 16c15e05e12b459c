"""What every dialect provides to the compiler."""

from __future__ import annotations

from collections.abc import Sequence

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
    #: whether the query's CTEs are written ``AS MATERIALIZED`` (computed once: a
    #: database that inlines a CTE used once would recompute the rankings' break
    #: points for every customer)
    materialized = False

    def refuse(self, construct: str, why: str = "") -> CheckError:
        """The error for ``construct``, which this dialect cannot compute exactly."""
        return CheckError(f"{construct} is not supported by the {self.name} engine yet"
                          + (f": {why}" if why else ""))

    def function(self, name: str, *args: exp.Expr) -> exp.Expr:
        """A call of the database's own function ``name``."""
        return exp.Anonymous(this=name, expressions=list(args))

    def fail(self, message: str, kind: str | None = None) -> exp.Expr:
        """An expression that stops the query with ``message`` when evaluated;
        ``kind``: the SQL type it stands in for (``DOUBLE``, ``TIMESTAMPTZ``, ...),
        which a database may need (PostgreSQL refuses when it is not given)."""
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

    # The constructs the compiler once wrote the DuckDB way.

    def filtered(self, aggregate: exp.Expr, where: exp.Expr | None) -> exp.Expr:
        """``aggregate`` over the rows where ``where`` holds (None: every row),
        as ``COUNT(*) FILTER (WHERE ...)``."""
        raise self.refuse("filtered aggregates")

    def first_value(self, value: exp.Expr, order: Sequence[exp.Expr],
                    where: exp.Expr | None) -> exp.Expr:
        """The aggregate giving ``value`` of the first row by ``order`` (a list of
        ``exp.Ordered``), nulls included, among the rows where ``where`` holds."""
        raise self.refuse("first() and last()")

    def sum_units(self, value: exp.Expr) -> exp.Expr:
        """``round(value * 1e9)`` (the product a double, halves away from zero) as an
        exact integer whose ``SUM`` the database computes exactly (:mod:`segdsl.sums`);
        the compiler reads the sum back through its decimal text."""
        raise self.refuse("sum() and avg()")

    def remainder(self, left: exp.Expr, right: exp.Expr) -> exp.Expr:
        """C's ``fmod`` of two doubles: the remainder with the sign of ``left``
        (null when either is null; the compiler adjusts the sign as Python does)."""
        raise self.refuse("'%'")

    def not_nan(self, value: exp.Expr) -> exp.Expr:
        """A double, null when it is NaN."""
        raise self.refuse("arithmetic")

    def add_days(self, day: exp.Expr, days: int) -> exp.Expr:
        """The date ``days`` days after ``day``."""
        raise self.refuse("calendar steps of dates")

    def positions(self, tiles: int) -> exp.Expr:
        """A table function giving the integers 1 to ``tiles - 1``, one per row
        (the rankings alias it ``q(i)``)."""
        raise self.refuse("ntile(), percentile() and rfm")

    def ordered_text(self, text: exp.Expr) -> exp.Expr:
        """Text that comparisons (``==``, ``<``, ``between``, ``in``, ``min``, ``max``)
        compare character by character and order by code points, as Python does
        (not by a collation)."""
        raise self.refuse("ordering text")

    def text_test(self, operator: str, text: exp.Expr, part: exp.Expr) -> exp.Expr:
        """``contains``, ``starts_with`` or ``ends_with`` (``operator``) of two texts,
        character by character (null when either is null)."""
        raise self.refuse(f"'{operator}'")


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
