"""A deliberately simple reference interpreter for segdsl rules.

It walks the *syntax tree* (``segdsl.parse_expression``) directly, with the
semantics written down once, plainly, so that a reader can check it against
the language's rules in a few minutes. It shares no code with the checker,
compiler, aggregations or timeline of the package: the differential test
compares the two and either one can be the wrong one.

It knows a fixed vocabulary, the one the differential test generates:
customer fields ``country``, ``age``, ``tags``, ``email_subscribed``,
``signed_up_at`` (a datetime); lists ``orders`` [{at, total, items: [{category,
sku, price, discounted}]}] and ``events`` [{type, at}]; the prelude functions
and the generic aggregations. ``None`` is null.

The semantics, in one place:
- Kleene logic; a record matches when its rule is exactly true.
- A comparison, arithmetic or membership with a null operand is null;
  ``x in [...]`` is true when found, else null when the list holds a null,
  else false; division (and modulo) by zero is null.
- A datetime compared with a date is compared by its calendar day in the zone.
- Naive datetimes (in data or rules) are in the zone. Datetimes are kept as
  UTC instants, so h/d/w durations are exact lengths of time, even across a
  DST change; m/y are calendar steps (``relativedelta``) on the zone's calendar.
- An aggregation sees its list as of ``now``: elements stamped after ``now``
  are ignored; elements without a timestamp count only when there is no
  window; ``within``/``during`` a duration D keeps ``now - D < at <= now``, a
  period keeps its whole days (zone) from start to end, both included.
- first/last are the earliest/latest elements in time (an element without a
  timestamp has no place in time, so it is neither); lists without
  timestamps (items) keep their order.
- count/sum of nothing is 0; avg/min/max/first/last of nothing is null;
  exists of nothing is false; a missing list is an empty list. With a value
  path (``orders.total``), count/exists/sum/avg/min/max skip null values.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import re

import re2
from dateutil.relativedelta import relativedelta

from segdsl import nodes as n

UTC = dt.timezone.utc

# Element fields of each list, and the lists with a timestamp (``at``).
LIST_FIELDS = {
    "orders": {"at", "total", "items"},
    "events": {"type", "at"},
    "items": {"category", "sku", "price", "discounted"},
}
TIMESTAMPED = {"orders", "events"}
DATETIME_FIELDS = {"signed_up_at", "at"}

_COMPARE = {
    n.CompareOp.EQ: operator.eq, n.CompareOp.NE: operator.ne,
    n.CompareOp.LT: operator.lt, n.CompareOp.LE: operator.le,
    n.CompareOp.GT: operator.gt, n.CompareOp.GE: operator.ge,
    n.CompareOp.CONTAINS: lambda a, b: b in a,
    n.CompareOp.STARTS_WITH: lambda a, b: a.startswith(b),
    n.CompareOp.ENDS_WITH: lambda a, b: a.endswith(b),
}
_UNITS = {"h": lambda k: dt.timedelta(hours=k), "d": lambda k: dt.timedelta(days=k),
          "w": lambda k: dt.timedelta(weeks=k), "m": lambda k: relativedelta(months=k),
          "y": lambda k: relativedelta(years=k)}
_EVENT_KINDS = {"visits": "visit", "abandoned_cart": "cart_abandoned",
                "clicked_recommendation": "recommendation_click",
                "opened_email": "email_open", "clicked_email": "email_click"}


class Period:
    """Whole days from ``start`` to ``end``, both included."""

    def __init__(self, start: dt.date, end: dt.date) -> None:
        self.start, self.end = start, end


class Env:
    """One customer's evaluation: the record, ``now``, the zone, and the
    list elements in scope (innermost last) as ``(list name, element)``."""

    def __init__(self, record, now: dt.datetime, zone: dt.tzinfo, scopes=()) -> None:
        self.record, self.now, self.zone, self.scopes = record, now, zone, tuple(scopes)

    def inside(self, list_name: str, element) -> Env:
        return Env(self.record, self.now, self.zone, self.scopes + ((list_name, element),))


def matches(expression: n.Node, record, now, zone: dt.tzinfo = UTC) -> bool:
    """Whether ``record`` is a member: the rule is exactly true."""
    return evaluate(expression, record, now, zone) is True


def evaluate(expression: n.Node, record, now, zone: dt.tzinfo = UTC):
    """The value of ``expression`` for ``record`` (None for null)."""
    return value(expression, Env(record, to_datetime(now, zone), zone))


# ---------------------------------------------------------------- values


def to_datetime(raw, zone: dt.tzinfo):
    """A datetime (naive: in ``zone``), a date (its midnight) or ISO text, as a UTC instant."""
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = dt.datetime.fromisoformat(raw)
    if not isinstance(raw, dt.datetime):
        raw = dt.datetime(raw.year, raw.month, raw.day)
    if raw.tzinfo is None:
        raw = raw.replace(tzinfo=zone)
    return raw.astimezone(UTC)


def shift(moment, step, zone: dt.tzinfo):
    """``moment + step``; a calendar step moves a datetime on the zone's calendar."""
    if isinstance(step, relativedelta) and isinstance(moment, dt.datetime):
        return (moment.astimezone(zone) + step).astimezone(UTC)
    return moment + step


