"""Spark SQL's spellings and quirks (Spark 3.5 and 4).

The query never depends on the session's time zone or on ANSI mode (the
engine still sets ``spark.sql.session.timeZone=UTC`` and
``spark.sql.ansi.enabled=false`` while it runs):

- Instants are ``TIMESTAMP`` values; wall clocks are ``TIMESTAMP`` values
  whose UTC reading is the wall clock (``from_utc_timestamp``). Every step
  on them is arithmetic on ``unix_micros``: a cast to ``DATE``, ``INTERVAL
  '1' DAY`` and ``INTERVAL '1' MONTH`` on a timestamp would read the
  session's zone. Exact lengths are ``make_dt_interval`` of seconds, which
  Spark adds as microseconds.
- ``to_utc_timestamp`` resolves skipped wall clocks otherwise than
  python-dateutil (it moves them later by the gap): :meth:`Spark.instant`
  computes the offsets itself, as the DuckDB dialect does.
- ``rlike`` is Java's regular expressions, not RE2: a pattern is translated
  where the meaning is the same (``.`` never matches a newline only, ``$``
  only at the end, ``\\s`` without the vertical tab) and refused otherwise
  (see :func:`java_pattern`).
- ``array_contains`` is unknown, not false, when the array holds a null;
  ``size`` of a null array is -1: nulls are taken out first, ``array_size``
  is used.
- ``first`` of ordered elements is ``min_by``/``max_by`` of a struct key,
  nulls last; the exact sum adds ``DECIMAL(38, 0)`` units (Spark has no
  ``HUGEINT``), through ``BIGINT``, which holds a double's integer exactly:
  a summed value beyond 9.2e9 stops the query.
- Like DuckDB, NaN equals NaN and orders above every number, ``x / 0`` is
  null (outside ANSI mode; the compiler divides by ``NULLIF(y, 0)`` anyway),
  and ``raise_error(message)`` stops the query.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from decimal import Decimal

from sqlglot import exp

from segdsl.sql.dialects.base import Dialect, binary, case, cast

_DAY_US = 86_400_000_000
_UNITS_LIMIT = 2 ** 63  # BIGINT
# Spark's own names for functions the compiler calls by DuckDB's names.
_RENAMED = {"starts_with": "startswith", "ends_with": "endswith"}


class Spark(Dialect):
    """The Spark SQL dialect."""

    name = "spark"

    def function(self, name: str, *args: exp.Expr) -> exp.Expr:
        return super().function(_RENAMED.get(name, name), *args)

    def fail(self, message: str, kind: str | None = None) -> exp.Expr:
        return self.function("raise_error", exp.Literal.string(message))

    def now(self) -> exp.Expr:
        return cast(exp.Placeholder(this="now"), exp.DataType.build("TIMESTAMPTZ"))

    def struct_field(self, record: exp.Expr, name: str) -> exp.Expr:
        return exp.Dot(this=record, expression=exp.to_identifier(name, quoted=True))

    def regex_search(self, text: exp.Expr, pattern: str) -> exp.Expr:
        return exp.RegexpLike(this=text, expression=exp.Literal.string(
            java_pattern(pattern, self)))

    def list_contains(self, items: exp.Expr, value: exp.Expr) -> exp.Expr:
        return self.function("array_contains", self.function("array_compact", items), value)

    def list_length(self, items: exp.Expr) -> exp.Expr:
        return self.function("array_size", items)

    def list_present(self, items: exp.Expr) -> exp.Expr:
        return self.function("array_size", self.function("array_compact", items))

    def epoch_us(self, instant: exp.Expr) -> exp.Expr:
        return self.function("unix_micros", instant)

    def microseconds(self, amount: exp.Expr) -> exp.Expr:
        negative = isinstance(amount, exp.Neg)
        literal = amount.this if negative else amount
        if not isinstance(literal, exp.Literal) or literal.is_string:
            raise self.refuse("a length of time that is not a constant")
        micros = -int(literal.this) if negative else int(literal.this)
        seconds = Decimal(micros).scaleb(-6).quantize(Decimal("0.000001"))
        zero = exp.Literal.number(0)
        return self.function("make_dt_interval", zero, zero.copy(), zero.copy(),
                             exp.Literal.number(str(seconds)))

    def wall_clock(self, instant: exp.Expr, zone: str) -> exp.Expr:
        if zone == "UTC":
            return instant
        return self.function("from_utc_timestamp", instant, exp.Literal.string(zone))

    def wall_day(self, instant: exp.Expr, zone: str) -> exp.Expr:
        return self._day_of(self.epoch_us(self.wall_clock(instant, zone)))

    def instant(self, wall: exp.Expr, zone: str) -> exp.Expr:
        """The instant of wall-clock time ``wall`` in ``zone``, read as python-dateutil
        reads it (see :meth:`segdsl.sql.dialects.duckdb.DuckDB.instant`)."""
        if zone == "UTC":
            return wall
        day = exp.Literal.number(_DAY_US)

        def chosen(wall_us: exp.Expr) -> exp.Expr:
            def given(before: exp.Expr) -> exp.Expr:
                early = binary(exp.Sub, wall_us.copy(), before.copy())
                holds = binary(exp.EQ, self._offset_us(early, zone), before.copy())
                after = self._offset_us(binary(exp.Add, wall_us.copy(), day.copy()), zone)
                return case(holds, early.copy(), binary(exp.Sub, wall_us.copy(), after))

            return _let(self._offset_us(binary(exp.Sub, wall_us.copy(), day.copy()), zone),
                        given)

        return self.function("timestamp_micros", _let(self.epoch_us(wall), chosen))

    def ordered_first(self, value: exp.Expr, order: list[exp.Ordered],
                      condition: exp.Expr | None = None) -> exp.Expr:
        descending = {bool(part.args.get("desc")) for part in order}
        if len(descending) != 1 or any(part.args.get("nulls_first") for part in order):
            raise self.refuse("first() and last() ordered both ways")
        last = descending.pop()
        key: list[exp.Expr] = []
        for part in order:
            missing = exp.Is(this=part.this.copy(), expression=exp.null())
            # Nulls last: the key of a null sorts after (before, for max_by) any other.
            key += [exp.not_(missing) if last else missing, part.this.copy()]
        first = self.function("max_by" if last else "min_by", value,
                              self.function("struct", *key))
        return first if condition is None else self.filtered_aggregate(first, condition)

    def filtered_aggregate(self, aggregate: exp.Expr, condition: exp.Expr) -> exp.Expr:
        return exp.Filter(this=aggregate, expression=exp.Where(this=condition))

    def exact_units(self, value: exp.Expr, scale: int) -> exp.Expr:
        scaled = self.function("round", binary(exp.Mul, value, cast(
            exp.Literal.number(10 ** scale), "DOUBLE")))
        beyond = binary(exp.GTE, self.function("abs", scaled.copy()),
                        cast(exp.Literal.number(_UNITS_LIMIT), "DOUBLE"))
        return case(beyond, self.fail("a sum of a value beyond 9.2e9 is not supported by the "
                                      "spark engine yet"),
                    cast(cast(scaled.copy(), "BIGINT"), "DECIMAL(38, 0)"))

    def from_exact_units(self, total: exp.Expr, scale: int) -> exp.Expr:
        # The decimal text is read with correct rounding.
        text = exp.DPipe(this=cast(total, "STRING"), expression=exp.Literal.string(f"e-{scale}"))
        return cast(text, "DOUBLE")

    def modulo(self, left: exp.Expr, right: exp.Expr) -> exp.Expr:
        return binary(exp.Mod, left, right)

    def not_nan(self, value: exp.Expr) -> exp.Expr:
        return exp.Nullif(this=value, expression=cast(exp.Literal.string("NaN"), "DOUBLE"))

    def days_apart(self, later: exp.Expr, earlier: exp.Expr) -> exp.Expr:
        return self.function("datediff", later, earlier)

    def date_plus_days(self, day: exp.Expr, days: int) -> exp.Expr:
        return self.function("date_add", day, exp.Literal.number(days))

    def months_later(self, moment: exp.Expr, months: int, date: bool = False) -> exp.Expr:
        if date:
            # add_months keeps the day of the month, or takes the month's last (Spark 3+).
            return self.function("add_months", moment, exp.Literal.number(months))
        return self._wall_months_later(moment, months)

    def _wall_months_later(self, wall: exp.Expr, months: int) -> exp.Expr:
        def moved(micros: exp.Expr) -> exp.Expr:
            day = self.function("unix_date", self.months_later(self._day_of(micros), months,
                                                               date=True))
            since_midnight = self.function("pmod", micros.copy(), exp.Literal.number(_DAY_US))
            return binary(exp.Add, binary(exp.Mul, cast(day, "BIGINT"),
                                          exp.Literal.number(_DAY_US)), since_midnight)

        return self.function("timestamp_micros", _let(self.epoch_us(wall), moved))

    def ordered_text(self, text: exp.Expr) -> exp.Expr:
        return text  # STRING compares by its UTF-8 bytes (UTF8_BINARY): code points' order

    def positions(self, count: int) -> exp.Expr:
        numbers = exp.select(exp.alias_(exp.column("id"), "i")).from_(
            exp.Table(this=exp.Anonymous(this="range", expressions=[
                exp.Literal.number(1), exp.Literal.number(count)])))
        return exp.Subquery(this=numbers, alias=exp.TableAlias(this=exp.to_identifier("q")))

    def date_part(self, part: str, day: exp.Expr) -> exp.Expr:
        if part == "weekday":  # Spark's weekday() counts from Monday as 0
            return binary(exp.Add, self.function("weekday", day), exp.Literal.number(1))
        name = {"year": "year", "month": "month", "day": "dayofmonth",
                "day_of_year": "dayofyear"}[part]
        return self.function(name, day)

    def month_days(self, day: exp.Expr) -> exp.Expr:
        return self.function("dayofmonth", self.function("last_day", day))

    def make_date(self, year: exp.Expr, month: exp.Expr, day: exp.Expr) -> exp.Expr:
        return self.function("make_date", *(cast(part, "INT") for part in (year, month, day)))

    def is_infinite(self, number: exp.Expr) -> exp.Expr:
        return binary(exp.EQ, self.function("abs", number),
                      cast(exp.Literal.string("Infinity"), "DOUBLE"))

    def list_transform(self, items: exp.Expr, name: str, body: exp.Expr) -> exp.Expr:
        return self.function("transform", items, exp.Lambda(
            this=body, expressions=[exp.to_identifier(name)]))

    def _day_of(self, micros: exp.Expr) -> exp.Expr:
        """The day (a DATE) of a wall clock given in microseconds since 1970."""
        day = exp.Literal.number(_DAY_US)

        def whole_days(us: exp.Expr) -> exp.Expr:
            whole = binary(exp.Sub, us, self.function("pmod", us.copy(), day.copy()))
            return exp.IntDiv(this=exp.Paren(this=whole), expression=day.copy())

        days = whole_days(micros) if isinstance(micros, exp.Column) else _let(micros,
                                                                               whole_days)
        return self.function("date_from_unix_date", cast(days, "INT"))

    def _offset_us(self, instant_us: exp.Expr, zone: str) -> exp.Expr:
        """The zone's offset from UTC, in microseconds, at an instant given in microseconds."""
        moment = self.function("timestamp_micros", instant_us)
        return binary(exp.Sub, self.epoch_us(self.wall_clock(moment, zone)), instant_us.copy())


