"""Snowflake's spellings and quirks.

The query is generated only: no server runs it here. What it relies on:

- ``$now`` is a session variable (``SET now = '2026-07-15 00:00:00+00:00'``),
  read as a ``TIMESTAMP_TZ`` instant. ``CONVERT_TIMEZONE(zone, ts)`` then a cast
  to ``TIMESTAMP_NTZ`` is the wall clock in a zone; ``DATE_PART(epoch_microsecond,
  ...)`` and ``DATEADD(MICROSECOND, ...)`` step exactly, whatever the session's
  time zone. How a wall clock that a daylight-saving change skips or repeats
  is read is not documented: the instant is found from the zone's offsets (see
  :mod:`.warehouse`).
- ``DATEADD(MONTH, n, x)`` keeps the day of the month, or takes the last day
  of a shorter month, as python-dateutil does; ``ADD_MONTHS`` is not used: it
  also moves a month's last day to the last day of the other month
  (``ADD_MONTHS('2023-02-28', 1)`` is March 31).
- Regular expressions are POSIX ERE with some Perl escapes, not RE2: a
  pattern is translated into an equivalent one when every part of it means
  the same in both (:func:`posix_pattern`), else refused. ``RLIKE`` matches
  the whole text: the pattern is searched as ``(.|\\n)*(pattern)(.|\\n)*``.
- No ``FILTER`` clause (``COUNT_IF``, ``IFF``), no ``IS TRUE`` (``COALESCE(c,
  FALSE)``), no function raising an error: a row stops the query by reading
  the message as a number (:meth:`Snowflake.fail_when`).
- ``NaN = NaN`` is true (Snowflake's documented rule): ``NULLIF(x, 'NaN')``
  turns a NaN result into null, as on DuckDB.
- The exact sum: each value's ``ROUND(v * 1e9)`` is split into parts below 2**53
  (exact in any conversion) cast to ``NUMBER(38, 0)`` and summed exactly;
  beyond 10**38 the query stops with an overflow error.
- ``first``/``last`` of another field than the timestamp would need an
  ordered aggregate keeping the value's type (``ARRAY_AGG`` holds ``VARIANT``):
  refused, as are lists of values (``ARRAY`` of ``VARIANT``) and record fields.
- Text is compared with the columns' collation: the default (binary) gives the
  Python engine's answers.
"""

from __future__ import annotations

from sqlglot import exp

from segdsl.errors import CheckError
from segdsl.sql.dialects.base import binary, cast
from segdsl.sql.dialects.warehouse import Warehouse

_DOUBLE = exp.DataType.build("DOUBLE")
_UNITS = exp.DataType.build("DECIMAL(38, 0)")
_CHUNK = 2 ** 53
_EPOCH = "1970-01-01 00:00:00+00:00"


def _is_null(value: exp.Expr) -> exp.Expr:
    return exp.Is(this=value, expression=exp.null())


