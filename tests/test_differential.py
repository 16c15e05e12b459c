"""All four APIs against each other and against a reference interpreter (tests/reference.py).

Hypothesis builds random well-typed rules over a fixed vocabulary and random
customers whose timestamps sit on window edges (exactly ``now - 30d``, exactly
``now``, a second either side, after ``now``, on period day boundaries), with
frequent nulls, missing keys and missing or empty lists. The rules cover
comparisons, ``in``, text operators with constants drawn from the values the
data holds (so that ``==``, ``starts_with``, ``contains``, ``matches`` are often
true), arithmetic whose operands tell ``*``, ``/`` and ``%`` apart, windows,
periods, nested lists (``orders.items``), the prelude, ``ntile``,
``percentile`` and ``rfm.*``. Several properties share the generator, each
adding one family of inputs (so that a failure names its family):

- ``core``: dict customers, ISO text and aware datetimes;
- ``objects``: also naive datetime objects, pandas Timestamps and dates (run
  in a process whose own zone is New York);
- ``kinds``: the value kinds of issue 8: numpy scalars, ``Decimal``, bools next
  to numbers (``True`` / ``1``, ``False`` / ``0`` / ``-0.0``), NaN, pandas.NA,
  NaT, naive datetime objects, pandas Timestamps, numpy datetime64, dates,
  impossible ISO stamps, tuples and numpy arrays as lists, and non-lists
  where a list is expected;
- ``shapes``: customers and list elements as MappingProxyType, SimpleNamespace,
  dataclass and namedtuple objects;
- ``nested``: aggregations through two lists, and over a list of strings;
- ``population``: ranking functions, over the whole list of customers.

For each case and each customer, with and without a declared schema,
``Segment.matches``, ``Segment.filter``, ``RuleSet.evaluate`` (a rule file
holding the rule as ``s``, ``u = not s`` and ``unknown = not s and not u``, so
three-valued truth is visible) and ``Segment.explain(...).value`` are run.
The rule they are held to, from the reference's outcome:

- a value: every API gives it (matches/filter: membership, evaluate/explain:
  true, false or unknown);
- bad data (the spec says the data is bad for this rule): every API raises
  ``DataError``;
- ``either`` (the answer is decided by one operand while another is bad data,
  e.g. ``false and <bad>``, or ``is null`` over a typed field of the wrong
  type): every API gives the reference's value or raises ``DataError``, and all
  four do the same;
- ``unspecified`` (the spec leaves it open, e.g. ordering a bool against a
  number): the four APIs agree with each other.

Nothing but a ``SegdslError`` may escape, and the records are unchanged
afterwards (deep-compared). Rules needing the population are run on the
whole list (``filter``, ``evaluate``) and with ``population=`` (``matches``,
``explain``); other rules are also run on the whole list, which must give the
per-customer answers (or ``DataError`` when one customer's data is bad).

Runs: derandomized (a fixed seed per property), so that a CI failure is
reproducible and CI never flakes on a new random draw; breadth comes from the
long run (``tests/long_differential.py``, random seeds). The number of
examples per property can be raised with ``SEGDSL_DIFFERENTIAL_EXAMPLES``.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import decimal
import os
import re
import time as clock
import types
import zoneinfo
from collections.abc import Callable
from typing import Any, Self

import numpy as np
import pandas as pd
import pytest
import reference
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import segdsl
from segdsl import nodes as n
from segdsl.formatter import render as render_string_literal
from tests.strategies import SCHEMA

UTC = dt.UTC
ZONES = {"UTC": UTC, "Europe/Paris": zoneinfo.ZoneInfo("Europe/Paris")}
NOWS = (
    dt.datetime(2026, 7, 15, 10, 30, tzinfo=UTC),
    dt.datetime(2026, 3, 31, 0, 0, tzinfo=UTC),     # a month end, midnight
    dt.datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC),  # leap day, just before midnight
    dt.datetime(2026, 6, 30, 22, 0, tzinfo=UTC),    # midnight in Paris
)
DURATIONS = ((12, "h"), (1, "d"), (7, "d"), (30, "d"), (2, "w"), (1, "m"), (6, "m"), (1, "y"))
EXACT_DURATIONS = ((12, "h"), (1, "d"), (7, "d"), (30, "d"), (2, "w"))
COUNTRIES = ("FR", "BE", "DE", "fr", "")
EMAILS = ("ann@shop.fr", "bob.smith@mail.com", "zoé+news@exemple.be", "ANN@SHOP.FR", "")
TAGS = ("vip", "new", "churned")
EVENT_TYPES = ("visit", "cart_abandoned", "recommendation_click", "email_open", "email_click")
CATEGORIES = ("shoes", "bags", "hats")
AGES = (0, 17, 18, 30, 45.5, 99)
TOTALS = (0, 10, 12.5, 50, 99.75, 120)
PRICES = (5, 20, 20.5)
MISSING = object()  # a key left out of a record
IMPOSSIBLE_STAMPS = ("2026-02-30T10:00:00Z", "2026-07-00T10:00:00Z", "2026-07-15T25:61:61Z")
EXAMPLES = int(os.environ.get("SEGDSL_DIFFERENTIAL_EXAMPLES", "0")) or None



# ------------------------------------------------------------ rendering


def render(node: n.Node, periods: dict | None = None) -> str:
    """Rule text for ``node``, every compound part in parentheses; date
    ranges listed in ``periods`` are written as the period's name."""
    r = lambda child: render(child, periods)
    kind = type(node)
    if kind is n.Number:
        return repr(node.value) if node.value >= 0 else f"({node.value!r})"
    if kind is n.String:
        return render_string_literal(node)
    if kind is n.Boolean:
        return "true" if node.value else "false"
    if kind is n.Null:
        return "null"
    if kind is n.Now:
        return "now"
    if kind is n.Date:
        return node.value.isoformat()
    if kind is n.DateTime:
        return node.value.isoformat().replace("+00:00", "Z")
    if kind is n.Duration:
        return f"{node.amount}{node.unit.value}"
    if kind is n.DateRange:
        if periods and (node.start, node.end) in periods:
            return periods[(node.start, node.end)]
        return f"{node.start.isoformat()} .. {node.end.isoformat()}"
    if kind is n.ListLiteral:
        return "[" + ", ".join(r(item) for item in node.items) + "]"
    if kind is n.Reference:
        return node.dotted
    if kind is n.Call:
        parts = [r(a) for a in node.args] + [f"{k.name} = {r(k.value)}" for k in node.keywords]
        return f"{node.name}({', '.join(parts)})"
    if kind is n.Negate:
        return f"(-{r(node.operand)})"
    if kind is n.Not:
        return f"(not {r(node.operand)})"
    if kind in (n.And, n.Or):
        word = " and " if kind is n.And else " or "
        return "(" + word.join(r(o) for o in node.operands) + ")"
    if kind in (n.Arithmetic, n.Comparison):
        return f"({r(node.left)} {node.op.value} {r(node.right)})"
    if kind is n.Membership:
        return f"({r(node.element)} {'not in' if node.negated else 'in'} {r(node.container)})"
    if kind is n.Between:
        return f"({r(node.operand)} between {r(node.low)} and {r(node.high)})"
    if kind is n.IsNull:
        return f"({r(node.operand)} is {'not ' if node.negated else ''}null)"
    raise NotImplementedError(kind.__name__)


# ------------------------------------------------------------ the setting


def step(amount: int, unit: str) -> dt.timedelta | relativedelta:
    """What ``amount unit`` moves a datetime by."""
    name = {"h": "hours", "d": "days", "w": "weeks", "m": "months", "y": "years"}[unit]
    return relativedelta(**{name: amount}) if unit in "my" else dt.timedelta(**{name: amount})


