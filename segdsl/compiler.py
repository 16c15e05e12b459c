"""From a checked tree to Python closures, built once per rule.

Each builder does its lookups when the rule is compiled and returns a closure
``fn(ctx)`` that captures only locals; evaluating a customer walks no tree.
Logic is three-valued: ``None`` is null/unknown, and every operator returns
``None`` when an operand it needs is ``None`` (``false and null`` is false,
``true or null`` is true, as in SQL).
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import operator
from collections.abc import Callable
from typing import Any

from dateutil.relativedelta import relativedelta

from segdsl import checked as c
from segdsl import types as t
from segdsl.errors import DataError, EvaluationError
from segdsl.functions import ArgumentError
from segdsl.timeline import (
    Duration,
    backwards,
    duration_arithmetic,
    duration_text,
    in_zone,
    is_duration,
    iso_text,
    read_date,
    read_datetime,
    shift,
)
from segdsl.values import (
    FieldReadError,
    is_record,
    normalise,
    normalise_items,
    read_field,
    safe_repr,
)

Closure = Callable[["Context"], Any]


class Context:
    """What a closure sees while one customer is evaluated.

    Attributes:
        record: the customer.
        scopes: the records in scope: ``scopes[0]`` is the customer,
            ``scopes[d]`` the element of the aggregation at depth ``d``.
        now: the evaluation time (aware).
        zone: the timezone of naive datetimes and of period days.
        population: population statistics by key (RFM, ntile, percentile).
        cache: per-customer memo (parsed timelines, segment results).
        trace: values recorded for ``explain``, by checked node id, or None.
        lists: for each depth, the list whose elements are in scope there
            (``(path, depth of the list, closure reading it)``), to name
            bad data as ``orders[2].total``.
        id_field: the field naming the customer in error messages.
    """

    __slots__ = ("record", "scopes", "now", "zone", "population", "cache", "trace", "lists",
                 "id_field")

    def __init__(self, record: Any, now: dt.datetime, zone: dt.tzinfo,
                 population: dict[str, Callable] | None = None, trace: dict | None = None,
                 id_field: str = "id") -> None:
        if type(record) is not dict and not is_record(record):
            raise DataError(f"a customer must be a dict or an object with attributes, not "
                            f"{type(record).__name__} {safe_repr(record, 40)}")
        self.record = record
        self.scopes = [record]
        self.now = now
        self.zone = zone
        self.population = population
        self.cache: dict = {}
        self.trace = trace
        self.lists: dict[int, tuple] = {}
        self.id_field = id_field


# Values that are not records: reading a field of one is bad data, not null.
_NOT_RECORDS = (str, bytes, int, float, list, tuple, set, dt.date, dt.timedelta)


def get_field(record: Any, name: str) -> Any:
    """Field ``name`` of a record, normalised (see :mod:`segdsl.values`); None
    when it is missing or ``record`` is not a record.

    Raises:
        DataError: the record's own code raised while the field was read.
    """
    if type(record) is dict:
        return normalise(record.get(name))
    try:
        return normalise(read_field(record, name))
    except FieldReadError as error:
        if error.cause is None:
            return None
        raise DataError(str(error), field_path=name) from None
    except (TypeError, ValueError) as error:
        raise DataError(f"field '{name}': {error}", field_path=name) from None


def customer_id(ctx: Context) -> Any:
    """The customer's id (None when it has none or it cannot be read), for error messages."""
    try:
        return normalise(read_field(ctx.record, ctx.id_field))
    except (FieldReadError, TypeError, ValueError):
        return None


def data_error(ctx: Context, message: str, path: str | None, depth: int = 0) -> DataError:
    """A :class:`DataError` naming the current customer and ``path`` (a path
    in the record in scope ``depth``, spelled from the customer)."""
    if depth and path is not None:
        path = element_path(ctx, depth, path)
    who = customer_id(ctx)
    prefix = f"customer {safe_repr(who, 80)}" if who is not None else "a customer without id"
    where = f", field {path}" if path else ""
    return DataError(f"{prefix}{where}: {message}", customer_id=who, field_path=path)


def element_path(ctx: Context, depth: int, path: str) -> str:
    """``path`` in the element in scope at ``depth``, from the customer: ``orders[2].total``."""
    while depth > 0 and depth in ctx.lists and depth < len(ctx.scopes):
        list_path, list_depth, source = ctx.lists[depth]
        element = ctx.scopes[depth]
        items = source(ctx)
        index = next((i for i, item in enumerate(items or ()) if item is element), "?")
        path = f"{list_path}[{index}]" + (f".{path}" if path else "")  # "": the element
        depth = list_depth
    return path