class Snowflake(Warehouse):
    """The Snowflake dialect."""

    name = "snowflake"

    def fail(self, message: str, kind: str | None = None) -> exp.Expr:
        raise self.refuse("raising an error from a query",
                          "Snowflake has no expression that raises an error")

    def fail_when(self, condition: exp.Expr, message: str, value: exp.Expr,
                  kind: str) -> exp.Expr:
        """``IFF(CAST(IFF(condition, message, '0') AS INT) = 0, value, NULL)``: the
        message is no number, so reading it stops the query (naming it), for
        the rows where ``condition`` holds only; the two branches differ, so no
        optimizer drops the test."""
        text = exp.If(this=condition, true=exp.Literal.string(message),
                      false=exp.Literal.string("0"))
        read = binary(exp.EQ, cast(text, "INTEGER"), exp.Literal.number(0))
        return exp.If(this=read, true=value, false=exp.null())

    def ordered_text(self, text: exp.Expr) -> exp.Expr:
        return text  # without a collation, text compares by its UTF-8 bytes: code points

    def beyond_ascii(self, text: exp.Expr) -> exp.Expr:
        # UTF-8 takes more than one byte for any other character.
        return binary(exp.GT, self.function("OCTET_LENGTH", text),
                      self.function("LENGTH", text.copy()))

    def now(self) -> exp.Expr:
        return cast(exp.Parameter(this=exp.var("now")), exp.DataType.build("TIMESTAMPTZ"))

    def regex_search(self, text: exp.Expr, pattern: str) -> exp.Expr:
        translated = posix_pattern(pattern, self.refuse)
        anything = "(.|\n)*"
        return exp.RegexpLike(this=text, expression=exp.Literal.string(
            f"{anything}({translated}){anything}"))

    def is_true(self, condition: exp.Expr) -> exp.Expr:
        return exp.Coalesce(this=condition, expressions=[exp.false()])

    def epoch_us(self, instant: exp.Expr) -> exp.Expr:
        return self.function("DATE_PART", exp.var("epoch_microsecond"), instant)

    def wall_epoch_us(self, wall: exp.Expr) -> exp.Expr:
        return self.epoch_us(wall)

    def from_epoch_us(self, micros: exp.Expr) -> exp.Expr:
        epoch = cast(exp.Literal.string(_EPOCH), exp.DataType.build("TIMESTAMPTZ"))
        return exp.DateAdd(this=epoch, expression=micros, unit=exp.var("MICROSECOND"))

    def microseconds(self, amount: exp.Expr) -> exp.Expr:
        raise self.refuse("intervals of microseconds")

    def plus_microseconds(self, instant: exp.Expr, micros: int) -> exp.Expr:
        return exp.DateAdd(this=instant, expression=exp.Literal.number(micros),
                           unit=exp.var("MICROSECOND"))

    def wall_clock(self, instant: exp.Expr, zone: str) -> exp.Expr:
        converted = exp.ConvertTimezone(target_tz=exp.Literal.string(zone), timestamp=instant)
        return cast(converted, exp.DataType.build("TIMESTAMPNTZ"))

    def exact_units(self, value: exp.Expr, scale: int) -> exp.Expr:
        scaled = self.function("ROUND", binary(
            exp.Mul, value, cast(exp.Literal.number(10 ** scale), _DOUBLE)))
        # whole = c2 * 2**106 + c1 * 2**53 + c0, each part a whole double below 2**53
        # (every step is exact in doubles), so each converts to a NUMBER exactly.
        high = self._chunks(scaled, 2)
        middle = binary(exp.Sub, self._chunks(scaled, 1),
                        binary(exp.Mul, high.copy(), _double(_CHUNK)))
        low = binary(exp.Sub, scaled.copy(), binary(exp.Mul, self._chunks(scaled, 1),
                                                     _double(_CHUNK)))
        total: exp.Expr = cast(low, _UNITS)
        for part, power in ((middle, 1), (high, 2)):
            weight = cast(exp.Literal.number(_CHUNK ** power), _UNITS)
            total = binary(exp.Add, total, binary(exp.Mul, cast(part, _UNITS), weight))
        return total

    def _chunks(self, whole: exp.Expr, power: int) -> exp.Expr:
        """``trunc(whole / 2**(53 * power))``, exact in doubles."""
        divided = binary(exp.Div, whole.copy(), _double(_CHUNK ** power))
        return self.function("TRUNC", divided)

    def from_exact_units(self, total: exp.Expr, scale: int) -> exp.Expr:
        text = exp.DPipe(this=cast(total, "VARCHAR"),
                         expression=exp.Literal.string(f"e-{scale}"))
        return cast(text, _DOUBLE)

    def not_nan(self, number: exp.Expr) -> exp.Expr:
        # Snowflake documents NaN as equal to NaN (unlike IEEE), as DuckDB has it.
        return exp.Nullif(this=number, expression=cast(exp.Literal.string("NaN"), _DOUBLE))

    def modulo(self, dividend: exp.Expr, divisor: exp.Expr) -> exp.Expr:
        return binary(exp.Mod, dividend, divisor)

    def text_test(self, test: str, text: exp.Expr, part: exp.Expr) -> exp.Expr:
        if test == "starts_with":
            return exp.StartsWith(this=text, expression=part)
        name = {"contains": "CONTAINS", "ends_with": "ENDSWITH"}[test]
        return self.function(name, text, part)

    def date_plus_days(self, day: exp.Expr, days: int) -> exp.Expr:
        return exp.DateAdd(this=day, expression=exp.Literal.number(days), unit=exp.var("DAY"))

    def days_apart(self, later: exp.Expr, earlier: exp.Expr) -> exp.Expr:
        return exp.DateDiff(this=later, expression=earlier, unit=exp.var("DAY"))

    def months_later(self, moment: exp.Expr, months: int, date: bool = False) -> exp.Expr:
        """``DATEADD(MONTH, ...)``, not ``ADD_MONTHS`` (which moves a month's last day
        to the last day of the other month)."""
        return exp.DateAdd(this=moment, expression=exp.Literal.number(months),
                           unit=exp.var("MONTH"))

    def date_part(self, part: str, day: exp.Expr) -> exp.Expr:
        name = {"year": "YEAR", "month": "MONTH", "day": "DAY", "weekday": "DAYOFWEEKISO",
                "day_of_year": "DAYOFYEAR"}[part]
        return self.function(name, day)

    def month_days(self, day: exp.Expr) -> exp.Expr:
        return self.function("DAY", self.function("LAST_DAY", day))

    def make_date(self, year: exp.Expr, month: exp.Expr, day: exp.Expr) -> exp.Expr:
        return self.function("DATE_FROM_PARTS", year, month, day)

    def is_infinite(self, number: exp.Expr) -> exp.Expr:
        return binary(exp.EQ, self.function("ABS", number),
                      cast(exp.Literal.string("inf"), _DOUBLE))

    def positions(self, count: int) -> exp.Expr:
        alias = exp.TableAlias(this=exp.to_identifier("q"), columns=[exp.to_identifier("i")])
        if count <= 1:
            none = exp.select(exp.alias_(exp.Literal.number(1), "i")).where(exp.false())
            return exp.Subquery(this=none, alias=exp.TableAlias(this=exp.to_identifier("q")))
        return exp.Values(expressions=[exp.Tuple(expressions=[exp.Literal.number(i)])
                                       for i in range(1, count)], alias=alias)


