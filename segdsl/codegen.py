"""Fast paths: simple conditions compiled to Python source.

Most segment rules are plain conditions on a record's fields:
``rfm_frequency >= 4 and visits_30d >= 10 and not (purchases_30d > 0)``, or
``type == "visit"`` inside a ``where``. For those, this module writes one
Python expression that says whether the condition is *true* (or whether it
is *false*), and ``compile()`` turns it into a function once. Filtering a
list then runs a single list comprehension.

The generated code decides only where its answer is provably the closures'
answer, and raises everywhere else: the record must be exactly a ``dict``
(nested records too), every value read must be of an exact plain type the
consumer handles (``int``, ``float``, ``str``, ``bool``, ``None``; no bool
where a number is ordered or computed with), and every constant compared
with data must be null, a boolean, an integer, text or a float. Every null
that could change the answer either gives the same truth value as
three-valued logic or makes the code raise (``None >= 4`` raises
``TypeError``, a missing key ``KeyError``); a NaN, null in rules, is false
both ways because ``not (a > b)`` is written ``a <= b``.
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
# `not (a < b)` written as `a >= b`: a NaN (null in rules) is then false both ways.
_COMPLEMENT = {c.Operator.LT: ">=", c.Operator.LE: ">", c.Operator.GT: "<=", c.Operator.GE: "<"}
_ARITHMETIC = {c.Operator.ADD: "+", c.Operator.SUBTRACT: "-", c.Operator.MULTIPLY: "*",
               c.Operator.DIVIDE: "/", c.Operator.MODULO: "%"}
_NONE = type(None)
# The exact Python types a value read from data may have where the generated
# code decides; anything else (numpy scalars, Decimal, pandas.NA, objects, ...)
# raises so the closures decide. By use: any comparison with a constant,
# ordering (a boolean is not a number), arithmetic, text operators.
_USES = {
    "value": frozenset((int, float, str, bool, _NONE)),
    "order": frozenset((int, float, str, _NONE)),
    "number": frozenset((int, float)),
    "text": frozenset((str,)),
}
# The Python types a declared field may hold (bool is not a number here).
_DECLARED = {
    "number": frozenset((int, float, _NONE)),
    "string": frozenset((str, _NONE)),
    "bool": frozenset((bool, _NONE)),
}
_sources = itertools.count(1)

#: The most nodes one generated condition is written from.
_MAX_NODES = 10_000

#: How many records one list comprehension filters before the next.
CHUNK = 1024


class NotSimple(Exception):
    """The condition needs the general evaluator (never shown: it carries no message)."""


class Undecided(TypeError):
    """Raised by generated code on a value it does not decide: the closures decide."""


class _Writer:
    """Writes the source of one condition whose fields are read from ``record``."""

    def __init__(self, record: str, depth: int) -> None:
        self.record = record
        self.depth = depth
        self.namespace: dict[str, Any] = {"_bad": _bad}
        self._temporaries = itertools.count(1)
        self._type_sets: dict[frozenset, str] = {}
        self._budget = _MAX_NODES
        # Field reads a test has just made (recorded while writing it), and
        # the reads the code being written may reuse (their temporaries).
        self._recorded: dict[tuple, str] | None = None
        self._known: dict[tuple, str] = {}
        self.dict = self.constant(dict)

    def temporary(self) -> str:
        return f"_t{next(self._temporaries)}"

    def constant(self, value: Any) -> str:
        """Source for an internal constant (a pattern, a lookup table): a name bound to it."""
        name = f"_k{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def literal(self, value: Any) -> str:
        """Source for a rule's constant compared with data: only null, booleans,
        integers, text and finite floats; anything else (a date, a
        duration, ...) needs the closures."""
        if value is None or type(value) in (bool, int, str):
            return repr(value)
        if type(value) is float and math.isfinite(value):
            return repr(value)
        raise NotSimple

    def type_set(self, types: frozenset) -> str:
        """The name of a set of types in the namespace."""
        if types not in self._type_sets:
            self._type_sets[types] = self.constant(types)
        return self._type_sets[types]

    # conditions

    def true(self, node: c.Checked) -> str:
        """Source that is True exactly when ``node`` is true (or raises)."""
        return self._condition(node, True)

    def _spend(self) -> None:
        # Shared def expansions make a DAG that written out as text could be
        # exponentially long: past a size, the closures (which share) decide.
        self._budget -= 1
        if self._budget < 0:
            raise NotSimple

    def _condition(self, node: c.Checked, wanted: bool) -> str:
        self._spend()
        if isinstance(node, c.Not):
            return self._condition(node.operand, not wanted)
        if isinstance(node, (c.And, c.Or)):
            # `a and b` is true when all are true, false when any is false.
            if isinstance(node, c.And) == wanted:
                return self._every(node.operands, wanted)
            return "(" + " or ".join(self._condition(o, wanted) for o in node.operands) + ")"
        if isinstance(node, c.Binary):
            return self._comparison(node, wanted)
        if isinstance(node, c.Membership):
            return self._membership(node, wanted)
        if isinstance(node, c.Between):
            return self._between(node, wanted)
        if isinstance(node, c.IsNull):
            return self._is_null(node, wanted)
        if isinstance(node, c.Constant) and node.value in (True, False, None) and (
                type(node.value) is not int):
            return repr(node.value is wanted)
        if isinstance(node, c.Aggregate):
            return self._exists(node, wanted)
        if isinstance(node, c.Field):
            # Anything but true, false or null where a condition is expected is
            # bad data: let the closures report it.
            item = self.temporary()
            other = not wanted
            return (f"(({item} := {self.value(node)}) is {wanted} or ({item} is not {other} "
                    f"and {item} is not None and _bad()))")
        raise NotSimple

    def _exists(self, node: c.Aggregate, wanted: bool) -> str:
        """``exists(items, where = ...)`` over a list of the record in scope
        without time (an order's items): true when the condition is true for an
        element. Every element is tested, as the closures test them all, so an
        element they would reject makes the code raise too; a list that is not
        exactly a list of dicts is for the closures."""
        source = node.source
        if not (node.function == "exists" and node.where is not None and node.window is None
                and node.timestamp is None and not node.value and not node.flatten
                and isinstance(source, c.Field) and source.depth == self.depth
                and len(source.path) == 1 and node.depth == self.depth + 1):
            raise NotSimple
        element = self.temporary()
        self.namespace["_list"] = _list
        read = f"_list({self.record}.get({source.path[0]!r}))"
        record, depth, known = self.record, self.depth, self._known
        self.record, self.depth, self._known = element, node.depth, {}
        try:
            test = self.true(node.where)
        finally:
            self.record, self.depth, self._known = record, depth, known
        found = (f"any([(type({element}) is {self.dict} or _bad()) and {test} "
                 f"for {element} in {read}])")
        return f"({found})" if wanted else f"(not {found})"

    def _is_null(self, node: c.IsNull, wanted: bool) -> str:
        if isinstance(node.operand, c.Constant):
            return repr(((node.operand.value is None) != node.negated) == wanted)
        item = self.temporary()
        source = self.value(node.operand, lenient=True)
        # Not null: a plain value that is not NaN; other kinds are for the closures.
        plain = f"((type({item}) in {self.type_set(_USES['value'])} and {item} == {item}) " \
                f"or _bad())"
        if node.negated != wanted:  # wanted: the operand is null
            return f"(({item} := {source}) is None or not {plain})"
        return f"(({item} := {source}) is not None and {plain})"

    def _every(self, operands: tuple[c.Checked, ...], wanted: bool) -> str:
        """Source that is True when every operand is ``wanted``, and raises
        exactly where the closures do: they stop at the first operand of the
        other truth value, but go on past a null, so the operands after a null
        are still tested for the other value (or bad data)."""
        other = not wanted
        rest = "True"
        for index in range(len(operands) - 1, -1, -1):
            later = operands[index + 1:]
            after_null = ("(" + " or ".join(self._condition(o, other) for o in later)
                          + " or False) and False") if later else "False"
            is_wanted, is_other = self._test_and_retest(operands[index], wanted)
            rest = f"({rest} if {is_wanted} else (False if {is_other} else ({after_null})))"
        return rest

    def _test_and_retest(self, node: c.Checked, wanted: bool) -> tuple[str, str]:
        """Sources testing ``node`` for ``wanted`` and, where that failed, for
        the other truth value. A comparison of fields and constants reads each
        field before anything else, so the second test reuses those reads."""
        if isinstance(node, c.Not):
            return self._test_and_retest(node.operand, not wanted)
        if not (isinstance(node, (c.Binary, c.Membership)) and all(
                isinstance(part, (c.Field, c.Constant)) for part in c.checked_children(node))):
            return self._condition(node, wanted), self._condition(node, not wanted)
        self._recorded = {}
        first = self._condition(node, wanted)
        reads, self._recorded = self._recorded, None
        known = self._known
        self._known = {**known, **reads}
        try:
            second = self._condition(node, not wanted)
        finally:
            self._known = known
        return first, second

    def _comparison(self, node: c.Binary, wanted: bool) -> str:
        op = node.op
        if op in _ORDERING:
            symbol = _ORDERING[op] if wanted else _COMPLEMENT[op]
            return (f"({self.value(node.left, use='order')} {symbol} "
                    f"{self.value(node.right, use='order')})")
        if op in (c.Operator.EQ, c.Operator.NE):
            return self._equality(node, wanted == (op is c.Operator.EQ))
        if op is c.Operator.STARTS_WITH or op is c.Operator.ENDS_WITH:
            method = "startswith" if op is c.Operator.STARTS_WITH else "endswith"
            test = (f"{self.value(node.left, use='text')}.{method}("
                    f"{self.value(node.right, use='text')})")
            return test if wanted else f"(not {test})"
        if op is c.Operator.MATCHES:
            pattern = self.constant(node.pattern)
            test = f"({pattern}.search({self.value(node.left, use='text')}) is not None)"
            return test if wanted else f"(not {test})"
        if op is c.Operator.CONTAINS:
            return self._contains(node, wanted)
        raise NotSimple

    def _contains(self, node: c.Binary, wanted: bool) -> str:
        # Text holds text; a list holds a text item (text never equals another kind).
        if isinstance(node.right, c.Constant) and type(node.right.value) is not str:
            raise NotSimple
        needle = self.value(node.right, use="text")
        if isinstance(node.right, c.Constant):
            haystack = self.value(node.left, use="haystack")
        else:
            haystack = self.value(node.left, use="text")
        test = f"({needle} in {haystack})"
        return test if wanted else f"(not {test})"

    def _equality(self, node: c.Binary, equal: bool) -> str:
        """``a == b`` when ``equal``, else ``a != b``, for one side constant."""
        left, right = node.left, node.right
        if isinstance(left, c.Constant):
            left, right = right, left
        if not isinstance(right, c.Constant) or right.value is None:
            raise NotSimple
        value, constant = self.value(left), self.literal(right.value)
        item = self.temporary()
        # Unequal is decided only for a value that is not null (None or NaN).
        present = f"({item} := {value}) is not None and {item} == {item}"
        if type(right.value) is bool:
            # Strict: only a boolean equals a boolean.
            return f"({value} is {constant})" if equal else \
                f"({present} and {item} is not {constant})"
        if type(right.value) in (int, float) and right.value in (0, 1):
            # Python finds True == 1; in rules a boolean never equals a number.
            if equal:
                return f"(({item} := {value}) == {constant} and type({item}) is not bool)"
            return f"({present} and ({item} != {constant} or type({item}) is bool))"
        if equal:
            return f"({value} == {constant})"
        return f"({present} and {item} != {constant})"

    def _membership(self, node: c.Membership, wanted: bool) -> str:
        if not isinstance(node.container, c.Constant) or not isinstance(node.container.value,
                                                                        tuple):
            raise NotSimple
        items = node.container.value
        for entry in items:
            self.literal(entry)
        has_null = None in items
        has_bool = any(type(entry) is bool for entry in items)
        has_unit = any(type(entry) in (int, float) and entry in (0, 1) for entry in items)
        if has_bool and (has_unit or any(type(entry) is not bool for entry in items)):
            raise NotSimple
        container = self.constant(_lookup_table(items))
        found = wanted != node.negated
        item = self.temporary()
        value = self.value(node.element)
        # A boolean is found only among booleans, a number only among numbers.
        if has_bool:
            strict_in, strict_out = f"type({item}) is bool", f"type({item}) is not bool"
        elif has_unit:
            strict_in, strict_out = f"type({item}) is not bool", f"type({item}) is bool"
        else:
            strict_in = strict_out = ""
        if found:
            test = f"({item} := {value}) in {container}"
            if has_null:
                test = f"({item} := {value}) is not None and {item} in {container}"
            if strict_in:
                test += f" and {strict_in}"
            return f"({test})"
        if has_null:
            return "False"  # never found: unknown, since the list holds a null
        absent = f"{item} not in {container}"
        if strict_out:
            absent = f"({absent} or {strict_out})"
        return f"(({item} := {value}) is not None and {item} == {item} and {absent})"

    def _between(self, node: c.Between, wanted: bool) -> str:
        low = self.value(node.low, use="order")
        operand = self.value(node.operand, use="order")
        high = self.value(node.high, use="order")
        if wanted:
            return f"({low} <= {operand} <= {high})"
        item = self.temporary()
        # Outside: below or above; a NaN or a null bound is neither (or raises).
        return f"({low} > ({item} := {operand}) or {item} > {high})"

    # values

    def value(self, node: c.Checked, lenient: bool = False, use: str = "value") -> str:
        """Source for the value of ``node``: exact when not null; a null may
        come out as ``None`` (or a NaN from arithmetic) only where every
        consumer handles or rejects it. ``lenient`` reads a missing field as
        ``None`` instead of raising; ``use`` says which exact types of data
        the consumer handles (the others raise)."""
        self._spend()
        if node.type.name not in _SIMPLE_TYPES:
            raise NotSimple
        if isinstance(node, c.Constant):
            return self.literal(node.value)
        if isinstance(node, c.Field):
            return self._field(node, lenient, use)
        # Arithmetic reads numbers: where text is expected its result makes the
        # generated code raise, and the closures decide.
        if isinstance(node, c.Binary) and node.op in _ARITHMETIC:
            return (f"({self.value(node.left, use='number')} {_ARITHMETIC[node.op]} "
                    f"{self.value(node.right, use='number')})")
        if isinstance(node, c.Negate):
            return f"(-{self.value(node.operand, use='number')})"
        raise NotSimple

    def _field(self, node: c.Field, lenient: bool, use: str) -> str:
        if node.depth != self.depth:
            raise NotSimple
        if not node.path:
            raise NotSimple  # a plain value: `tag` of `tags as tag`
        source = self.record
        for index, part in enumerate(node.path):
            if index:
                # Nested records are read only through exact dicts.
                item = self.temporary()
                source = f"({item} if type({item} := {source}) is {self.dict} else _bad())"
            source = f"{source}.get({part!r})" if lenient else f"{source}[{part!r}]"
        key = (node.path, lenient, use)
        if key in self._known:
            return self._known[key]
        if use == "haystack":
            allowed = frozenset((str, list))
        else:
            allowed = _USES[use]
        declared = _DECLARED.get(node.type.name)
        if declared is not None:
            allowed = allowed & declared
        item = self.temporary()
        if self._recorded is not None:
            self._recorded[key] = item
        # Any other type is for the closures: bad data, or a value they normalise.
        return f"({item} if type({item} := {source}) in {self.type_set(allowed)} else _bad())"


def _lookup_table(items: tuple) -> tuple | frozenset:
    try:
        return frozenset(items)
    except TypeError:
        return items


def _bad() -> None:
    raise Undecided


def _list(value: Any) -> list:
    """``value`` when it is exactly a list (a comprehension's iterable cannot assign)."""
    if type(value) is not list:
        raise Undecided
    return value


def _compile(source: str, namespace: dict[str, Any], name: str) -> Callable:
    filename = f"<segdsl generated {next(_sources)}>"
    # Registered in linecache so tracebacks and debuggers can show the code.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {**namespace}
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
    # Only an exact dict is read here: mappings and objects go to the closures.
    test = f"(type(record) is {writer.dict} or _bad()) and {test}"
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
