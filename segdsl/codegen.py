"""Fast paths: simple conditions compiled to Python source.

Most segment rules are plain conditions on a record's fields:
``rfm_frequency >= 4 and visits_30d >= 10 and not (purchases_30d > 0)``, or
``type == "visit"`` inside a ``where``. For those, this module writes one
Python expression that says whether the condition is *true* (or whether it
is *false*), and ``compile()`` turns it into a function once. Filtering a
list then runs a single list comprehension, as fast as hand-written Python.

The generated code is exact or fails: every null that could change the
answer either gives the same truth value as three-valued logic or makes the
code raise (``None >= 4`` raises ``TypeError``, a missing key ``KeyError``).
When it raises, the caller evaluates that record with the closures of
:mod:`segdsl.compiler`, which handle nulls and report bad data. Rules the
fast path does not cover (dates, aggregations, calls, ...) use the closures
alone.

Only the checked tree feeds the source: field names and literals are written
with ``repr``, other constants are passed in by name, and no rule text is
ever pasted into the code.
"""

from __future__ import annotations

import itertools
import linecache
import math
from collections.abc import Callable, Sequence
from typing import Any

from segdsl import checked as c

_SIMPLE_TYPES = frozenset(("any", "null", "bool", "number", "string"))
_ORDERING = {c.Operator.LT: "<", c.Operator.LE: "<=", c.Operator.GT: ">", c.Operator.GE: ">="}
_ARITHMETIC = {c.Operator.ADD: "+", c.Operator.SUBTRACT: "-", c.Operator.MULTIPLY: "*",
               c.Operator.DIVIDE: "/", c.Operator.MODULO: "%"}
# Python types a typed field may hold (bool is not a number here).
_TYPE_CHECKS = {"number": "in _NUMBER_TYPES", "string": "is str", "bool": "is bool"}
_sources = itertools.count(1)

#: How many records one list comprehension filters before the next.
CHUNK = 1024


class NotSimple(Exception):
    """The condition needs the general evaluator."""


