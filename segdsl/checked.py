"""The checked tree: what the checker makes of a syntax tree.

Every name is resolved (a field at a given scope, a segment, a population
function), every ``def`` is inlined, literals are converted to their run-time
values, and every node knows its type. The compiler turns this tree into
closures; ``explain`` shows it. Each node keeps the syntax node it came from
(``syntax``, left out of equality) for messages and explanations.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from typing import Any, Callable

import attrs

from segdsl import nodes as n
from segdsl.types import Type


def _syntax():
    return attrs.field(default=None, eq=False, repr=False, kw_only=True)


class Checked:
    """Base class of checked nodes; each has ``type``, ``nullable`` and ``syntax``."""

    __slots__ = ()


#: Operators of the checked tree: the syntax tree's comparisons and arithmetic, in one enum.
Operator = enum.Enum("Operator", [(op.name, op.value) for op in (*n.CompareOp, *n.ArithmeticOp)])


@attrs.frozen(cache_hash=True)
class Constant(Checked):
    """A literal's run-time value (``Duration``, ``Period``, aware datetime, ...)."""

    value: Any
    type: Type
    nullable: bool = False
    syntax: n.Node | None = _syntax()


@attrs.frozen(cache_hash=True)
class ListOf(Checked):
    """A list literal whose items are not all constants."""

    items: tuple[Checked, ...]
    type: Type
    nullable: bool = False
    syntax: n.Node | None = _syntax()


@attrs.frozen(cache_hash=True)
class Field(Checked):
    """A field path read from the record in scope ``depth`` (0: the customer,
    1: the element of the outermost aggregation, ...)."""

    path: tuple[str, ...]
    depth: int
    type: Type
    nullable: bool = True
    syntax: n.Node | None = _syntax()

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@attrs.frozen(cache_hash=True)
class Now(Checked):
    """The evaluation time."""

    type: Type
    nullable: bool = False
    syntax: n.Node | None = _syntax()


@attrs.frozen(cache_hash=True)
class Today(Checked):
    """The evaluation time's day in the configured timezone (a date)."""

    type: Type
    nullable: bool = False
    syntax: n.Node | None = _syntax()


@attrs.frozen(cache_hash=True)
class SegmentRef(Checked):
    """Membership in another segment of the same rule set."""

    name: str
    type: Type
    nullable: bool = True
    syntax: n.Node | None = _syntax()


@attrs.frozen(cache_hash=True)
class ToDate(Checked):
    """The calendar day of a datetime, so it compares with a date."""

    operand: Checked
    type: Type
    nullable: bool = True
    syntax: n.Node | None = _syntax()


@attrs.frozen(cache_hash=True)
class Coerce(Checked):
    """A value of unknown type read as a date or datetime (ISO text in data
    without a schema), where a function's parameter wants one."""

    operand: Checked
    type: Type
    nullable: bool = True
    syntax: n.Node | None = _syntax()


@attrs.frozen(cache_hash=True)
class Negate(Checked):
    """Unary minus."""

    operand: Checked
    type: Type
    nullable: bool = True
    syntax: n.Node | None = _syntax()


@attrs.frozen(cache_hash=True)
class Binary(Checked):
    """A comparison or arithmetic operation. ``pattern`` holds the compiled
    regular expression of ``matches``."""

    op: Operator
    left: Checked
    right: Checked
    type: Type
    nullable: bool = True
    pattern: re.Pattern | None = attrs.field(default=None, eq=False)
    syntax: n.Node | None = _syntax()


@attrs.frozen(cache_hash=True)
class Membership(Checked):
    """``element in container`` (negated: ``not in``)."""

    element: Checked
    container: Checked
    negated: bool
    type: Type
    nullable: bool = True
    syntax: n.Node | None = _syntax()


@attrs.frozen(cache_hash=True)
class Between(Checked):
    """``operand between low and high``, bounds included."""

    operand: Checked
    low: Checked
    high: Checked
    type: Type
    nullable: bool = True
    syntax: n.Node | None = _syntax()


@attrs.frozen(cache_hash=True)
class IsNull(Checked):
    """``operand is null`` (negated: ``is not null``); never null itself."""

    operand: Checked
    negated: bool
    type: Type
    nullable: bool = False
    syntax: n.Node | None = _syntax()


@attrs.frozen(cache_hash=True)
class Not(Checked):
    """Three-valued negation."""

    operand: Checked
    type: Type
    nullable: bool = True
    syntax: n.Node | None = _syntax()


@attrs.frozen(cache_hash=True)
class And(Checked):
    """Three-valued conjunction."""

    operands: tuple[Checked, ...]
    type: Type
    nullable: bool = True
    syntax: n.Node | None = _syntax()


@attrs.frozen(cache_hash=True)
class Or(Checked):
    """Three-valued disjunction."""

    operands: tuple[Checked, ...]
    type: Type
    nullable: bool = True
    syntax: n.Node | None = _syntax()