class Compiler:
    """Builds closures for checked trees.

    Args:
        segments: resolves a segment name to its compiled closure (for
            references between segments); results are memoised per customer.
        trace: when true, every closure records its value for ``explain``;
            ``and``/``or`` short-circuit as they do without tracing, so an
            explanation evaluates exactly what ``matches`` evaluates.
    """

    def __init__(self, segments: Callable[[str], Closure] | None = None, trace: bool = False,
                 zone: dt.tzinfo = dt.timezone.utc) -> None:
        self.segments = segments
        self.tracing = trace
        self.zone = zone
        self._shared: dict[c.Checked, object] = {}
        # By node identity: def expansions are shared, so a checked tree is a
        # DAG, and each of its nodes is compiled once (the node is kept alive
        # beside its closure, so its id is never reused).
        self._compiled: dict[int, tuple[c.Checked, Closure]] = {}
        self._repeated: dict[int, object] = {}
        self._fixed: dict[int, bool] = {}

    def prepare(self, root: c.Checked) -> None:
        """Notes the nodes ``root`` reaches by several paths whose value depends
        only on the customer: their closures then compute them once per
        customer, so ``f(x) + f(x)`` nested 22 deep costs 22 steps, not 2**22."""
        for node in repeated_customer_nodes(root):
            self._repeated.setdefault(id(node), object())

    def is_fixed(self, node: c.Checked) -> bool:
        """Whether ``node``'s value depends only on ``now`` and the rules, never on
        a customer: the same for every customer of one evaluation."""
        return c.fold(node, _fixed_by_rules, self._fixed)

    def compile(self, node: c.Checked) -> Closure:
        """The closure evaluating ``node``."""
        found = self._compiled.get(id(node))
        if found is not None:
            return found[1]
        closure = self._build(node)
        self._compiled[id(node)] = (node, closure)
        return closure

    def _build(self, node: c.Checked) -> Closure:
        build = getattr(self, "_" + type(node).__name__.lower())
        closure = build(node)
        repeated = self._repeated.get(id(node))
        if self.tracing:
            closure = _traced(closure, id(node))
            return closure if repeated is None else _memoised(closure, repeated)
        if not isinstance(node, _LEAVES) and self.is_fixed(node):
            # `now - 12m`, `today - 7d`: computed once per evaluation, not per customer.
            return _per_evaluation(closure)
        if isinstance(node, c.Aggregate) and node.depth - len(node.flatten) == 1:
            # An aggregation over the customer's own lists has one value per
            # customer: computed once, however many segments use it.
            # A fresh object per node: two threads compiling different nodes
            # can never be handed the same memo key.
            return _memoised(closure, self._shared.setdefault(node, object()))
        return closure if repeated is None else _memoised(closure, repeated)

    def condition(self, node: c.Checked) -> Closure:
        """The closure of a node used as a condition: true, false or null. A
        value of unknown type that turns out to be something else is bad data."""
        closure = self.compile(node)
        if node.type.name == "bool":
            return closure
        located = _where(node)

        def condition(ctx):
            value = closure(ctx)
            if value is None or value is True or value is False:
                return value
            raise data_error(ctx, f"expected true or false, found {safe_repr(value, 80)}",
                             *located)

        return condition

    # leaves

    def _constant(self, node: c.Constant) -> Closure:
        value = runtime_value(node.value)
        return lambda ctx: value

    def _listof(self, node: c.ListOf) -> Closure:
        items = tuple(self.compile(item) for item in node.items)
        return lambda ctx: tuple(item(ctx) for item in items)

    def _now(self, node: c.Now) -> Closure:
        return lambda ctx: ctx.now

    def _today(self, node: c.Today) -> Closure:
        return today

    def _field(self, node: c.Field) -> Closure:
        return _field_reader(node.path, node.depth, node.type)

    def _segmentref(self, node: c.SegmentRef) -> Closure:
        if self.segments is None:
            raise EvaluationError(f"segment '{node.name}' is not available here")
        segment = self.segments(node.name)
        key = ("segment", node.name)

        def member(ctx):
            cache = ctx.cache
            if key not in cache:
                cache[key] = segment(ctx) is True
            return cache[key]

        return member

    # boolean logic

    def _not(self, node: c.Not) -> Closure:
        operand = self.condition(node.operand)

        def negate(ctx):
            value = operand(ctx)
            return None if value is None else not value

        return negate

    def _and(self, node: c.And) -> Closure:
        return self._chain(node.operands, absorbing=False)

    def _or(self, node: c.Or) -> Closure:
        return self._chain(node.operands, absorbing=True)

    def _chain(self, nodes: tuple[c.Checked, ...], absorbing: bool) -> Closure:
        """``and`` (absorbed by false) or ``or`` (absorbed by true), in Kleene logic."""
        operands = tuple(self.condition(o) for o in nodes)

        def chain(ctx):
            unknown = False
            for operand in operands:
                value = operand(ctx)
                if value is absorbing:
                    return absorbing
                if value is None:
                    unknown = True
            return None if unknown else not absorbing

        return chain

    def _isnull(self, node: c.IsNull) -> Closure:
        operand = self.compile(node.operand)
        if node.negated:
            return lambda ctx: operand(ctx) is not None
        return lambda ctx: operand(ctx) is None

    # comparisons and arithmetic

    def _binary(self, node: c.Binary) -> Closure:
        by_day = node.op in _COMPARISONS and _meets_datetime(node.left, node.right)
        left = self._operand(node.left, _shifted(node, node.right.type), by_day)
        right = self._operand(node.right, _shifted(node, node.left.type), by_day)
        describe = _describe_failure(node)
        if _is_time_step(node):
            function = _time_step(node, self.zone)
        elif _is_duration_arithmetic(node):
            function, describe = _duration_function(node), _describe_duration_failure(node)
        elif _is_date_step(node):
            function, describe = _date_step(node), _describe_duration_failure(node)
        elif node.op is c.Operator.CONTAINS and node.left.type.is_list:
            function = _list_contains(node, self.zone)
        else:
            function = _operator_function(node)
        if by_day:
            function = _by_day(function, self.zone)

        def apply(ctx):
            a = left(ctx)
            if a is None:
                return None
            b = right(ctx)
            if b is None:
                return None
            try:
                return function(a, b)
            except (TypeError, ValueError, ArithmeticError, AttributeError,
                    RecursionError) as error:
                raise describe(ctx, a, b, error) from None

        return apply

    def _operand(self, node: c.Checked, other: t.Type, by_day: bool = False) -> Closure:
        """``node``'s closure, reading text as a date or datetime when the other
        side is one and ``node``'s own type is unknown. ``by_day``: a date
        object stays a date, for a comparison with a datetime by its day."""
        closure = self.compile(node)
        if t.is_unknown(node.type) and other.name in ("date", "datetime"):
            return _coerce(closure, other, node, by_day)
        return closure

    def _negate(self, node: c.Negate) -> Closure:
        operand = self.compile(node.operand)
        allowed = _NEGATABLE_DURATIONS if node.type == t.DURATION else _NUMBERS
        located = _where(node.operand)

        def negate(ctx):
            value = operand(ctx)
            if value is None:
                return None
            if type(value) not in allowed:
                raise data_error(ctx, f"cannot negate {type(value).__name__} "
                                 f"{safe_repr(value, 80)}", *located)
            return -value

        return negate

    def _coerce(self, node: c.Coerce) -> Closure:
        return _coerce(self.compile(node.operand), node.type, node.operand)

    def _todate(self, node: c.ToDate) -> Closure:
        operand = self.compile(node.operand)

        def day(ctx):
            value = operand(ctx)
            if value is None:
                return None
            try:
                return read_date(value, ctx.zone)
            except (TypeError, ValueError, OverflowError) as error:
                raise data_error(ctx, f"cannot read {safe_repr(value, 80)} as a date ({error})",
                                 *_where(node.operand)) from None

        return day

    def _membership(self, node: c.Membership) -> Closure:
        container_type = node.container.type
        items_type = container_type.element if container_type.is_list else container_type
        by_day = items_type == t.DATETIME and t.is_unknown(node.element.type)
        element = self._operand(node.element, items_type, by_day)
        container = self.compile(node.container)
        negated = node.negated
        searched = _searched_items(items_type, node.element.type, self.zone)

        located = _where(node.element, node.container)

        def member(ctx):
            value = element(ctx)
            items = container(ctx)
            if value is None or items is None:
                return None
            kind = type(items)
            try:
                if kind is str:
                    if type(value) is not str:
                        raise TypeError("text holds only text")
                    found = value in items
                elif kind is tuple or kind is list:
                    items = searched(value, items)
                    found = found_in(value, items)
                    if not found and None in items:
                        return None
                else:
                    raise TypeError(f"expected a list, found {kind.__name__}")
            except (TypeError, ValueError, RecursionError) as error:
                raise data_error(ctx, f"cannot look for {safe_repr(value, 80)} in "
                                 f"{safe_repr(items, 80)} ({error})", *located) from None
            return not found if negated else found

        return member

    def _between(self, node: c.Between) -> Closure:
        # Untyped sides are read as the first known type among the three.
        known = next((side.type for side in (node.operand, node.low, node.high)
                      if not t.is_unknown(side.type)), t.ANY)
        by_day = known == t.DATETIME
        operand = self._operand(node.operand, known, by_day)
        low = self._operand(node.low, known, by_day)
        high = self._operand(node.high, known, by_day)
        less_or_equal = _by_day(_less_or_equal, self.zone) if by_day else _less_or_equal

        def between(ctx):
            value, lower, upper = operand(ctx), low(ctx), high(ctx)
            if value is None:
                return None
            try:
                above = None if lower is None else less_or_equal(lower, value)
                below = None if upper is None else less_or_equal(value, upper)
            except (TypeError, RecursionError) as error:
                raise data_error(ctx, f"cannot compare {safe_repr(value, 80)} with "
                                 f"{safe_repr(lower, 80)} and {safe_repr(upper, 80)} ({error})",
                                 *_where(node.operand)) from None
            if above is False or below is False:
                return False
            return None if above is None or below is None else True

        return between

    def _apply(self, node: c.Apply) -> Closure:
        args = tuple(self.compile(a) for a in node.args)
        function, name, null_safe = node.function, node.name, node.null_safe
        returns = _RETURNS.get(node.type.name)
        temporal = node.type.name in ("date", "datetime")
        located = _where(*node.args)  # the field it was given, if any, names the bad data

        def call(ctx):
            values = [arg(ctx) for arg in args]
            if null_safe and None in values:
                return None
            try:
                result = normalise(function(*values))
            except ArgumentError as error:  # a built-in's argument out of its domain
                raise data_error(ctx, f"{name}: {error}",
                                 *_where(node.args[error.index])) from None
            except Exception as error:  # a user's function may raise anything
                raise data_error(ctx, f"function {name} failed: {type(error).__name__}: "
                                 f"{_safe_text(error)}", *located) from None
            if result is None or returns is None or type(result) in returns or (
                    temporal and isinstance(result, dt.date)):
                return result
            raise data_error(ctx, f"function {name} returned {type(result).__name__} "
                             f"{safe_repr(result, 80)}, not a {node.type}", *located)

        return call

    # aggregations and population functions

    def _window(self, node: c.Window) -> Closure:
        # A constant window was checked when the rule was (a CheckError when it
        # holds nothing); a computed one is checked each time it is computed.
        value = self.compile(node.value)
        if isinstance(node.value, c.Constant):
            return value
        located = _where(node.value)

        def window(ctx):
            found = value(ctx)
            if is_duration(found) and backwards(found):
                raise data_error(ctx, f"a window looks back from now: {duration_text(found)} "
                                 f"holds nothing", *located)
            return found

        return window

    def _aggregate(self, node: c.Aggregate) -> Closure:
        from segdsl.aggregates import build_aggregate

        return build_aggregate(node, self)

    def measure(self, node: c.Population) -> Closure:
        """The closure of a ranked measure, computed once per customer (a customer's
        evaluation may be handed its measures, computed before)."""
        return _memoised(self.compile(node.measure), ("measure", node.key))

    def _population(self, node: c.Population) -> Closure:
        measure = self.measure(node) if node.measure is not None else None
        key, kind = node.key, node.kind

        def score(ctx):
            scorers = ctx.population
            if scorers is None or key not in scorers:
                raise EvaluationError(
                    f"{kind} ranks a customer within a population: evaluate a whole population "
                    f"(RuleSet.evaluate, Segment.filter) or pass population= to matches()")
            return scorers[key](ctx, measure)

        # A customer's score is the same wherever the rules read it (rfm.frequency in
        # three segments): placed once per customer.
        return _memoised(score, ("population", key))


