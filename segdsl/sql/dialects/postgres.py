"""PostgreSQL's spellings and quirks (PostgreSQL 14 or later).

- ``now`` is the psycopg parameter ``%(now)s``, bound when the query runs.
- ``~`` is a POSIX advanced regular expression, not RE2: ``matches`` is
  translated (:func:`segdsl.sql.dialects.posix.translate`) where both mean the
  same, and refused otherwise.
- ``x AT TIME ZONE zone`` turns an instant into the zone's wall clock and back;
  the way back reads skipped and repeated wall clocks otherwise than
  python-dateutil, so :meth:`Postgres.instant` picks the offset itself, as
  the DuckDB dialect does.
- There is no ``%`` on doubles: :meth:`Postgres.modulo` computes it in
  ``NUMERIC`` where the operands (below 2**52) are exactly their shortest
  decimals (whole numbers, halves, quarters, ...) and stops the query otherwise.
- ``round`` of a double takes halves to even: the exact sum rounds with
  ``trunc`` and sums ``NUMERIC`` whole numbers.
- Text is compared by the database's collation: comparisons, ``lower`` and
  ``upper`` use ``COLLATE "C"`` (code points; ASCII case mapping only).
- There is no ``error()``: a failing cast of the message stops the query
  (the runner turns it back into the message).
- ``EXTRACT(EPOCH ...)`` is exact (``NUMERIC``) from PostgreSQL 14 on.
"""

from __future__ import annotations

from sqlglot import exp

from segdsl.sql.dialects.base import Dialect, binary, case, cast, wrap
from segdsl.sql.dialects.posix import translate

#: The prefix of the messages of :meth:`Postgres.fail`, found again in the error.
FAILURE = "segdsl: "
_DOUBLE = exp.DataType.build("DOUBLE")
_NUMERIC = exp.DataType.build("NUMERIC")
_US_PER_HOUR = 3_600_000_000
# Below 2**52, a double whose shortest decimal is a dyadic fraction is that decimal.
_EXACT_DECIMALS = 2 ** 52


def _number(value: float | str) -> exp.Expr:
    return cast(exp.Literal.string(str(value)), _DOUBLE)