def _double(value: int) -> exp.Expr:
    return cast(exp.Literal.number(value), _DOUBLE)


# ------------------------------------------------------------------ regular expressions

_META = set(".[]{}()*+?|^$\\")
_WORD = "0-9A-Za-z_"
_SPACE = "\t\n\f\r "  # RE2's \s
_CONTROL = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a"}
_CLASSES = {"d": "[0-9]", "D": "[^0-9]", "w": f"[{_WORD}]", "W": f"[^{_WORD}]",
            "s": f"[{_SPACE}]", "S": f"[^{_SPACE}]"}
_IN_BRACKETS = {"d": "0-9", "w": _WORD, "s": _SPACE}


def posix_pattern(pattern: str, refuse) -> str:
    """The POSIX ERE pattern (with Snowflake's ``\\b``) that matches somewhere in a
    text exactly when RE2 ``pattern`` does.

    Only what means the same in both is translated: literal ASCII characters,
    ``.``, bracket expressions of ASCII characters and ranges of digits or
    letters, ``\\d \\w \\s`` and their negations (as brackets), ``\\b \\B``,
    ``^ $ \\A \\z``, groups (``(?:`` and named groups become plain groups),
    alternatives, and the quantifiers ``* + ? {n} {n,} {n,m}`` (lazy ones
    become greedy: whether a match exists does not change).

    Args:
        pattern: the RE2 pattern (already accepted by RE2).
        refuse: makes the :class:`CheckError` for a construct.

    Raises:
        CheckError: a part of the pattern whose meaning may differ.
    """
    return _Translator(pattern, refuse).run()


