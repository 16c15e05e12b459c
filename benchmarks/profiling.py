"""Where segdsl spends its time on workloads 1-3: cProfile's top functions.

    python -m benchmarks.profiling                  # all three, 20,000 customers
    python -m benchmarks.profiling --workload 2 --top 25 --customers 5000

cProfile adds its own cost to every call, which inflates small functions called per record;
read the figures as shares, not as times.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys

import segdsl
from benchmarks import data, histories, scalar, scaling


def profile(action, top: int, sort: str) -> str:
    """Run ``action`` under cProfile; the ``top`` functions by ``sort``, as text."""
    profiler = cProfile.Profile()
    profiler.runcall(action)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats(sort).print_stats(top)
    return out.getvalue()


def actions(workload: int, customers: int):
    """(title, action) pairs of segdsl's part of a workload."""
    if workload == 1:
        records = data.flat_records(100_000)
        segment = segdsl.compile(scalar.RULE)
        yield (f"workload 1: segdsl filter, {len(records):,} flat records",
               lambda: segment.filter(records, now=data.NOW))
    elif workload == 2:
        population = data.load_customers(customers)
        segment = segdsl.compile(histories.RULE)
        yield (f"workload 2: segdsl filter, {len(population):,} customers",
               lambda: segment.filter(population, now=data.NOW))
    else:
        population = data.load_customers(customers)
        for name, rules in scaling.rule_sets().items():
            yield (f"workload 3: {name} evaluate, {len(population):,} customers",
                   lambda rules=rules: scaling.evaluate(rules, population))


def main(argv: list[str] | None = None) -> int:
    """Print the profiles."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profiling",
                                     description="cProfile segdsl on workloads 1-3.")
    parser.add_argument("--workload", type=int, choices=(1, 2, 3), action="append",
                        help="a workload to profile (repeatable; default all three)")
    parser.add_argument("--customers", type=int, default=20_000,
                        help="customers for workloads 2 and 3 (default 20,000)")
    parser.add_argument("--top", type=int, default=15, help="functions listed (default 15)")
    parser.add_argument("--sort", default="tottime", help="pstats sort key (default tottime)")
    args = parser.parse_args(argv)
    for workload in args.workload or (1, 2, 3):
        for title, action in actions(workload, args.customers):
            print(f"=== {title}")
            print(profile(action, args.top, args.sort))
    return 0


if __name__ == "__main__":
    sys.exit(main())