class Setting:
    """One case's fixed points: the zone, ``now``, the periods rules may use,
    and the families of inputs drawn (see the module's docstring)."""

    def __init__(self, zone_name: str, now: dt.datetime, features=frozenset()) -> None:
        self.zone_name, self.zone, self.now = zone_name, ZONES[zone_name], now
        self.features = frozenset(features)
        self.targets: list[dt.datetime] = []  # the instants the rule's literals name
        self.durations = DURATIONS
        today = now.astimezone(self.zone).date()
        day = dt.timedelta(days=1)
        self.periods = ((today - 30 * day, today - day), (today - 7 * day, today + 7 * day),
                        (today, today), (today - 400 * day, today - 300 * day))

    def instants(self) -> list[dt.datetime]:
        """Times on and around the edges of every window a rule can use."""
        return self.edges([n.Duration(a, n.DurationUnit(u)) for a, u in self.durations]
                          + [n.DateRange(start, end) for start, end in self.periods])

    def edges(self, nodes) -> list[dt.datetime]:
        """Times on and a second around ``now`` and the edges of the windows,
        date-times and dates among ``nodes``."""
        found = [self.now, self.now + dt.timedelta(days=1)]
        for node in nodes:
            if isinstance(node, n.Duration):
                found.append(reference.shift(self.now, -step(node.amount, node.unit.value),
                                             self.zone))
            elif isinstance(node, (n.DateRange, n.Date)):
                first, last = (node.start, node.end) if isinstance(node, n.DateRange) else (
                    node.value, node.value)
                found += [self.day_start(first), self.day_start(last + dt.timedelta(days=1))]
            elif isinstance(node, n.DateTime):
                found.append(reference.to_datetime(node.value, self.zone))
        second = dt.timedelta(seconds=1)
        return [edge + shift for edge in found for shift in (-second, 0 * second, second)]

    def day_start(self, day: dt.date) -> dt.datetime:
        return dt.datetime(day.year, day.month, day.day, tzinfo=self.zone)


def walk(node: n.Node):
    """``node`` and every node under it."""
    yield node
    for child in n.children(node):
        yield from walk(child)


# ------------------------------------------------------------ rules


def _one_of(draw, *builders):
    return draw(st.sampled_from(builders))


def window(draw, setting: Setting) -> n.Node:
    if draw(st.integers(0, 3)) == 0:
        return n.DateRange(*draw(st.sampled_from(setting.periods)))
    return duration(draw, setting.durations)


def duration(draw, choices) -> n.Duration:
    amount, unit = draw(st.sampled_from(choices))
    return n.Duration(amount, n.DurationUnit(unit))


def window_keywords(draw, setting: Setting) -> tuple[n.Keyword, ...]:
    if draw(st.booleans()):
        return ()
    return (n.Keyword(draw(st.sampled_from(("within", "during"))), window(draw, setting)),)


def number_literal(draw) -> n.Node:
    number = draw(st.sampled_from((0, 1, 2, 3, 10, 12.5, 18, 50, 99.75, 100, -1)))
    return n.Negate(n.Number(-number)) if number < 0 else n.Number(number)


def number(draw, setting: Setting, depth: int, scope: str | None = None) -> n.Node:
    """A number-valued expression; ``scope`` names the list whose element is
    in scope (inside ``where``): its numeric field may be used, and
    aggregations reach only the element's own lists or the prelude."""
    choice = draw(st.integers(0, 9 if depth > 0 else 6))
    if choice <= 1:
        return number_literal(draw)
    if choice == 2:
        return {None: n.Reference(("age",)), "orders": n.Reference(("total",)),
                "items": n.Reference(("price",)), "events": n.Null()}[scope]
    if choice in (3, 4):
        return counting(draw, setting, depth, scope) if scope != "items" else n.Null()
    if choice == 5 and scope is None:
        return draw(st.sampled_from((
            n.Call("length", (n.Reference(("tags",)),)),
            n.Call("days_between", (time(draw, setting, depth - 1, typed=True),
                                    time(draw, setting, depth - 1, typed=True))),
        )))
    if choice in (5, 6):
        return n.Call("coalesce", (number(draw, setting, 0, scope), number_literal(draw)))
    if choice == 7:
        return n.Negate(number(draw, setting, depth - 1, scope))
    op = draw(st.sampled_from(list(n.ArithmeticOp)))
    return n.Arithmetic(op, number(draw, setting, depth - 1, scope),
                        number(draw, setting, depth - 1, scope))


def counting(draw, setting: Setting, depth: int, scope: str | None) -> n.Node:
    """An aggregation or a prelude function giving a number."""
    if scope is None and "nested" in setting.features and draw(st.integers(0, 2)) == 0:
        return nested_counting(draw, setting, depth)
    kind = draw(st.integers(0, 5) if scope is None else st.integers(2, 5))
    if kind == 2 and scope == "events":  # without a schema, an event may have a field 'orders'
        kind = 3
    if kind == 2 and scope == "orders":  # over the order's items
        function = draw(st.sampled_from(("count", "sum", "avg", "min", "max", "first", "last")))
        source = ("items",) if function == "count" else ("items", "price")
        return n.Call(function, (n.Reference(source),),
                      where_keyword(draw, setting, depth, "items"))
    if kind == 0:
        lists = draw(st.sampled_from(("orders", "events")))
        return n.Call("count", (n.Reference((lists,)),),
                      window_keywords(draw, setting) + where_keyword(draw, setting, depth, lists))
    if kind == 1:
        function = draw(st.sampled_from(("count", "sum", "avg", "min", "max", "first", "last")))
        return n.Call(function, (n.Reference(("orders", "total")),),
                      window_keywords(draw, setting)
                      + where_keyword(draw, setting, depth, "orders"))
    if kind == 2:
        return orders_macro(draw, setting, depth, "orders")
    if kind == 3:
        name = draw(st.sampled_from(("spent", "aov", "visits")))
        return prelude_call(draw, name, window=window(draw, setting))
    if kind == 4:
        kind_literal = draw(st.sampled_from(EVENT_TYPES + (None,)))
        kind_node = n.Null() if kind_literal is None else n.String(kind_literal)
        return prelude_call(draw, "events", kind=kind_node, window=window(draw, setting))
    return draw(st.sampled_from((n.Reference(("days_since_last_order",)),
                                 n.Call("days_since_last_order"))))


def nested_counting(draw, setting: Setting, depth: int) -> n.Node:
    """An aggregation through two lists (``orders.items``), or over the plain
    values of ``tags``."""
    if draw(st.integers(0, 3)) == 0:
        return n.Call(draw(st.sampled_from(("count", "length"))), (n.Reference(("tags",)),))
    return n.Call("count", (n.Reference(("orders", "items")),),
                  window_keywords(draw, setting) + where_keyword(draw, setting, depth, "items"))


def prelude_call(draw, name: str, **arguments: n.Node) -> n.Call:
    """A call of a prelude function, its arguments by position or sometimes by name."""
    if draw(st.integers(0, 3)):
        return n.Call(name, tuple(arguments.values()))
    return n.Call(name, (), tuple(n.Keyword(k, v) for k, v in arguments.items()))


def orders_macro(draw, setting: Setting, depth: int, name: str) -> n.Call:
    """``orders(...)`` or ``purchased(...)`` with a window and some filters."""
    args, keywords = (), []
    if draw(st.booleans()):
        args = (window(draw, setting),)
    else:
        keywords += window_keywords(draw, setting)
    if draw(st.booleans()):
        category = draw(st.sampled_from(CATEGORIES + (None,)))
        keywords.append(n.Keyword("category", n.Null() if category is None else n.String(category)))
    if draw(st.booleans()):
        keywords.append(n.Keyword("discounted", n.Boolean(draw(st.booleans()))))
    if draw(st.integers(0, 3)) == 0:
        keywords.append(n.Keyword("sku", n.String(draw(st.sampled_from(("S1", "S2"))))))
    keywords += where_keyword(draw, setting, depth, "orders")
    return n.Call(name, args, tuple(keywords))