def today(ctx: Context) -> dt.date:
    """``today``: the evaluation time's day in the configured timezone."""
    try:
        return in_zone(ctx.now, ctx.zone).date()
    except ValueError:
        raise EvaluationError(f"today is outside the years 1 to 9999 in the configured timezone "
                              f"(now is {iso_text(ctx.now)})") from None


def runtime_value(value: Any) -> Any:
    """A constant as closures use it: durations become timedelta/relativedelta."""
    if isinstance(value, Duration):
        return value.step()
    if isinstance(value, tuple):
        return tuple(runtime_value(v) for v in value)
    return value


_MISSING = object()


def repeated_customer_nodes(root: c.Checked) -> list[c.Checked]:
    """The nodes under ``root`` reached by more than one path whose value
    depends on the customer alone (no element of an enclosing aggregation)."""
    paths_in: dict[int, int] = {}
    nodes: dict[int, c.Checked] = {id(root): root}
    pending = [root]
    while pending:
        for child in c.checked_children(pending.pop()):
            key = id(child)
            paths_in[key] = paths_in.get(key, 0) + 1
            if key not in nodes:
                nodes[key] = child
                pending.append(child)
    repeated = [nodes[key] for key, count in paths_in.items() if count > 1]
    free: dict[int, frozenset[int]] = {}
    c.fold(root, _free_scopes, free)
    return [node for node in repeated if not free[id(node)]]