class _Translator:
    def __init__(self, pattern: str, refuse) -> None:
        self.text = pattern
        self.at = 0
        self.out: list[str] = []
        self.refuse = refuse
        self.last = "start"  # start | open | bar | atom | anchor | quantifier

    def fail(self, what: str) -> CheckError:
        error: CheckError = self.refuse(f"'matches' with the pattern {self.text!r}",
                                        f"{what} may mean another thing in Snowflake's "
                                        "POSIX regular expressions")
        return error

    def run(self) -> str:
        if not self.text:
            raise self.fail("the empty pattern")
        depth = 0
        while self.at < len(self.text):
            ch = self.text[self.at]
            self.at += 1
            if ch == "\\":
                self.escape()
            elif ch == "[":
                self.bracket()
            elif ch == "(":
                self.group()
                depth += 1
            elif ch == ")":
                if self.last in ("open", "bar"):
                    raise self.fail("an empty group or alternative")
                depth -= 1
                self.emit(")", "atom")
            elif ch == "|":
                if self.last in ("start", "open", "bar"):
                    raise self.fail("an empty alternative")
                self.emit("|", "bar")
            elif ch in "*+?":
                self.quantifier(ch)
            elif ch == "{":
                self.braces()
            elif ch in "^$":
                self.emit(ch, "anchor")
            elif ch == ".":
                self.emit(".", "atom")
            else:
                self.literal(ch)
        if self.last == "bar":
            raise self.fail("an empty alternative")
        if depth != 0:
            raise self.fail("an unbalanced group")
        return "".join(self.out)

    def emit(self, text: str, kind: str) -> None:
        self.out.append(text)
        self.last = kind

    def literal(self, ch: str) -> None:
        if ord(ch) > 0x7F:
            raise self.fail(f"the character {ch!r} beyond ASCII")
        if (ord(ch) < 0x20 and ch not in "\t\n\r\f\v") or ord(ch) == 0x7F:
            raise self.fail(f"the control character {ch!r}")
        # A lone ']' or '}' is the character itself in both.
        self.emit("\\" + ch if ch in _META and ch not in "]}" else ch, "atom")

    def escape(self) -> None:
        if self.at >= len(self.text):
            raise self.fail("a trailing backslash")
        ch = self.text[self.at]
        self.at += 1
        if ch in _CLASSES:
            self.emit(_CLASSES[ch], "atom")
        elif ch in "bB":
            self.emit("\\" + ch, "anchor")
        elif ch == "A":
            self.emit("^", "anchor")
        elif ch == "z":
            self.emit("$", "anchor")
        elif ch in _CONTROL:
            self.emit(_CONTROL[ch], "atom")
        elif ch == "x":
            self.literal(self.hex())
        elif ch.isascii() and not ch.isalnum():
            self.literal(ch)
        else:
            raise self.fail(f"the escape \\{ch}")

    def hex(self) -> str:
        if self.text.startswith("{", self.at):
            end = self.text.find("}", self.at)
            digits, self.at = self.text[self.at + 1:end], end + 1
        else:
            digits, self.at = self.text[self.at:self.at + 2], self.at + 2
        return chr(int(digits, 16))

    def bracket(self) -> None:
        parts = ["["]
        if self.text.startswith("^", self.at):
            parts.append("^")
            self.at += 1
        items: list[str] = []
        hyphen = False
        first = True
        while True:
            if self.at >= len(self.text):
                raise self.fail("an unclosed bracket")
            ch = self.text[self.at]
            self.at += 1
            if ch == "]" and not first:
                break
            first = False
            if ch in "[]":
                raise self.fail(f"'{ch}' inside brackets")
            if ch == "\\":
                escaped = self.text[self.at] if self.at < len(self.text) else ""
                self.at += 1
                if escaped in _IN_BRACKETS:
                    items.append(_IN_BRACKETS[escaped])
                    continue
                if escaped in _CONTROL:
                    ch = _CONTROL[escaped]
                elif escaped == "x":
                    ch = self.hex()
                elif escaped.isascii() and not escaped.isalnum() and escaped not in "[]\\^-":
                    ch = escaped
                else:
                    raise self.fail(f"the escape \\{escaped} inside brackets")
            elif ch == "-":
                if (items or hyphen) and not self.text.startswith("]", self.at):
                    raise self.fail("a hyphen inside brackets that starts no range")
                hyphen = True
                continue
            if ord(ch) > 0x7F:
                raise self.fail(f"the character {ch!r} beyond ASCII")
            if self.text.startswith("-", self.at) and not self.text.startswith("-]", self.at):
                end = self.text[self.at + 1] if self.at + 1 < len(self.text) else ""
                if not _plain_range(ch, end):
                    raise self.fail(f"the range {ch}-{end}")
                items.append(f"{ch}-{end}")
                self.at += 2
                continue
            items.append(ch)
        if hyphen:
            items.append("-")  # last: a hyphen that is no range
        if not items:
            raise self.fail("an empty bracket")
        parts.extend(items)
        parts.append("]")
        self.emit("".join(parts), "atom")

    def group(self) -> None:
        if self.text.startswith("?", self.at):
            named = next((p for p in ("?:", "?P<", "?<") if self.text.startswith(p, self.at)),
                         None)
            if named is None:
                raise self.fail("a flag group such as (?i)")
            if named == "?:":
                self.at += 2
            else:
                self.at = self.text.index(">", self.at) + 1
        self.emit("(", "open")

    def quantifier(self, ch: str) -> None:
        if self.last == "quantifier" and ch == "?":
            return  # a lazy quantifier: a match exists or not all the same
        if self.last != "atom":
            raise self.fail(f"'{ch}' after no character")
        self.emit(ch, "quantifier")

    def braces(self) -> None:
        end = self.text.find("}", self.at)
        inside = self.text[self.at:end] if end >= 0 else ""
        low, _, high = inside.partition(",")
        if end < 0 or not low.isdigit() or (high and not high.isdigit()):
            self.literal("{")  # RE2 reads it as the character
            return
        if self.last != "atom":
            raise self.fail("a repetition after no character")
        self.at = end + 1
        self.emit("{" + inside + "}", "quantifier")


def _plain_range(start: str, end: str) -> bool:
    """A range of digits, of lowercase or of uppercase letters (the same in any collation)."""
    return any(start in kind and end in kind and start <= end
               for kind in ("0123456789", "abcdefghijklmnopqrstuvwxyz",
                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))


DIALECT = Snowflake()