def field(owner, name: str):
    """A dict's field; None when the dict or the field is missing."""
    return None if owner is None else owner.get(name)


def value(node: n.Node, env: Env):
    """The value of one syntax node."""
    kind = type(node)
    if kind in (n.Number, n.String, n.Boolean, n.Date):
        return node.value
    if kind is n.Null:
        return None
    if kind is n.DateTime:
        return to_datetime(node.value, env.zone)
    if kind is n.Duration:
        return _UNITS[node.unit.value](node.amount)
    if kind is n.DateRange:
        return Period(node.start, node.end)
    if kind is n.ListLiteral:
        return [value(item, env) for item in node.items]
    if kind is n.Now:
        return env.now
    if kind is n.Reference:
        return reference(node.path, env)
    if kind is n.Not:
        operand = value(node.operand, env)
        return None if operand is None else not operand
    if kind is n.And:
        return kleene_and([value(o, env) for o in node.operands])
    if kind is n.Or:
        return kleene_or([value(o, env) for o in node.operands])
    if kind is n.IsNull:
        return (value(node.operand, env) is None) != node.negated
    if kind is n.Comparison:
        return compare(node.op, value(node.left, env), value(node.right, env), env.zone)
    if kind is n.Between:
        operand = value(node.operand, env)
        return kleene_and([compare(n.CompareOp.LE, value(node.low, env), operand, env.zone),
                           compare(n.CompareOp.LE, operand, value(node.high, env), env.zone)])
    if kind is n.Membership:
        return membership(value(node.element, env), value(node.container, env), node.negated)
    if kind is n.Negate:
        operand = value(node.operand, env)
        return None if operand is None else -operand
    if kind is n.Arithmetic:
        return arithmetic(node.op, value(node.left, env), value(node.right, env), env.zone)
    if kind is n.Call:
        return call(node, env)
    raise NotImplementedError(kind.__name__)


def reference(path: tuple[str, ...], env: Env):
    """A name: an element's field inside ``where``, a zero-argument prelude
    function, or a customer field."""
    name = path[0]
    for list_name, element in reversed(env.scopes):
        if name in LIST_FIELDS[list_name]:
            return _read(field(element, name), name, env)
    if name in ("last_order_at", "first_order_at", "days_since_last_order"):
        return call(n.Call(name), env)
    return _read(field(env.record, name), name, env)


def _read(raw, name: str, env: Env):
    return to_datetime(raw, env.zone) if name in DATETIME_FIELDS else raw


def kleene_and(values: list):
    if False in values:
        return False
    return None if None in values else True


def kleene_or(values: list):
    if True in values:
        return True
    return None if None in values else False


def compare(op: n.CompareOp, left, right, zone: dt.tzinfo):
    """``left op right``: null with a null side; a datetime meets a date by its day."""
    if left is None or right is None:
        return None
    if op is n.CompareOp.MATCHES:  # RE2 semantics; a lone surrogate reads as U+FFFD
        return re2.search(right, re.sub("[\ud800-\udfff]", "\ufffd", left)) is not None
    if _is_date(left) and isinstance(right, dt.datetime):
        right = right.astimezone(zone).date()
    if _is_date(right) and isinstance(left, dt.datetime):
        left = left.astimezone(zone).date()
    return _COMPARE[op](left, right)


def _is_date(x) -> bool:
    return isinstance(x, dt.date) and not isinstance(x, dt.datetime)


def membership(element, container, negated: bool):
    """SQL's ``in``: true when found, else null when the list holds a null, else false."""
    if element is None or container is None:
        return None
    if isinstance(container, str):
        found = element in container
    else:
        found = any(item == element for item in container if item is not None)
        if not found and None in container:
            return None
    return found != negated


def arithmetic(op: n.ArithmeticOp, left, right, zone: dt.tzinfo):
    if left is None or right is None:
        return None
    if op in (n.ArithmeticOp.DIVIDE, n.ArithmeticOp.MODULO) and right == 0:
        return None
    if isinstance(left, relativedelta):  # 1m + x
        left, right = right, left
    if isinstance(right, relativedelta):
        return shift(left, right if op is n.ArithmeticOp.ADD else -right, zone)
    return {"+": operator.add, "-": operator.sub, "*": operator.mul,
            "/": operator.truediv, "%": operator.mod}[op.value](left, right)


# ------------------------------------------------------------------ calls


