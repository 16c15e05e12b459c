"""From a checked tree to Python closures, built once per rule.

Each builder does its lookups when the rule is compiled and returns a closure
``fn(ctx)`` that captures only locals; evaluating a customer walks no tree.
Logic is three-valued: ``None`` is null/unknown, and every operator returns
``None`` when an operand it needs is ``None`` (``false and null`` is false,
``true or null`` is true, as in SQL).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from typing import Any

from segdsl import checked as c
from segdsl import types as t
from segdsl.errors import DataError, EvaluationError
from segdsl.timeline import Duration, read_date, read_datetime, shift

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
    """

    __slots__ = ("record", "scopes", "now", "zone", "population", "cache", "trace", "lists")

    def __init__(self, record: Any, now: dt.datetime, zone: dt.tzinfo,
                 population: dict[str, Callable] | None = None, trace: dict | None = None) -> None:
        if type(record) is not dict and (record is None or isinstance(record, _NOT_RECORDS)):
            raise DataError(f"a customer must be a dict or an object with attributes, not "
                            f"{type(record).__name__} {record!r:.40}")
        self.record = record
        self.scopes = [record]
        self.now = now
        self.zone = zone
        self.population = population
        self.cache: dict = {}
        self.trace = trace
        self.lists: dict[int, tuple] = {}


# Values that are not records: reading a field of one is bad data, not null.
_NOT_RECORDS = (str, bytes, int, float, list, tuple, set, dt.date, dt.timedelta)


def get_field(record: Any, name: str) -> Any:
    """Field ``name`` of a dict or an object; None when it is missing."""
    if type(record) is dict:
        return record.get(name)
    if record is None:
        return None
    if isinstance(record, dict):
        return record.get(name)
    return getattr(record, name, None)


def customer_id(ctx: Context) -> Any:
    """The customer's ``id`` (None when it has none), for error messages."""
    return get_field(ctx.record, "id")


def data_error(ctx: Context, message: str, path: str | None, depth: int = 0) -> DataError:
    """A :class:`DataError` naming the current customer and ``path`` (a path
    in the record in scope ``depth``, spelled from the customer)."""
    if depth and path:
        path = element_path(ctx, depth, path)
    who = customer_id(ctx)
    prefix = f"customer {who!r}" if who is not None else "a customer without id"
    where = f", field {path}" if path else ""
    return DataError(f"{prefix}{where}: {message}", customer_id=who, field_path=path)


def element_path(ctx: Context, depth: int, path: str) -> str:
    """``path`` in the element in scope at ``depth``, from the customer: ``orders[2].total``."""
    while depth > 0 and depth in ctx.lists and depth < len(ctx.scopes):
        list_path, list_depth, source = ctx.lists[depth]
        element = ctx.scopes[depth]
        items = source(ctx)
        index = next((i for i, item in enumerate(items or ()) if item is element), "?")
        path = f"{list_path}[{index}].{path}"
        depth = list_depth
    return path