def where_keyword(draw, setting: Setting, depth: int, lists: str) -> tuple[n.Keyword, ...]:
    if draw(st.booleans()):
        return ()
    return (n.Keyword("where", condition(draw, setting, max(depth - 1, 0), lists)),)


def time(draw, setting: Setting, depth: int, scope: str | None = None,
         typed: bool = False) -> n.Node:
    """A datetime-valued expression; when ``typed``, never a bare customer
    field (typed ``any`` without a schema)."""
    choice = draw(st.integers(0, 7 if depth > 0 else 5))
    if choice == 0:
        return n.Now()
    if choice == 1:
        instant = draw(st.sampled_from(setting.instants()))
        written_in = draw(st.sampled_from((UTC, dt.timezone(dt.timedelta(hours=-5)), None)))
        if written_in is None:  # naive: read in the zone
            return n.DateTime(instant.astimezone(setting.zone).replace(tzinfo=None))
        return n.DateTime(instant.astimezone(written_in))
    if choice == 2 and scope in ("orders", "events"):
        return n.Reference(("at",))
    if choice == 2:
        return n.Reference(("signed_up_at",)) if scope is None and not typed else n.Now()
    if choice == 3:
        return draw(st.sampled_from((n.Reference(("last_order_at",)), n.Call("last_order_at"),
                                     n.Reference(("first_order_at",)), n.Call("first_order_at"))))
    if choice == 4 and scope is None:
        function = draw(st.sampled_from(("min", "max", "first", "last")))
        lists = draw(st.sampled_from(("orders", "events")))
        return n.Call(function, (n.Reference((lists, "at")),),
                      window_keywords(draw, setting) + where_keyword(draw, setting, depth, lists))
    if choice <= 5:
        return n.Arithmetic(n.ArithmeticOp.SUBTRACT, n.Now(), duration(draw, setting.durations))
    shifted = time(draw, setting, depth - 1, scope)
    if choice == 6:
        return n.Arithmetic(draw(st.sampled_from((n.ArithmeticOp.ADD, n.ArithmeticOp.SUBTRACT))),
                            shifted, duration(draw, setting.durations))
    return n.Arithmetic(n.ArithmeticOp.ADD, duration(draw, setting.durations), shifted)


def date(draw, setting: Setting) -> n.Node:
    """A date-valued expression: a day near ``now`` or a period edge, maybe shifted."""
    days = [setting.now.astimezone(setting.zone).date()] + [d for p in setting.periods for d in p]
    day = n.Date(draw(st.sampled_from(days)) + dt.timedelta(days=draw(st.integers(-1, 1))))
    if draw(st.integers(0, 3)):
        return day
    unit = draw(st.sampled_from(((1, "d"), (7, "d"), (1, "w"), (1, "m"), (1, "y"))))
    op = draw(st.sampled_from((n.ArithmeticOp.ADD, n.ArithmeticOp.SUBTRACT)))
    return n.Arithmetic(op, day, n.Duration(unit[0], n.DurationUnit(unit[1])))


def temporal(draw, setting: Setting, depth: int, scope: str | None) -> n.Node:
    """A datetime, or sometimes a date (compared by day)."""
    return date(draw, setting) if draw(st.integers(0, 2)) == 0 else time(draw, setting, depth,
                                                                          scope)


def comparison_op(draw) -> n.CompareOp:
    return draw(st.sampled_from(list(n.CompareOp)[:6]))


def text_list(draw, choices: tuple) -> n.ListLiteral:
    items = draw(st.lists(st.sampled_from(choices + (None,)), max_size=3))
    return n.ListLiteral(tuple(n.Null() if i is None else n.String(i) for i in items))


def condition(draw, setting: Setting, depth: int, scope: str | None = None) -> n.Node:
    """A boolean expression; inside ``where`` over ``scope`` it reads that element."""
    if depth > 0 and draw(st.integers(0, 2)) == 0:
        form = draw(st.sampled_from(("not", "and", "or")))
        if form == "not":
            return n.Not(condition(draw, setting, depth - 1, scope))
        operands = tuple(condition(draw, setting, depth - 1, scope)
                         for _ in range(draw(st.integers(2, 3))))
        return n.And(operands) if form == "and" else n.Or(operands)
    builders = {None: _customer_conditions, "orders": _order_conditions,
                "events": _event_conditions, "items": _item_conditions}[scope]
    if scope is None and "nested" in setting.features and draw(st.integers(0, 3)) == 0:
        return _nested_condition(draw, setting, depth)
    common = [
        lambda: n.Comparison(comparison_op(draw), number(draw, setting, depth, scope),
                             number(draw, setting, depth, scope)),
        lambda: n.Between(number(draw, setting, depth, scope), number(draw, setting, 0, scope),
                          number(draw, setting, 0, scope)),
        lambda: n.Membership(number(draw, setting, depth, scope), n.ListLiteral(tuple(
            number(draw, setting, 0, scope) for _ in range(draw(st.integers(0, 3))))),
            draw(st.booleans())),
        lambda: n.IsNull(number(draw, setting, depth, scope), draw(st.booleans())),
        lambda: draw(st.sampled_from((n.Boolean(True), n.Boolean(False), n.Null()))),
    ]
    if scope != "items":
        common += [
            lambda: n.Comparison(comparison_op(draw), time(draw, setting, depth, scope),
                                 temporal(draw, setting, depth, scope)),
            lambda: n.Comparison(comparison_op(draw), date(draw, setting),
                                 time(draw, setting, depth, scope)),
            lambda: n.Between(time(draw, setting, depth, scope),
                              temporal(draw, setting, 0, scope), temporal(draw, setting, 0, scope)),
            lambda: n.IsNull(time(draw, setting, depth, scope), draw(st.booleans())),
            lambda: n.Comparison(comparison_op(draw), n.Arithmetic(
                n.ArithmeticOp.SUBTRACT, time(draw, setting, depth, scope),
                time(draw, setting, depth, scope, typed=True)), duration(draw, EXACT_DURATIONS)),
        ]
    return _one_of(draw, *common, *builders(draw, setting, depth))()


def _nested_condition(draw, setting: Setting, depth: int) -> n.Node:
    """``exists(orders.items, where = ...)``, ``exists(tags)`` or a comparison
    of a count through two lists."""
    choice = draw(st.integers(0, 2))
    if choice == 0:
        return n.Call("exists", (n.Reference(("orders", "items")),),
                      window_keywords(draw, setting)
                      + where_keyword(draw, setting, depth, "items"))
    if choice == 1:
        return n.Call("exists", (n.Reference(("tags",)),))
    return n.Comparison(comparison_op(draw), nested_counting(draw, setting, depth),
                        number_literal(draw))


def text_constant(draw, values: tuple, op: n.CompareOp) -> n.String:
    """A constant for ``op`` drawn from the values the data holds, so that the
    comparison is often true: the value itself, a prefix, a suffix, a part,
    a pattern of a part; now and then a near miss."""
    value = draw(st.sampled_from(values))
    start = draw(st.integers(0, len(value)))
    end = draw(st.integers(start, len(value)))
    if draw(st.integers(0, 5)) == 0:
        value = draw(st.sampled_from((value.upper(), value + "x", "x" + value, value[1:])))
    if op in (n.CompareOp.EQ, n.CompareOp.NE):
        return n.String(value)
    if op is n.CompareOp.STARTS_WITH:
        return n.String(value[:end])
    if op is n.CompareOp.ENDS_WITH:
        return n.String(value[start:])
    if op is n.CompareOp.CONTAINS:
        return n.String(value[start:end])
    pattern = re.escape(value[start:end])
    if start == 0 and draw(st.booleans()):
        pattern = "^" + pattern
    if end == len(value) and draw(st.booleans()):
        pattern += "$"
    if draw(st.integers(0, 3)) == 0:
        pattern = "(?i)" + pattern
    return n.String(pattern)


