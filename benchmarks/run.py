"""Run the benchmark suite and print one table.

    python -m benchmarks.run            # 100k flat records, 100k customers, 100k and 1M for scaling
    python -m benchmarks.run --quick    # 20k customers, 20k and 200k for scaling
    python -m benchmarks.run --only 1,4 --markdown

Progress goes to standard error, the table to standard output. Every contestant's members are
checked against the baseline's first: a mismatch stops the run with status 1.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import (
    columnar,
    columnar_data,
    common,
    compile_time,
    data,
    histories,
    scalar,
    scaling,
)

LEGEND = """\
ratio: 1-2, time per record / the baseline's (the first row); 3, CPU time per customer / the
same file's at the smaller size (the wall-clock ratio is in the note), and peak resident memory
while evaluating / memory of the loaded records. records/s and times are wall-clock, the best
pass (workloads 1-3; in 1-2 the contestants take turns), the median for workload 4.
5, end-to-end time in a child process (connection or rule file to member ids) / the
hand-written query's, the best pass (below 1,000,000 customers of 6 children each, the two
taking turns; 2 passes at 1,000,000, 1 from 5,000,000); peak = the child's resident high-water
mark."""


@dataclass(frozen=True)
class Sizes:
    """How much work each workload does."""

    flat_records: int
    customers: int
    peer_sample: int
    scaling: tuple[int, int]
    repeat: int
    cold_processes: int
    warm_repeat: int
    columnar: tuple[int, ...]


FULL = Sizes(100_000, 100_000, 2_000, (100_000, 1_000_000), 7, 5, 20,
             (100_000, 1_000_000, 10_000_000))
QUICK = Sizes(100_000, 20_000, 500, (20_000, 200_000), 5, 3, 10, (100_000, 1_000_000))


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run",
                                     description="segdsl against hand-written Python and peers.")
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes: 20k customers, scaling from 20k to 200k")
    parser.add_argument("--only", default="1,2,3,4,5", metavar="LIST",
                        help="comma-separated workload numbers (default 1,2,3,4,5)")
    parser.add_argument("--columnar-sizes", metavar="LIST",
                        help="workload 5's sizes, comma-separated (default 100000,1000000,"
                             "10000000; --quick 100000,1000000); the Python engine runs at "
                             "the first")
    parser.add_argument("--distinct", action="store_true",
                        help="workload 3: generate every customer of the larger size instead "
                             "of repeating the smaller size's (1M customers need ~25 GB)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--cache", type=Path, default=data.CACHE,
                        help=f"directory of generated customers (default {data.CACHE})")
    return parser.parse_args(argv)


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> list[common.Row]:
    """Run the chosen workloads and return their rows."""
    sizes = QUICK if args.quick else FULL
    chosen = {int(part) for part in args.only.split(",") if part.strip()}
    rows: list[common.Row] = []
    if 1 in chosen:
        _log(f"workload 1: {scalar.RULE} over {sizes.flat_records:,} flat records")
        rows += scalar.measure(data.flat_records(sizes.flat_records), repeat=sizes.repeat)
    if 2 in chosen:
        _log(f"workload 2: {histories.RULE} over {sizes.customers:,} customers")
        customers = data.load_customers(sizes.customers, args.cache, _log)
        rows += histories.measure(customers, repeat=sizes.repeat, peer_sample=sizes.peer_sample)
        del customers
    if 3 in chosen:
        _log(f"workload 3: the example rule files over {sizes.scaling[0]:,} and "
             f"{sizes.scaling[1]:,} customers")
        # The best of two passes per size: on a shared machine one pass can be
        # a third slower than the next, more than the 15% the target allows.
        rows += scaling.measure(sizes.scaling, distinct_all=args.distinct, cache=args.cache,
                                repeat=2, log=_log)
    if 4 in chosen:
        _log("workload 4: compiling the example rule files")
        rows += compile_time.measure(processes=sizes.cold_processes, repeat=sizes.warm_repeat)
    if 5 in chosen:
        chosen_sizes = (tuple(int(n) for n in args.columnar_sizes.split(","))
                        if args.columnar_sizes else sizes.columnar)
        _log(f"workload 5: the example rule files on Parquet, {chosen_sizes} customers "
             f"(data in {columnar_data.default_directory(0).parent})")
        smallest = min(chosen_sizes)
        python_size = smallest if smallest <= columnar.PYTHON_LARGEST else None
        rows += columnar.measure(chosen_sizes, python_size=python_size, log=_log)
    return rows


def _load_average() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def _load_averages(at_start: float | None) -> str:
    at_end = _load_average()
    if at_start is None or at_end is None:
        return ""
    return f", load average {at_start:.1f} at start and {at_end:.1f} at end"


def main(argv: list[str] | None = None) -> int:
    """Run the suite; returns the exit status."""
    args = _arguments(argv)
    command = shlex.join(["python", "-m", "benchmarks.run", *(sys.argv[1:] if argv is None
                                                                else argv)])
    load = _load_average()
    started = time.perf_counter()
    try:
        rows = run(args)
    except common.Mismatch as error:
        print(f"error: different answers, so no timing is worth reporting: {error}",
              file=sys.stderr)
        return 1
    except MemoryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    print(f"$ {command}")
    print(common.environment() + _load_averages(load))
    print()
    print(common.render_markdown(rows) if args.markdown else common.render_text(rows))
    print()
    print(LEGEND)
    print(f"Total run time {elapsed / 60:.1f} min.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
