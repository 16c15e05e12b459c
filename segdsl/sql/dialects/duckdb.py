"""DuckDB's spellings and quirks.

- ``regexp_matches`` searches with RE2, as ``matches`` does in Python.
- ``timezone(zone, instant)`` gives the wall clock in a zone; the reverse,
  ``timezone(zone, wall clock)``, resolves wall clocks that a daylight-saving
  change skips or repeats otherwise than python-dateutil (which reads a
  repeated wall clock by its first occurrence and a skipped one with the
  offset after the change): :meth:`DuckDB.instant` corrects it.
- ``TIMESTAMPTZ + INTERVAL '1 month'`` steps the calendar of the session's
  time zone: calendar steps are taken on wall clocks instead.
- Division by zero gives infinity (not null), and NaN equals NaN and orders
  above every number: the compiler guards both.
- ``error(message)`` stops the query; inside ``CASE`` it runs only for the
  rows that reach it.
"""

from __future__ import annotations

from sqlglot import exp

from segdsl.sql.dialects.base import Dialect, binary, case, cast

_DOUBLE = exp.DataType.build("DOUBLE")
_EXACT_INTEGERS = 2 ** 53  # every integer of smaller magnitude is a double
# Compared over every code point (DuckDB 2.0, Python 3.11's Unicode 14): DuckDB's lower and
# upper map each character as Python does, except where Python's mapping is several
# characters (upper: ß is SS, ligatures, Greek with iota; lower: İ) or depends on the
# context (lower: Σ is ς at the end of a word).
_CASE_UNSAFE = {"lower": "[\\x{130}\\x{3a3}]",
                "upper": "[\\x{df}\\x{149}\\x{1f0}\\x{390}\\x{3b0}\\x{587}\\x{1e96}-\\x{1e9a}\\x{1f50}\\x{1f52}\\x{1f54}\\x{1f56}\\x{1f80}-\\x{1faf}\\x{1fb2}-\\x{1fb4}\\x{1fb6}-\\x{1fb7}\\x{1fbc}\\x{1fc2}-\\x{1fc4}\\x{1fc6}-\\x{1fc7}\\x{1fcc}\\x{1fd2}-\\x{1fd3}\\x{1fd6}-\\x{1fd7}\\x{1fe2}-\\x{1fe4}\\x{1fe6}-\\x{1fe7}\\x{1ff2}-\\x{1ff4}\\x{1ff6}-\\x{1ff7}\\x{1ffc}\\x{fb00}-\\x{fb06}\\x{fb13}-\\x{fb17}]"}


