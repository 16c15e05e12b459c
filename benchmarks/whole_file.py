"""Workload 3's baselines for a whole rule file: ``examples/summer_sale.seg`` by hand.

:func:`summer_sale` computes the ten segments of ``examples/summer_sale.seg`` in plain Python,
as a careful programmer would write them for these customers: one pass over the customers
reading each order once (timestamps parsed with ``datetime.fromisoformat``) and only the events
of the three types the segments look at, with every window's bounds computed once; then the
RFM break points and the three RFM segments. The semantics are segdsl's (README, "Population
functions and RFM"): windows hold what happened after ``now - window`` and at or before
``now`` (a period: from its first day's first instant to the instant after its last day),
anything after ``now`` is ignored; recency is whole days since the last order, frequency and
monetary the number and the amount of orders in the 365 days before ``now``, the amount summed
as :mod:`segdsl.sums` defines it (order-independent, exact for money); customers without an
order have no RFM score; break points are type-7 quantiles of the non-null measures, a tile is
1 plus the number of break points strictly below the value, recency scored in reverse.

The end-to-end measurements run in a child process each (``python -m benchmarks.whole_file
eval|parse|hand FILE``), timed inside it from the first line read to the answer, interpreter
start and imports left out, and report their peak resident memory (``ru_maxrss``):

* ``eval``: ``segdsl eval examples/summer_sale.seg --data FILE --format json`` through
  :func:`segdsl.cli.main` (``--segment``: only those segments);
* ``parse``: only ``json.loads`` of every line of FILE, each customer dropped;
* ``hand``: :func:`summer_sale` over FILE's lines parsed one by one.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import io
import json
import math
import subprocess
import sys
import time
from collections.abc import Iterable
from contextlib import redirect_stdout
from pathlib import Path

from dateutil.relativedelta import relativedelta

from benchmarks.common import ROOT, peak_memory
from benchmarks.data import NOW

RULE_FILE = ROOT / "examples" / "summer_sale.seg"
RANKED = ("loyal_buyers", "bargain_hunters", "big_rare_spenders")
SEGMENTS = ("loyal_buyers", "bargain_hunters", "repeat_shoe_buyers", "last_sale_buyers",
            "discount_buyers", "big_rare_spenders", "recommendation_clickers", "undecided",
            "sale_cart_abandoners", "sale_buyers")
_SCALE = 10 ** 9  # segdsl.sums: a sum is the sum of round(v * 1e9), exact


def _day(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _moment(text: str) -> dt.datetime:
    """A timestamp read from JSON; a naive one is UTC."""
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _units(value: float) -> int:
    """``round(value * 1e9)``, halves away from zero (segdsl.sums)."""
    if type(value) is int:
        return value * _SCALE
    scaled = float(value) * 1e9
    whole = math.trunc(scaled)
    if abs(scaled - whole) >= 0.5:
        whole += 1 if scaled > 0 else -1
    return int(whole)


def _quantile(ordered: list, q: float) -> float:
    position = (len(ordered) - 1) * q
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def _breaks(values: list) -> list:
    ordered = sorted(v for v in values if v is not None)
    return [_quantile(ordered, i / 5) for i in range(1, 5)] if ordered else []


def _tile(value, breaks: list) -> int:
    return 1 + bisect.bisect_left(breaks, value) if breaks else 1


def summer_sale(customers: Iterable[dict], now: dt.datetime = NOW) -> dict[str, list]:
    """The members' ids of every segment of ``examples/summer_sale.seg``, in input order."""
    start_365, start_30 = now - dt.timedelta(days=365), now - dt.timedelta(days=30)
    start_12m = now - relativedelta(months=12)
    sale_first, sale_after = _day("2026-06-24"), _day("2026-07-22")
    last_sale_first, last_sale_after = _day("2025-06-25"), _day("2025-07-23")
    members: dict[str, list] = {name: [] for name in SEGMENTS}
    shoes, last_sale, discounted = (members["repeat_shoe_buyers"], members["last_sale_buyers"],
                                    members["discount_buyers"])
    clickers, undecided = members["recommendation_clickers"], members["undecided"]
    abandoners, sale_buyers = members["sale_cart_abandoners"], members["sale_buyers"]
    ranked: list[tuple] = []  # (id, recency, frequency, monetary) of every customer, None when never ordered
    for customer in customers:
        identity = customer["id"]
        last = None
        frequency = spent = shoe_orders = 0
        whole = True
        in_last_sale = discount = ordered_30 = in_sale = False
        for order in customer.get("orders") or ():
            at = order.get("at")
            if at is None:
                continue
            at = _moment(at)
            if at > now:
                continue
            if last is None or at > last:
                last = at
            items = order.get("items") or ()
            if at > start_365:
                frequency += 1
                total = order.get("total")
                if total is not None:
                    whole = whole and type(total) is int
                    spent += _units(total)
                if any(item.get("category") == "shoes" for item in items):
                    shoe_orders += 1
            if at > start_12m and not discount:
                discount = any(item.get("discounted") is True for item in items)
            ordered_30 = ordered_30 or at > start_30
            in_sale = in_sale or sale_first <= at < sale_after
            in_last_sale = in_last_sale or last_sale_first <= at < last_sale_after
        visits = 0
        clicked = abandoned = False
        for event in customer.get("events") or ():
            kind = event.get("type")
            if kind != "visit" and kind != "recommendation_click" and kind != "cart_abandoned":
                continue
            at = event.get("at")
            if at is None:
                continue
            at = _moment(at)
            if at > now:
                continue
            if kind == "visit":
                visits += at > start_30
            elif kind == "recommendation_click":
                clicked = clicked or at > start_30
            else:
                abandoned = abandoned or sale_first <= at < sale_after
        if last is None:
            ranked.append((identity, None, None, None))
        else:
            recency = math.floor((now - last).total_seconds() / 86400)
            monetary = spent // _SCALE if whole else spent / _SCALE
            ranked.append((identity, recency, frequency, monetary))
        if shoe_orders >= 2:
            shoes.append(identity)
        if in_last_sale:
            last_sale.append(identity)
        if discount:
            discounted.append(identity)
        if clicked and not ordered_30:
            clickers.append(identity)
        if visits >= 10 and not ordered_30:
            undecided.append(identity)
        if abandoned and not in_sale:
            abandoners.append(identity)
        if in_sale:
            sale_buyers.append(identity)
    r_breaks = _breaks([row[1] for row in ranked])
    f_breaks = _breaks([row[2] for row in ranked])
    m_breaks = _breaks([row[3] for row in ranked])
    loyal, bargain, big_rare = (members[name] for name in RANKED)
    for identity, recency, frequency, monetary in ranked:
        if recency is None:
            continue
        r = 6 - _tile(recency, r_breaks)
        f = _tile(frequency, f_breaks)
        m = _tile(monetary, m_breaks)
        if r >= 4 and f >= 4:
            loyal.append(identity)
        if m <= 2 and f >= 4:
            bargain.append(identity)
        if m >= 4 and f <= 2:
            big_rare.append(identity)
    return members


