"""The syntax tree: frozen attrs classes, one per construct of the language.

Trees compare structurally: every node's ``span`` is a keyword-only field left
out of equality and hashing, so ``parse(a) == parse(b)`` when ``a`` and ``b``
differ only in layout. Names are not resolved here; a ``Reference`` is just the
dotted path its author wrote, which the checker later binds to a field,
segment, period, parameter or population function.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Union

import attrs


@attrs.frozen
class Span:
    """Where a node's text lies in its source.

    Lines and columns start at 1; ``end_column`` is the column just after the
    last character. ``start`` and ``end`` are character offsets into the source.
    """

    line: int
    column: int
    end_line: int
    end_column: int
    start: int
    end: int
    file: str | None = None

    def merge(self, other: Span) -> Span:
        """The smallest span covering both ``self`` and ``other``."""
        first, last = (self, other) if self.start <= other.start else (other, self)
        if last.end < first.end:
            last = first
        return Span(first.line, first.column, last.end_line, last.end_column,
                    first.start, last.end, self.file)


def _span_field():
    return attrs.field(default=None, eq=False, kw_only=True, repr=False)


class Node:
    """Base class of every syntax tree node (each has a ``span``)."""

    __slots__ = ()


# ------------------------------------------------------------------ operators


class CompareOp(enum.Enum):
    """Binary comparison operators, by their spelling in rules."""

    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    MATCHES = "matches"


class ArithmeticOp(enum.Enum):
    """Arithmetic operators, by their spelling in rules."""

    ADD = "+"
    SUBTRACT = "-"
    MULTIPLY = "*"
    DIVIDE = "/"
    MODULO = "%"


class DurationUnit(enum.Enum):
    """Units of duration literals: hours, days and weeks are exact lengths of
    time; months and years are calendar steps."""

    HOURS = "h"
    DAYS = "d"
    WEEKS = "w"
    MONTHS = "m"
    YEARS = "y"


# ------------------------------------------------------------------ literals


@attrs.frozen
class Number(Node):
    """An integer or decimal literal: ``4``, ``89.9``, ``1_000``.

    ``text`` is the literal as written (``1_000``, ``1.5e3``), kept so the
    formatter prints it unchanged; None for a node built in Python.
    """

    value: int | float
    span: Span | None = _span_field()
    text: str | None = attrs.field(default=None, eq=False, kw_only=True, repr=False)


@attrs.frozen
class String(Node):
    """A string literal, escapes already decoded."""

    value: str
    span: Span | None = _span_field()


@attrs.frozen
class Boolean(Node):
    """``true`` or ``false``."""

    value: bool
    span: Span | None = _span_field()


@attrs.frozen
class Null(Node):
    """``null``: the missing value."""

    span: Span | None = _span_field()


@attrs.frozen
class Date(Node):
    """A calendar date: ``2026-06-24``."""

    value: dt.date
    span: Span | None = _span_field()


@attrs.frozen
class DateTime(Node):
    """A point in time: ``2026-06-24T10:00:00Z``; naive when written without
    an offset."""

    value: dt.datetime
    span: Span | None = _span_field()


@attrs.frozen
class Duration(Node):
    """A length of time: ``30d``, ``12h``, ``6m``."""

    amount: int
    unit: DurationUnit
    span: Span | None = _span_field()


@attrs.frozen
class DateRange(Node):
    """Whole days from ``start`` to ``end``, both included:
    ``2026-06-24 .. 2026-07-21``."""

    start: dt.date
    end: dt.date
    span: Span | None = _span_field()


@attrs.frozen
class ListLiteral(Node):
    """A list: ``["FR", "BE"]``."""

    items: tuple[Expression, ...]
    span: Span | None = _span_field()


@attrs.frozen
class Now(Node):
    """``now``: the evaluation time."""

    span: Span | None = _span_field()


@attrs.frozen
class Today(Node):
    """``today``: the evaluation time's day in the configured timezone."""

    span: Span | None = _span_field()


# --------------------------------------------------------------- expressions


@attrs.frozen
class Reference(Node):
    """A name or dotted path as written: ``country``, ``rfm.frequency``."""

    path: tuple[str, ...]
    span: Span | None = _span_field()

    @property
    def dotted(self) -> str:
        """The path as written, parts joined by dots."""
        return ".".join(self.path)


@attrs.frozen
class Keyword(Node):
    """A keyword argument of a call: ``within = 30d``."""

    name: str
    value: Expression
    span: Span | None = _span_field()


