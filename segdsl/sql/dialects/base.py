"""What every dialect provides to the compiler."""

from __future__ import annotations

import functools

from sqlglot import exp

from segdsl.errors import CheckError

_DAY_US = 86_400_000_000


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

    def fail_when(self, condition: exp.Expr, message: str, value: exp.Expr,
                  kind: str) -> exp.Expr:
        """``value`` (of SQL type ``kind``), except that the query stops with
        ``message`` for a row where ``condition`` is true."""
        return case(condition, self.fail(message, kind), value)

    def now(self) -> exp.Expr:
        """The evaluation time, a parameter bound when the query runs."""
        raise self.refuse("now as a parameter")

    def struct_field(self, record: exp.Expr, name: str) -> exp.Expr:
        """Field ``name`` of a struct column (null when the struct is null)."""
        raise self.refuse("nested record fields")

    def regex_search(self, text: exp.Expr, pattern: str) -> exp.Expr:
        """Whether RE2 ``pattern`` matches somewhere in ``text``."""
        raise self.refuse("matches")

    def beyond_ascii(self, text: exp.Expr) -> exp.Expr:
        """Whether ``text`` holds a character beyond ASCII."""
        return self.regex_search(text, "[^\\x00-\\x7f]")

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

    # Constructs that were written the DuckDB way in the compiler.

    def plus_microseconds(self, instant: exp.Expr, micros: int) -> exp.Expr:
        """The instant ``micros`` microseconds after ``instant`` (before it when negative)."""
        return binary(exp.Add, instant, self.microseconds(exp.Literal.number(micros)))

    def is_true(self, condition: exp.Expr) -> exp.Expr:
        """True when ``condition`` is true, false when it is false or null."""
        return exp.Is(this=wrap(condition), expression=exp.true())

    def filtered_aggregate(self, aggregate: exp.Expr, condition: exp.Expr) -> exp.Expr:
        """``aggregate`` (COUNT, SUM, MIN, MAX of one argument, or ``COUNT(*)``) over
        the rows where ``condition`` is true."""
        raise self.refuse("aggregations with a condition")

    def ordered_first(self, value: exp.Expr, order: list[exp.Ordered],
                      condition: exp.Expr | None = None) -> exp.Expr:
        """The ``value`` of the first row by ``order`` (among the rows where
        ``condition`` is true), null or not; null when there is none."""
        raise self.refuse("first() and last() of another field than the timestamp")

    def exact_units(self, value: exp.Expr, scale: int) -> exp.Expr:
        """``round(value * 10**scale)`` (a double product, halves away from zero) as
        an integer type whose ``SUM`` is exact (see :mod:`segdsl.sums`)."""
        raise self.refuse("sum() and avg()", "no exact integer sum")

    def from_exact_units(self, total: exp.Expr, scale: int) -> exp.Expr:
        """The double nearest to ``total * 10**-scale``, for a sum of :meth:`exact_units`."""
        raise self.refuse("sum() and avg()", "no exact integer sum")

    def not_nan(self, number: exp.Expr) -> exp.Expr:
        """``number``, or null when it is NaN."""
        raise self.refuse("arithmetic", "NaN cannot be told apart")

    def modulo(self, dividend: exp.Expr, divisor: exp.Expr) -> exp.Expr:
        """The remainder of doubles with the dividend's sign (C's ``fmod``)."""
        raise self.refuse("'%'")

    def text_test(self, test: str, text: exp.Expr, part: exp.Expr) -> exp.Expr:
        """Whether ``text`` contains, starts with or ends with ``part``
        (``test``: ``contains``, ``starts_with``, ``ends_with``; the empty text
        is in every text)."""
        return self.function(test, text, part)

    def date_plus_days(self, day: exp.Expr, days: int) -> exp.Expr:
        """The date ``days`` days after ``day``."""
        raise self.refuse("steps of dates")

    def days_apart(self, later: exp.Expr, earlier: exp.Expr) -> exp.Expr:
        """The number of days from date ``earlier`` to date ``later`` (an integer)."""
        raise self.refuse("differences of dates")

    def months_later(self, moment: exp.Expr, months: int, date: bool = False) -> exp.Expr:
        """Date (a DATE when ``date``) or naive wall clock ``moment`` stepped by
        ``months`` calendar months, the day of the month cut to the last day of a
        shorter month (python-dateutil's ``relativedelta``); the time of day unchanged.
        By default ``moment`` plus :meth:`months` (DuckDB and PostgreSQL cut the day so)."""
        later = binary(exp.Add, moment, self.months(months))
        return cast(later, "DATE") if date else later

    def positions(self, count: int) -> exp.Expr:
        """A table ``q`` of one column ``i`` holding the integers 1 to ``count - 1``."""
        raise self.refuse("ntile(), percentile() and rfm")

    def sorted_list(self, value: exp.Expr) -> exp.Expr | None:
        """An aggregate: the non-null values of ``value`` as one list in ascending
        order, its items read with :meth:`list_item`; None where the database has
        none (the rankings then number the sorted measures with ``ROW_NUMBER`` and
        join the numbered rows for the break points)."""
        return None

    def list_item(self, items: exp.Expr, position: exp.Expr) -> exp.Expr:
        """Item ``position`` (counted from 1) of a list from :meth:`sorted_list`."""
        raise self.refuse("lists of values")

    def interpolated_quantiles(self, value: exp.Expr, fractions: list[exp.Expr]
                               ) -> exp.Expr | None:
        """An aggregate: the type-7 quantiles of the non-null values of ``value`` at
        ``fractions`` (constant doubles; null without values), one list read with
        :meth:`list_item`, found without sorting every value; None where the
        database has none."""
        return None

    def text_at(self, texts: list[str], position: exp.Expr) -> exp.Expr | None:
        """``texts[position - 1]`` for a whole number ``position`` (a double), null
        when it is null, as one list of constants; None where the database writes
        no list constant (the caller writes a ``CASE`` instead)."""
        return None

    def ordered_text(self, text: exp.Expr) -> exp.Expr:
        """Text that comparisons (``==``, ``<``, ``between``, ``in``, ``min``, ``max``)
        compare character by character and order by code points, as Python does
        (not by a collation)."""
        raise self.refuse("ordering text")

    def wide_integer(self) -> str:
        """An exact integer type beyond 64 bits, with ``//`` and ``%`` (durations
        divided as ``timedelta`` divides them)."""
        raise self.refuse("dividing a duration exactly")

    def correlated_aggregates(self) -> None:
        """Nothing when the database computes an aggregation reading an enclosing
        element as a correlated subquery (``events as e``); refuses otherwise."""
        raise self.refuse("an aggregation reading an enclosing element (a correlated "
                          "condition)")

    def wall_day(self, instant: exp.Expr, zone: str) -> exp.Expr:
        """The calendar day (a DATE) of ``instant`` in ``zone``."""
        return cast(self.wall_clock(instant, zone), "DATE")

    def case_unsafe(self, text: exp.Expr, name: str) -> exp.Expr:
        """Whether ``text`` holds a character that ``lower``/``upper`` (``name``) may
        change otherwise than Python does (by default: any beyond ASCII)."""
        return self.beyond_ascii(text)

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


