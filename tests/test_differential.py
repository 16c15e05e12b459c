"""The compiled evaluator against a simple reference interpreter (tests/reference.py).

Hypothesis builds random well-typed rules over a fixed vocabulary and random
customers whose timestamps sit on window edges (exactly ``now - 30d``, exactly
``now``, a second either side, after ``now``, on period day boundaries), with
frequent nulls, missing keys and missing or empty lists. For every case the
rule's truth for each customer must be the same through ``Segment.matches``,
``Segment.filter``, ``Segment.explain``, ``RuleSet.evaluate`` and the reference
(three-valued: a ``not (rule)`` segment tells false from unknown, and a segment
built from the other two holds the unknowns), with and without a declared schema.
"""

from __future__ import annotations

import copy
import datetime as dt
import zoneinfo

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reference
import segdsl
from segdsl import nodes as n

UTC = dt.timezone.utc
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
TAGS = ("vip", "new", "churned")
EVENT_TYPES = ("visit", "cart_abandoned", "recommendation_click", "email_open", "email_click")
CATEGORIES = ("shoes", "bags", "hats")
MISSING = object()  # a key left out of a record

SCHEMA = segdsl.Schema({
    "id": "number", "country": "string", "age": "number", "tags": "list[string]",
    "email_subscribed": "bool", "signed_up_at": "datetime",
    "orders": segdsl.ListOf({"at": "datetime", "total": "number", "items": [
        {"category": "string", "sku": "string", "price": "number", "discounted": "bool"}]}),
    "events": segdsl.ListOf({"type": "string", "at": "datetime"}),
})


# ------------------------------------------------------------ rendering


def render(node: n.Node, periods: dict | None = None) -> str:
    """Rule text for ``node``, every compound part in parentheses; date
    ranges listed in ``periods`` are written as the period's name."""
    r = lambda child: render(child, periods)  # noqa: E731
    kind = type(node)
    if kind is n.Number:
        return repr(node.value) if node.value >= 0 else f"({node.value!r})"
    if kind is n.String:
        return f'"{node.value}"'
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
    """One case's fixed points: the zone, ``now`` and the periods rules may use."""

    def __init__(self, zone_name: str, now: dt.datetime) -> None:
        self.zone_name, self.zone, self.now = zone_name, ZONES[zone_name], now
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
    kind = draw(st.integers(0, 5) if scope is None else st.integers(2, 5))
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


def _customer_conditions(draw, setting: Setting, depth: int) -> list:
    country = n.Reference(("country",))
    subscribed = n.Reference(("email_subscribed",))
    tags = n.Reference(("tags",))
    string = lambda choices: n.String(draw(st.sampled_from(choices)))  # noqa: E731
    return [
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
    ]


# ------------------------------------------------------------ records


def stamp(draw, setting: Setting, edges: list[dt.datetime]):
    """A timestamp as data holds it: ISO text in some form, or a datetime;
    mostly on an edge of the rule's windows, else on any window's edge or anywhere."""
    kind = draw(st.integers(0, 5))
    if kind == 0:
        instant = setting.now - dt.timedelta(seconds=draw(st.integers(-86400, 400 * 86400)))
    elif kind == 1:
        instant = draw(st.sampled_from(setting.instants()))
    else:
        instant = draw(st.sampled_from(edges))
    local = instant.astimezone(setting.zone)
    form = draw(st.integers(0, 5))
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
    return local.isoformat()


def maybe(draw, values, missing: bool = True):
    """One of ``values``, or null, or (when ``missing``) no key at all."""
    extra = (None, MISSING) if missing else (None,)
    return draw(st.sampled_from(tuple(values) + extra))