@attrs.frozen
class Alias(Node):
    """An argument naming the elements of a list: ``events as e``, so that a
    ``where`` nested in another may read the outer element (``e.at``)."""

    value: Expression
    name: str
    span: Span | None = _span_field()


@attrs.frozen
class Call(Node):
    """A function call: ``orders(365d, category = "shoes")``."""

    name: str
    args: tuple[Expression | Alias, ...] = ()
    keywords: tuple[Keyword, ...] = ()
    span: Span | None = _span_field()


@attrs.frozen
class Negate(Node):
    """Unary minus: ``-x``."""

    operand: Expression
    span: Span | None = _span_field()


@attrs.frozen
class Arithmetic(Node):
    """A binary arithmetic operation: ``now - 90d``, ``a * 2``."""

    op: ArithmeticOp
    left: Expression
    right: Expression
    span: Span | None = _span_field()


@attrs.frozen
class Comparison(Node):
    """A binary comparison: ``visits(30d) >= 10``, ``email ends_with ".fr"``."""

    op: CompareOp
    left: Expression
    right: Expression
    span: Span | None = _span_field()


@attrs.frozen
class Membership(Node):
    """``x in [...]`` or, when ``negated``, ``x not in [...]``."""

    element: Expression
    container: Expression
    negated: bool = False
    span: Span | None = _span_field()


@attrs.frozen
class Between(Node):
    """``x between low and high``, both bounds included."""

    operand: Expression
    low: Expression
    high: Expression
    span: Span | None = _span_field()


@attrs.frozen
class IsNull(Node):
    """``x is null`` or, when ``negated``, ``x is not null``."""

    operand: Expression
    negated: bool = False
    span: Span | None = _span_field()


@attrs.frozen
class Not(Node):
    """Boolean negation: ``not purchased(30d)``."""

    operand: Expression
    span: Span | None = _span_field()


@attrs.frozen
class And(Node):
    """Conjunction of two or more operands, kept flat: ``a and b and c``."""

    operands: tuple[Expression, ...]
    span: Span | None = _span_field()


@attrs.frozen
class Or(Node):
    """Disjunction of two or more operands, kept flat: ``a or b or c``."""

    operands: tuple[Expression, ...]
    span: Span | None = _span_field()


Literal = Union[Number, String, Boolean, Null, Date, DateTime, Duration, DateRange, ListLiteral, Now,
                Today]
Expression = Union[
    Literal, Reference, Call, Negate, Arithmetic, Comparison, Membership, Between, IsNull, Not, And, Or
]


# ---------------------------------------------------------------- statements


@attrs.frozen
class SegmentDef(Node):
    """``segment NAME ["description"] = EXPR``."""

    name: str
    body: Expression
    description: str | None = None
    span: Span | None = _span_field()
    name_span: Span | None = _span_field()


@attrs.frozen
class PeriodDef(Node):
    """``period NAME = DATE .. DATE``."""

    name: str
    range: DateRange
    span: Span | None = _span_field()
    name_span: Span | None = _span_field()


@attrs.frozen
class Parameter(Node):
    """One parameter of a ``def``."""

    name: str
    span: Span | None = _span_field()


@attrs.frozen
class FunctionDef(Node):
    """``def NAME(PARAMS) = EXPR``: a function written in the language."""

    name: str
    params: tuple[Parameter, ...]
    body: Expression
    span: Span | None = _span_field()
    name_span: Span | None = _span_field()


Statement = Union[SegmentDef, PeriodDef, FunctionDef]


@attrs.frozen
class Comment(Node):
    """A ``# ...`` comment, kept so the formatter can put it back."""

    text: str
    span: Span | None = _span_field()


@attrs.frozen
class RuleFile(Node):
    """A whole rule file: its statements in order and its comments."""

    statements: tuple[Statement, ...] = ()
    comments: tuple[Comment, ...] = ()
    span: Span | None = _span_field()

    def find(self, name: str) -> Statement | None:
        """The statement that defines ``name``, or None."""
        return next((s for s in self.statements if s.name == name), None)


def children(node: Node) -> tuple[Node, ...]:
    """The direct child nodes of ``node``, in source order."""
    found = []
    for field in attrs.fields(type(node)):
        if field.name in ("span", "name_span"):
            continue
        value = getattr(node, field.name)
        if isinstance(value, Node):
            found.append(value)
        elif isinstance(value, tuple):
            found.extend(item for item in value if isinstance(item, Node))
    return tuple(found)
