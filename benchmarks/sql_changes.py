"""Membership over time on DuckDB: ``changes`` over 30 days against one DuckDB evaluation.

    python -m benchmarks.sql_changes                 # 100,000 customers
    python -m benchmarks.sql_changes --customers 20000

The customers of ``benchmarks.data`` (snapshot 2026-07-15T12:00:00Z) are written into an
in-memory DuckDB database (``segdsl.sql.load_records``, not timed). For the rules of
``benchmarks.changes`` (the example segments that do not rank customers, and workload 2's
rule alone):

- **DuckDB evaluation**: ``segdsl.sql.evaluate(rules, connection, now=T1)``;
- **DuckDB changes**: ``rules.changes(connection, since=T1 - 30d, until=T1)``: one query
  of both instants, the flips of windowed counts computed in SQL, and the customers of
  the other segments whose lists may move read back and followed by the Python timeline
  (:mod:`segdsl.sql.changes`, :mod:`segdsl.sql.exits`);
- **Python changes**: ``rules.changes(records, ...)`` on the same customers as records;
- how many customers the query flagged (read back as records).

The two answers are checked to be equal. Times are CPU seconds of this process
(``time.process_time``, DuckDB's threads included), the best of ``--repeat`` passes, so
other work on the machine weighs less on them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

import duckdb

import segdsl.sql
from benchmarks.changes import DAYS, best, rule_sets
from benchmarks.data import NOW, load_customers
from segdsl.sql import changes as sql_changes
from segdsl.sql.layout import Layout


def flagged(connection, rules, names, since, until) -> int:
    """How many customers the query of both instants gives to the Python timeline."""
    read = []
    real = sql_changes.read_records

    def counting(connection, layout, ids):
        read.extend(ids)
        return real(connection, layout, ids)

    sql_changes.read_records = counting
    try:
        rules.changes(connection, since=since, until=until, segments=names)
    finally:
        sql_changes.read_records = real
    return len(read)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    customers = load_customers(args.customers, log=lambda text: print(text, file=sys.stderr))
    customers.sort(key=lambda customer: customer["id"])
    since = NOW - dt.timedelta(days=DAYS)
    ok = True
    print(f"{len(customers):,} customers in DuckDB, changes over {DAYS} days up to "
          f"{NOW.isoformat()}")
    print(f"{'rules':<44} {'DuckDB eval':>11} {'DuckDB changes':>14} {'ratio':>6} "
          f"{'Python changes':>14} {'flagged':>8} {'changes':>8}")
    for label, (rules, names) in rule_sets().items():
        connection = duckdb.connect()
        segdsl.sql.load_records(connection, customers, Layout.of_rules(rules))
        (evaluation, _), (on_duckdb, found), (in_python, expected) = best([
            lambda r=rules, c=connection, n=names: segdsl.sql.evaluate(r, c, now=NOW,
                                                                       segments=n),
            lambda r=rules, c=connection, n=names: r.changes(c, since=since, until=NOW,
                                                             segments=n),
            lambda r=rules, n=names: r.changes(customers, since=since, until=NOW, segments=n)],
            args.repeat)
        same = found.rows() == expected.rows() and found.start == expected.start
        ok = ok and same
        count = flagged(connection, rules, names, since, NOW)
        print(f"{label:<44} {evaluation:>10.2f}s {on_duckdb:>13.2f}s "
              f"{on_duckdb / evaluation:>5.1f}x {in_python:>13.2f}s {count:>8,} "
              f"{len(found):>8,}{'' if same else '  DIFFERENT ANSWERS'}")
        connection.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