def alias(expression: exp.Expr, name: str | exp.Identifier, table: bool = False) -> exp.Expr:
    """``expression AS name`` (a table's alias when ``table``), without copying ``expression``."""
    made: exp.Expr = exp.alias_(expression, name, table=table, copy=False)
    return made


def named_table(name: str) -> exp.Table:
    """The table (or CTE) ``name``, one plain name, built without sqlglot's parser."""
    return exp.Table(this=exp.to_identifier(name))


_JOINS = {"left": {"side": "LEFT"}, "inner": {"kind": "INNER"}, "cross": {"kind": "CROSS"}}


def join(query: exp.Select, other: exp.Expr, how: str, on: exp.Expr | None = None
         ) -> exp.Select:
    """``query`` (changed in place) joined to ``other``, ``how`` being left, inner or
    cross. sqlglot's ``join`` parses its join type's text on every call."""
    query.append("joins", exp.Join(this=other, on=on, **_JOINS[how]))
    return query


def with_ctes(query: exp.Select, ctes: list[tuple[str, exp.Expr]],
              materialized: bool | None = None) -> exp.Select:
    """``query`` (changed in place) after ``WITH name AS (cte), ...``, built without
    parsing the names as sqlglot's ``with_`` does."""
    made = [exp.CTE(this=cte, alias=exp.TableAlias(this=exp.to_identifier(name)),
                    materialized=materialized) for name, cte in ctes]
    known = query.args.get("with_")
    if known is not None:
        made = [*known.expressions, *made]
    if made:
        query.set("with_", exp.With(expressions=made))
    return query


def cast(expression: exp.Expr, to: str | exp.DataType) -> exp.Expr:
    """``CAST(expression AS to)``, ``expression`` itself when it is already a cast
    to that type. Unlike sqlglot's ``cast`` it neither copies ``expression`` nor
    parses the type's name again: compiling builds thousands of casts."""
    kind = (_data_type(to) if isinstance(to, str) else to).copy()
    if isinstance(expression, exp.Cast) and expression.to == kind:
        return expression
    return exp.Cast(this=expression, to=kind)


@functools.cache
def _data_type(name: str) -> exp.DataType:
    return exp.DataType.build(name)


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