class _Writer:
    """Writes the source of one condition whose fields are read from ``record``."""

    def __init__(self, record: str, depth: int) -> None:
        self.record = record
        self.depth = depth
        self.namespace: dict[str, Any] = {"_NUMBER_TYPES": (int, float), "_bad": _bad}
        self._temporaries = itertools.count(1)

    def temporary(self) -> str:
        return f"_t{next(self._temporaries)}"

    def constant(self, value: Any) -> str:
        """Source for a constant: a literal when ``repr`` spells it exactly,
        otherwise a name bound to the value."""
        if value is None or type(value) in (bool, int, str):
            return repr(value)
        if type(value) is float and math.isfinite(value):
            return repr(value)
        name = f"_k{len(self.namespace)}"
        self.namespace[name] = value
        return name

    # conditions

    def true(self, node: c.Checked) -> str:
        """Source that is True exactly when ``node`` is true (or raises)."""
        return self._condition(node, True)

    def false(self, node: c.Checked) -> str:
        """Source that is True exactly when ``node`` is false (or raises)."""
        return self._condition(node, False)

    def _condition(self, node: c.Checked, wanted: bool) -> str:
        if isinstance(node, c.Not):
            return self._condition(node.operand, not wanted)
        if isinstance(node, (c.And, c.Or)):
            # `a and b` is true when all are true, false when any is false.
            joiner = " and " if isinstance(node, c.And) == wanted else " or "
            return "(" + joiner.join(self._condition(o, wanted) for o in node.operands) + ")"
        if isinstance(node, c.Binary):
            return self._comparison(node, wanted)
        if isinstance(node, c.Membership):
            return self._membership(node, wanted)
        if isinstance(node, c.Between):
            return self._between(node, wanted)
        if isinstance(node, c.IsNull):
            if isinstance(node.operand, c.Constant):
                return repr(((node.operand.value is None) != node.negated) == wanted)
            test = "is None" if node.negated != wanted else "is not None"
            return f"({self.value(node.operand, lenient=True)} {test})"
        if isinstance(node, c.Constant) and node.value in (True, False, None):
            return repr(node.value is wanted)
        if isinstance(node, c.Field):
            # Anything but true, false or null where a condition is expected is
            # bad data: let the closures report it.
            item = self.temporary()
            other = not wanted
            return (f"(({item} := {self.value(node)}) is {wanted} or ({item} is not {other} "
                    f"and {item} is not None and _bad()))")
        raise NotSimple(type(node).__name__)

    def _comparison(self, node: c.Binary, wanted: bool) -> str:
        op = node.op
        if op in _ORDERING:
            test = f"({self.value(node.left)} {_ORDERING[op]} {self.value(node.right)})"
            return test if wanted else f"(not {test})"
        if op in (c.Operator.EQ, c.Operator.NE):
            return self._equality(node, wanted == (op is c.Operator.EQ))
        if op is c.Operator.STARTS_WITH or op is c.Operator.ENDS_WITH:
            method = "startswith" if op is c.Operator.STARTS_WITH else "endswith"
            test = f"{self.value(node.left)}.{method}({self.value(node.right)})"
            return test if wanted else f"(not {test})"
        if op is c.Operator.MATCHES:
            pattern = self.constant(node.pattern)
            test = f"({pattern}.search({self.value(node.left)}) is not None)"
            return test if wanted else f"(not {test})"
        if op is c.Operator.CONTAINS:
            needle = self._non_null(node.right)
            test = f"({needle} in {self.value(node.left)})"
            return test if wanted else f"(not {test})"
        raise NotSimple(op.value)

    def _non_null(self, node: c.Checked) -> str:
        """Source for a value known not to be null: a non-null constant, or a
        read that raises on null."""
        if isinstance(node, c.Constant) and node.value is not None:
            return self.value(node)
        return f"_nn({self.value(node)})"

    def _equality(self, node: c.Binary, equal: bool) -> str:
        """``a == b`` when ``equal``, else ``a != b``, for one side constant."""
        left, right = node.left, node.right
        if isinstance(left, c.Constant):
            left, right = right, left
        if not isinstance(right, c.Constant) or right.value is None:
            raise NotSimple("equality without a constant side")
        value, constant = self.value(left), self.constant(right.value)
        item = self.temporary()
        if type(right.value) is bool:
            # Strict: only a boolean equals a boolean.
            return f"({value} is {constant})" if equal else \
                f"(({item} := {value}) is not None and {item} is not {constant})"
        if type(right.value) in (int, float) and right.value in (0, 1):
            # Python finds True == 1; in rules a boolean never equals a number.
            if equal:
                return f"(({item} := {value}) == {constant} and type({item}) is not bool)"
            return (f"(({item} := {value}) is not None and ({item} != {constant} "
                    f"or type({item}) is bool))")
        if equal:
            return f"({value} == {constant})"
        return f"(({item} := {value}) is not None and {item} != {constant})"

    def _membership(self, node: c.Membership, wanted: bool) -> str:
        if not isinstance(node.container, c.Constant) or not isinstance(node.container.value,
                                                                        tuple):
            raise NotSimple("membership in a computed list")
        items = node.container.value
        has_null = None in items
        container = self.constant(_lookup_table(items))
        found = wanted != node.negated
        item = self.temporary()
        value = self.value(node.element)
        if found:
            if has_null:
                return f"(({item} := {value}) is not None and {item} in {container})"
            return f"({value} in {container})"
        if has_null:
            return "False"  # never found: unknown, since the list holds a null
        return f"(({item} := {value}) is not None and {item} not in {container})"

    def _between(self, node: c.Between, wanted: bool) -> str:
        test = (f"({self.value(node.low)} <= {self.value(node.operand)} <= "
                f"{self.value(node.high)})")
        return test if wanted else f"(not {test})"

    # values

    def value(self, node: c.Checked, lenient: bool = False) -> str:
        """Source for the value of ``node``: exact when not null; a null may
        come out as ``None`` only where every consumer handles or rejects it.
        ``lenient`` reads a missing field as ``None`` instead of raising."""
        if node.type.name not in _SIMPLE_TYPES:
            raise NotSimple(f"a {node.type} value")
        if isinstance(node, c.Constant):
            return self.constant(node.value)
        if isinstance(node, c.Field):
            return self._field(node, lenient)
        if isinstance(node, c.Binary) and node.op in _ARITHMETIC:
            return (f"({self.value(node.left)} {_ARITHMETIC[node.op]} "
                    f"{self.value(node.right)})")
        if isinstance(node, c.Negate):
            return f"(-{self.value(node.operand)})"
        raise NotSimple(type(node).__name__)

    def _field(self, node: c.Field, lenient: bool) -> str:
        if node.depth != self.depth:
            raise NotSimple("a field of another scope")
        source = self.record
        for part in node.path:
            source = f"{source}.get({part!r})" if lenient else f"{source}[{part!r}]"
        check = _TYPE_CHECKS.get(node.type.name)
        if check is None:
            return source
        item = self.temporary()
        # A typed field holding another type is bad data: let the closures say so.
        return f"({item} if type({item} := {source}) {check} or {item} is None else _bad())"