class Postgres(Dialect):
    """The PostgreSQL dialect."""

    name = "postgres"
    materialized = True  # PostgreSQL inlines a CTE used once, even into a subquery

    def function(self, name: str, *args: exp.Expr) -> exp.Expr:
        if name in ("lower", "upper"):  # ASCII letters only (the compiler guards the rest)
            args = (self.ordered_text(args[0]), *args[1:])
        return super().function(name, *args)

    def fail(self, message: str, kind: str | None = None) -> exp.Expr:
        if kind is None:
            raise self.refuse("raising an error from a query where the type is not known")
        # A volatile (and parallel-safe) empty part keeps the planner from casting the
        # constant ahead of time, when no row needs it.
        volatile = self.function("substr", cast(self.function("gen_random_uuid"), "TEXT"),
                                 exp.Literal.number(1), exp.Literal.number(0))
        text = exp.DPipe(this=exp.Literal.string(FAILURE + message), expression=volatile)
        return cast(cast(cast(exp.Paren(this=text), "INT"), "TEXT"), kind)

    def now(self) -> exp.Expr:
        return cast(exp.Placeholder(this="now"), exp.DataType.build("TIMESTAMPTZ"))

    def struct_field(self, record: exp.Expr, name: str) -> exp.Expr:
        # A composite column: (record).name is null when the record is.
        return exp.Dot(this=exp.Paren(this=record), expression=exp.to_identifier(name,
                                                                                 quoted=True))

    def regex_search(self, text: exp.Expr, pattern: str) -> exp.Expr:
        translated = translate(pattern)
        if isinstance(translated, tuple):
            raise self.refuse(f"the pattern {pattern!r} of 'matches'", translated[0])
        return exp.RegexpLike(this=wrap(text), expression=exp.Literal.string(translated))

    def list_contains(self, items: exp.Expr, value: exp.Expr) -> exp.Expr:
        missing = exp.or_(exp.Is(this=wrap(items), expression=exp.null()),
                          exp.Is(this=wrap(value), expression=exp.null()))
        found = exp.EQ(this=wrap(value.copy()), expression=exp.Any(
            this=exp.Paren(this=items.copy())))
        return case(missing, cast(exp.null(), "BOOLEAN"),
                    exp.Coalesce(this=found, expressions=[exp.false()]))

    def list_length(self, items: exp.Expr) -> exp.Expr:
        return self.function("cardinality", items)

    def list_present(self, items: exp.Expr) -> exp.Expr:
        return self.function("cardinality", self.function("array_remove", items, exp.null()))

    def epoch_us(self, instant: exp.Expr) -> exp.Expr:
        seconds = exp.Extract(this=exp.var("EPOCH"), expression=instant)
        return cast(binary(exp.Mul, seconds, exp.Literal.number(1_000_000)), "BIGINT")

    def microseconds(self, amount: exp.Expr) -> exp.Expr:
        # Whole hours exactly (an integer), the rest as seconds below an hour
        # (make_interval rounds seconds to whole microseconds).
        if amount.is_int:  # a constant (a negative one is a Neg of a Literal)
            micros = int(amount.to_py())
            whole = abs(micros) // _US_PER_HOUR * (1 if micros >= 0 else -1)
            rest = micros - whole * _US_PER_HOUR
            return self._interval(hours=exp.Literal.number(whole),
                                  secs=_number(repr(rest / 1_000_000)))
        hours = cast(self.function("div", amount, exp.Literal.number(_US_PER_HOUR)), "INT")
        remainder = cast(self.function("mod", amount.copy(),
                                           exp.Literal.number(_US_PER_HOUR)), _DOUBLE)
        return self._interval(hours=hours, secs=binary(exp.Div, remainder, _number(1_000_000)))

    def months(self, amount: int) -> exp.Expr:
        return self._interval(months=exp.Literal.number(amount))

    def _interval(self, **parts: exp.Expr) -> exp.Expr:
        return self.function("make_interval", *(
            exp.Kwarg(this=exp.var(name), expression=value) for name, value in parts.items()))

    def wall_clock(self, instant: exp.Expr, zone: str) -> exp.Expr:
        return exp.AtTimeZone(this=wrap(instant), zone=exp.Literal.string(zone))

    def instant(self, wall: exp.Expr, zone: str) -> exp.Expr:
        """The instant of wall-clock time ``wall`` in ``zone``, read as python-dateutil
        reads it: with the offset in effect before a change when that offset
        still reaches ``wall`` (a repeated hour: its first occurrence), else
        with the offset after it (a skipped hour)."""
        if zone == "UTC":
            return self._as_utc(wall)
        day = self._interval(hours=exp.Literal.number(24))
        before = self._offset(self._as_utc(binary(exp.Sub, wall, day)), zone)
        after = self._offset(self._as_utc(binary(exp.Add, wall.copy(), day.copy())), zone)
        early = self._as_utc(binary(exp.Sub, wall.copy(), before))
        holds = binary(exp.EQ, self._offset(early, zone), before.copy())
        return case(holds, early.copy(), self._as_utc(binary(exp.Sub, wall.copy(), after)))

    def _offset(self, instant: exp.Expr, zone: str) -> exp.Expr:
        """The zone's offset from UTC at ``instant``, an interval."""
        return binary(exp.Sub, self.wall_clock(instant, zone),
                      self.wall_clock(instant.copy(), "UTC"))

    def _as_utc(self, wall: exp.Expr) -> exp.Expr:
        return exp.AtTimeZone(this=wrap(wall), zone=exp.Literal.string("UTC"))

    # the constructs written the DuckDB way before dialects took them over

    def filtered_aggregate(self, aggregate: exp.Expr, condition: exp.Expr) -> exp.Expr:
        return exp.Filter(this=aggregate, expression=exp.Where(this=condition))

    def ordered_first(self, value: exp.Expr, order: list[exp.Ordered],
                      condition: exp.Expr | None = None) -> exp.Expr:
        listed: exp.Expr = exp.ArrayAgg(this=exp.Order(this=value, expressions=list(order)))
        if condition is not None:
            listed = self.filtered_aggregate(listed, condition)
        return exp.Bracket(this=exp.Paren(this=listed), expressions=[exp.Literal.number(0)])

    def exact_units(self, value: exp.Expr, scale: int) -> exp.Expr:
        scaled = binary(exp.Mul, value, _number(float(10 ** scale)))
        whole = self.function("trunc", scaled)
        half = binary(exp.GTE, self.function("abs", binary(exp.Sub, scaled.copy(),
                                                           whole.copy())), _number(0.5))
        rounded = binary(exp.Add, whole.copy(), case(half, self.function("sign", scaled.copy()),
                                                     _number(0)))
        # Exactly as NUMERIC: through BIGINT, scaled down by a power of two beyond 2**62
        # (a double's 53 bits keep it whole).
        small = binary(exp.LT, self.function("abs", rounded), _number(2 ** 62))
        exact = cast(cast(rounded.copy(), "BIGINT"), _NUMERIC)
        shift = self.function("greatest", exp.Literal.number(0), binary(
            exp.Sub, cast(self.function("floor", binary(exp.Div, self.function(
                "ln", self.function("abs", rounded.copy())), self.function("ln", _number(2)))),
                "INT"),
            exp.Literal.number(60)))
        scaled_down = cast(cast(binary(exp.Div, rounded.copy(), self.function(
            "power", _number(2), shift)), "BIGINT"), _NUMERIC)
        large = binary(exp.Mul, scaled_down, self.function(
            "power", cast(exp.Literal.number(2), _NUMERIC), shift.copy()))
        return case(small, exact, large)

    def from_exact_units(self, total: exp.Expr, scale: int) -> exp.Expr:
        # The decimal text is read with correct rounding.
        text = exp.DPipe(this=cast(total, "TEXT"), expression=exp.Literal.string(f"e-{scale}"))
        return cast(text, _DOUBLE)

    def modulo(self, left: exp.Expr, right: exp.Expr) -> exp.Expr:
        """C's ``fmod(left, right)``, exactly: in NUMERIC, where each operand is
        its shortest decimal exactly; an infinite divisor leaves ``left``, an
        infinite or NaN dividend gives NaN; otherwise the query stops."""
        def finite(value: exp.Expr) -> exp.Expr:
            return exp.not_(exp.In(this=wrap(value), expressions=[
                _number("Infinity"), _number("-Infinity"), _number("NaN")]))

        def exact(value: exp.Expr) -> exp.Expr:
            decimal = self._decimal(value)
            digits = self.function("scale", self.function("trim_scale", decimal))
            numerator = binary(exp.Mul, decimal.copy(), self.function(
                "power", cast(exp.Literal.number(10), _NUMERIC), digits))
            dyadic = binary(exp.EQ, self.function("mod", numerator, self.function(
                "power", cast(exp.Literal.number(5), _NUMERIC), digits.copy())),
                exp.Literal.number(0))
            return exp.and_(binary(exp.LT, self.function("abs", value.copy()),
                                   _number(_EXACT_DECIMALS)),
                            binary(exp.EQ, cast(decimal.copy(), _DOUBLE), value.copy()),
                            dyadic)

        computed = cast(self.function("mod", self._decimal(left), self._decimal(right)),
                            _DOUBLE)
        return exp.Case(ifs=[
            exp.If(this=exp.or_(exp.Is(this=wrap(left.copy()), expression=exp.null()),
                                exp.Is(this=wrap(right.copy()), expression=exp.null())),
                   true=cast(exp.null(), _DOUBLE)),
            exp.If(this=exp.not_(finite(left.copy())), true=_number("NaN")),
            exp.If(this=exp.not_(finite(right.copy())),
                   true=case(binary(exp.EQ, right.copy(), _number("NaN")), _number("NaN"),
                             left.copy())),
            exp.If(this=exp.and_(exact(left.copy()), exact(right.copy())), true=computed),
        ], default=self.fail("'%' of numbers that are not short decimals (such as 0.1, "
                             "which a double holds only approximately) is not supported by "
                             "the postgres engine yet", "DOUBLE PRECISION"))

    def _decimal(self, value: exp.Expr) -> exp.Expr:
        return cast(cast(value, "TEXT"), _NUMERIC)

    def not_nan(self, value: exp.Expr) -> exp.Expr:
        return exp.Nullif(this=value, expression=_number("NaN"))

    def date_plus_days(self, day: exp.Expr, days: int) -> exp.Expr:
        return binary(exp.Add, day, cast(exp.Literal.number(days), "INTEGER"))

    def days_apart(self, later: exp.Expr, earlier: exp.Expr) -> exp.Expr:
        return binary(exp.Sub, later, earlier)

    def positions(self, count: int) -> exp.Expr:
        series = self.function("generate_series", exp.Literal.number(1),
                               exp.Literal.number(count - 1))
        return exp.Table(this=series, alias=exp.TableAlias(this=exp.to_identifier("q"),
                                                           columns=[exp.to_identifier("i")]))

    def ordered_text(self, text: exp.Expr) -> exp.Expr:
        return exp.Collate(this=wrap(text), expression=exp.Identifier(this="C", quoted=True))

    def text_test(self, operator: str, text: exp.Expr, part: exp.Expr) -> exp.Expr:
        if operator == "contains":
            return binary(exp.GT, self.function("strpos", text, part), exp.Literal.number(0))
        if operator == "starts_with":
            return self.function("starts_with", text, part)
        ending = self.function("right", text, self.function("length", part))
        return binary(exp.EQ, ending, part.copy())

    def correlated_aggregates(self) -> None:
        return None

    def date_part(self, part: str, day: exp.Expr) -> exp.Expr:
        field = {"year": "YEAR", "month": "MONTH", "day": "DAY", "weekday": "ISODOW",
                 "day_of_year": "DOY"}[part]
        return cast(exp.Extract(this=exp.var(field), expression=day), "INT")

    def month_days(self, day: exp.Expr) -> exp.Expr:
        first = self.function("date_trunc", exp.Literal.string("month"), day)
        last = binary(exp.Sub, binary(exp.Add, first, self.months(1)),
                      self._interval(days=exp.Literal.number(1)))
        return self.date_part("day", cast(last, "DATE"))

    def make_date(self, year: exp.Expr, month: exp.Expr, day: exp.Expr) -> exp.Expr:
        return self.function("make_date", *(cast(part, "INT") for part in (year, month, day)))

    def is_infinite(self, number: exp.Expr) -> exp.Expr:
        return binary(exp.EQ, self.function("abs", number), _number("Infinity"))


DIALECT = Postgres()