def _free_scopes(node: c.Checked, below: list[frozenset[int]]) -> frozenset[int]:
    """The element scopes ``node`` reads that no aggregation inside it binds
    (``below``: its parts'); empty when only the customer is read."""
    if isinstance(node, c.Field):
        return frozenset((node.depth,)) if node.depth else frozenset()
    found = frozenset().union(*below)
    if isinstance(node, c.Aggregate):
        # The aggregation binds its elements' scopes, nested lists' included.
        bound = node.depth - len(node.flatten)
        found = frozenset(depth for depth in found if depth < bound)
    return found


# Nodes whose value depends only on their parts' (and on `now`): no data, no
# population, no function of the user's (which may read anything).
_COMPUTED = (c.Binary, c.Negate, c.Not, c.And, c.Or, c.IsNull, c.Coerce, c.ToDate, c.Between,
             c.Membership, c.ListOf, c.Window)
_LEAVES = (c.Constant, c.Now, c.Today)
#: The nodes whose value depends only on ``now``, the rules and their parts'.
FIXED_NODES = _LEAVES + _COMPUTED


def _fixed_by_rules(node: c.Checked, below: list[bool]) -> bool:
    if isinstance(node, _LEAVES):
        return True
    return isinstance(node, _COMPUTED) and all(below)