DIALECT = Spark()

def _let(value: exp.Expr, body: Callable[[exp.Expr], exp.Expr]) -> exp.Expr:
    """``body`` of a variable bound to ``value``, which Spark then computes once:
    written out, the steps of the calendar repeat their operands, and a query's
    plan grows with the product of the repetitions."""
    # Named after the value: the same query text each time, another name when nested.
    name = "__segdsl_" + hashlib.sha1(value.sql("spark").encode()).hexdigest()[:10]
    bound = body(exp.column(name))
    lambda_ = exp.Lambda(this=bound, expressions=[exp.to_identifier(name)])
    spark = DIALECT
    return spark.function("element_at", spark.function(
        "transform", spark.function("array", value), lambda_), exp.Literal.number(1))


# ------------------------------------------------------------------ regular expressions

# Escapes meaning the same in RE2 and in Java (outside and inside classes).
_SAME_ESCAPES = frozenset("dDwWtnrfaAz.*+?()[]{}|^$\\/-")
_FLAGS = re.compile(r"\(\?(P?<[A-Za-z_][A-Za-z0-9_]*>|:)")
_REPEAT = re.compile(r"\{\d+(,\d*)?\}")
_HEX = re.compile(r"x([0-9A-Fa-f]{2}|\{[0-9A-Fa-f]{1,6}\})")