def text_condition(draw, field: str, values: tuple) -> n.Node:
    """``field OP constant`` with a constant drawn from the data's values."""
    op = draw(st.sampled_from((n.CompareOp.EQ, n.CompareOp.NE, n.CompareOp.STARTS_WITH,
                               n.CompareOp.ENDS_WITH, n.CompareOp.CONTAINS,
                               n.CompareOp.MATCHES)))
    return n.Comparison(op, n.Reference((field,)), text_constant(draw, values, op))


def moment_condition(draw, setting: Setting) -> n.Node:
    """``signed_up_at`` (text, without a schema) against date and datetime
    literals with ``==``, ``!=``, ``in``, ``not in``: the data often names the
    same instant in another form (another offset, no ``Z``, a datetime object)."""
    dates = draw(st.integers(0, 3)) == 0

    def literal():
        if dates:
            return n.Date(setting.now.astimezone(setting.zone).date()
                          - dt.timedelta(days=draw(st.integers(0, 30))))
        instant = draw(st.sampled_from(setting.instants()))
        written_in = draw(st.sampled_from((UTC, dt.timezone(dt.timedelta(hours=2)), None)))
        if written_in is None:
            return n.DateTime(instant.astimezone(setting.zone).replace(tzinfo=None))
        return n.DateTime(instant.astimezone(written_in))

    field = n.Reference(("signed_up_at",))
    if draw(st.booleans()):
        return n.Comparison(draw(st.sampled_from((n.CompareOp.EQ, n.CompareOp.NE))), field,
                            literal())
    return n.Membership(field, n.ListLiteral(tuple(literal() for _ in range(
        draw(st.integers(1, 3))))), draw(st.booleans()))


def arithmetic_condition(draw, operand: n.Node, values: tuple) -> n.Node:
    """``(operand OP k) CMP c`` where ``c`` is what ``OP`` gives for a value the
    data holds, and ``*``, ``/``, ``%`` give three different results for it
    (worked out here, by hand, not by the code under test)."""
    op = draw(st.sampled_from((n.ArithmeticOp.MULTIPLY, n.ArithmeticOp.DIVIDE,
                               n.ArithmeticOp.MODULO)))
    a = draw(st.sampled_from([v for v in values if v]))
    k = draw(st.sampled_from([k for k in (2, 3, 4, 8) if len({a * k, a / k, a % k}) == 3]))
    c = {n.ArithmeticOp.MULTIPLY: a * k, n.ArithmeticOp.DIVIDE: a / k,
         n.ArithmeticOp.MODULO: a % k}[op]
    compare = draw(st.sampled_from((n.CompareOp.EQ, n.CompareOp.EQ, n.CompareOp.NE,
                                    n.CompareOp.LE, n.CompareOp.GT)))
    return n.Comparison(compare, n.Arithmetic(op, operand, n.Number(k)), n.Number(c))


def _customer_conditions(draw, setting: Setting, depth: int) -> list:
    country = n.Reference(("country",))
    subscribed = n.Reference(("email_subscribed",))
    tags = n.Reference(("tags",))
    age = n.Reference(("age",))
    string = lambda choices: n.String(draw(st.sampled_from(choices)))
    return [
        lambda: text_condition(draw, "country", COUNTRIES),
        lambda: moment_condition(draw, setting),
        lambda: moment_condition(draw, setting),
        lambda: moment_condition(draw, setting),
        lambda: text_condition(draw, "email", EMAILS),
        lambda: text_condition(draw, "email", EMAILS),
        lambda: arithmetic_condition(draw, age, AGES),
        lambda: arithmetic_condition(draw, age, AGES),
        lambda: n.Comparison(draw(st.sampled_from((n.CompareOp.EQ, n.CompareOp.NE))), age,
                             n.Number(draw(st.sampled_from((0, 1))))),
        lambda: n.Membership(age, n.ListLiteral((n.Number(0), n.Number(1))), draw(st.booleans())),
        lambda: n.Comparison(comparison_op(draw), country, string(COUNTRIES)),
        lambda: n.Comparison(draw(st.sampled_from(list(n.CompareOp)[6:9])), country,
                             string(("F", "R", "E", ""))),
        lambda: n.Comparison(n.CompareOp.MATCHES, country, string(("^[A-F]", "R$", "(?i)fr"))),
        lambda: n.Membership(country, text_list(draw, COUNTRIES), draw(st.booleans())),
        lambda: n.Membership(string(TAGS), tags, draw(st.booleans())),
        lambda: n.Comparison(n.CompareOp.CONTAINS, tags, string(TAGS)),
        lambda: n.Membership(string(("F", "R", "")), country, draw(st.booleans())),
        lambda: n.IsNull(draw(st.sampled_from((country, subscribed, tags))), draw(st.booleans())),
        lambda: subscribed,
        lambda: n.Comparison(draw(st.sampled_from((n.CompareOp.EQ, n.CompareOp.NE))), subscribed,
                             draw(st.sampled_from((n.Boolean(True), n.Boolean(False), n.Null())))),
        lambda: orders_macro(draw, setting, depth, "purchased"),
        lambda: prelude_call(draw, draw(st.sampled_from((
            "abandoned_cart", "clicked_recommendation", "opened_email", "clicked_email"))),
            window=window(draw, setting)),
        lambda: n.Call("exists", (n.Reference((draw(st.sampled_from(("orders", "events"))),)),),
                       window_keywords(draw, setting)),
        lambda: n.Call("exists", (n.Reference(("orders",)),),
                       window_keywords(draw, setting)
                       + where_keyword(draw, setting, depth, "orders")),
    ]


def _order_conditions(draw, setting: Setting, depth: int) -> list:
    return [
        lambda: n.Call("exists", (n.Reference(("items",)),),
                       where_keyword(draw, setting, depth, "items")),
        lambda: arithmetic_condition(draw, n.Reference(("total",)), TOTALS),
        lambda: n.Membership(n.Reference(("total",)), n.ListLiteral(tuple(
            draw(st.lists(st.sampled_from((n.Number(10), n.Number(12.5), n.Null())),
                          max_size=3)))), draw(st.booleans())),
    ]


def _event_conditions(draw, setting: Setting, depth: int) -> list:
    kind = n.Reference(("type",))
    return [
        lambda: n.Comparison(draw(st.sampled_from((n.CompareOp.EQ, n.CompareOp.NE))), kind,
                             n.String(draw(st.sampled_from(EVENT_TYPES)))),
        lambda: n.Membership(kind, text_list(draw, EVENT_TYPES), draw(st.booleans())),
        lambda: n.IsNull(kind, draw(st.booleans())),
    ] * 2


def _item_conditions(draw, setting: Setting, depth: int) -> list:
    discounted = n.Reference(("discounted",))
    return [
        lambda: n.Comparison(n.CompareOp.EQ, n.Reference(("category",)),
                             n.String(draw(st.sampled_from(CATEGORIES)))),
        lambda: n.Membership(n.Reference(("category",)), text_list(draw, CATEGORIES),
                             draw(st.booleans())),
        lambda: discounted,
        lambda: n.Comparison(n.CompareOp.EQ, discounted, n.Boolean(draw(st.booleans()))),
        lambda: arithmetic_condition(draw, n.Reference(("price",)), PRICES),
    ]


