"""Compiled rules are safe to share between threads, even while they are being compiled."""

from __future__ import annotations

import random
import sys
import threading

import segdsl

NOW = "2026-07-15T10:00:00Z"
CUSTOMER = {"id": 1, "orders": [{"at": f"2026-07-{day:02d}T10:00:00Z", "total": day * 3}
                                for day in range(1, 15)]}
# Two aggregations per segment: a shared memo key would hand one the other's value.
BODIES = [f"count(orders, where = total > {k}) >= {k % 5 + 1} and "
          f"sum(orders.total, where = total < {k + 10}) > {k * 2}" for k in range(48)]
# `every` repeats the segments' aggregations: one customer's evaluation then needs them
# all at once, each under its own memo key.
SOURCE = "".join(f"segment s{k} = {body}\n" for k, body in enumerate(BODIES)) + (
    "segment every = " + " and ".join(f"({body})" for body in BODIES[:30]) + "\n")


def test_a_fresh_rule_set_answers_the_same_from_eight_threads():
    """Threads compiling different aggregations of a fresh RuleSet at once never share a memo."""
    expected = {name: segdsl.loads(SOURCE)[name].matches(CUSTOMER, now=NOW)
                for name in segdsl.loads(SOURCE)}
    assert len(set(expected.values())) == 2
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    mismatches = []
    try:
        for trial in range(100):
            rules = segdsl.loads(SOURCE)
            names = [name for name in expected if name != "every"]

            start = threading.Barrier(8)

            def work(seed: int, rules=rules, names=names, start=start) -> None:
                order = names[:]
                random.Random(seed).shuffle(order)
                start.wait()
                for name in order:
                    if rules[name].matches(CUSTOMER, now=NOW) != expected[name]:
                        mismatches.append(name)

            threads = [threading.Thread(target=work, args=(trial * 8 + i,)) for i in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if rules["every"].matches(CUSTOMER, now=NOW) != expected["every"]:
                mismatches.append(f"every, trial {trial}")
    finally:
        sys.setswitchinterval(interval)
    assert mismatches == []