class Compiler:
    """Builds closures for checked trees.

    Args:
        segments: resolves a segment name to its compiled closure (for
            references between segments); results are memoised per customer.
        trace: when true, every closure records its value for ``explain`` and
            ``and``/``or`` evaluate all their operands.
    """

    def __init__(self, segments: Callable[[str], Closure] | None = None, trace: bool = False,
                 zone: dt.tzinfo = dt.timezone.utc) -> None:
        self.segments = segments
        self.tracing = trace
        self.zone = zone
        self._shared: dict[c.Checked, object] = {}

    def compile(self, node: c.Checked) -> Closure:
        """The closure evaluating ``node``."""
        build = getattr(self, "_" + type(node).__name__.lower())
        closure = build(node)
        if self.tracing:
            return _traced(closure, id(node))
        if isinstance(node, c.Aggregate) and node.depth - len(node.flatten) == 1:
            # An aggregation over the customer's own lists has one value per
            # customer: computed once, however many segments use it.
            # A fresh object per node: two threads compiling different nodes
            # can never be handed the same memo key.
            return _memoised(closure, self._shared.setdefault(node, object()))
        return closure

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
            raise data_error(ctx, f"expected true or false, found {value!r}", *located)

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
        if self.tracing:
            return _all_operands(operands, absorbing)

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
        left = self._operand(node.left, _shifted(node, node.right.type))
        right = self._operand(node.right, _shifted(node, node.left.type))
        function = _time_step(node, self.zone) if _is_time_step(node) else _operator_function(node)
        describe = _describe_failure(node)

        def apply(ctx):
            a = left(ctx)
            if a is None:
                return None
            b = right(ctx)
            if b is None:
                return None
            try:
                return function(a, b)
            except (TypeError, ValueError, OverflowError, AttributeError) as error:
                raise describe(ctx, a, b, error) from None

        return apply

    def _operand(self, node: c.Checked, other: t.Type) -> Closure:
        """``node``'s closure, reading text as a date or datetime when the other
        side is one and ``node``'s own type is unknown."""
        closure = self.compile(node)
        if t.is_unknown(node.type) and other.name in ("date", "datetime"):
            return _coerce(closure, other, node)
        return closure

    def _negate(self, node: c.Negate) -> Closure:
        operand = self.compile(node.operand)

        def negate(ctx):
            value = operand(ctx)
            return None if value is None else -value

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
            except (TypeError, ValueError) as error:
                raise data_error(ctx, f"cannot read {value!r} as a date ({error})",
                                 *_where(node.operand)) from None

        return day

    def _membership(self, node: c.Membership) -> Closure:
        container_type = node.container.type
        element = self._operand(node.element, container_type.element
                                if container_type.is_list else container_type)
        container = self.compile(node.container)
        negated = node.negated

        def member(ctx):
            value = element(ctx)
            items = container(ctx)
            if value is None or items is None:
                return None
            try:
                found = value in items
            except TypeError as error:
                raise data_error(ctx, f"cannot look for {value!r} in {items!r} ({error})",
                                 *_where(node.element, node.container)) from None
            if not found and not isinstance(items, str) and None in items:
                return None
            return not found if negated else found

        return member

    def _between(self, node: c.Between) -> Closure:
        # Untyped sides are read as the first known type among the three.
        known = next((side.type for side in (node.operand, node.low, node.high)
                      if not t.is_unknown(side.type)), t.ANY)
        operand = self._operand(node.operand, known)
        low = self._operand(node.low, known)
        high = self._operand(node.high, known)

        def between(ctx):
            value, lower, upper = operand(ctx), low(ctx), high(ctx)
            if value is None:
                return None
            try:
                above = None if lower is None else lower <= value
                below = None if upper is None else value <= upper
            except TypeError as error:
                raise data_error(ctx, f"cannot compare {value!r} with {lower!r} and "
                                 f"{upper!r} ({error})", *_where(node.operand)) from None
            if above is False or below is False:
                return False
            return None if above is None or below is None else True

        return between

    def _apply(self, node: c.Apply) -> Closure:
        args = tuple(self.compile(a) for a in node.args)
        function, name, null_safe = node.function, node.name, node.null_safe
        located = _where(*node.args)  # the field it was given, if any, names the bad data

        def call(ctx):
            values = [arg(ctx) for arg in args]
            if null_safe and None in values:
                return None
            try:
                return function(*values)
            except Exception as error:  # a user's function may raise anything
                raise data_error(ctx, f"function {name} failed: {type(error).__name__}: {error}",
                                 *located) from None

        return call

    # aggregations and population functions

    def _window(self, node: c.Window) -> Closure:
        return self.compile(node.value)

    def _aggregate(self, node: c.Aggregate) -> Closure:
        from segdsl.aggregates import build_aggregate

        return build_aggregate(node, self)

    def _population(self, node: c.Population) -> Closure:
        measure = self.compile(node.measure) if node.measure is not None else None
        key, kind = node.key, node.kind

        def score(ctx):
            scorers = ctx.population
            if scorers is None or key not in scorers:
                raise EvaluationError(
                    f"{kind} ranks a customer within a population: evaluate a whole population "
                    f"(RuleSet.evaluate, Segment.filter) or pass population= to matches()")
            return scorers[key](ctx, measure)

        return score


def runtime_value(value: Any) -> Any:
    """A constant as closures use it: durations become timedelta/relativedelta."""
    if isinstance(value, Duration):
        return value.step()
    if isinstance(value, tuple):
        return tuple(runtime_value(v) for v in value)
    return value


_MISSING = object()


def _memoised(closure: Closure, key: int) -> Closure:
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


def _all_operands(operands: tuple[Closure, ...], absorbing: bool) -> Closure:
    # For explanations: every operand is evaluated so each can be shown.
    def combine(ctx):
        values = [operand(ctx) for operand in operands]
        if absorbing in values:
            return absorbing
        return None if None in values else not absorbing

    return combine


def _field_reader(path: tuple[str, ...], depth: int, type_: t.Type) -> Closure:
    dotted = ".".join(path)
    first = path[0]
    rest = path[1:]

    if depth == 0 and not rest:
        def read(ctx):
            record = ctx.record
            return record.get(first) if type(record) is dict else get_field(record, first)
    else:
        def read(ctx):
            value = get_field(ctx.scopes[depth], first)
            for index, part in enumerate(rest):
                if isinstance(value, _NOT_RECORDS):
                    raise data_error(ctx, f"expected a record with a field '{part}', found "
                                     f"{value!r}", ".".join(path[:index + 1]), depth)
                value = get_field(value, part)
            return value

    converter = _CONVERTERS.get(type_.name)
    if converter is None:
        return read
    return converter(read, dotted, depth)