def call(node: n.Call, env: Env):
    name = node.name
    args = list(node.args)
    keywords = {k.name: k.value for k in node.keywords}
    if name in ("count", "sum", "avg", "min", "max", "first", "last", "exists"):
        window = keywords.get("within", keywords.get("during"))
        return aggregate(name, args[0].path, window, keywords.get("where"), env)
    if name in ("orders", "purchased"):
        window = args[0] if args else keywords.get("within", keywords.get("during"))
        number = count_orders(window, keywords, env)
        return number if name == "orders" else number > 0
    params = {"events": ("kind", "window"), "days_between": ("start", "end"),
              "coalesce": ("value", "fallback"), "length": ("value",),
              "abs": ("number",)}.get(name, ("window",))
    given = dict(zip(params, args)) | keywords
    if name in ("spent", "aov"):
        return aggregate("sum" if name == "spent" else "avg", ("orders", "total"),
                         given["window"], None, env)
    if name == "events" or name in _EVENT_KINDS:
        kind = value(given["kind"], env) if name == "events" else _EVENT_KINDS[name]
        number = len([e for e in select("events", given["window"], env)
                      if compare(n.CompareOp.EQ, field(e, "type"), kind, env.zone) is True])
        return number if name in ("events", "visits") else number > 0
    if name == "last_order_at":
        return aggregate("last", ("orders", "at"), None, None, env)
    if name == "first_order_at":
        return aggregate("first", ("orders", "at"), None, None, env)
    if name == "days_since_last_order":
        return days_between(aggregate("last", ("orders", "at"), None, None, env), env.now)
    values = {p: value(given[p], env) for p in params}
    if name == "days_between":
        return days_between(values["start"], values["end"])
    if name == "coalesce":
        return values["fallback"] if values["value"] is None else values["value"]
    if values[params[0]] is None:
        return None
    if name == "length":
        return len(values["value"])
    if name == "abs":
        return abs(values["number"])
    raise NotImplementedError(name)


def days_between(start, end):
    if start is None or end is None:
        return None
    return math.floor((end - start).total_seconds() / 86400)


def select(list_name: str, window: n.Node | None, env: Env) -> list:
    """The elements of a list that an aggregation sees, in time order (list
    order for a list without timestamps); undated elements last."""
    owner = env.record if list_name != "items" else _innermost(env, "orders")
    elements = field(owner, list_name) or []
    if list_name not in TIMESTAMPED:
        return list(elements)
    bounds = value(window, env) if window is not None else None
    dated, undated = [], []
    for element in elements:
        at = to_datetime(field(element, "at"), env.zone)
        if at is None:
            undated.append(element)
        elif at <= env.now and _in_window(at, bounds, env):
            dated.append((at, element))
    dated.sort(key=lambda pair: pair[0])  # stable: equal times keep list order
    return [e for _, e in dated] + (undated if bounds is None else [])


def _in_window(at: dt.datetime, bounds, env: Env) -> bool:
    if bounds is None:
        return True
    if isinstance(bounds, Period):
        first = dt.datetime(bounds.start.year, bounds.start.month, bounds.start.day,
                            tzinfo=env.zone)
        after = dt.datetime(bounds.end.year, bounds.end.month, bounds.end.day,
                            tzinfo=env.zone) + dt.timedelta(days=1)
        return first <= at < after
    return shift(env.now, -bounds, env.zone) < at


def _innermost(env: Env, list_name: str):
    return next(e for name, e in reversed(env.scopes) if name == list_name)


def aggregate(function: str, path: tuple[str, ...], window, where, env: Env):
    """``function(path, within = window, where = where)``."""
    list_name, value_path = path[0], path[1:]
    kept = [e for e in select(list_name, window, env)
            if where is None or value(where, env.inside(list_name, e)) is True]
    if function in ("first", "last"):
        if list_name in TIMESTAMPED:
            kept = [e for e in kept if field(e, "at") is not None]
        if not kept:
            return None
        chosen = kept[0] if function == "first" else kept[-1]
        return _value_of(chosen, value_path, env)
    if not value_path:
        return len(kept) if function == "count" else bool(kept)
    values = [v for v in (_value_of(e, value_path, env) for e in kept) if v is not None]
    if function == "count":
        return len(values)
    if function == "exists":
        return bool(values)
    if function == "sum":
        return sum(values)
    if not values:
        return None
    if function == "avg":
        return sum(values) / len(values)
    return min(values) if function == "min" else max(values)


def _value_of(element, value_path: tuple[str, ...], env: Env):
    for part in value_path:
        element = field(element, part)
    return _read(element, value_path[-1], env) if value_path else element


def count_orders(window, keywords: dict, env: Env) -> int:
    """``orders(window, category=, sku=, discounted=, where=)``: orders in the
    window with an item matching every item filter and the ``where``."""
    filters = {k: value(keywords[k], env) for k in ("category", "sku", "discounted")
               if k in keywords}
    where = keywords.get("where")

    def item_matches(item) -> bool:
        return kleene_and([compare(n.CompareOp.EQ, field(item, k), v, env.zone)
                           for k, v in filters.items()]) is True

    def order_matches(order) -> bool:
        if filters and not any(item_matches(i) for i in field(order, "items") or []):
            return False
        return where is None or value(where, env.inside("orders", order)) is True

    return len([o for o in select("orders", window, env) if order_matches(o)])
