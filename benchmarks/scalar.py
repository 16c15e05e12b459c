"""Workload 1: a scalar rule over flat dicts.

    rfm_frequency >= 4 and visits_30d >= 10 and not (purchases_30d > 0)

over records whose scores were computed beforehand. The baseline is the list comprehension a
Python programmer would write; the contestants are the same condition as a lambda given to
``filter``, segdsl (``segdsl.compile(rule).filter(records)``), rule-engine
(``rule_engine.Rule(rule).filter(records)``) and JsonLogic (panzi-json-logic's ``jsonLogic``).
The rule is compiled once, outside the timed passes.
"""

from __future__ import annotations

import segdsl
from benchmarks.common import Contestant, Row, Target, compare, version_of
from benchmarks.data import NOW

WORKLOAD = "1 scalar rule, flat dicts"
RULE = "rfm_frequency >= 4 and visits_30d >= 10 and not (purchases_30d > 0)"
JSON_LOGIC_RULE = {"and": [
    {">=": [{"var": "rfm_frequency"}, 4]},
    {">=": [{"var": "visits_30d"}, 10]},
    {"!": [{">": [{"var": "purchases_30d"}, 0]}]},
]}
SEGDSL_TARGET = 1.2
RULE_ENGINE_GAP = 30

TARGETS = {
    "segdsl": Target(f"<= {SEGDSL_TARGET}x comprehension",
                     lambda ratios: ratios["segdsl"] <= SEGDSL_TARGET),
    "rule-engine": Target(
        f"segdsl {RULE_ENGINE_GAP}x+ faster",
        lambda ratios: ratios["rule-engine"] >= RULE_ENGINE_GAP * ratios["segdsl"]),
}


def comprehension(records: list[dict]) -> list[dict]:
    """The baseline: the rule written as a list comprehension."""
    return [r for r in records
            if r["rfm_frequency"] >= 4 and r["visits_30d"] >= 10 and not (r["purchases_30d"] > 0)]


def with_lambda(records: list[dict]) -> list[dict]:
    """The rule as a lambda given to ``filter``."""
    keep = lambda r: (r["rfm_frequency"] >= 4 and r["visits_30d"] >= 10  # noqa: E731
                      and not (r["purchases_30d"] > 0))
    return list(filter(keep, records))


def contestants() -> list[Contestant]:
    """The baseline first, then the lambda, segdsl and the peer libraries that are installed."""
    segment = segdsl.compile(RULE)
    found = [
        Contestant("comprehension", "list comprehension (baseline)", comprehension),
        Contestant("lambda", "lambda + filter()", with_lambda),
        Contestant("segdsl", "segdsl", lambda records: segment.filter(records, now=NOW)),
    ]
    if version_of("rule-engine"):
        import rule_engine

        rule = rule_engine.Rule(RULE)
        found.append(Contestant("rule-engine", f"rule-engine {version_of('rule-engine')}",
                                lambda records: list(rule.filter(records))))
    if version_of("panzi-json-logic"):
        from json_logic import jsonLogic

        found.append(Contestant(
            "json-logic", f"JsonLogic (panzi-json-logic {version_of('panzi-json-logic')})",
            lambda records: [r for r in records if jsonLogic(JSON_LOGIC_RULE, r)]))
    return found


def measure(records: list[dict], *, repeat: int = 7, budget: float = 3.0) -> list[Row]:
    """Time every contestant over ``records`` (from :func:`benchmarks.data.flat_records`)."""
    return compare(WORKLOAD, records, contestants(), TARGETS, repeat=repeat, budget=budget)