# ------------------------------------------------------------ records


# ------------------------------------------------------------ population rules


def population_condition(draw, setting: Setting) -> n.Node:
    """A condition on a ranking: ``ntile``, ``percentile`` or an RFM score."""
    measure = draw(st.sampled_from((
        n.Reference(("age",)), n.Call("spent", (n.Duration(365, n.DurationUnit.DAYS),)),
        n.Call("count", (n.Reference(("orders",)),)),
        n.Call("visits", (n.Duration(30, n.DurationUnit.DAYS),)),
        n.Arithmetic(n.ArithmeticOp.MULTIPLY, n.Reference(("age",)), n.Number(2)),
        n.Reference(("days_since_last_order",)))))
    choice = draw(st.integers(0, 4))
    compare = draw(st.sampled_from(list(n.CompareOp)[:6]))
    if choice == 0:
        tiles = draw(st.sampled_from((2, 3, 4, 5, 10)))
        return n.Comparison(compare, n.Call("ntile", (measure, n.Number(tiles))),
                            n.Number(draw(st.integers(1, tiles))))
    if choice == 1:
        return n.Comparison(compare, n.Call("percentile", (measure,)),
                            n.Number(draw(st.sampled_from((0, 20, 25, 40, 50, 60, 75, 80, 100)))))
    if choice == 2:
        part = draw(st.sampled_from(("recency", "frequency", "monetary")))
        return n.Comparison(compare, n.Reference(("rfm", part)),
                            n.Number(draw(st.integers(1, 5))))
    if choice == 3:
        return n.Comparison(compare, n.Reference(("rfm", "score")),
                            n.Number(draw(st.sampled_from((111, 300, 345, 555)))))
    groups = sorted(reference.RFM_GROUPS)
    if draw(st.booleans()):
        return n.Comparison(draw(st.sampled_from((n.CompareOp.EQ, n.CompareOp.NE))),
                            n.Reference(("rfm", "group")), n.String(draw(st.sampled_from(groups))))
    return n.Membership(n.Reference(("rfm", "group")), n.ListLiteral(tuple(
        n.String(g) for g in draw(st.lists(st.sampled_from(groups), min_size=1, max_size=4)))),
        draw(st.booleans()))


# ------------------------------------------------------------ values of every kind


def stamp(draw, setting: Setting, edges: list[dt.datetime]):
    """A timestamp as data holds it: ISO text in some form, or a datetime;
    mostly on an edge of the rule's windows, else on any window's edge or
    anywhere. With ``kinds``: also naive datetime objects, pandas Timestamps,
    numpy datetime64, dates, NaT and impossible ISO stamps; with ``objects``
    the datetime and date objects only."""
    kind = draw(st.integers(0, 5))
    if setting.targets and kind == 5:
        instant = draw(st.sampled_from(setting.targets))  # exactly a literal of the rule
    elif kind == 0:
        instant = setting.now - dt.timedelta(seconds=draw(st.integers(-86400, 400 * 86400)))
    elif kind == 1:
        instant = draw(st.sampled_from(setting.instants()))
    else:
        instant = draw(st.sampled_from(edges))
    local = instant.astimezone(setting.zone)
    forms = list(range(6))
    if setting.features & {"kinds", "objects"}:
        forms += [6, 7, 11, 12]
    if "kinds" in setting.features:
        forms += [8, 9, 10]
    form = draw(st.sampled_from(forms))
    if form == 0:
        return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if form == 1:
        return local.replace(tzinfo=None).isoformat()  # naive: read in the zone
    if form == 2:
        return instant.astimezone(dt.timezone(dt.timedelta(hours=-5))).isoformat()
    if form == 3:
        return local.date().isoformat()  # a date: its midnight in the zone
    if form == 4:
        return instant
    if form == 5:
        return local.isoformat()
    if form == 6:
        return local.replace(tzinfo=None)  # a naive datetime object: in the zone
    if form == 7:
        return pd.Timestamp(instant)
    if form == 8:
        return np.datetime64(local.replace(tzinfo=None), "us")
    if form == 9:
        return draw(st.sampled_from((pd.NaT, np.datetime64("NaT"), float("nan"))))
    if form == 10:
        return draw(st.sampled_from(IMPOSSIBLE_STAMPS))
    if form == 11:
        return pd.Timestamp(local.replace(tzinfo=None))
    return local.date()  # a date object: its midnight in the zone


def as_kind(draw, setting: Setting, value):
    """``value`` as one of the kinds that hold it: a numpy scalar, a Decimal,
    another null; unchanged without ``kinds``."""
    if "kinds" not in setting.features or draw(st.integers(0, 2)) == 0:
        return value
    if value is None:
        return draw(st.sampled_from((None, float("nan"), np.float64("nan"), pd.NA,
                                     decimal.Decimal("NaN"))))
    if isinstance(value, bool):
        return draw(st.sampled_from((value, np.bool_(value))))
    if isinstance(value, int):
        return draw(st.sampled_from((value, np.int64(value), np.int32(value),
                                     np.float64(value), decimal.Decimal(value))))
    if isinstance(value, float):
        forms = [value, np.float64(value), decimal.Decimal(repr(value))]
        if float(np.float32(value)) == value:
            forms.append(np.float32(value))
        return draw(st.sampled_from(forms))
    return value


def maybe(draw, values, missing: bool = True):
    """One of ``values``, or null, or (when ``missing``) no key at all."""
    extra = (None, MISSING) if missing else (None,)
    return draw(st.sampled_from(tuple(values) + extra))


def record(draw, setting: Setting, edges: list[dt.datetime], identity: int) -> dict:
    kinds = "kinds" in setting.features

    def value(values, hostile=()):
        found = maybe(draw, values + (hostile if kinds else ()))
        return found if found is MISSING else as_kind(draw, setting, found)

    def element_list(build, max_size: int):
        shape = draw(st.integers(0, 7 if kinds else 5))
        if shape == 0:
            return MISSING
        if shape == 1:
            return draw(st.sampled_from((None, [])))
        if shape == 6:
            return tuple(build() for _ in range(draw(st.integers(1, max_size))))
        if shape == 7 and draw(st.integers(0, 2)) == 0:
            return draw(st.sampled_from(("", 0, False, {})))  # not a list: bad data
        return [build() for _ in range(draw(st.integers(1, max_size)))]

    def timestamp():
        return draw(st.sampled_from(("stamp",) * 6 + (None, MISSING)))

    def item():
        return without_missing({
            "category": value(CATEGORIES), "sku": value(("S1", "S2")),
            "price": value(PRICES), "discounted": value((True, False))})

    def order():
        at = timestamp()
        return without_missing({
            "at": stamp(draw, setting, edges) if at == "stamp" else at,
            "total": value(TOTALS), "items": element_list(item, 3)})

    def event():
        at = timestamp()
        return without_missing({"type": value(EVENT_TYPES),
                                "at": stamp(draw, setting, edges) if at == "stamp" else at})

    def tags():
        found = element_list(lambda: maybe(draw, TAGS * 4, missing=False), 3)
        if kinds and isinstance(found, list) and draw(st.integers(0, 4)) == 0:
            return np.array(found, dtype=object)
        if kinds and draw(st.integers(0, 9)) == 0:
            return "xvipx"  # text where a list of strings is expected
        return found

    signed_up = timestamp()
    return without_missing({
        "id": identity,
        "country": value(COUNTRIES),
        "email": value(EMAILS),
        "age": value(AGES, (True, False, -0.0, 1, "18")),
        "tags": tags(),
        "email_subscribed": value((True, False), (1, 0, -0.0)),
        "signed_up_at": stamp(draw, setting, edges) if signed_up == "stamp" else signed_up,
        "orders": element_list(order, 4),
        "events": element_list(event, 5),
    })