def java_pattern(pattern: str, dialect: Dialect) -> str:
    """The Java pattern matching what RE2 ``pattern`` matches, searched anywhere.

    Written the same: literal characters, ``\\d \\D \\w \\W`` (ASCII in both),
    ``* + ? {n,m}`` and their lazy forms, ``|``, groups, ``(?:``, classes of
    characters, ranges and escapes, ``\\xhh``, ``\\x{h...}``, ``^``, ``\\A``,
    ``\\z``. Translated: ``.`` (``[^\\n]``: Java's also stops at ``\\r`` and
    other line ends), ``$`` (``\\z``: Java's also matches before a final
    newline), ``\\s``/``\\S`` (RE2's have no vertical tab), ``\\v``, named
    groups (``(?:``). Refused: flags (``(?i)``, ``(?s)``, ``(?m)``...: case
    folding and lines differ), ``\\b``/``\\B`` (Unicode in Java 17),
    Unicode classes (``\\pL``), POSIX classes, ``\\Q...\\E``, ``\\C`` and any
    other escape, ``[`` or ``&&`` inside a class (unions and intersections
    in Java), a class opening with ``]``, a ``{`` that is no repetition.

    Raises:
        CheckError: the pattern uses what Java reads otherwise.
    """
    def refused(what: str) -> Exception:
        return dialect.refuse(f"'matches' with the pattern {pattern!r}",
                              f"{what} means something else in Java's regular expressions")

    out: list[str] = []
    i, size = 0, len(pattern)
    while i < size:
        ch = pattern[i]
        if ch == "\\":
            escaped, i = _escape(pattern, i, refused, in_class=False)
            out.append(escaped)
            continue
        if ch == "[":
            klass, i = _class(pattern, i, refused)
            out.append(klass)
            continue
        if ch == "(" and pattern.startswith("(?", i):
            found = _FLAGS.match(pattern, i)
            if found is None:
                raise refused("a flag group '(?'")
            out.append("(?:")
            i = found.end()
            continue
        if ch == "{":
            found = _REPEAT.match(pattern, i)
            if found is None or i == 0:
                raise refused("a '{' that is no repetition")
            out.append(found.group())
            i = found.end()
            continue
        out.append({".": "[^\\n]", "$": "\\z"}.get(ch, ch))
        i += 1
    return "".join(out)


