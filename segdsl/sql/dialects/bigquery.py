"""BigQuery's spellings and quirks (GoogleSQL).

The query is generated only: no server runs it here. What it relies on:

- ``REGEXP_CONTAINS`` is RE2, the Python engine's ``matches`` engine.
- ``@now`` is a named query parameter of type ``TIMESTAMP`` (an instant);
  ``TIMESTAMP`` is BigQuery's instant type, ``DATETIME`` its wall clock:
  ``DATETIME(ts, zone)`` is the wall clock in a zone. How ``TIMESTAMP(wall,
  zone)`` reads a skipped or repeated wall clock is not documented, so the
  instant is found from the zone's offsets (see :mod:`.warehouse`).
- ``DATE_ADD`` / ``DATETIME_ADD`` by months keep the day, or take the last
  day of a shorter month, as python-dateutil does.
- No ``FILTER`` clause: ``COUNTIF(c)`` and ``SUM(IF(c, x, NULL))``; ``first``
  and ``last`` are ``ARRAY_AGG(IF(c, STRUCT(x AS v), NULL) IGNORE NULLS
  ORDER BY ... LIMIT 1)[SAFE_OFFSET(0)].v`` (a struct keeps a null value
  apart from no row), whose ``ORDER BY`` has no ``NULLS LAST``: ``k IS NULL``
  comes first.
- The exact sum: each value's ``ROUND(v * 1e9)`` (a ``FLOAT64``, halves away
  from zero) cast to ``BIGNUMERIC`` (exact for whole doubles up to 5.7e38; a
  larger one stops the query with an overflow error), summed exactly, read back
  through its decimal text.
- ``NaN = NaN`` is false: a NaN result is found with ``IS_NAN``. ``MOD`` takes
  no ``FLOAT64``: ``%`` is refused. A ``FLOAT64`` operation overflowing to
  infinity stops the query with an error, where Python gives ``inf``.
- ``ERROR(message)`` stops the query; inside ``CASE`` it runs only for the rows
  that reach it.
- A ``REPEATED`` column (a list) holds no null item and is never null (a null
  list is stored as an empty one).
"""

from __future__ import annotations

from sqlglot import exp

from segdsl.sql.dialects.base import binary, case, cast
from segdsl.sql.dialects.warehouse import Warehouse

_DOUBLE = exp.DataType.build("DOUBLE")


def _unit(name: str) -> exp.Var:
    return exp.var(name)


def _is_null(value: exp.Expr) -> exp.Expr:
    return exp.Is(this=value, expression=exp.null())