def without_missing(fields: dict) -> dict:
    return {key: value for key, value in fields.items() if value is not MISSING}


# ------------------------------------------------------------ shapes of records

_SHAPES = ("dict", "mapping", "namespace", "dataclass", "namedtuple")


@dataclasses.dataclass
class _Base:
    """Dataclass records get one class per set of fields."""


_CLASSES: dict = {}


def _class_for(shape: str, names: tuple[str, ...]):
    key = (shape, names)
    if key not in _CLASSES:
        if shape == "dataclass":
            _CLASSES[key] = dataclasses.make_dataclass("Row", names)
        else:
            _CLASSES[key] = collections.namedtuple("Row", names)
    return _CLASSES[key]


def reshape(draw, setting: Setting, value, depth: int = 0):
    """``value`` with its records (the customer, list elements) in shapes
    drawn from :data:`_SHAPES`; unchanged without ``shapes``."""
    if "shapes" not in setting.features:
        return value
    if isinstance(value, list):
        return [reshape(draw, setting, v, depth + 1) for v in value]
    if isinstance(value, tuple):
        return tuple(reshape(draw, setting, v, depth + 1) for v in value)
    if not isinstance(value, dict):
        return value
    fields = {k: reshape(draw, setting, v, depth + 1) for k, v in value.items()}
    shape = draw(st.sampled_from(_SHAPES + ("dict",) * (2 if depth else 0)))
    if shape == "dict":
        return fields
    if shape == "mapping":
        return types.MappingProxyType(fields)
    if shape == "namespace":
        return types.SimpleNamespace(**fields)
    return _class_for(shape, tuple(fields))(**fields)


@st.composite
def cases(draw, features=frozenset()):
    """``(setting, rule, records, now as given to the API)``."""
    setting = Setting(draw(st.sampled_from(sorted(ZONES))), draw(st.sampled_from(NOWS)),
                      features)
    rule = condition(draw, setting, draw(st.integers(0, 3)))
    if "population" in features:
        ranking = population_condition(draw, setting)
        form = draw(st.integers(0, 3))
        rule = ranking if form < 2 else (n.And if form == 2 else n.Or)((ranking, rule))
    edges = setting.edges(walk(rule))
    setting.targets = [reference.to_datetime(node.value, setting.zone) for node in walk(rule)
                       if isinstance(node, n.DateTime)] + [
        setting.day_start(node.value) for node in walk(rule) if isinstance(node, n.Date)]
    size = draw(st.integers(3, 10) if "population" in features else st.integers(2, 6))
    records = [reshape(draw, setting, record(draw, setting, edges, identity))
               for identity in range(size)]
    given_now = draw(st.sampled_from((
        setting.now, setting.now.isoformat(),
        setting.now.astimezone(setting.zone).replace(tzinfo=None).isoformat())))
    return setting, rule, records, given_now


# ------------------------------------------------------------ the comparison


def snapshot(value, seen=None):
    """A deep, comparable picture of a record (NaN, NA and NaT included)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return ("cycle",)
    if value is None or isinstance(value, (bool, int, str, bytes, np.generic,
                                           decimal.Decimal, dt.date, pd.Timestamp)):
        return (type(value).__name__, repr(value))
    if value is pd.NA or value is pd.NaT or isinstance(value, float):
        return (type(value).__name__, repr(value))
    seen = seen | {id(value)}
    if isinstance(value, np.ndarray):
        return ("ndarray", [snapshot(v, seen) for v in value.tolist()])
    if isinstance(value, (list, tuple)) and not hasattr(type(value), "_fields"):
        return (type(value).__name__, [snapshot(v, seen) for v in value])
    if isinstance(value, collections.abc.Mapping):
        return (type(value).__name__, [(k, snapshot(v, seen)) for k, v in value.items()])
    if hasattr(type(value), "_fields"):
        return (type(value).__name__, [(k, snapshot(getattr(value, k), seen))
                                       for k in value._fields])
    return (type(value).__name__, sorted((k, snapshot(v, seen)) for k, v in vars(value).items()))


def _truth(value) -> str:
    return {True: "true", False: "false", None: "unknown"}.get(value, repr(value))


def _run(action: Callable):
    """What one API call gives: its answer, or :class:`Failed`: ``DataError``,
    or any other exception (an escape, or a SegdslError of another class)."""
    try:
        return action()
    except segdsl.DataError as error:
        return Failed("DataError", str(error))
    except segdsl.SegdslError as error:
        return Failed(f"{type(error).__name__}: {error}")
    except Exception as error:  # noqa: BLE001 - an escape, reported as a finding
        return Failed(f"escape {type(error).__name__}: {error}")


class Failed(str):
    """An API call that raised: the exception's class (and, for a DataError,
    its message, shown but not compared)."""

    detail: str

    def __new__(cls, text: str, detail: str = "") -> Self:
        made = super().__new__(cls, text)
        made.detail = detail
        return made

    def __repr__(self) -> str:
        return f"<{self}{': ' + self.detail[:300] if self.detail else ''}>"


DATA_ERROR = Failed("DataError")


class Programs:
    """The rule compiled as a segment and as a rule file (``s``, ``u``, ``unknown``)."""

    def __init__(self, setting: Setting, rule: n.Node, schema) -> None:
        names = {p: f"p{i}" for i, p in enumerate(setting.periods)}
        self.segment = segdsl.compile(render(rule), schema=schema, timezone=setting.zone_name)
        file_text = "".join(f"period {name} = {start} .. {end}\n" for (start, end), name in
                            names.items())
        file_text += (f"segment s = {render(rule, names)}\n"
                      f"segment u = not {render(rule, names)}\n"
                      "segment unknown = not s and not u\n")  # a segment is never unknown
        self.rules = segdsl.loads(file_text, schema=schema, timezone=setting.zone_name)

    def evaluate(self, records: list, now) -> list | str:
        """Each record's truth from ``RuleSet.evaluate``, or the error."""
        result = self.rules.evaluate(records, now=now)
        found = []
        for r in records:
            identity = reference.field(r, "id")
            truths = [name for name in ("s", "u", "unknown") if identity in result.members[name]]
            truth = {("s",): True, ("u",): False, ("unknown",): None}
            found.append(truth.get(tuple(truths), f"in {truths}"))
        return found


def api_answers(programs: Programs, records: list, now, ranked: bool) -> dict[str, Any]:
    """Each API's answer for each record: a truth, or an error's name."""
    segment = programs.segment
    population = {"population": records} if ranked else {}
    answers = {
        "matches": [_run(lambda r=r: segment.matches(r, now=now, **population)) for r in records],
        "explain": [_run(lambda r=r: segment.explain(r, now=now, **population).value)
                    for r in records],
    }
    if ranked:
        members = _run(lambda: [id(r) for r in segment.filter(records, now=now)])
        answers["filter"] = members if isinstance(members, Failed) else [
            id(r) in members for r in records]
        truths = _run(lambda: programs.evaluate(records, now=now))
        answers["evaluate"] = truths
    else:
        answers["filter"] = [_run(lambda r=r: [x is r for x in segment.filter([r], now=now)]
                                  == [True]) for r in records]
        answers["evaluate"] = [_run(lambda r=r: programs.evaluate([r], now=now)[0])
                               for r in records]
    for name in ("filter", "evaluate"):
        if isinstance(answers[name], Failed):
            answers[name] = [answers[name]] * len(records)
    return answers


def _is_error(answer) -> bool:
    return isinstance(answer, Failed)