def _per_evaluation(closure: Closure) -> Closure:
    """``closure``, computed once per evaluation time (and zone): its value depends
    on nothing else. A failure is not kept: each customer meets it, named."""
    memo: list = [None]  # (now, zone, value), replaced whole: safe between threads

    def fixed(ctx):
        found = memo[0]
        if found is not None and found[0] is ctx.now and found[1] is ctx.zone:
            return found[2]
        value = closure(ctx)
        memo[0] = (ctx.now, ctx.zone, value)
        return value

    return fixed


def _memoised(closure: Closure, key: object) -> Closure:
    def memoised(ctx):
        cache = ctx.cache
        value = cache.get(key, _MISSING)
        if value is _MISSING:
            value = cache[key] = closure(ctx)
        return value

    return memoised


def _traced(closure: Closure, key: int) -> Closure:
    def traced(ctx):
        value = closure(ctx)
        if ctx.trace is not None and len(ctx.scopes) == 1:
            ctx.trace[key] = value
        return value

    return traced


def _field_reader(path: tuple[str, ...], depth: int, type_: t.Type) -> Closure:
    dotted = ".".join(path)
    if not path:
        # The element itself (`e` of `tags as e`), normalised when its list was read.
        def read(ctx):
            return ctx.scopes[depth]

        converter = _CONVERTERS.get(type_.name)
        return read if converter is None else converter(read, "", depth, type_)
    first = path[0]
    rest = path[1:]

    if depth == 0 and not rest:
        def read(ctx):
            record = ctx.record
            if type(record) is dict:
                value = record.get(first)
                if type(value) in _PLAIN_VALUES:
                    return value
            return _read_part(ctx, record, first, path, 0, depth)
    else:
        def read(ctx):
            value = ctx.scopes[depth]
            for index, part in enumerate(path):
                value = _read_part(ctx, value, part, path, index, depth)
                if value is None:
                    return None
            return value

    converter = _CONVERTERS.get(type_.name)
    if converter is None:
        return read
    return converter(read, dotted, depth, type_)


def _read_part(ctx: Context, record: Any, name: str, path: tuple[str, ...], index: int,
               depth: int) -> Any:
    """Field ``name`` of ``record`` (the value at ``path[:index]``), normalised."""
    try:
        raw = record.get(name) if type(record) is dict else read_field(record, name)
        return normalise(raw)
    except FieldReadError as error:
        where = ".".join(path[:index] if error.cause is None and index else path[:index + 1])
        raise data_error(ctx, str(error), where, depth) from None
    except (TypeError, ValueError) as error:
        # The message names the value and what is wrong with it: "Infinity is not a finite number".
        raise data_error(ctx, str(error), ".".join(path[:index + 1]), depth) from None


def _temporal_reader(kind: str, parse: Callable, read: Closure, dotted: str, depth: int,
                     type_: t.Type) -> Closure:
    """A reader of a declared date or datetime (``kind``), read by ``parse``."""
    key = ("field", dotted)

    def temporal(ctx):
        if depth == 0 and key in ctx.cache:
            return ctx.cache[key]
        raw = read(ctx)
        try:
            value = parse(raw, ctx.zone)
        except (TypeError, ValueError, OverflowError) as error:
            raise data_error(ctx, f"cannot read {safe_repr(raw, 80)} as a {kind} ({error})",
                             dotted, depth) from None
        if depth == 0:
            ctx.cache[key] = value
        return value

    return temporal


def _typed_reader(expected: tuple[type, ...], name: str, read: Closure, dotted: str,
                  depth: int, type_: t.Type) -> Closure:
    """A reader checking that a declared field holds its type (normalised values
    are exact: a bool is never a number, and a number never a bool)."""
    def checked_read(ctx):
        value = read(ctx)
        if value is None or type(value) in expected:
            return value
        raise data_error(ctx, f"expected a {name}, found {safe_repr(value, 80)}", dotted,
                         depth)

    return checked_read


