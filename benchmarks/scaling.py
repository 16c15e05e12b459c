"""Workload 3: every segment of the example rule files, at two population sizes.

``RuleSet.evaluate`` of ``examples/summer_sale.seg`` (ten segments) and
``examples/lifecycle.seg`` (eight) over generated customers, RFM included, at a small and a
ten times larger size: the time per customer should stay the same (cost linear in the number of
customers) and peak memory should stay within twice the memory of the loaded records.

Each size runs in a child process of its own (``python -m benchmarks.scaling SIZE``), which
loads the customers, notes its resident memory, resets the kernel's high-water mark and
evaluates; the parent reads back one JSON line.

A million generated customers hold about 20 GB of dicts and strings, more than a 24 GB machine
can spare, so by default a size above the distinct base (the small size) repeats the base's
customers under new ids, the copies sharing their originals' order and event lists (see
:func:`benchmarks.data.replicate`): every customer is still evaluated in full. ``--distinct``
generates every customer instead, for a machine with the memory.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import segdsl
from benchmarks import whole_file
from benchmarks.common import (
    ROOT,
    Mismatch,
    Row,
    format_bytes,
    format_duration,
    peak_memory,
    verdict,
)
from benchmarks.data import (
    CACHE,
    NOW,
    cache_path,
    ensure_cached,
    load_customers,
    replicate,
)

WORKLOAD = "3 example rule files, RFM"
RULE_FILES = ("summer_sale.seg", "lifecycle.seg")
LINEAR_WITHIN = 0.15
MEMORY_TARGET = 2.0
HAND_TARGET = 1.5
EVAL_TARGET = 2.0
PEAK_TARGET = 300e6
FLAT_WITHIN = 0.25
# Rough resident size of one loaded customer (dicts and strings from JSON), and of one copy.
_CUSTOMER_BYTES = 23_000
_COPY_BYTES = 1_000


def rule_sets() -> dict[str, segdsl.RuleSet]:
    """The example rule files, loaded."""
    return {name: segdsl.load(ROOT / "examples" / name) for name in RULE_FILES}


def evaluate(rules: segdsl.RuleSet, customers: list[dict]) -> segdsl.Result:
    """Every segment of ``rules`` over ``customers`` at the benchmarks' ``now``."""
    return rules.evaluate(customers, now=NOW)