def problems_of(setting: Setting, rule: n.Node, records: list, now) -> list[str]:
    """Every way the APIs disagree with each other or with the reference, and
    every escape; empty when all is well."""
    found: list[str] = []
    text = render(rule)
    tree = segdsl.parse_expression(text)
    ranked = any(isinstance(x, n.Call) and x.name in ("ntile", "percentile")
                 or isinstance(x, n.Reference) and x.path[0] == "rfm" for x in walk(tree))
    before = [snapshot(r) for r in records]
    for schema in (SCHEMA, None):
        label = "schema" if schema is not None else "no schema"
        try:
            programs = Programs(setting, rule, schema)
        except segdsl.SegdslError as error:
            found.append(f"compile: [{label}] does not compile: {error}")
            continue
        except Exception as error:  # noqa: BLE001
            found.append(f"escape: [{label}] while compiling: {type(error).__name__}: {error}")
            continue
        expected = [reference.outcome(tree, r, now, setting.zone, typed=schema is not None,
                                      population=records if ranked else None)
                    for r in records]
        answers = api_answers(programs, records, now, ranked)
        if ranked and _is_error(answers["filter"][0]) and _is_error(answers["evaluate"][0]):
            # One customer's bad data fails the whole list: the reference must find
            # some; each customer's own answers are then those of matches and explain.
            if answers["filter"][0] == answers["evaluate"][0] == "DataError" and all(
                    o.kind == "value" for o in expected):
                found.append(f"reference: [{label}] filter and evaluate raised on good data: "
                             f"{answers['filter'][0]!r}")
            answers["filter"] = answers["matches"]
            answers["evaluate"] = [a if _is_error(a) else _truth_value(a)
                                   for a in answers["explain"]]
        for index, outcome in enumerate(expected):
            got = {api: answers[api][index] for api in answers}
            found += [f"{p.split(': ', 1)[0]}: [{label}] customer {index}: {p.split(': ', 1)[1]}"
                      for p in judge(outcome, got)]
        if not ranked:
            found += [f"{p.split(': ', 1)[0]}: [{label}] whole list: {p.split(': ', 1)[1]}"
                      for p in judge_whole(programs, records, now, answers)]
    after = [snapshot(r) for r in records]
    if after != before:
        found.append("mutation: the records changed")
    return found


def judge(outcome: reference.Outcome, got: dict) -> list[str]:
    """How the four answers for one customer break the module's rule; each
    problem starts with its class: escape, api (the APIs disagree) or
    reference (they agree, but not with the reference)."""
    escapes = [f"escape: {api}: {a}" for api, a in got.items()
               if _is_error(a) and a != "DataError"]
    if escapes:
        return escapes
    errors = {api for api, a in got.items() if _is_error(a)}
    explained = got["explain"] if "explain" in errors else _truth_value(got["explain"])
    truths = {"matches": got["matches"], "filter": got["filter"],
              "evaluate": got["evaluate"] is True, "explain": explained is True}
    shown = f"reference {outcome.kind} {outcome.value!r} ({outcome.why}); APIs {got}"
    if errors and errors != set(got):
        return [f"api: only {', '.join(sorted(errors))} raised DataError: {shown}"]
    if not errors and (len(set(truths.values())) != 1 or got["evaluate"] != explained):
        return [f"api: the APIs disagree: {shown}"]
    if outcome.kind == "unspecified":
        return []
    if outcome.kind == "error":
        return [] if errors else [f"reference: bad data not reported: {shown}"]
    if errors:
        return [] if outcome.kind == "either" else [f"reference: DataError on good data: {shown}"]
    if got["evaluate"] != outcome.value or got["matches"] != (outcome.value is True):
        return [f"reference: the APIs give another answer: {shown}"]
    return []


def _truth_value(value):
    """An explanation's value as a truth (true, false or null)."""
    return value if value is None or isinstance(value, bool) else f"not a truth: {value!r}"


def judge_whole(programs: Programs, records: list, now, answers: dict) -> list[str]:
    """``filter`` and ``evaluate`` on the whole list give the per-customer
    answers, or a DataError when one customer's data is bad."""
    problems = []
    per_record = {"filter": answers["filter"], "evaluate": answers["evaluate"]}
    whole = {
        "filter": _run(lambda: [any(x is r for x in kept) for kept in
                                [programs.segment.filter(records, now=now)] for r in records]),
        "evaluate": _run(lambda: programs.evaluate(records, now=now)),
    }
    for api, answer in whole.items():
        expected = DATA_ERROR if any(_is_error(a) for a in per_record[api]) else per_record[api]
        if answer != expected:
            problems.append(f"api: {api} on the whole list gives {answer}, one by one {expected}")
    return problems


class Tally:
    """Figures of a run: cases, and how many had members and non-members."""

    def __init__(self) -> None:
        self.cases = self.mixed = self.errors = 0

    def add(self, setting: Setting, rule: n.Node, records: list, now) -> None:
        tree = segdsl.parse_expression(render(rule))
        ranked = "population" in setting.features
        outcomes = [reference.outcome(tree, r, now, setting.zone,
                                      population=records if ranked else None) for r in records]
        values = [o.value is True for o in outcomes if o.kind in ("value", "either")]
        self.cases += 1
        self.mixed += True in values and False in values
        self.errors += any(o.kind == "error" for o in outcomes)

    def report(self, name: str) -> str:
        return (f"{name}: {self.cases} cases, {self.mixed} ({self.mixed / self.cases:.0%}) with "
                f"members and non-members, {self.errors} with bad data")


def run_property(features: frozenset, examples: int, seed_name: str) -> Tally:
    """Check ``examples`` generated cases of the family ``features``."""
    tally = Tally()

    # No shrinking: a failure prints its rule, data and every problem found, and
    # shrinking these cases can take minutes.
    @settings(max_examples=EXAMPLES or examples, deadline=None, derandomize=True,
              database=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate])
    @given(cases(features))
    def check(case):
        tally.add(*case)
        problems = problems_of(*case)
        setting, rule, records, now = case
        assert not problems, (f"rule: {render(rule)}\nzone: {setting.zone_name}, now: {now!r}\n"
                              f"records: {records!r}\n" + "\n".join(problems))

    check.__name__ = seed_name  # derandomize seeds from the test's name
    check()
    print(tally.report(seed_name))
    return tally


def test_core_rules_agree_with_the_reference():
    """Dict customers, ISO text and aware datetimes: all four APIs give the reference's truth."""
    tally = run_property(frozenset(), 600, "core")
    assert tally.mixed >= tally.cases * 0.3


def test_value_kinds_agree_with_the_reference():
    """numpy scalars, Decimal, bools next to numbers, NaN/NA/NaT, datetime objects,
    impossible stamps, non-lists: one answer (or DataError) on all four APIs."""
    tally = run_property(frozenset({"kinds"}), 450, "kinds")
    assert tally.mixed >= tally.cases * 0.15


def test_mapping_and_object_customers_agree_with_the_reference():
    """MappingProxyType, SimpleNamespace, dataclass and namedtuple customers and elements."""
    tally = run_property(frozenset({"shapes"}), 250, "shapes")
    assert tally.mixed >= tally.cases * 0.2


def test_nested_lists_agree_with_the_reference():
    """Aggregations through orders.items flatten the inner lists; count(tags) counts strings."""
    tally = run_property(frozenset({"nested"}), 250, "nested")
    assert tally.mixed >= tally.cases * 0.25


def test_population_functions_agree_with_the_reference():
    """ntile, percentile and rfm.*: filter/evaluate over the list, matches/explain with
    population=, all equal to the reference's ranking."""
    tally = run_property(frozenset({"population"}), 200, "population")
    assert tally.mixed >= tally.cases * 0.3


def test_everything_at_once_agrees_with_the_reference():
    """Every family of inputs at once."""
    run_property(frozenset({"kinds", "shapes", "nested", "population"}), 150, "everything")