@attrs.frozen(cache_hash=True)
class Window(Checked):
    """Which elements of a list an aggregation sees: a duration back from now,
    or a period, or both ends of a range (``value`` evaluates to a
    ``Duration`` or a ``Period``; None means no window)."""

    value: Checked
    type: Type
    nullable: bool = False
    syntax: n.Node | None = _syntax()


@attrs.frozen(cache_hash=True)
class Aggregate(Checked):
    """An aggregation over a list: ``count``, ``sum``, ``avg``, ``min``,
    ``max``, ``first``, ``last`` or ``exists``.

    Attributes:
        function: the aggregation's name.
        source: the list (a field in some scope).
        value: the path of the aggregated value inside each element (empty:
            the element itself).
        window: which elements by time, or None.
        where: a condition evaluated with each element in scope ``depth``.
        timestamp: the element field holding its time (None: no timestamps).
        depth: the scope depth of the elements (of the innermost nested list's
            items when ``flatten``; the enclosing elements take the depths below).
        flatten: where ``value`` enters nested lists, whose items are aggregated
            instead: ``count(orders.items)`` has value ``("items",)`` and
            flatten ``(1,)``, so it counts the items of all orders.
    """

    function: str
    source: Checked
    value: tuple[str, ...]
    window: Window | None
    where: Checked | None
    timestamp: str | None
    depth: int
    type: Type
    nullable: bool = True
    flatten: tuple[int, ...] = ()
    syntax: n.Node | None = _syntax()


@attrs.frozen(cache_hash=True)
class Population(Checked):
    """A value that depends on the whole population: ``rfm.*``, ``ntile``,
    ``percentile``.

    Attributes:
        kind: ``rfm.recency``, ``rfm.frequency``, ``rfm.monetary``,
            ``rfm.score``, ``rfm.group``, ``ntile`` or ``percentile``.
        measure: the per-customer value that is ranked (None for rfm.score
            and rfm.group, which combine the three rfm measures).
        buckets: the number of tiles (ntile) or 5 for rfm scores.
        key: identifies this population statistic within a rule set.
    """

    kind: str
    measure: Checked | None
    buckets: int
    key: str
    type: Type
    nullable: bool = True
    syntax: n.Node | None = _syntax()


@attrs.frozen(cache_hash=True)
class Apply(Checked):
    """A call of a scalar built-in or a registered Python function."""

    name: str
    function: Callable[..., Any] = attrs.field(eq=False)
    args: tuple[Checked, ...]
    null_safe: bool
    type: Type
    nullable: bool = True
    syntax: n.Node | None = _syntax()


def checked_children(node: Checked) -> tuple[Checked, ...]:
    """The direct checked children of ``node``, in evaluation order."""
    found = []
    for field in attrs.fields(type(node)):
        if field.name in ("syntax", "type", "pattern", "function"):
            continue
        value = getattr(node, field.name)
        if isinstance(value, Checked):
            found.append(value)
        elif isinstance(value, tuple):
            found.extend(item for item in value if isinstance(item, Checked))
    return tuple(found)


def walk(node: Checked, enter: Callable[[Checked], bool] = lambda sub: True):
    """Every node under ``node`` (itself included), parents first, each once:
    def expansions are shared, so the same node may be reached by many paths.
    The children of a node are visited only when ``enter(node)``."""
    stack = [node]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if enter(current):
            stack.extend(reversed(checked_children(current)))


def walk_segments(body: Callable[[str], Checked], names: Iterable[str]):
    """Every node of the segments ``names`` and of the segments they refer to
    (``body`` gives a segment's checked rule), each segment walked once."""
    pending, seen = list(names), set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for node in walk(body(name)):
            if isinstance(node, SegmentRef):
                pending.append(node.name)
            yield node


def fold(root: Checked, combine: Callable[[Checked, list[Any]], Any],
         memo: dict[int, Any], parts: Callable[[Checked], tuple[Checked, ...]] = checked_children
         ) -> Any:
    """``combine(node, [its parts' results])`` for ``root``, computed bottom up
    without recursion, once per node however many paths share it. Results are
    kept in ``memo`` by node id (the caller keeps the nodes alive)."""
    pending: list[tuple[Checked, bool]] = [(root, False)]
    while pending:
        node, parts_done = pending.pop()
        if id(node) in memo:
            continue
        below = parts(node)
        if not parts_done:
            pending.append((node, True))
            pending.extend((part, False) for part in below if id(part) not in memo)
            continue
        memo[id(node)] = combine(node, [memo[id(part)] for part in below])
    return memo[id(root)]


def _identity_first(eq: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def __eq__(self, other):
        return True if self is other else eq(self, other)

    return __eq__


# Def expansions are shared, so a checked tree is a DAG whose paths can number
# 2**22: equality must stop at a node shared by both sides, as hashing does
# (cache_hash), instead of comparing it again along every path.
for _class in Checked.__subclasses__():
    _class.__eq__ = _identity_first(_class.__eq__)  # type: ignore[method-assign]