def record(draw, setting: Setting, edges: list[dt.datetime], identity: int) -> dict:
    def element_list(build, max_size: int):
        shape = draw(st.integers(0, 5))
        if shape == 0:
            return MISSING
        if shape == 1:
            return draw(st.sampled_from((None, [])))
        return [build() for _ in range(draw(st.integers(1, max_size)))]

    def timestamp():
        return draw(st.sampled_from(("stamp",) * 6 + (None, MISSING)))

    def item():
        return without_missing({
            "category": maybe(draw, CATEGORIES), "sku": maybe(draw, ("S1", "S2")),
            "price": maybe(draw, (5, 20, 20.5)), "discounted": maybe(draw, (True, False))})

    def order():
        at = timestamp()
        return without_missing({
            "at": stamp(draw, setting, edges) if at == "stamp" else at,
            "total": maybe(draw, (0, 10, 12.5, 50, 99.75, 120)),
            "items": element_list(item, 3)})

    def event():
        at = timestamp()
        return without_missing({"type": maybe(draw, EVENT_TYPES),
                                "at": stamp(draw, setting, edges) if at == "stamp" else at})

    signed_up = timestamp()
    return without_missing({
        "id": identity,
        "country": maybe(draw, COUNTRIES),
        "age": maybe(draw, (0, 17, 18, 30, 45.5, 99)),
        "tags": element_list(lambda: maybe(draw, TAGS * 4, missing=False), 3),
        "email_subscribed": maybe(draw, (True, False)),
        "signed_up_at": stamp(draw, setting, edges) if signed_up == "stamp" else signed_up,
        "orders": element_list(order, 4),
        "events": element_list(event, 5),
    })


def without_missing(fields: dict) -> dict:
    return {key: value for key, value in fields.items() if value is not MISSING}


@st.composite
def cases(draw):
    """``(setting, rule, records, now as given to the API)``."""
    setting = Setting(draw(st.sampled_from(sorted(ZONES))), draw(st.sampled_from(NOWS)))
    rule = condition(draw, setting, draw(st.integers(0, 3)))
    edges = setting.edges(walk(rule))
    records = [record(draw, setting, edges, identity)
               for identity in range(draw(st.integers(1, 5)))]
    given_now = draw(st.sampled_from((
        setting.now, setting.now.isoformat(),
        setting.now.astimezone(setting.zone).replace(tzinfo=None).isoformat())))
    return setting, rule, records, given_now


# ------------------------------------------------------------ the comparison


def assert_agrees(setting: Setting, rule: n.Node, records: list[dict], now) -> None:
    """Every way of evaluating ``rule`` gives the reference's truth for each record."""
    text = render(rule)
    tree = segdsl.parse_expression(text)
    untouched = copy.deepcopy(records)
    expected = [reference.evaluate(tree, r, now, setting.zone) for r in records]
    members = [r["id"] for r, value in zip(records, expected) if value is True]
    non_members = [r["id"] for r, value in zip(records, expected) if value is False]
    for schema in (SCHEMA, None):
        segment = segdsl.compile(text, schema=schema, timezone=setting.zone_name)
        assert [segment.matches(r, now=now) for r in records] == [v is True for v in expected]
        assert [r["id"] for r in segment.filter(records, now=now)] == members
        explained = [segment.explain(r, now=now).value for r in records]
        assert [_truth(v) for v in explained] == [_truth(v) for v in expected]
    names = {p: f"p{i}" for i, p in enumerate(setting.periods)}
    file_text = "".join(f"period {name} = {start} .. {end}\n" for (start, end), name in
                        names.items())
    file_text += (f"segment s = {render(rule, names)}\nsegment u = not {render(rule, names)}\n"
                  "segment unknown = not s and not u\n")  # a segment is never unknown
    result = segdsl.loads(file_text, timezone=setting.zone_name).evaluate(records, now=now)
    unknown = [r["id"] for r, value in zip(records, expected) if value is None]
    assert result.members == {"s": members, "u": non_members, "unknown": unknown}
    assert records == untouched


def _truth(value) -> str:
    return {True: "true", False: "false", None: "unknown"}.get(value, repr(value))


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cases())
def test_compiled_rules_agree_with_the_reference(case):
    """Random rules over random customers: the compiled evaluator and the reference agree."""
    assert_agrees(*case)


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