@pytest.fixture
def new_york():
    """The process's own zone set to America/New_York for the test."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    clock.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        clock.tzset()


def test_the_host_zone_changes_nothing(new_york):
    """In a process whose local zone is New York, naive datetimes (text and objects,
    pandas Timestamps) and dates still follow the configured zone (UTC or Paris):
    the reference's truth on all four APIs."""
    assert dt.datetime(2026, 1, 1).astimezone().utcoffset() == dt.timedelta(hours=-5)
    run_property(frozenset({"objects"}), 150, "new_york")


# ------------------------------------------------------------ cases found by the comparison

NOW = "2026-07-15T10:00:00Z"


def _truths(rules: list[str], customer: dict, schema=None) -> list[bool]:
    return [segdsl.compile(rule, schema=schema).matches(customer, now=NOW) for rule in rules]


@pytest.mark.parametrize("schema", [SCHEMA, None], ids=["schema", "no schema"])
def test_an_order_without_a_timestamp_is_neither_the_first_nor_the_last(schema):
    """first/last go by timestamp: an undated order never hides the latest dated one."""
    customer = {"orders": [{"at": "2026-07-01T10:00:00Z", "total": 5}, {"total": 7}]}
    assert _truths(["last_order_at == 2026-07-01T10:00:00Z", "days_since_last_order == 14",
                    "last(orders.total) == 5", "first(orders.total) == 5",
                    "count(orders) == 2"], customer, schema) == [True] * 5


@pytest.mark.parametrize("schema", [SCHEMA, None], ids=["schema", "no schema"])
def test_between_a_datetime_and_a_date_compares_each_bound_on_its_own_terms(schema):
    """`x between now - 30d and 2026-07-01`: the time against now - 30d, the day against July 1."""
    rule = "signed_up_at between now - 30d and 2026-07-01"
    late_on_july_1 = {"signed_up_at": "2026-07-01T23:00:00Z"}
    an_hour_too_early = {"signed_up_at": "2026-06-15T09:00:00Z"}  # now - 30d is 10:00
    assert _truths([rule], late_on_july_1, schema) == [True]
    assert _truths([rule], an_hour_too_early, schema) == [False]
    assert _truths(["2026-07-15 between now - 30d and now",
                    "2026-07-16 between 2026-07-01 and now",
                    "signed_up_at between 2026-06-15 and now - 30d"], an_hour_too_early,
                   schema) == [True, False, True]


def test_an_untyped_field_holding_text_takes_durations_like_a_datetime():
    """Without a schema, `signed_up_at + 1m`, `1m + signed_up_at` and
    `signed_up_at - DATETIME` read the text as a datetime."""
    customer = {"signed_up_at": "2026-06-15T10:00:00Z"}
    assert _truths(["signed_up_at + 1m == now", "1m + signed_up_at > now - 1h",
                    "signed_up_at - 30d < 2026-05-16T10:00:01Z",
                    "signed_up_at - 2026-06-01T00:00:00Z >= 14d",
                    "signed_up_at - 2026-06-01T00:00:00Z >= 15d"], customer) == [
        True, True, True, True, False]


def test_between_reads_untyped_text_as_the_type_of_any_known_side():
    """Without a schema, `signed_up_at between signed_up_at and last_order_at` reads the
    text as a datetime because the upper bound is one."""
    customer = {"signed_up_at": "2026-06-15T10:00:00Z",
                "orders": [{"at": "2026-06-20T10:00:00Z"}]}
    assert _truths(["signed_up_at between signed_up_at and last_order_at",
                    "signed_up_at between null and last_order_at",
                    "last_order_at between signed_up_at and signed_up_at + 1d"], customer) == [
        True, False, False]


def test_a_calendar_step_follows_the_zones_calendar():
    """In Paris, 6m before 2026-07-15 12:30 (summer time) is 2026-01-15 12:30 (winter time),
    i.e. 11:30Z; an order at 11:29:59Z is outside `within = 6m`."""
    now, paris = "2026-07-15T10:30:00Z", "Europe/Paris"
    customer = {"orders": [{"at": "2026-01-15T11:29:59Z"}]}
    assert segdsl.compile("now - 6m == 2026-01-15T12:30:00", timezone=paris).matches({}, now=now)
    assert not segdsl.compile("purchased(6m)", timezone=paris).matches(customer, now=now)


# ------------------------------------------------------------ the reference itself, by hand


def _reference(text: str, customer, typed: bool = False, population=None) -> reference.Outcome:
    return reference.outcome(segdsl.parse_expression(text), customer, NOW, typed=typed,
                             population=population)


def test_the_reference_follows_the_value_rules():
    """Hand-checked answers of the reference for the value rules of issue 8."""
    cases = [
        ("flag == true", {"flag": 1}, False), ("score == false", {"score": -0.0}, False),
        ("x in [1]", {"x": True}, False), ("points > 100", {"points": np.float64(150)}, True),
        ("points > 100", {"points": decimal.Decimal("100.5")}, True),
        ("points is null", {"points": float("nan")}, True),
        ("points is null", {"points": pd.NA}, True),
        ('country == "FR"', types.MappingProxyType({"country": "FR"}), True),
        ('country == "FR"', types.SimpleNamespace(country="FR"), True),
        ('_secret == "x"', types.SimpleNamespace(_secret="x"), None),
        ("at == 2024-10-17T11:31:59Z", {"at": "2024-10-17T13:31:59+02:00"}, True),
        ("count(orders.items) == 3", {"orders": [
            {"at": "2026-07-01T00:00:00Z", "items": [{}, {}]},
            {"at": "2026-07-02T00:00:00Z", "items": [{}]}]}, True),
        ('count(orders.items, within = 7d, where = category == "shoes") == 1', {"orders": [
            {"at": "2026-07-14T00:00:00Z", "items": [{"category": "shoes"}, {}]},
            {"at": "2026-06-01T00:00:00Z", "items": [{"category": "shoes"}]}]}, True),
        ("count(tags) == 2", {"tags": ["vip", None, "new"]}, True),
    ]
    for text, customer, expected in cases:
        found = _reference(text, customer)
        assert (found.kind, found.value) == ("value", expected), (text, found)
    for text, customer in [("x * 3 == 6", {"x": "a"}), ("-x < 0", {"x": True}),
                           ("count(tags) >= 0", {"tags": ""}),
                           ("at > 2026-01-01T00:00:00Z", {"at": "2026-02-30T10:00:00Z"}),
                           ("tags contains \"vip\"", {"tags": "xvipx", "id": 1})]:
        typed = text.startswith("tags")
        assert _reference(text, customer, typed=typed).kind == "error", text
    assert _reference("false and x * 3 == 6", {"x": "a"}).kind == "either"


def test_the_reference_ranks_by_hand():
    """ntile and percentile over ages 10, 20, 30, 40 (break points of 4 tiles at
    17.5, 25, 32.5): tiles 1..4, percentiles 25..100; a null age has no rank."""
    people = [{"id": i, "age": age} for i, age in enumerate((10, 20, 30, 40, None))]
    tiles = [_reference("ntile(age, 4) == 0 or true", p, population=people) for p in people]
    assert all(t.value is True for t in tiles)
    tree = segdsl.parse_expression("ntile(age, 4)")
    scores = reference.scores_of(tree, people, NOW, UTC, False)
    assert [scores[reference._score_key(tree)](p) for p in people] == [1, 2, 3, 4, None]
    tree = segdsl.parse_expression("percentile(age)")
    scores = reference.scores_of(tree, people, NOW, UTC, False)
    assert [scores[reference._score_key(tree)](p) for p in people] == [25.0, 50.0, 75.0, 100.0,
                                                                        None]
