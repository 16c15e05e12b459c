"""Membership over time: one day's update of a ``Membership`` against one evaluation.

    python -m benchmarks.membership                  # 100,000 customers, 5,000 touched
    python -m benchmarks.membership --customers 20000 --touched 1000

The rules are the example segments that do not rank customers (those of
``benchmarks/changes.py``). Over the generated customers (snapshot
2026-07-15T12:00:00Z):

- **one evaluation**: ``rules.evaluate(customers, now=T1)``;
- **build**: ``rules.membership(customers, now=T0)`` (an evaluation, and each
  customer's next candidate instants);
- **the update**: a day's events (1 to 4 each, an order for one in ten) for
  every twentieth customer, stamped in the day after ``T0``, and ``now`` moved
  on by that day: ``state.update(additions, now=T0 + 1d)``;
- the ratio of the update to the evaluation (target: at most 1/10).

Times are CPU seconds of this process (``time.process_time``); the update is
measured on a fresh state each time, the best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time

from benchmarks.changes import rule_sets
from benchmarks.data import NOW, load_customers

TARGET = 0.1
DAY = dt.timedelta(days=1)
_TYPES = ("visit",) * 14 + ("email_open",) * 5 + ("email_click", "recommendation_click",
                                                  "cart_abandoned")


def day_of_data(customers: list[dict], touched: int, start: dt.datetime,
                seed: int = 2026) -> list[dict]:
    """The additions of the day after ``start`` for ``touched`` customers spread over all."""
    dice = random.Random(seed)
    step = max(1, len(customers) // max(1, touched))

    def stamp() -> str:
        moment = start + dt.timedelta(seconds=dice.randint(1, 86_400))
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    additions = []
    for customer in customers[::step][:touched]:
        events = sorted(({"type": dice.choice(_TYPES), "at": stamp()}
                         for _ in range(dice.randint(1, 4))), key=lambda event: event["at"])
        addition = {"id": customer["id"], "events": events}
        if dice.random() < 0.1:
            category = dice.choice(("shoes", "beauty", "clothing"))
            addition["orders"] = [{"at": stamp(), "total": 20.0, "items": [
                {"sku": "NEW-0001", "category": category, "price": 20.0, "discounted": False}]}]
        additions.append(addition)
    return additions


def measure(customers: list[dict], touched: int, repeat: int = 1) -> dict:
    """The evaluation, build and update times (CPU seconds) and the update's changes."""
    rules, names = next(iter(rule_sets().values()))
    additions = day_of_data(customers, touched, NOW)
    evaluation = build = update = float("inf")
    changes = state = None
    for _ in range(repeat):
        started = time.process_time()
        rules.evaluate(customers, now=NOW + DAY, segments=names)
        evaluation = min(evaluation, time.process_time() - started)
        started = time.process_time()
        state = rules.membership(customers, now=NOW, segments=names)
        build = min(build, time.process_time() - started)
        started = time.process_time()
        changes = state.update(additions, now=NOW + DAY)
        update = min(update, time.process_time() - started)
    return {"rules": rules, "names": names, "additions": additions, "state": state,
            "changes": changes, "evaluation": evaluation, "build": build, "update": update}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--touched", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    customers = load_customers(args.customers, log=lambda text: print(text, file=sys.stderr))
    found = measure(customers, args.touched, args.repeat)
    ratio = found["update"] / found["evaluation"]
    print(f"{len(customers):,} customers, {len(found['names'])} segments without ranking, "
          f"{len(found['additions']):,} of them receive a day of events")
    print(f"full evaluation      {found['evaluation']:8.2f}s")
    print(f"build (once)         {found['build']:8.2f}s")
    print(f"update (one day)     {found['update']:8.2f}s   {len(found['changes']):,} changes")
    ok = ratio <= TARGET
    print(f"ratio                {ratio:8.3f}    target at most {TARGET:g}: "
          f"{'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