def check_replicas(rules: segdsl.RuleSet, result: segdsl.Result, distinct: int) -> None:
    """Raise :class:`Mismatch` unless every copy of a customer is in the same segments as its
    original (customer ``i``'s copies have ids ``i + k * distinct``).

    Segments that rank customers (RFM) are left out: copies shift the population's quantiles.
    """
    total = result.total
    for name, members in result.members.items():
        if rules[name].needs_population:
            continue
        originals = [i for i in members if i <= distinct]
        expected = sorted(i + k * distinct for i in originals
                          for k in range(-(-total // distinct)) if i + k * distinct <= total)
        if sorted(members) != expected:
            raise Mismatch(f"segment {name}: {len(members)} members over {total:,} customers, "
                           f"but their originals' copies number {len(expected)}")


# ------------------------------------------------------------------------------ child process


def _resident() -> int:
    """This process's resident memory, in bytes."""
    with open("/proc/self/statm") as file:
        return int(file.read().split()[1]) * resource.getpagesize()


def _reset_peak() -> bool:
    """Reset the kernel's high-water mark of resident memory to the current size."""
    try:
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")
        return True
    except OSError:
        return False


def child(size: int, distinct: int, repeat: int, cache: Path) -> dict:
    """Load ``size`` customers (``distinct`` of them distinct) and evaluate both rule files.

    Returns:
        Seconds of the best evaluation of each file, segment sizes, and memory in bytes:
        ``before`` loading, ``loaded`` once the records are in, ``peak`` while evaluating.
    """
    sets = rule_sets()
    for rules in sets.values():
        evaluate(rules, [])  # compile every closure before measuring
    gc.collect()
    before = _resident()
    started = time.perf_counter()
    customers = replicate(load_customers(distinct, cache), size)
    load_seconds = time.perf_counter() - started
    gc.collect()
    loaded = _resident()
    exact_peak = _reset_peak()
    report = {"size": size, "distinct": distinct, "load_seconds": load_seconds,
              "before": before, "loaded": loaded, "exact_peak": exact_peak, "files": {}}
    for name, rules in sets.items():
        wall = cpu = float("inf")
        for _ in range(repeat):
            result = None
            gc.collect()
            started, started_cpu = time.perf_counter(), time.process_time()
            result = evaluate(rules, customers)
            wall = min(wall, time.perf_counter() - started)
            cpu = min(cpu, time.process_time() - started_cpu)
        if distinct < size:
            check_replicas(rules, result, distinct)
        report["files"][name] = {"seconds": wall, "cpu_seconds": cpu, "sizes": result.sizes}
        if name == whole_file.RULE_FILE.name:
            report["files"][name]["hand"] = _hand_written(result, customers, repeat)
    report["peak"] = peak_memory()
    return report


def _hand_written(result: segdsl.Result, customers: list[dict], repeat: int) -> dict:
    """The best time of the hand-written ten segments, once they give segdsl's members."""
    wall = float("inf")
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        members = whole_file.summer_sale(customers, NOW)
        wall = min(wall, time.perf_counter() - started)
    differing = [name for name in members if members[name] != result.members[name]]
    return {"seconds": wall, "differing": differing}


# ------------------------------------------------------------------------------ parent


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo, in bytes (None when unknown)."""
    try:
        found = re.search(r"MemAvailable:\s+(\d+) kB", Path("/proc/meminfo").read_text())
    except OSError:
        return None
    return int(found.group(1)) * 1024 if found else None


def needed_memory(size: int, distinct: int) -> int:
    """A generous estimate of a child's peak memory."""
    return int(1.5 * (distinct * _CUSTOMER_BYTES + (size - distinct) * _COPY_BYTES))


def run_child(size: int, distinct: int, repeat: int, cache: Path) -> dict:
    """Run :func:`child` in a fresh Python process and return its report."""
    command = [sys.executable, "-m", "benchmarks.scaling", str(size), "--distinct", str(distinct),
               "--repeat", str(repeat), "--cache", str(cache)]
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed with status {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(sizes: tuple[int, int], *, distinct_all: bool = False, repeat: int = 1,
            cache: Path = CACHE, log=None) -> list[Row]:
    """Evaluate both rule files at both sizes, each in a child process, and compare them."""
    small, large = sizes
    reports = []
    for size in sizes:
        distinct = size if distinct_all else min(size, small)
        available = available_memory()
        if available is not None and needed_memory(size, distinct) > available:
            raise MemoryError(f"{size:,} customers ({distinct:,} distinct) need about "
                              f"{format_bytes(needed_memory(size, distinct))}, and only "
                              f"{format_bytes(available)} is available")
        ensure_cached(distinct, cache, log)  # here, where generation runs in parallel
        if log:
            log(f"  evaluating both rule files over {size:,} customers in a child process ...")
        reports.append(run_child(size, distinct, repeat, cache))
    rows = rows_of(reports)
    for report in reports:
        figures = report["files"].get(whole_file.RULE_FILE.name)
        if figures and figures["hand"]["differing"]:
            raise Mismatch(f"the hand-written {whole_file.RULE_FILE.name} differs from segdsl in "
                           f"{', '.join(figures['hand']['differing'])} at {report['size']:,}")
    return rows + hand_written_rows(reports[0]) + streaming_rows(sizes, cache, log)


def hand_written_rows(report: dict) -> list[Row]:
    """segdsl against the hand-written summer_sale.seg over the same loaded customers."""
    name = whole_file.RULE_FILE.name
    figures = report["files"][name]
    size, hand = report["size"], figures["hand"]["seconds"]
    ratio = figures["seconds"] / hand
    return [
        Row(WORKLOAD, f"hand-written Python, {name} (baseline)", size, size / hand,
            f"{format_duration(hand / size)}/customer", 1.0, "", ""),
        Row(WORKLOAD, f"segdsl RuleSet.evaluate, {name}", size, size / figures["seconds"],
            f"{format_duration(figures['seconds'] / size)}/customer", ratio,
            f"<= {HAND_TARGET:g}x hand-written", verdict(ratio <= HAND_TARGET),
            "same members, the records loaded first"),
    ]


def streaming_rows(sizes: tuple[int, int], cache: Path, log=None) -> list[Row]:
    """End to end from a JSON Lines file, each in a child process: ``segdsl eval`` of
    summer_sale.seg against ``json.loads`` of every line (and the hand-written file read the
    same way), its peak memory, and the peak of rules without rankings at both sizes."""
    small, large = sizes
    name = whole_file.RULE_FILE.name
    files = {size: whole_file.write_copies(cache_path(cache), size,
                                           cache / f"summer-{size}.jsonl") for size in sizes}
    if log:
        log(f"  segdsl eval {name} end to end over {small:,} customers, json.loads alone ...")
    runs = {action: whole_file.run_child(action, files[small], repeat=2) for action in
            ("parse", "eval", "hand")}
    if runs["eval"]["digest"] != runs["hand"]["digest"]:
        raise Mismatch(f"segdsl eval and the hand-written {name} differ over {small:,} "
                       f"customers (sizes {runs['eval']['sizes']} and {runs['hand']['sizes']})")
    plain = tuple(s for s in whole_file.SEGMENTS if s not in whole_file.RANKED)
    flat = {}
    for size in sizes:
        if log:
            log(f"  segdsl eval of the segments without rankings over {size:,} customers ...")
        flat[size] = whole_file.run_child("eval", files[size], plain)
    parse = runs["parse"]["seconds"]
    ratio = runs["eval"]["seconds"] / parse
    rows = [Row(WORKLOAD, f"json.loads of every line (baseline), {small:,} customers", small,
                small / parse, f"{format_duration(parse / small)}/customer", 1.0, "", "",
                f"peak {format_bytes(runs['parse']['peak'])}")]
    for action, label in (("hand", f"hand-written {name}, reading the lines"),
                          ("eval", f"segdsl eval {name} --format json")):
        seconds = runs[action]["seconds"]
        cpu_ratio = runs[action]["cpu_seconds"] / runs["parse"]["cpu_seconds"]
        rows.append(Row(WORKLOAD, label, small, small / seconds,
                        f"{format_duration(seconds / small)}/customer", seconds / parse,
                        f"<= {EVAL_TARGET:g}x json.loads" if action == "eval" else "",
                        verdict(ratio <= EVAL_TARGET) if action == "eval" else "",
                        f"peak {format_bytes(runs[action]['peak'])}, CPU-time ratio "
                        f"{cpu_ratio:.2f}x"))
    peak = runs["eval"]["peak"]
    rows.append(Row(WORKLOAD, f"segdsl eval {name} peak memory", small, None,
                    format_bytes(peak), None, f"< {format_bytes(PEAK_TARGET)} at 100,000",
                    verdict(peak < PEAK_TARGET * max(1, small / 100_000)),
                    "RFM: the file read once, each customer's measures kept"))
    growth = flat[large]["peak"] / flat[small]["peak"]
    per_customer = (flat[large]["peak"] - flat[small]["peak"]) / (large - small)
    rows.append(Row(WORKLOAD, f"segdsl eval, {len(plain)} segments without rankings, peak "
                    f"memory {large:,} / {small:,}", large, None,
                    f"{format_bytes(flat[large]['peak'])} / {format_bytes(flat[small]['peak'])}",
                    growth, f"flat (within {FLAT_WITHIN:.0%})",
                    verdict(growth <= 1 + FLAT_WITHIN),
                    f"{per_customer:.0f} bytes per added customer"))
    return rows


def rows_of(reports: list[dict]) -> list[Row]:
    """The table rows of the children's reports, the first being the basis of the ratios."""
    basis = reports[0]
    rows = []
    for report in reports:
        size, distinct = report["size"], report["distinct"]
        copies = "" if distinct == size else f"{distinct:,} distinct x {size // distinct}"
        judged = report is not basis
        for name, figures in report["files"].items():
            # The sizes run minutes apart: CPU time, unlike wall-clock time, does not count
            # what other processes did meanwhile, so it judges linearity.
            cpu_ratio = _per_customer_ratio(figures, basis["files"][name], "cpu_seconds",
                                            size, basis["size"])
            wall_ratio = _per_customer_ratio(figures, basis["files"][name], "seconds",
                                             size, basis["size"])
            note = ", ".join(filter(None, [copies, f"wall-clock ratio {wall_ratio:.2f}x"
                                           if judged else ""]))
            rows.append(Row(
                WORKLOAD, f"segdsl, {name} ({len(figures['sizes'])} segments)", size,
                size / figures["seconds"], f"{format_duration(figures['seconds'] / size)}/customer",
                cpu_ratio, f"CPU time within {LINEAR_WITHIN:.0%} of {basis['size']:,}"
                if judged else "",
                verdict(abs(cpu_ratio - 1) <= LINEAR_WITHIN) if judged else "", note))
        records = report["loaded"] - report["before"]
        peak = report["peak"] - report["before"]
        rows.append(Row(
            WORKLOAD, "peak memory / loaded records", size, None,
            f"{format_bytes(peak)} / {format_bytes(records)}", peak / records,
            f"<= {MEMORY_TARGET:g}x records", verdict(peak <= MEMORY_TARGET * records),
            "" if report["exact_peak"] else "peak includes loading"))
    return rows


def _per_customer_ratio(figures: dict, basis: dict, key: str, size: int, basis_size: int) -> float:
    return (figures[key] / size) / (basis[key] / basis_size)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="One size of workload 3, in this process.")
    parser.add_argument("size", type=int)
    parser.add_argument("--distinct", type=int, required=True)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=CACHE)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run one child measurement and print its report as one JSON line."""
    args = _arguments(argv)
    print(json.dumps(child(args.size, args.distinct, args.repeat, args.cache)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