class BigQuery(Warehouse):
    """The BigQuery dialect."""

    name = "bigquery"

    def fail(self, message: str, kind: str | None = None) -> exp.Expr:
        return self.function("ERROR", exp.Literal.string(message))

    def ordered_text(self, text: exp.Expr) -> exp.Expr:
        return text  # STRING compares by its UTF-8 bytes: code points' order

    def now(self) -> exp.Expr:
        return cast(exp.Placeholder(this="now"), exp.DataType.build("TIMESTAMPTZ"))

    def struct_field(self, record: exp.Expr, name: str) -> exp.Expr:
        return exp.Dot(this=record, expression=exp.to_identifier(name))

    def regex_search(self, text: exp.Expr, pattern: str) -> exp.Expr:
        return exp.RegexpLike(this=text, expression=exp.Literal.string(pattern))

    def list_contains(self, items: exp.Expr, value: exp.Expr) -> exp.Expr:
        found = exp.In(this=value, unnest=exp.Unnest(expressions=[items]))
        missing = exp.or_(_is_null(items.copy()), _is_null(value.copy()), copy=False)
        return case(missing, cast(exp.null(), "BOOLEAN"),
                    exp.Coalesce(this=found, expressions=[exp.false()]))

    def list_length(self, items: exp.Expr) -> exp.Expr:
        return exp.ArraySize(this=items)

    def list_present(self, items: exp.Expr) -> exp.Expr:
        item = exp.to_identifier("item")
        counted = exp.select(exp.Count(this=exp.column(item.copy()))).from_(
            exp.Unnest(expressions=[items], alias=exp.TableAlias(columns=[item])))
        return case(_is_null(items.copy()), exp.null(), exp.Subquery(this=counted))

    def epoch_us(self, instant: exp.Expr) -> exp.Expr:
        return self.function("UNIX_MICROS", instant)

    def microseconds(self, amount: exp.Expr) -> exp.Expr:
        return exp.Interval(this=amount, unit=_unit("MICROSECOND"))

    def plus_microseconds(self, instant: exp.Expr, micros: int) -> exp.Expr:
        # Whole microseconds, exactly (an INTERVAL of as many would pass through text).
        return self.from_epoch_us(binary(exp.Add, self.epoch_us(instant),
                                         exp.Literal.number(micros)))

    def wall_clock(self, instant: exp.Expr, zone: str) -> exp.Expr:
        return self.function("DATETIME", instant, exp.Literal.string(zone))

    def wall_epoch_us(self, wall: exp.Expr) -> exp.Expr:
        return self.epoch_us(self.function("TIMESTAMP", wall))

    def from_epoch_us(self, micros: exp.Expr) -> exp.Expr:
        return self.function("TIMESTAMP_MICROS", micros)

    def ordered_first(self, value: exp.Expr, order: list[exp.Ordered],
                      condition: exp.Expr | None = None) -> exp.Expr:
        keys: list[exp.Expr] = []
        for part in order:
            # Nulls last, then the key in its direction (BigQuery's default nulls place).
            keys.append(exp.Ordered(this=_is_null(part.this.copy()), nulls_first=True))
            keys.append(exp.Ordered(this=part.this.copy(), desc=part.args.get("desc"),
                                    nulls_first=not part.args.get("desc")))
        boxed: exp.Expr = exp.Struct(expressions=[
            exp.PropertyEQ(this=exp.to_identifier("v"), expression=value)])
        if condition is not None:
            boxed = exp.If(this=condition, true=boxed, false=exp.null())
        picked: exp.Expr = exp.ArrayAgg(this=exp.Limit(
            this=exp.Order(this=boxed, expressions=keys), expression=exp.Literal.number(1)))
        if condition is not None:
            picked = exp.IgnoreNulls(this=picked)
        first = exp.Bracket(this=picked, expressions=[exp.Literal.number(0)], offset=0,
                            safe=True)
        return exp.Dot(this=first, expression=exp.to_identifier("v"))

    def exact_units(self, value: exp.Expr, scale: int) -> exp.Expr:
        scaled = binary(exp.Mul, value, cast(exp.Literal.number(10 ** scale), _DOUBLE))
        return cast(self.function("ROUND", scaled), "BIGNUMERIC")

    def from_exact_units(self, total: exp.Expr, scale: int) -> exp.Expr:
        text = exp.DPipe(this=cast(total, "VARCHAR"),
                         expression=exp.Literal.string(f"e-{scale}"))
        return cast(text, _DOUBLE)

    def not_nan(self, number: exp.Expr) -> exp.Expr:
        return exp.If(this=exp.IsNan(this=number), true=cast(exp.null(), _DOUBLE),
                      false=number.copy())

    def modulo(self, dividend: exp.Expr, divisor: exp.Expr) -> exp.Expr:
        raise self.refuse("'%'", "BigQuery's MOD takes no FLOAT64")

    def text_test(self, test: str, text: exp.Expr, part: exp.Expr) -> exp.Expr:
        if test == "starts_with":
            return exp.StartsWith(this=text, expression=part)
        if test == "ends_with":
            return self.function("ENDS_WITH", text, part)
        # Whatever INSTR makes of the empty text, it is in every text.
        found = binary(exp.GT, self.function("INSTR", text, part), exp.Literal.number(0))
        empty = exp.and_(binary(exp.EQ, part.copy(), exp.Literal.string("")),
                         exp.not_(_is_null(text.copy())), copy=False)
        return exp.or_(found, empty, copy=False)

    def date_plus_days(self, day: exp.Expr, days: int) -> exp.Expr:
        return exp.DateAdd(this=day, expression=exp.Literal.number(days), unit=_unit("DAY"))

    def days_apart(self, later: exp.Expr, earlier: exp.Expr) -> exp.Expr:
        return exp.DateDiff(this=later, expression=earlier, unit=_unit("DAY"))

    def months_later(self, moment: exp.Expr, months: int, date: bool = False) -> exp.Expr:
        kind = exp.DateAdd if date else exp.DatetimeAdd
        return kind(this=moment, expression=exp.Literal.number(months), unit=_unit("MONTH"))

    def date_part(self, part: str, day: exp.Expr) -> exp.Expr:
        if part == "weekday":  # DAYOFWEEK counts from Sunday as 1
            sunday_first = exp.Extract(this=_unit("DAYOFWEEK"), expression=day)
            return binary(exp.Add, self.function("MOD", binary(
                exp.Add, sunday_first, exp.Literal.number(5)), exp.Literal.number(7)),
                exp.Literal.number(1))
        unit = {"year": "YEAR", "month": "MONTH", "day": "DAY", "day_of_year": "DAYOFYEAR"}[part]
        return exp.Extract(this=_unit(unit), expression=day)

    def month_days(self, day: exp.Expr) -> exp.Expr:
        return exp.Extract(this=_unit("DAY"), expression=self.function("LAST_DAY", day))

    def make_date(self, year: exp.Expr, month: exp.Expr, day: exp.Expr) -> exp.Expr:
        return self.function("DATE", *(cast(part, "BIGINT") for part in (year, month, day)))

    def is_infinite(self, number: exp.Expr) -> exp.Expr:
        return self.function("IS_INF", number)

    def positions(self, count: int) -> exp.Expr:
        i = exp.to_identifier("i")
        numbers = self.function("GENERATE_ARRAY", exp.Literal.number(1),
                                exp.Literal.number(count - 1))
        listed = exp.select(exp.column(i.copy())).from_(
            exp.Unnest(expressions=[numbers], alias=exp.TableAlias(columns=[i])))
        return exp.Subquery(this=listed, alias=exp.TableAlias(this=exp.to_identifier("q")))


DIALECT = BigQuery()