def _list_reader(read: Closure, dotted: str, depth: int, type_: t.Type) -> Closure:
    """A declared list: a list (a tuple or array read as one), its plain items normalised
    and checked against the declared item type; null or missing stays null."""
    element = type_.element
    expected = _ITEM_TYPES.get(element.name) if element is not None else None
    records = element is not None and element.is_record

    def list_read(ctx):
        value = read(ctx)
        if value is None:
            return None
        if type(value) is not list:
            raise data_error(ctx, f"expected a list, found {type(value).__name__}", dotted, depth)
        if records:
            return value
        try:
            items = normalise_items(value)
        except (TypeError, ValueError):
            items = [_normalised_item(ctx, item, f"{dotted}[{index}]", depth)
                     for index, item in enumerate(value)]
        if expected is not None:
            for index, item in enumerate(items):
                if item is not None and type(item) not in expected:
                    raise data_error(ctx, f"expected a {element}, found "
                                     f"{safe_repr(item, 80)}", f"{dotted}[{index}]", depth)
        return items

    return list_read


def _normalised_item(ctx: Context, item: Any, path: str, depth: int) -> Any:
    try:
        return normalise(item)
    except (TypeError, ValueError) as error:
        raise data_error(ctx, str(error), path, depth) from None


def _record_reader(read: Closure, dotted: str, depth: int, type_: t.Type) -> Closure:
    """A declared record: a dict, a mapping or an object, never a plain value."""
    def record_read(ctx):
        value = read(ctx)
        if value is None or type(value) is dict or is_record(value):
            return value
        raise data_error(ctx, f"expected a record, found {type(value).__name__} "
                         f"{safe_repr(value, 80)}", dotted, depth)

    return record_read


_ITEM_TYPES: dict[str, tuple[type, ...]] = {
    "number": (int, float), "string": (str,), "bool": (bool,),
}

# Partial applications, not closures made here: the readers are built when rules
# are compiled, so that the mutation tests reach their code.
_CONVERTERS = {
    "datetime": functools.partial(_temporal_reader, "datetime", read_datetime),
    "date": functools.partial(_temporal_reader, "date", read_date),
    "number": functools.partial(_typed_reader, (int, float), "number"),
    "string": functools.partial(_typed_reader, (str,), "string"),
    "bool": functools.partial(_typed_reader, (bool,), "boolean"),
    "list": _list_reader,
    "record": _record_reader,
}


def _coerce(closure: Closure, target: t.Type, node: c.Checked, by_day: bool = False) -> Closure:
    parse = read_datetime if target.name == "datetime" else read_date
    located = _where(node)

    def coerced(ctx):
        raw = closure(ctx)
        if raw is None or isinstance(raw, dt.timedelta) or (by_day and _is_day(raw)):
            return raw
        try:
            return parse(raw, ctx.zone)
        except (TypeError, ValueError, OverflowError) as error:
            if isinstance(raw, (int, float)):
                return raw  # a number: arithmetic with a duration will say what is wrong
            raise data_error(ctx, f"cannot read {safe_repr(raw, 80)} as a {target}",
                             *located) from None

    return coerced


_COMPARISONS = frozenset((c.Operator.EQ, c.Operator.NE, c.Operator.LT, c.Operator.LE,
                          c.Operator.GT, c.Operator.GE))


def _meets_datetime(left: c.Checked, right: c.Checked) -> bool:
    """An untyped side compared with a datetime: a date object there is compared by day."""
    return ((t.is_unknown(left.type) and right.type == t.DATETIME)
            or (t.is_unknown(right.type) and left.type == t.DATETIME))


def _is_day(value: Any) -> bool:
    return type(value) is dt.date


def _day_of(value: Any, zone: dt.tzinfo) -> Any:
    """A datetime's calendar day in ``zone``; anything else as it is."""
    return value.astimezone(zone).date() if isinstance(value, dt.datetime) else value


def _by_day(function: Callable[[Any, Any], Any], zone: dt.tzinfo) -> Callable[[Any, Any], Any]:
    """``function`` comparing a date with a datetime by the datetime's day in
    ``zone``, as a date field and a datetime are compared."""
    def compare(a, b):
        if _is_day(a) and isinstance(b, dt.datetime):
            b = _day_of(b, zone)
        elif _is_day(b) and isinstance(a, dt.datetime):
            a = _day_of(a, zone)
        return function(a, b)

    return compare


def _is_time_step(node: c.Binary) -> bool:
    """``moment ± duration``: months and years need the zone's calendar."""
    return (node.op in (c.Operator.ADD, c.Operator.SUBTRACT)
            and t.DURATION in (node.left.type, node.right.type)
            and node.type.name == "datetime")