class DuckDB(Dialect):
    """The DuckDB dialect."""

    name = "duckdb"

    def fail(self, message: str, kind: str | None = None) -> exp.Expr:
        return self.function("error", exp.Literal.string(message))

    def now(self) -> exp.Expr:
        return cast(exp.Placeholder(this="now"), exp.DataType.build("TIMESTAMPTZ"))

    def struct_field(self, record: exp.Expr, name: str) -> exp.Expr:
        return self.function("struct_extract", record, exp.Literal.string(name))

    def regex_search(self, text: exp.Expr, pattern: str) -> exp.Expr:
        return self.function("regexp_matches", text, exp.Literal.string(pattern))

    def list_contains(self, items: exp.Expr, value: exp.Expr) -> exp.Expr:
        # list_contains, spelled as sqlglot reads it back
        return exp.ArrayContains(this=items, expression=value)

    def list_length(self, items: exp.Expr) -> exp.Expr:
        return self.function("len", items)

    def list_present(self, items: exp.Expr) -> exp.Expr:
        return self.function("list_count", items)

    def epoch_us(self, instant: exp.Expr) -> exp.Expr:
        return self.function("epoch_us", instant)

    def microseconds(self, amount: exp.Expr) -> exp.Expr:
        return self.function("to_microseconds", amount)

    def months(self, amount: int) -> exp.Expr:
        return self.function("to_months", exp.Literal.number(amount))

    def wall_clock(self, instant: exp.Expr, zone: str) -> exp.Expr:
        return self.function("timezone", exp.Literal.string(zone), instant)

    def filtered_aggregate(self, aggregate: exp.Expr, condition: exp.Expr) -> exp.Expr:
        return exp.Filter(this=aggregate, expression=exp.Where(this=condition))

    def ordered_first(self, value: exp.Expr, order: list[exp.Ordered],
                      condition: exp.Expr | None = None) -> exp.Expr:
        first = exp.First(this=exp.Order(this=value, expressions=order))
        return first if condition is None else self.filtered_aggregate(first, condition)

    def exact_units(self, value: exp.Expr, scale: int) -> exp.Expr:
        return cast(self.function("round", binary(
            exp.Mul, value, cast(exp.Literal.number(10 ** scale), _DOUBLE))), "HUGEINT")

    def from_exact_units(self, total: exp.Expr, scale: int) -> exp.Expr:
        # Below 2**53 units the total is a double exactly, and so is 10**scale: their
        # quotient is correctly rounded, as Python's division of integers is. Beyond,
        # the decimal text is read with correct rounding (six times slower).
        exact = binary(exp.LT, self.function("abs", total),
                       exp.Literal.number(_EXACT_INTEGERS))
        divided = binary(exp.Div, cast(total.copy(), _DOUBLE),
                         cast(exp.Literal.number(10 ** scale), _DOUBLE))
        text = exp.DPipe(this=cast(total.copy(), "VARCHAR"),
                         expression=exp.Literal.string(f"e-{scale}"))
        return case(exact, divided, cast(text, _DOUBLE))

    def not_nan(self, number: exp.Expr) -> exp.Expr:
        return exp.Nullif(this=number, expression=cast(exp.Literal.string("NaN"), _DOUBLE))

    def modulo(self, dividend: exp.Expr, divisor: exp.Expr) -> exp.Expr:
        return binary(exp.Mod, dividend, divisor)

    def date_plus_days(self, day: exp.Expr, days: int) -> exp.Expr:
        return binary(exp.Add, day, cast(exp.Literal.number(days), "INTEGER"))

    def days_apart(self, later: exp.Expr, earlier: exp.Expr) -> exp.Expr:
        return binary(exp.Sub, later, earlier)

    def sorted_list(self, value: exp.Expr) -> exp.Expr | None:
        listed = exp.Filter(this=exp.ArrayAgg(this=value), expression=exp.Where(
            this=exp.not_(exp.Is(this=value.copy(), expression=exp.null()))))
        return self.function("list_sort", listed)

    def list_item(self, items: exp.Expr, position: exp.Expr) -> exp.Expr:
        return self.function("list_extract", items, position)

    def interpolated_quantiles(self, value: exp.Expr, fractions: list[exp.Expr]
                               ) -> exp.Expr | None:
        # type 7: the two values around the position (n - 1) * q, selected, not sorted
        return self.function("quantile_cont", value, exp.Array(expressions=fractions))

    def text_at(self, texts: list[str], position: exp.Expr) -> exp.Expr | None:
        listed = exp.Array(expressions=[exp.Literal.string(text) for text in texts])
        return self.list_item(listed, cast(position, "BIGINT"))

    def case_unsafe(self, text: exp.Expr, name: str) -> exp.Expr:
        return self.regex_search(text, _CASE_UNSAFE[name])

    def wide_integer(self) -> str:
        return "HUGEINT"

    def correlated_aggregates(self) -> None:
        return None

    def date_part(self, part: str, day: exp.Expr) -> exp.Expr:
        name = {"year": "year", "month": "month", "day": "day", "weekday": "isodow",
                "day_of_year": "dayofyear"}[part]
        return self.function(name, day)

    def month_days(self, day: exp.Expr) -> exp.Expr:
        return self.function("day", self.function("last_day", day))

    def make_date(self, year: exp.Expr, month: exp.Expr, day: exp.Expr) -> exp.Expr:
        return self.function("make_date", year, month, day)

    def is_infinite(self, number: exp.Expr) -> exp.Expr:
        return self.function("isinf", number)

    def list_transform(self, items: exp.Expr, name: str, body: exp.Expr) -> exp.Expr:
        return self.function("list_transform", items, exp.Lambda(
            this=body, expressions=[exp.to_identifier(name)]))

    def list_distinct_count(self, items: exp.Expr) -> exp.Expr:
        # list_distinct leaves nulls out
        return self.function("len", self.function("list_distinct", items))

    def list_items(self, items: exp.Expr, name: str) -> exp.Expr:
        return exp.select(exp.alias_(exp.Unnest(expressions=[items]), name)).subquery()

    def wall_epoch_us(self, wall: exp.Expr) -> exp.Expr:
        return self.epoch_us(wall)

    def from_epoch_us(self, micros: exp.Expr) -> exp.Expr:
        naive = self.function("make_timestamp", micros)
        return self.function("timezone", exp.Literal.string("UTC"), naive)

    def ordered_text(self, text: exp.Expr) -> exp.Expr:
        return text  # DuckDB compares text by its bytes: UTF-8 keeps code points' order


DIALECT = DuckDB()