def _temporal_reader(kind: str, parse: Callable) -> Callable:
    def convert(read: Closure, dotted: str, depth: int) -> Closure:
        key = ("field", dotted)

        def temporal(ctx):
            if depth == 0 and key in ctx.cache:
                return ctx.cache[key]
            raw = read(ctx)
            try:
                value = parse(raw, ctx.zone)
            except (TypeError, ValueError) as error:
                raise data_error(ctx, f"cannot read {raw!r} as a {kind} ({error})",
                                 dotted, depth) from None
            if depth == 0:
                ctx.cache[key] = value
            return value

        return temporal

    return convert


def _typed_reader(expected: tuple[type, ...], name: str) -> Callable:
    def convert(read: Closure, dotted: str, depth: int) -> Closure:
        def checked_read(ctx):
            value = read(ctx)
            if value is None or (isinstance(value, expected) and not (
                    isinstance(value, bool) and bool not in expected)):
                return value
            raise data_error(ctx, f"expected a {name}, found {value!r}", dotted, depth)

        return checked_read

    return convert


_CONVERTERS = {
    "datetime": _temporal_reader("datetime", read_datetime),
    "date": _temporal_reader("date", read_date),
    "number": _typed_reader((int, float), "number"),
    "string": _typed_reader((str,), "string"),
    "bool": _typed_reader((bool,), "boolean"),
}


def _coerce(closure: Closure, target: t.Type, node: c.Checked) -> Closure:
    parse = read_datetime if target.name == "datetime" else read_date
    located = _where(node)

    def coerced(ctx):
        raw = closure(ctx)
        if raw is None or isinstance(raw, (dt.date, dt.timedelta)):
            return raw if not isinstance(raw, dt.date) else parse(raw, ctx.zone)
        try:
            return parse(raw, ctx.zone)
        except (TypeError, ValueError):
            if isinstance(raw, (int, float)):
                return raw  # a number: arithmetic with a duration will say what is wrong
            raise data_error(ctx, f"cannot read {raw!r} as a {target}", *located) from None

    return coerced


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


def _shifted(node: c.Binary, other: t.Type) -> t.Type:
    # `x + 30d`, `30d + x`, `x - 30d`: an untyped x is read as a datetime.
    if other == t.DURATION and node.op in (c.Operator.ADD, c.Operator.SUBTRACT):
        return t.DATETIME
    return other


def _where(*nodes: c.Checked) -> tuple[str | None, int]:
    """The path and scope depth of the first field among ``nodes``, for data errors."""
    field = next((node for node in nodes if isinstance(node, c.Field)), None)
    return (field.dotted, field.depth) if field is not None else (None, 0)


def _divide(a, b):
    return None if b == 0 else a / b


def _modulo(a, b):
    return None if b == 0 else a % b


def _contains(a, b):
    return b in a


def _starts_with(a, b):
    return a.startswith(b)


def _ends_with(a, b):
    return a.endswith(b)


_FUNCTIONS = {
    c.Operator.EQ: operator.eq,
    c.Operator.NE: operator.ne,
    c.Operator.LT: operator.lt,
    c.Operator.LE: operator.le,
    c.Operator.GT: operator.gt,
    c.Operator.GE: operator.ge,
    c.Operator.CONTAINS: _contains,
    c.Operator.STARTS_WITH: _starts_with,
    c.Operator.ENDS_WITH: _ends_with,
    c.Operator.ADD: operator.add,
    c.Operator.SUBTRACT: operator.sub,
    c.Operator.MULTIPLY: operator.mul,
    c.Operator.DIVIDE: _divide,
    c.Operator.MODULO: _modulo,
}


def _operator_function(node: c.Binary) -> Callable[[Any, Any], Any]:
    if node.op is c.Operator.MATCHES:
        search = node.pattern.search
        return lambda a, b: search(a) is not None
    function = _FUNCTIONS[node.op]
    if node.op in (c.Operator.EQ, c.Operator.NE) and t.BOOL in (node.left.type, node.right.type):
        return function
    return _strict(function) if node.op in (c.Operator.EQ, c.Operator.NE) else function


def _strict(function: Callable) -> Callable:
    # Python finds True == 1; in rules a boolean never equals a number.
    def compare(a, b):
        if (type(a) is bool) is not (type(b) is bool):
            return function is operator.ne
        return function(a, b)

    return compare


def _describe_failure(node: c.Binary) -> Callable:
    located = _where(node.left, node.right)
    symbol = node.op.value

    def describe(ctx, a, b, error):
        kinds = f"{type(a).__name__} {a!r} {symbol} {type(b).__name__} {b!r}"
        return data_error(ctx, f"cannot evaluate {kinds}", *located)

    return describe