def _time_step(node: c.Binary, zone: dt.tzinfo) -> Callable[[Any, Any], Any]:
    """``moment ± duration`` (either order), months and years on ``zone``'s calendar."""
    sign = -1 if node.op is c.Operator.SUBTRACT else 1
    if node.left.type == t.DURATION:
        return lambda duration, moment: shift(moment, duration, zone)
    return lambda moment, duration: shift(moment, sign * duration, zone)


def _is_duration_arithmetic(node: c.Binary) -> bool:
    """Durations times or divided by numbers, divided by durations, added up."""
    return (node.op in (c.Operator.ADD, c.Operator.SUBTRACT, c.Operator.MULTIPLY,
                        c.Operator.DIVIDE)
            and t.DURATION in (node.left.type, node.right.type)
            and node.type.name in ("duration", "number"))


def _duration_function(node: c.Binary) -> Callable[[Any, Any], Any]:
    symbol = node.op.value
    return lambda a, b: duration_arithmetic(symbol, a, b)


def _is_date_step(node: c.Binary) -> bool:
    """``date ± duration`` with a computed duration, which must be whole days."""
    return (node.type.name == "date" and node.op in (c.Operator.ADD, c.Operator.SUBTRACT)
            and any(side.type == t.DURATION and not isinstance(side, c.Constant)
                    for side in (node.left, node.right)))


def _date_step(node: c.Binary) -> Callable[[Any, Any], Any]:
    step = operator.add if node.op is c.Operator.ADD else operator.sub
    whole_day = dt.timedelta(days=1)

    def date_step(a, b):
        duration = b if is_duration(b) else a
        if isinstance(duration, dt.timedelta) and duration % whole_day:
            raise ValueError(f"a date has no hours, and {duration_text(duration)} is not a "
                             f"whole number of days")
        return step(a, b)

    return date_step


def _describe_duration_failure(node: c.Binary) -> Callable:
    located = _where(node.left, node.right)
    symbol = node.op.value

    def shown(value: Any) -> str:
        return duration_text(value) if is_duration(value) else safe_repr(value, 80)

    def describe(ctx, a, b, error):
        if isinstance(error, ValueError):
            message = str(error)
        elif isinstance(error, OverflowError):
            message = f"{shown(a)} {symbol} {shown(b)} is too long a duration"
        else:
            message = (f"cannot evaluate {type(a).__name__} {shown(a)} {symbol} "
                       f"{type(b).__name__} {shown(b)}")
        return data_error(ctx, message, *located)

    return describe


def _shifted(node: c.Binary, other: t.Type) -> t.Type:
    # `x + 30d`, `30d + x`, `x - 30d`: an untyped x is read as a datetime.
    if other == t.DURATION and node.op in (c.Operator.ADD, c.Operator.SUBTRACT):
        return t.DATETIME
    return other


def _where(*nodes: c.Checked) -> tuple[str | None, int]:
    """The path and scope depth of the field among ``nodes`` for data errors: a
    direct operand first, else one inside them (through arithmetic, calls and
    conversions), nearest first."""
    pending = collections.deque(nodes)
    seen: set[int] = set()  # shared def expansions: a node may be reached many ways
    while pending:
        node = pending.popleft()
        if isinstance(node, c.Field):
            return node.dotted, node.depth
        if id(node) not in seen:
            seen.add(id(node))
            pending.extend(_operands(node))
    return None, 0


def _operands(node: c.Checked) -> tuple[c.Checked, ...]:
    """The operands a data error in ``node`` may come from (not an aggregation's insides)."""
    if isinstance(node, c.Binary):
        return (node.left, node.right)
    if isinstance(node, (c.Negate, c.Coerce, c.ToDate)):
        return (node.operand,)
    if isinstance(node, c.Apply):
        return tuple(node.args)
    return ()


_NUMBERS = frozenset((int, float))
# What a function declared to return a type may return (normalised; dates by isinstance).
_RETURNS: dict[str, frozenset] = {
    "number": _NUMBERS, "string": frozenset((str,)), "bool": frozenset((bool,)),
    "list": frozenset((list,)), "date": frozenset(), "datetime": frozenset(),
}
# Values read as they are (a float may be NaN: normalise reads it as null).
_PLAIN_VALUES = frozenset((str, int, bool, type(None)))
_NEGATABLE_DURATIONS = frozenset((dt.timedelta, relativedelta))


