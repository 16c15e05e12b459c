"""A long run of the differential test, counting instead of stopping at the first failure.

Usage (from the repository root)::

    python tests/long_differential.py [--examples 100000] [--seed 1] [--time-limit 10]

Each case is drawn from one family of inputs of ``tests/test_differential.py``
(core, kinds, shapes, nested, population, or all at once), with a random
seed (``--seed``), and compared exactly as the test compares it. Prints the
figures: inputs tried (cases, and customer x schema evaluations), escapes
(exceptions other than ``SegdslError``), disagreements between the APIs,
disagreements with the reference, records changed, hangs (a case taking
longer than ``--time-limit`` seconds), and one example of each distinct
problem.
"""

from __future__ import annotations

import argparse
import collections
import re
import signal
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

import test_differential as differential
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

FAMILIES = [frozenset(), frozenset({"kinds"}), frozenset({"shapes"}), frozenset({"nested"}),
            frozenset({"population"}),
            frozenset({"kinds", "shapes", "nested", "population"})]
FAMILY_NAMES = ["core", "kinds", "shapes", "nested", "population", "everything"]


class Hang(BaseException):
    """A case ran past the time limit (a BaseException, so no ``except
    Exception`` in the code under test swallows it)."""


def _alarm(signum, frame):
    raise Hang()


def signature(problem: str) -> str:
    """A problem without its particulars, to count distinct problems."""
    text = re.sub(r"customer \d+", "customer N", problem)
    text = re.sub(r"APIs \{.*", "", text)
    text = re.sub(r"'[^']*'|\"[^\"]*\"|\d+(\.\d+)?", "_", text)
    return text[:150]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--show", type=int, default=40, help="distinct problems to show")
    parser.add_argument("--families", default="all",
                        help="comma-separated: core, kinds, shapes, nested, population, all")
    options = parser.parse_args()
    names = options.families.split(",")
    unknown = sorted(set(names) - set(FAMILY_NAMES) - {"all"})
    if unknown:
        parser.error(f"unknown families {', '.join(unknown)}: choose among "
                     f"{', '.join(FAMILY_NAMES)} or all")
    chosen = FAMILIES if "all" in names else [FAMILIES[FAMILY_NAMES.index(n)] for n in names]

    figures: collections.Counter[str] = collections.Counter()
    examples: dict[str, tuple[str, str]] = {}
    by_class: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    signal.signal(signal.SIGALRM, _alarm)
    started = time.monotonic()

    @seed(options.seed)
    @settings(max_examples=options.examples, deadline=None, database=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(chosen).flatmap(differential.cases))
    def run(case):
        setting, rule, records, now = case
        figures["cases"] += 1
        figures["evaluations"] += 2 * len(records)
        signal.setitimer(signal.ITIMER_REAL, options.time_limit)
        began = time.monotonic()
        try:
            problems = differential.problems_of(*case)
        except Hang:
            problems = ["hang: the case ran past the time limit"]
        except Exception as error:  # noqa: BLE001 - the harness itself failed
            problems = [f"harness: {type(error).__name__}: {error}"]
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if time.monotonic() - began > options.time_limit and not any(
                p.startswith("hang") for p in problems):
            # The alarm can land in code that swallows it (a gc callback): time it too.
            problems.append("hang: the case ran past the time limit")
        kinds = set()
        for problem in problems:
            kind = problem.split(":", 1)[0]
            kinds.add(kind)
            key = signature(problem)
            by_class[kind][key] += 1
            if key not in examples:
                examples[key] = (problem[:1500], f"rule: {differential.render(rule)}\n"
                                 f"zone: {setting.zone_name}, now: {now!r}, "
                                 f"features: {sorted(setting.features)}\n"
                                 f"records: {records!r}"[:3000])
        for kind in kinds:
            figures[f"cases with {kind}"] += 1
        if figures["cases"] % 5000 == 0:
            print(f"... {figures['cases']} cases, {time.monotonic() - started:.0f} s: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(figures.items())),
                  file=sys.stderr, flush=True)

    try:
        run()
    except KeyboardInterrupt:  # a long run cut short still reports what it found
        print("interrupted", file=sys.stderr)
    print(f"inputs tried: {figures['cases']} cases ({figures['evaluations']} customer x "
          f"schema evaluations on each of 4 APIs), {time.monotonic() - started:.0f} s, "
          f"seed {options.seed}")
    for kind, label in (("escape", "escapes (non-SegdslError exceptions)"),
                        ("api", "disagreements between APIs"),
                        ("reference", "disagreements with the reference"),
                        ("mutation", "records changed"), ("hang", "hangs"),
                        ("compile", "rules that do not compile"),
                        ("harness", "harness failures")):
        print(f"{label}: {figures[f'cases with {kind}']} cases, "
              f"{sum(by_class[kind].values())} problems, {len(by_class[kind])} distinct")
    shown = 0
    for kind in ("escape", "hang", "mutation", "api", "reference", "compile", "harness"):
        for key, count in by_class[kind].most_common():
            if shown >= options.show:
                return
            shown += 1
            problem, case = examples[key]
            print(f"\n--- {count} x {problem}\n{case}")


if __name__ == "__main__":
    main()
