"""Workload 4: parse, check and compile the example rule files.

A rule file is compiled by ``segdsl.load(path)`` and then ``rules.evaluate([], now=...)``,
which builds every segment's closures (segdsl compiles them on first use) without reading any
customer.

* cold: the first compilation in a fresh Python process, measured inside it, from before
  ``import segdsl`` (import included) and from after it (import excluded); the median of several
  processes.
* warm: the median of repeated compilations in one process that has compiled the file before.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

import segdsl
from benchmarks.common import ROOT, Row, format_duration, verdict
from benchmarks.data import NOW, NOW_TEXT

WORKLOAD = "4 parse + check + compile"
RULE_FILES = ("summer_sale.seg", "lifecycle.seg")
WARM_TARGET = 0.020

# Run by a fresh interpreter: nothing of segdsl is imported before the clock starts.
_COLD_SCRIPT = """
import json, sys, time
started = time.perf_counter()
import segdsl
imported = time.perf_counter()
segdsl.load(sys.argv[1]).evaluate([], now=sys.argv[2])
done = time.perf_counter()
print(json.dumps({"with_import": done - started, "without_import": done - imported}))
"""


def compile_file(path) -> segdsl.RuleSet:
    """Parse, check and compile every segment of the rule file at ``path``."""
    rules = segdsl.load(path)
    rules.evaluate([], now=NOW)
    return rules


def cold(path, processes: int) -> dict[str, float]:
    """Median seconds of the first compilation of ``path`` in fresh processes, with and
    without ``import segdsl``."""
    runs = []
    for _ in range(processes):
        done = subprocess.run([sys.executable, "-c", _COLD_SCRIPT, str(path), NOW_TEXT],
                              cwd=ROOT, capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout))
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def warm(path, repeat: int) -> float:
    """Median seconds of compiling ``path`` again in this process."""
    compile_file(path)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        compile_file(path)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(*, processes: int = 5, repeat: int = 20) -> list[Row]:
    """Cold and warm compilation times of each example rule file."""
    rows = []
    for name in RULE_FILES:
        path = ROOT / "examples" / name
        first = cold(path, processes)
        again = warm(path, repeat)
        rows += [
            Row(WORKLOAD, f"{name}, cold, import included",
                measure=format_duration(first["with_import"]),
                note=f"median of {processes} processes"),
            Row(WORKLOAD, f"{name}, cold, import excluded",
                measure=format_duration(first["without_import"]),
                note=f"median of {processes} processes"),
            Row(WORKLOAD, f"{name}, warm", measure=format_duration(again),
                target=f"< {WARM_TARGET * 1000:g} ms", result=verdict(again < WARM_TARGET),
                note=f"median of {repeat}"),
        ]
    return rows
