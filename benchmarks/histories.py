"""Workload 2: a rule over each customer's history of events and orders.

    visits(30d) >= 10 and not purchased(30d)

over generated customers (tens of events and a few orders each, timestamps as ISO text as they
come from JSON). The window holds what happened after ``now - 30d`` and at or before ``now``;
anything later than ``now`` is ignored. The baseline is a hand-written Python function with
those semantics, parsing the timestamps it needs. rule-engine and JsonLogic express the same
rule with their list comprehension / ``filter`` and their own timestamp parsing; they take
milliseconds per customer, so they are timed on the first customers only.
"""

from __future__ import annotations

import datetime as dt

import segdsl
from benchmarks.common import Contestant, Row, Target, compare, version_of
from benchmarks.data import NOW
from benchmarks.scalar import compiled_peers

WORKLOAD = "2 visits(30d) >= 10 and not purchased(30d)"
RULE = "visits(30d) >= 10 and not purchased(30d)"
WINDOW = dt.timedelta(days=30)
SEGDSL_TARGET = 1.5
PEER_SAMPLE = 2_000

TARGETS = {
    "segdsl": Target(f"<= {SEGDSL_TARGET}x hand-written",
                     lambda ratios: ratios["segdsl"] <= SEGDSL_TARGET),
}


def _moment(text: str) -> dt.datetime:
    """A timestamp read from JSON; a naive one is UTC."""
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)


def undecided(customer: dict, now: dt.datetime) -> bool:
    """The rule, hand-written: 10+ visits and no order in the 30 days up to ``now``."""
    start = now - WINDOW
    visits = 0
    for event in customer.get("events") or ():
        if event.get("type") == "visit":
            at = event.get("at")
            if at is not None and start < _moment(at) <= now:
                visits += 1
    if visits < 10:
        return False
    for order in customer.get("orders") or ():
        at = order.get("at")
        if at is not None and start < _moment(at) <= now:
            return False
    return True


def hand_written(customers: list[dict], now: dt.datetime = NOW) -> list[dict]:
    """The baseline: the customers for whom :func:`undecided` holds."""
    return [customer for customer in customers if undecided(customer, now)]


def rule_engine_text(now: dt.datetime) -> str:
    """The rule in rule-engine's language, with the window's bounds as literals."""
    start, end = (now - WINDOW).isoformat(), now.isoformat()
    inside = (f"$parse_datetime({{0}}['at']) > d'{start}'"
              f" and $parse_datetime({{0}}['at']) <= d'{end}'")
    return (f"[e for e in events if e['type'] == 'visit' and {inside.format('e')}].length >= 10"
            f" and [o for o in orders if {inside.format('o')}].length == 0")


def json_logic_rule(now: dt.datetime) -> dict:
    """The rule in JsonLogic, with panzi-json-logic's ``parseTime`` extension."""
    start, end = (now - WINDOW).isoformat(), now.isoformat()
    inside = {"and": [{">": [{"parseTime": {"var": "at"}}, {"parseTime": start}]},
                      {"<=": [{"parseTime": {"var": "at"}}, {"parseTime": end}]}]}
    visits = {"filter": [{"var": "events"}, {"and": [{"==": [{"var": "type"}, "visit"]}, inside]}]}
    count = {"reduce": [visits, {"+": [{"var": "accumulator"}, 1]}, 0]}
    return {"and": [{">=": [count, 10]}, {"none": [{"var": "orders"}, inside]}]}


def contestants(now: dt.datetime = NOW, peer_sample: int | None = PEER_SAMPLE) -> list[Contestant]:
    """The baseline first, then segdsl and the peer libraries that are installed."""
    segment = segdsl.compile(RULE)
    found = [
        Contestant("hand-written", "hand-written function (baseline)",
                   lambda customers: hand_written(customers, now)),
        Contestant("segdsl", "segdsl", lambda customers: segment.filter(customers, now=now)),
    ]
    if version_of("rule-engine"):
        import rule_engine

        context = rule_engine.Context(default_timezone=dt.timezone.utc)
        rule = rule_engine.Rule(rule_engine_text(now), context=context)
        found.append(Contestant("rule-engine", f"rule-engine {version_of('rule-engine')}",
                                lambda customers: list(rule.filter(customers)), peer_sample))
    if version_of("panzi-json-logic"):
        from json_logic import jsonLogic
        from json_logic.extras import EXTRAS

        logic = json_logic_rule(now)
        found.append(Contestant(
            "json-logic", f"JsonLogic (panzi-json-logic {version_of('panzi-json-logic')})",
            lambda customers: [c for c in customers if jsonLogic(logic, c, EXTRAS)], peer_sample))
    found += compiled_peers(zen_rule(now), datalogic_rule(now), cel_rule(now),
                            {"events": "LIST", "orders": "LIST"})
    return found


def datalogic_rule(now: dt.datetime) -> dict:
    """The rule in datalogic-py's JSONLogic, with its ``datetime`` operator."""
    start, end = (now - WINDOW).isoformat(), now.isoformat()
    inside = {"and": [{">": [{"datetime": {"val": "at"}}, {"datetime": start}]},
                      {"<=": [{"datetime": {"val": "at"}}, {"datetime": end}]}]}
    visits = {"filter": [{"val": "events"}, {"and": [{"==": [{"val": "type"}, "visit"]}, inside]}]}
    return {"and": [{">=": [{"length": visits}, 10]}, {"none": [{"val": "orders"}, inside]}]}


def zen_rule(now: dt.datetime) -> str:
    """The rule in zen-engine's expression language (``#`` is the element, ``d()`` a date)."""
    start, end = (now - WINDOW).isoformat(), now.isoformat()
    inside = f'd(#.at) > d("{start}") and d(#.at) <= d("{end}")'
    return (f'count(events, #.type == "visit" and {inside}) >= 10'
            f' and none(orders, {inside})')


def cel_rule(now: dt.datetime) -> str:
    """The rule in CEL, with its ``timestamp()`` conversion."""
    start, end = (now - WINDOW).isoformat(), now.isoformat()

    def inside(x):
        return f'timestamp({x}.at) > timestamp("{start}") && timestamp({x}.at) <= timestamp("{end}")'
    return (f'events.filter(e, e.type == "visit" && {inside("e")}).size() >= 10'
            f' && !orders.exists(o, {inside("o")})')


def measure(customers: list[dict], *, repeat: int = 5, budget: float = 30.0,
            peer_sample: int | None = PEER_SAMPLE) -> list[Row]:
    """Time every contestant over ``customers`` (from :func:`benchmarks.data.load_customers`)."""
    return compare(WORKLOAD, customers, contestants(NOW, peer_sample), TARGETS, repeat=repeat,
                   budget=budget)
