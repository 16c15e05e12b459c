"""What every workload shares: timing, the same-answer check, table rows and the report.

Times are wall-clock ``time.perf_counter`` seconds of one whole pass over the records; a
contestant's figure is its best pass (the least disturbed by the rest of the machine). The
garbage collector stays on, as in real use, but each pass starts from a collected heap.
"""

from __future__ import annotations

import functools
import gc
import importlib.metadata
import os
import platform
import re
import resource
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

PASS, MISS = "PASS", "MISS"


class Mismatch(Exception):
    """A contestant's answer differs from the baseline's: its timing would mean nothing."""


@dataclass(frozen=True)
class Timing:
    """The best of ``runs`` passes over ``size`` records, and the last pass's answer."""

    best: float
    runs: int
    size: int
    answer: Any

    @property
    def rate(self) -> float:
        """Records per second of the best pass."""
        return self.size / self.best

    @property
    def per_record(self) -> float:
        """Seconds per record of the best pass."""
        return self.best / self.size


def best_times(actions: dict[str, tuple[Callable[[], Any], int]], *, repeat: int,
               budget: float) -> dict[str, Timing]:
    """Time each action (one pass over its number of records) up to ``repeat`` times.

    The actions take turns, round after round, so a burst of load on the machine touches all of
    them alike. An action stops repeating once it has spent ``budget`` seconds, so a slow one
    runs once.
    """
    best = dict.fromkeys(actions, float("inf"))
    spent = dict.fromkeys(actions, 0.0)
    runs = dict.fromkeys(actions, 0)
    answers: dict[str, Any] = {}
    for round_number in range(repeat):
        for name, (action, _) in actions.items():
            if round_number > 0 and spent[name] >= budget:
                continue
            gc.collect()
            started = time.perf_counter()
            answers[name] = action()
            elapsed = time.perf_counter() - started
            best[name] = min(best[name], elapsed)
            spent[name] += elapsed
            runs[name] += 1
    return {name: Timing(best[name], runs[name], size, answers[name])
            for name, (_, size) in actions.items()}


def same_members(contestant: str, found: Sequence[Any], expected: Sequence[Any]) -> None:
    """Raise :class:`Mismatch` unless ``found`` lists exactly the ``expected`` member ids."""
    found, expected = list(found), list(expected)
    if found == expected:
        return
    found_set, expected_set = set(found), set(expected)
    missing = [i for i in expected if i not in found_set][:5]
    extra = [i for i in found if i not in expected_set][:5]
    raise Mismatch(f"{contestant} found {len(found)} members, the baseline {len(expected)}; "
                   f"missing ids {missing}, extra ids {extra}")


def ids(records: Iterable[dict]) -> list[Any]:
    """The ``id`` of each record, in order."""
    return [record["id"] for record in records]


