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
CEL_RULE = "rfm_frequency >= 4 && visits_30d >= 10 && !(purchases_30d > 0)"
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
    found += compiled_peers(RULE, JSON_LOGIC_RULE, CEL_RULE,
                            {name: "INT" for name in ("rfm_frequency", "visits_30d",
                                                      "purchases_30d")})
    return found


def compiled_peers(zen_rule: str, json_logic_rule: dict, cel_rule: str,
                   cel_variables: dict[str, str], sample: int | None = None) -> list[Contestant]:
    """The compiled rule engines that are installed: datalogic-py (Rust JSONLogic, from the
    records and from data handles built beforehand), zen-engine (GoRules' expression
    language, Rust) and cel-expr-python (CEL, C++), each given one record at a time."""
    found = []
    if version_of("datalogic-py"):
        import datalogic_py

        engine = datalogic_py.Engine()
        logic = engine.compile(json_logic_rule)
        session = engine.session()
        label = f"datalogic-py {version_of('datalogic-py')}"
        found.append(Contestant("datalogic", label,
                                lambda records: [r for r in records if logic.evaluate(r)],
                                sample))
        found.append(Contestant(
            "datalogic-handles", f"{label}, data handles built beforehand",
            lambda prepared: [r for r, handle in prepared
                              if session.evaluate_truthy(logic, handle)], sample,
            prepare=lambda records: [(r, datalogic_py.DataHandle(r)) for r in records]))
    if version_of("zen-engine"):
        import zen

        expression = zen.compile_expression(zen_rule)
        found.append(Contestant("zen", f"zen-engine {version_of('zen-engine')}",
                                lambda records: [r for r in records if expression.evaluate(r)],
                                sample))
    if version_of("cel-expr-python"):
        from cel_expr_python import cel

        environment = cel.NewEnv(variables={name: getattr(cel.Type, kind)
                                            if kind != "LIST" else cel.Type.List(cel.Type.DYN)
                                            for name, kind in cel_variables.items()})
        program = environment.compile(cel_rule)
        names = tuple(cel_variables)
        found.append(Contestant(
            "cel", f"cel-expr-python {version_of('cel-expr-python')}",
            lambda records: [r for r in records
                             if program.eval(data={n: r[n] for n in names}).value()], sample))
    return found


def measure(records: list[dict], *, repeat: int = 7, budget: float = 3.0) -> list[Row]:
    """Time every contestant over ``records`` (from :func:`benchmarks.data.flat_records`)."""
    return compare(WORKLOAD, records, contestants(), TARGETS, repeat=repeat, budget=budget)