def _lookup_table(items: tuple) -> tuple | frozenset:
    try:
        return frozenset(items)
    except TypeError:
        return items


def _bad() -> None:
    raise TypeError("a value of another type than declared")


def _nn(value: Any) -> Any:
    if value is None:
        raise TypeError("null")
    return value


def _compile(source: str, namespace: dict[str, Any], name: str) -> Callable:
    filename = f"<segdsl generated {next(_sources)}>"
    # Registered in linecache so tracebacks and debuggers can show the code.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {**namespace, "_nn": _nn}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - built from the checked tree
    return namespace[name]


def predicate(node: c.Checked, depth: int = 0) -> Callable[[Any], bool] | None:
    """A function of one record (the element at ``depth``) returning whether
    ``node`` is true for it, raising where nulls need the general evaluator;
    None when ``node`` is not a simple condition."""
    return _generate(node, depth, "def _generated(record):\n    return {test}\n")


def list_filter(node: c.Checked, depth: int = 0) -> Callable[[list], list] | None:
    """A function keeping the records (elements at ``depth``) of a list for
    which ``node`` is true, with one comprehension (it raises where nulls need
    the general evaluator); None when ``node`` is not a simple condition."""
    return _generate(node, depth, "def _generated(records):\n"
                                  "    return [record for record in records if {test}]\n")


def _generate(node: c.Checked, depth: int, template: str) -> Callable | None:
    writer = _Writer("record", depth)
    try:
        test = writer.true(node)
    except NotSimple:
        return None
    return _compile(template.format(test=test), writer.namespace, "_generated")


def filter_records(records: Sequence[Any], fast_filter: Callable[[list], list],
                   fast_predicate: Callable[[Any], bool],
                   careful: Callable[[Any], bool]) -> list[Any]:
    """The records for which the condition is true: with the fast filter over
    the whole list, or when it raised, chunk by chunk; a chunk where it raised
    goes record by record, and a record where the fast predicate raised goes
    to ``careful``."""
    try:
        return fast_filter(records)  # the common case: one comprehension, no null met
    except Exception:  # noqa: BLE001 - go chunk by chunk
        pass
    kept: list[Any] = []
    for start in range(0, len(records), CHUNK):
        chunk = records[start:start + CHUNK]
        try:
            kept += fast_filter(chunk)
        except Exception:  # noqa: BLE001 - any failure means: ask the general evaluator
            kept += [record for record in chunk if _one(record, fast_predicate, careful)]
    return kept


def _one(record: Any, fast_predicate: Callable[[Any], bool], careful: Callable[[Any], bool]) -> bool:
    try:
        return fast_predicate(record)
    except Exception:  # noqa: BLE001
        return careful(record)