def _escape(pattern: str, i: int, refused, in_class: bool) -> tuple[str, int]:
    """The Java spelling of the escape at ``pattern[i]`` (a backslash), and where it ends."""
    if i + 1 >= len(pattern):
        raise refused("a trailing backslash")
    letter = pattern[i + 1]
    if letter == "x":
        found = _HEX.match(pattern, i + 1)
        if found is None:
            raise refused("'\\x' without hexadecimal digits")
        return "\\" + found.group(), found.end()
    if letter == "s":
        return ("\\t\\n\\f\\r " if in_class else "[\\t\\n\\f\\r ]"), i + 2
    if letter == "S" and not in_class:
        return "[^\\t\\n\\f\\r ]", i + 2
    if letter == "v":
        return "\\x0B", i + 2
    if letter in _SAME_ESCAPES and not (in_class and letter in "Az"):
        return "\\" + letter, i + 2
    if not letter.isalnum():  # punctuation escaped: the character itself in both
        return "\\" + letter, i + 2
    raise refused(f"'\\{letter}'")


def _class(pattern: str, i: int, refused) -> tuple[str, int]:
    """A class of characters ``[...]`` starting at ``pattern[i]``, and where it ends."""
    out = ["["]
    i += 1
    if pattern.startswith("^", i):
        out.append("^")
        i += 1
    if pattern.startswith("]", i):
        raise refused("a class opening with ']'")
    while i < len(pattern):
        ch = pattern[i]
        if ch == "]":
            out.append("]")
            return "".join(out), i + 1
        if ch == "\\":
            escaped, i = _escape(pattern, i, refused, in_class=True)
            out.append(escaped)
            continue
        if ch == "[":
            raise refused("'[' inside a class")
        if pattern.startswith("&&", i):
            raise refused("'&&' inside a class")
        out.append(ch)
        i += 1
    raise refused("an unclosed class")
