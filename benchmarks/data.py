"""The benchmarks' data: flat records for the scalar rule, generated customers for the rest.

Customers come from ``examples/generate.py`` (seed 2026, now 2026-07-15T12:00:00Z). They are
cached as JSON Lines in ``benchmarks/.cache/`` (git-ignored) because a large base takes minutes
to generate; a customer depends only on the seed, ``now`` and its id, so the cache grows by
appending the next ids and any prefix of it is a valid smaller base. Workloads read customers
back with ``json.loads``, so timestamps are ISO strings and every string is its own object, as
in data read from a file or an API.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.util
import itertools
import json
import multiprocessing
import os
import random
import sys
import time
from pathlib import Path

from benchmarks.common import ROOT

CACHE = Path(__file__).resolve().parent / ".cache"
SEED = 2026
NOW_TEXT = "2026-07-15T12:00:00Z"
NOW = dt.datetime(2026, 7, 15, 12, tzinfo=dt.timezone.utc)
GENERATOR_PATH = ROOT / "examples" / "generate.py"
_CHUNK = 2_000
_COUNTRIES = ("FR", "FR", "FR", "BE", "DE", "ES", "IT", "CH", "NL", "GB")


@functools.cache
def generator():
    """``examples/generate.py`` as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("segdsl_example_generator", GENERATOR_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def flat_records(n: int, seed: int = SEED) -> list[dict]:
    """``n`` flat customer records carrying the precomputed scores the scalar rule reads.

    About 8% of them match ``rfm_frequency >= 4 and visits_30d >= 10 and not
    (purchases_30d > 0)``; every field is present and none is null.
    """
    dice = random.Random(seed)
    records = []
    for customer_id in range(1, n + 1):
        busy = dice.random() < 0.3
        records.append({
            "id": customer_id,
            "country": dice.choice(_COUNTRIES),
            "rfm_frequency": dice.randint(1, 5),
            "visits_30d": dice.randint(0, 30) if busy else dice.randint(0, 6),
            "purchases_30d": dice.choice((0, 0, 0, 1, 2)),
            "spent_365d": round(dice.random() * 800, 2),
        })
    return records


def make_customers(n: int) -> list[dict]:
    """The first ``n`` generated customers, through JSON text, without the cache (for tests)."""
    made = generator().generate_customers(n, seed=SEED, now=NOW_TEXT)
    return [json.loads(_jsonl(customer)) for customer in made]


def load_customers(n: int, cache: Path = CACHE, log=None) -> list[dict]:
    """The first ``n`` generated customers, read from the cache (generated first if needed)."""
    path = ensure_cached(n, cache, log)
    with path.open(encoding="utf-8") as file:
        return [json.loads(line) for line in itertools.islice(file, n)]


def replicate(customers: list[dict], n: int) -> list[dict]:
    """``n`` customers: ``customers``, then shallow copies of them under new ids.

    The copies share their originals' orders and events lists, so a large population fits in
    memory; every customer still costs a full evaluation, because segdsl reads each
    customer's lists afresh.
    """
    base = len(customers)
    population = list(customers[:n])
    for index in range(base, n):
        original = customers[index % base]
        population.append({**original, "id": original["id"] + (index // base) * base})
    return population


# ------------------------------------------------------------------------------ the cache


def cache_path(cache: Path = CACHE) -> Path:
    """The JSON Lines file of cached customers (ids 1, 2, ... in order)."""
    return cache / f"customers-seed{SEED}-{NOW_TEXT[:10]}.jsonl"


def ensure_cached(n: int, cache: Path = CACHE, log=None) -> Path:
    """Make sure the cache holds at least ``n`` customers; returns its path.

    Missing customers are generated in parallel, one process per CPU, and appended; a line cut
    short by an interrupted run is dropped first.
    """
    path = cache_path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    have = _complete_lines(path)
    if have >= n:
        return path
    started = time.perf_counter()
    if log:
        log(f"generating customers {have + 1:,}..{n:,} into {path} ...")
    chunks = [(first, min(_CHUNK, n + 1 - first)) for first in range(have + 1, n + 1, _CHUNK)]
    with path.open("a", encoding="utf-8", newline="\n") as out, \
            multiprocessing.Pool(os.cpu_count() or 1) as pool:
        for text in pool.imap(_generate_chunk, chunks):
            out.write(text)
    if log:
        log(f"generated {n - have:,} customers in {time.perf_counter() - started:.0f} s")
    return path


def _generate_chunk(chunk: tuple[int, int]) -> str:
    first, count = chunk
    made = generator().generate_customers(count, seed=SEED, now=NOW_TEXT, first_id=first)
    return "".join(_jsonl(customer) + "\n" for customer in made)


def _jsonl(customer: dict) -> str:
    # The same layout as examples/generate.py writes.
    return json.dumps(customer, ensure_ascii=False, separators=(",", ":"))


def _complete_lines(path: Path) -> int:
    """The number of complete lines in ``path`` (0 if absent), after cutting a partial last one."""
    if not path.exists():
        return 0
    with path.open("r+b") as file:
        count = 0
        end = 0
        position = 0
        while block := file.read(1 << 20):
            count += block.count(b"\n")
            last = block.rfind(b"\n")
            if last >= 0:
                end = position + last + 1
            position += len(block)
        if end != position:
            file.truncate(end)
    return count