# ------------------------------------------------------------------------ child processes


def _lines(path: Path):
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def _parse_only(path: Path) -> int:
    count = 0
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            json.loads(line)
            count += 1
    return count


def _eval(path: Path, segments: list[str], output: Path) -> None:
    from segdsl import cli

    arguments = ["eval", str(RULE_FILE), "--data", str(path), "--now", NOW.isoformat(),
                 "--format", "json", "--engine", "python", "--output", str(output)]
    for name in segments:
        arguments += ["--segment", name]
    with redirect_stdout(io.StringIO()):
        status = cli.main(arguments)
    if status != 0:
        raise RuntimeError(f"segdsl eval failed with status {status}")


def child(action: str, path: Path, segments: list[str]) -> dict:
    """Run one end-to-end measurement in this process; seconds, peak memory, members."""
    import segdsl  # noqa: F401 - imports are left out of the time, as interpreter start is

    output = path.with_name(path.stem + "-members.json")
    started, started_cpu = time.perf_counter(), time.process_time()
    if action == "eval":
        _eval(path, segments, output)  # written to a file, as a real run would
    elif action == "hand":
        members = summer_sale(_lines(path))
    else:
        members = {"customers": [_parse_only(path)]}
    seconds, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    peak = peak_memory()
    if action == "eval":
        members = json.loads(output.read_text(encoding="utf-8"))["members"]
        output.unlink()
    sizes = {name: len(ids) for name, ids in members.items()}
    digest = {name: hash(tuple(ids)) for name, ids in members.items()}
    return {"action": action, "seconds": seconds, "cpu_seconds": cpu, "peak": peak,
            "sizes": sizes, "digest": digest}


def run_child(action: str, path: Path, segments: tuple[str, ...] = (), repeat: int = 1) -> dict:
    """:func:`child` in a fresh Python process (its peak memory its own), the best time of
    ``repeat`` processes."""
    reports = [_run_child(action, path, segments) for _ in range(repeat)]
    return min(reports, key=lambda report: report["seconds"])


def _run_child(action: str, path: Path, segments: tuple[str, ...]) -> dict:
    command = [sys.executable, "-m", "benchmarks.whole_file", action, str(path)]
    for name in segments:
        command += ["--segment", name]
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed with status {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_copies(source: Path, size: int, target: Path) -> Path:
    """A JSON Lines file of ``size`` customers: ``source``'s lines repeated under new ids
    (each line starts ``{"id":N,``), written once."""
    if target.exists() and _line_count(target) == size:
        return target
    with source.open(encoding="utf-8") as lines:
        base = [line for _, line in zip(range(size), lines)]
    temporary = target.with_suffix(".partial")
    with temporary.open("w", encoding="utf-8") as out:
        for index in range(size):
            line = base[index % len(base)]
            rest = line[line.index(","):]
            out.write(f'{{"id":{index + 1}{rest}')
    temporary.replace(target)
    return target


def _line_count(path: Path) -> int:
    count = 0
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            count += block.count(b"\n")
    return count


def main(argv: list[str] | None = None) -> int:
    """Run one child measurement and print its report as one JSON line."""
    parser = argparse.ArgumentParser(description="One end-to-end measurement of workload 3.")
    parser.add_argument("action", choices=("eval", "parse", "hand"))
    parser.add_argument("path", type=Path)
    parser.add_argument("--segment", action="append", default=[])
    args = parser.parse_args(argv)
    print(json.dumps(child(args.action, args.path, args.segment)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
