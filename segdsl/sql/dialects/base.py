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

    def case_unsafe(self, name: str) -> str:
        """An RE2 character class of the characters that ``lower``/``upper``
        (``name``) may change otherwise than Python does (default: all beyond ASCII)."""
        return "[^\\x00-\\x7f]"

    def date_part(self, part: str, day: exp.Expr) -> exp.Expr:
        """A whole number read from a date: ``year``, ``month``, ``day``,
        ``weekday`` (ISO: Monday 1 to Sunday 7) or ``day_of_year`` (1 to 366)."""
        raise self.refuse("calendar functions")

    def month_days(self, day: exp.Expr) -> exp.Expr:
        """The number of days of the month of a date (28 to 31)."""
        raise self.refuse("calendar functions")

    def make_date(self, year: exp.Expr, month: exp.Expr, day: exp.Expr) -> exp.Expr:
        """The date of whole numbers ``year``, ``month`` and ``day`` (a valid date)."""
        raise self.refuse("calendar functions")

    def is_infinite(self, number: exp.Expr) -> exp.Expr:
        """Whether a double is an infinity."""
        raise self.refuse("infinities")

    def list_transform(self, items: exp.Expr, name: str, body: exp.Expr) -> exp.Expr:
        """A list column with each item ``name`` replaced by ``body`` (nulls kept in place)."""
        raise self.refuse("transforming lists of values")

    def list_distinct_count(self, items: exp.Expr) -> exp.Expr:
        """How many distinct items a list column holds, nulls left out."""
        raise self.refuse("distinct items of lists of values")

    def list_items(self, items: exp.Expr, name: str) -> exp.Expr:
        """A table with one row per item of a list column, the item in column ``name``."""
        raise self.refuse("reading the items of lists of values")


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