def _safe_text(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # noqa: BLE001 - a user's exception may fail to print
        return f"<{type(error).__name__}>"


def _divide(a, b):
    return None if b == 0 else a / b


def _modulo(a, b):
    return None if b == 0 else a % b


def found_in(value: Any, items: Any) -> bool:
    """Whether ``value`` is one of ``items``, a boolean never equal to a number."""
    if value not in items:
        return False  # Python's equality is looser than the rules': nothing strictly equal
    kind = type(value)
    if kind is bool:
        return any(item is value for item in items)
    if kind in _NUMBERS and value in (0, 1):
        return any(item == value and type(item) is not bool for item in items)
    return True


def equal(a: Any, b: Any) -> bool:
    """``a == b`` in rules: a boolean never equals a number."""
    if (type(a) is bool) is not (type(b) is bool):
        return False
    return bool(a == b)


def _not_equal(a: Any, b: Any) -> bool:
    return not equal(a, b)


def _ordered(function: Callable, a: Any, b: Any) -> Any:
    # Python orders True after 0; in rules a boolean is not a number.
    if (type(a) is bool) is not (type(b) is bool):
        raise TypeError("a boolean is not a number")
    return function(a, b)


def _numeric(function: Callable) -> Callable:
    # Numbers only: no text or list repetition, no boolean arithmetic.
    def arithmetic(a, b):
        if type(a) not in _NUMBERS or type(b) not in _NUMBERS:
            raise TypeError("arithmetic is on numbers only")
        result = function(a, b)
        return None if result != result else result  # noqa: PLR0124 - inf - inf is null

    return arithmetic


def _contains(a, b):
    if type(a) is str:
        if type(b) is not str:
            raise TypeError("text contains only text")
        return b in a
    if type(a) is list:  # a value from data; a written list (a tuple) goes to _list_contains
        return found_in(b, normalise_items(a))
    raise TypeError("contains needs text or a list")


def _searched_items(items_type: t.Type, element_type: t.Type, zone: dt.tzinfo
                   ) -> Callable[[Any, list | tuple], list]:
    """``(value, items) -> the items value is looked for among``, for ``in`` and a
    list's ``contains``: the text items of a list declared of datetimes (or dates)
    read as such, as its aggregations read them, and, for a date (or an untyped
    value holding one) among datetimes, their days in ``zone``. (A datetime among
    dates is made a day by the checker.)"""
    parse = {"datetime": read_datetime, "date": read_date}.get(items_type.name)
    by_day = items_type == t.DATETIME and (t.is_unknown(element_type)
                                           or element_type == t.DATE)

    def searched(value: Any, items: list | tuple) -> list:
        found = normalise_items(list(items) if type(items) is tuple else items)
        if parse is not None and any(type(item) is str for item in found):
            found = [parse(item, zone) if type(item) is str else item for item in found]
        if by_day and _is_day(value):
            found = [_day_of(item, zone) for item in found]
        return found

    return searched


def _list_contains(node: c.Binary, zone: dt.tzinfo) -> Callable[[Any, Any], Any]:
    """``list contains value``, searched as ``value in list`` is."""
    searched = _searched_items(node.left.type.element, node.right.type, zone)

    def contains(a, b):
        if type(a) is list or type(a) is tuple:
            return found_in(b, searched(b, a))
        return _contains(a, b)

    return contains


def _starts_with(a, b):
    if type(a) is not str or type(b) is not str:
        raise TypeError("starts_with is on text")
    return a.startswith(b)


def _ends_with(a, b):
    if type(a) is not str or type(b) is not str:
        raise TypeError("ends_with is on text")
    return a.endswith(b)


_less_or_equal = functools.partial(_ordered, operator.le)

_FUNCTIONS = {
    c.Operator.EQ: equal,
    c.Operator.NE: _not_equal,
    c.Operator.LT: functools.partial(_ordered, operator.lt),
    c.Operator.LE: _less_or_equal,
    c.Operator.GT: functools.partial(_ordered, operator.gt),
    c.Operator.GE: functools.partial(_ordered, operator.ge),
    c.Operator.CONTAINS: _contains,
    c.Operator.STARTS_WITH: _starts_with,
    c.Operator.ENDS_WITH: _ends_with,
    c.Operator.ADD: operator.add,
    c.Operator.SUBTRACT: operator.sub,
    c.Operator.MULTIPLY: operator.mul,
    c.Operator.DIVIDE: _divide,
    c.Operator.MODULO: _modulo,
}

_ARITHMETIC = frozenset((c.Operator.ADD, c.Operator.SUBTRACT, c.Operator.MULTIPLY,
                         c.Operator.DIVIDE, c.Operator.MODULO))


def _operator_function(node: c.Binary) -> Callable[[Any, Any], Any]:
    if node.op is c.Operator.MATCHES:
        search = node.pattern.search

        def matches(a, b):
            if type(a) is not str:
                raise TypeError("matches is on text")
            return search(a) is not None

        return matches
    function = _FUNCTIONS[node.op]
    if node.op in _ARITHMETIC and node.type.name in ("number", "any"):
        return _numeric(function)
    return function


def _describe_failure(node: c.Binary) -> Callable:
    located = _where(node.left, node.right)
    symbol = node.op.value

    def describe(ctx, a, b, error):
        kinds = (f"{type(a).__name__} {safe_repr(a, 80)} {symbol} {type(b).__name__} "
                 f"{safe_repr(b, 80)}")
        return data_error(ctx, f"cannot evaluate {kinds}", *located)

    return describe
