"""Compiled rules shared between threads: compiling lazily from many threads at once."""

from __future__ import annotations

import random
import sys
import threading

import segdsl

NOW = "2026-07-15T12:00:00Z"
SEGMENTS = 48
# One customer with an order of each total 0..47: `count(orders, where = total > i)` is 47 - i.
CUSTOMER = {"id": 1, "orders": [{"at": "2026-07-01T10:00:00Z", "total": float(total)}
                                for total in range(SEGMENTS)]}
# Each segment reads two aggregations, so two that got one memo slot give a wrong answer.
RULES = "\n".join(f"segment s{i} = count(orders, where = total > {i}) == {SEGMENTS - 1 - i} "
                  f"and sum(orders.total, where = total < {i}) == {i * (i - 1) // 2}"
                  for i in range(SEGMENTS))


def _trial(rules: segdsl.RuleSet, seed: int) -> list[tuple[str, bool]]:
    """Eight threads call ``matches`` on every segment, each in its own order; the wrong answers."""
    wrong: list[tuple[str, bool]] = []
    start = threading.Barrier(8)

    def work(order: list[str]) -> None:
        start.wait()
        for name in order:
            answer = rules[name].matches(CUSTOMER, now=NOW)
            if answer is not True:
                wrong.append((name, answer))

    names = [f"s{i}" for i in range(SEGMENTS)]
    orders = [random.Random(seed * 8 + k).sample(names, len(names)) for k in range(8)]
    threads = [threading.Thread(target=work, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One context per customer across all segments: a shared slot shows here too.
    members = rules.evaluate([CUSTOMER], now=NOW).sizes
    wrong += [(name, False) for name, size in members.items() if size != 1]
    return wrong


def test_threads_compiling_different_aggregations_at_once_never_share_a_memo_slot():
    """A fresh 48-aggregation rule set matched from 8 threads at once answers right, 100 times."""
    reference = segdsl.loads(RULES)
    assert all(reference[f"s{i}"].matches(CUSTOMER, now=NOW) for i in range(SEGMENTS))
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        failed = [trial for trial in range(100) if _trial(segdsl.loads(RULES), trial)]
    finally:
        sys.setswitchinterval(interval)
    assert failed == []