def version_of(distribution: str) -> str | None:
    """The installed version of a distribution, or None when it is not installed."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


# ------------------------------------------------------------------------------ the report


@dataclass(frozen=True)
class Row:
    """One line of the table.

    Attributes:
        workload: the workload's label (printed on its first row only).
        contestant: who or what was measured.
        size: records per pass, or None.
        rate: records per second, or None.
        measure: the main figure with its unit (time per record, milliseconds, memory).
        ratio: the figure relative to the workload's basis (see the legend), or None.
        target: the target in words, or "".
        result: PASS, MISS or "".
        note: how it was measured, when that differs from the rest of the workload.
    """

    workload: str
    contestant: str
    size: int | None = None
    rate: float | None = None
    measure: str = ""
    ratio: float | None = None
    target: str = ""
    result: str = ""
    note: str = ""


def peak_memory() -> int:
    """This process's resident high-water mark, in bytes: ``VmHWM``, which starts afresh at
    ``exec`` (``ru_maxrss`` keeps the forking parent's size when that was larger), or
    ``ru_maxrss`` where there is no ``/proc``."""
    try:
        found = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())
    except OSError:
        found = None
    if found is not None:
        return int(found.group(1)) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def verdict(ok: bool) -> str:
    """PASS or MISS."""
    return PASS if ok else MISS


def format_duration(seconds: float) -> str:
    """``seconds`` in the unit that reads best: ns, µs, ms or s."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_bytes(count: float) -> str:
    """A byte count in MB or GB."""
    if count >= 1e9:
        return f"{count / 1e9:.2f} GB"
    return f"{count / 1e6:.0f} MB"


def _count(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def _ratio(value: float | None) -> str:
    if value is None:
        return ""
    if value < 10:
        return f"{value:.2f}x"
    return f"{value:.1f}x" if value < 100 else f"{value:,.0f}x"


COLUMNS = ("workload", "contestant", "n", "records/s", "measure", "ratio", "target", "result")


def _cells(rows: Sequence[Row]) -> list[list[str]]:
    cells = []
    previous = None
    for row in rows:
        contestant = f"{row.contestant} ({row.note})" if row.note else row.contestant
        cells.append([row.workload if row.workload != previous else "", contestant,
                      _count(row.size), _count(row.rate), row.measure, _ratio(row.ratio),
                      row.target, row.result])
        previous = row.workload
    return cells


def render_text(rows: Sequence[Row]) -> str:
    """The rows as an aligned plain-text table."""
    cells = _cells(rows)
    widths = [max(len(c[i]) for c in [list(COLUMNS), *cells]) for i in range(len(COLUMNS))]
    numeric = {2, 3, 5}

    def line(values):
        return "  ".join(v.rjust(w) if i in numeric else v.ljust(w)
                         for i, (v, w) in enumerate(zip(values, widths))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(COLUMNS), rule, *(line(c) for c in cells)])


def render_markdown(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table (for the README)."""
    def escape(text):
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join("---:" if i in (2, 3, 5) else "---" for i in range(len(COLUMNS)))
             + "|"]
    lines += ["| " + " | ".join(escape(c) for c in cells) + " |" for cells in _cells(rows)]
    return "\n".join(lines)


def environment() -> str:
    """One line naming the Python, the machine and the segdsl commit the figures come from."""
    cpu = _cpu_model()
    commit = _git_commit()
    parts = [f"Python {platform.python_version()} ({platform.python_implementation()})",
             platform.system() + " " + platform.machine(),
             f"{os.cpu_count()} CPUs" + (f" ({cpu})" if cpu else "")]
    if commit or version_of("segdsl"):
        parts.append(f"segdsl {commit or version_of('segdsl')}")
    return ", ".join(parts)


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _git_commit() -> str | None:
    try:
        found = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return found.stdout.strip() or None


# ------------------------------------------------------------------------------ contestants


@dataclass(frozen=True)
class Contestant:
    """One way to find the members of a workload's rule.

    Attributes:
        name: the key targets refer to (``"segdsl"``, ``"rule-engine"``, ...).
        label: the name shown in the table, with the version of a peer library.
        run: records -> the matching records, in input order.
        sample: measured on the first ``sample`` records only (a peer too slow for them all).
        prepare: records -> what ``run`` takes instead of them, made before the timed passes
            (a peer's own data handles, built beforehand); None: ``run`` takes the records.
    """

    name: str
    label: str
    run: Callable[[Any], list]
    sample: int | None = None
    prepare: Callable[[list], Any] | None = None

    def prepared(self, records: list) -> Any:
        """What :attr:`run` takes for ``records``."""
        return self.prepare(records) if self.prepare else records

    def members(self, records: list) -> list:
        """The matching records, preparation included."""
        return self.run(self.prepared(records))


@dataclass(frozen=True)
class Target:
    """A target a contestant's row is judged against.

    Attributes:
        text: the target in words, shown in the table.
        met: whether the target is met, given every contestant's ratio by name.
    """

    text: str
    met: Callable[[dict[str, float]], bool]


def check_contestants(records: list, contestants: Sequence[Contestant]) -> None:
    """Raise :class:`Mismatch` unless every contestant finds the members the first one finds."""
    baseline = ids(contestants[0].members(records))
    for contestant in contestants[1:]:
        same_members(contestant.label, ids(contestant.members(records)), baseline)


def compare(workload: str, records: list, contestants: Sequence[Contestant],
            targets: dict[str, Target], *, repeat: int, budget: float) -> list[Row]:
    """Time every contestant over ``records`` and check its answer against the baseline's.

    The first contestant is the baseline: every ratio is a contestant's time per record
    divided by the baseline's.

    Raises:
        Mismatch: a contestant's members differ from the baseline's.
    """
    baseline = contestants[0]
    subsets = {c.name: records[:c.sample] if c.sample else records for c in contestants}
    timings = best_times({c.name: (functools.partial(c.run, c.prepared(subsets[c.name])),
                                   len(subsets[c.name])) for c in contestants},
                         repeat=repeat, budget=budget)
    for contestant in contestants[1:]:
        subset = subsets[contestant.name]
        expected = (timings[baseline.name].answer if subset is records
                    else baseline.members(subset))
        same_members(contestant.label, ids(timings[contestant.name].answer), ids(expected))
    base = timings[baseline.name].per_record
    ratios = {name: timing.per_record / base for name, timing in timings.items()}
    rows = []
    for contestant in contestants:
        timing = timings[contestant.name]
        target = targets.get(contestant.name)
        notes = [f"first {timing.size:,} records"] if contestant.sample else []
        if timing.runs < repeat:
            notes.append(f"{timing.runs} run" + ("s" if timing.runs > 1 else ""))
        rows.append(Row(workload, contestant.label, timing.size, timing.rate,
                        f"{format_duration(timing.per_record)}/record", ratios[contestant.name],
                        target.text if target else "",
                        verdict(target.met(ratios)) if target else "", ", ".join(notes)))
    return rows
