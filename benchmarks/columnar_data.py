"""Workload 5's data: normalized Parquet tables of generated customers, written by DuckDB.

    python -m benchmarks.columnar_data 1000000            # into the cache directory
    python -m benchmarks.columnar_data 100000 --out DIR

The tables are the SQL engine's default layout::

    customers(id, country, signed_up_at, email_subscribed)
    orders(id, customer_id, at, total)
    order_items(order_id, sku, category, price, discounted)
    events(customer_id, type, at)

The model follows ``examples/generate.py`` (the personas and their shares, how long ago they
signed up, how often they order and visit, baskets from 8 categories with the favourite one
half of the time, the French sales when most items are discounted, weekly campaigns opened and
clicked at the persona's rate, recommendation clicks and abandoned carts after visits, bursts
of visits of undecided and new customers; about 52 events and 4 orders per customer, nothing
after ``now``), but every row is computed by DuckDB SQL, column at a time, never through
Python records. Randomness is DuckDB's ``hash`` of (seed, customer id, row number, a name per
draw): the same seed gives the same tables on every run and whatever the number of threads.
The data is not the dict generator's customer for customer (its draws are Python's
``random.Random``), only alike in distribution.

Customers are written in parts of at most :data:`PART` customers (one Parquet file per table
and part), so that memory stays bounded at 10,000,000 customers (about 5 GB on disk). A data
directory is complete when it holds ``manifest.json``; it is reused by later runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
from pathlib import Path

from benchmarks.data import NOW, SEED, generator

PART = 1_000_000
TABLES = ("customers", "orders", "order_items", "events")
DATA_ENV = "SEGDSL_BENCH_DATA"

# name, share, signed up (days ago, low, high), gap between orders (days, low, high; 0: no
# regular orders), last order (days ago, low, high), visits per month (low, high), visits
# before an order, e-mail open rate (low, high), click rate, subscribe rate, cart abandon rate,
# recommendation click rate, discount taste, price tier (0 budget, 1 any, 2 premium), basket
# size (max extra items).
PERSONAS = (
    ("loyal", 0.10, 240, 730, 21, 50, 0.2, 40, 2, 5, 3, 0.3, 0.6, 0.2, 0.6, 0.05, 0.05, 0.1, 1, 4),
    ("bargain_hunter", 0.07, 150, 730, 28, 60, 0.5, 50, 2, 5, 5, 0.3, 0.6, 0.2, 0.6, 0.05, 0.05,
     0.6, 0, 2),
    ("big_spender", 0.05, 20, 730, 90, 240, 1, 120, 0.3, 1.2, 1, 0.05, 0.2, 0.2, 0.6, 0.05, 0.05,
     0.05, 2, 3),
    ("sale_shopper", 0.10, 60, 730, -1, -1, 0, 0, 0.5, 1.5, 3, 0.2, 0.5, 0.2, 0.6, 0.05, 0.05,
     0.5, 1, 4),
    ("occasional", 0.22, 5, 730, 90, 300, 5, 300, 1, 3, 3, 0.1, 0.35, 0.2, 0.6, 0.05, 0.05,
     0.15, 1, 4),
    ("at_risk", 0.10, 200, 730, 30, 90, 91, 364, 1, 3, 3, 0.1, 0.3, 0.2, 0.6, 0.05, 0.05, 0.15, 1,
     4),
    ("churned", 0.10, 400, 730, 45, 150, 366, 720, 0.5, 2, 3, 0.05, 0.2, 0.2, 0.4, 0.05, 0.05,
     0.15, 1, 4),
    ("undecided", 0.06, 45, 730, 0, 0, 0, 0, 0.5, 2, 3, 0.1, 0.35, 0.2, 0.6, 0.12, 0.15, 0.15, 1,
     4),
    ("new", 0.05, 0.2, 29, 0, 0, 0, 0, 0, 0, 3, 0.3, 0.7, 0.2, 0.7, 0.05, 0.05, 0.15, 1, 4),
    ("prospect", 0.15, 31, 730, 0, 0, 0, 0, 0.2, 1, 3, 0.03, 0.2, 0.2, 0.5, 0.05, 0.05, 0.15, 1,
     4),
)
PERSONA_COLUMNS = (
    "persona", "share", "signup_lo", "signup_hi", "gap_lo", "gap_hi", "last_lo", "last_hi",
    "visits_lo", "visits_hi", "visits_before", "open_lo", "open_hi", "click_rate",
    "subscribe_rate", "abandon_rate", "reco_rate", "discount_taste", "tier", "basket")
COUNTRIES = (("FR", 42), ("BE", 10), ("DE", 9), ("ES", 7), ("IT", 7), ("CH", 5), ("NL", 5),
             ("GB", 5), ("LU", 3), ("US", 3), ("CA", 2), ("AT", 2))


def default_directory(size: int, seed: int = SEED) -> Path:
    """Where the tables of ``size`` customers are kept: ``$SEGDSL_BENCH_DATA`` or the user's
    cache directory (outside the repository: 10M customers take gigabytes)."""
    base = os.environ.get(DATA_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "segdsl-bench")
    return Path(base) / f"columnar-seed{seed}-{NOW.date()}-{size}"


def manifest(directory: Path) -> dict | None:
    """The manifest of a complete data directory (row counts, seconds), or None."""
    try:
        return json.loads((directory / "manifest.json").read_text())
    except (OSError, ValueError):
        return None


def ensure(size: int, directory: Path | None = None, *, seed: int = SEED, log=None) -> Path:
    """The directory holding the tables of ``size`` customers, generated first if needed."""
    directory = directory or default_directory(size, seed)
    found = manifest(directory)
    if found is not None and found["customers"] == size:
        return directory
    generate(size, directory, seed=seed, log=log)
    return directory


def generate(size: int, directory: Path, *, seed: int = SEED, part: int = PART,
             threads: int | None = None, log=None) -> dict:
    """Write the four tables of customers 1..``size`` into ``directory`` (replaced)."""
    import duckdb

    if directory.exists():
        shutil.rmtree(directory)
    for table in TABLES:
        (directory / table).mkdir(parents=True)
    started = time.perf_counter()
    connection = duckdb.connect(config={"preserve_insertion_order": False})
    if threads:
        connection.execute(f"SET threads = {int(threads)}")
    _prepare(connection, seed)
    for number, first in enumerate(range(1, size + 1, part)):
        last = min(size, first + part - 1)
        if log:
            log(f"  generating customers {first:,}..{last:,} into {directory} ...")
        _write_part(connection, directory, number, first, last)
    counts = {table: connection.execute(
        f"SELECT count(*) FROM read_parquet('{directory / table}/*.parquet')").fetchall()[0][0]
        for table in TABLES}
    info = {**counts, "seed": seed, "now": NOW.isoformat(),
            "seconds": round(time.perf_counter() - started, 1),
            "bytes": sum(f.stat().st_size for f in directory.rglob("*.parquet"))}
    (directory / "manifest.json").write_text(json.dumps(info, indent=1) + "\n")
    connection.close()
    return info


def views(connection, directory: Path) -> None:
    """Views of the four tables over ``directory``'s Parquet files, in ``connection``."""
    for table in TABLES:
        connection.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM "
                           f"read_parquet('{directory / table}/*.parquet')")


# ------------------------------------------------------------------------------ the SQL


def _literal(value) -> str:
    return f"'{value}'" if isinstance(value, str) else repr(value)


def _prepare(connection, seed: int) -> None:
    """The shop shared by all parts: personas, sales, campaigns, categories, the draws."""
    connection.execute("SET TimeZone = 'UTC'")
    now = NOW.strftime("%Y-%m-%d %H:%M:%S+00")
    # u(a, b, c): a uniform double in [0, 1) drawn from the seed and three values.
    connection.execute(f"CREATE OR REPLACE MACRO u(a, b, c) AS "
                       f"(hash(hash({seed}, a, b, c)) >> 11)::DOUBLE / 9007199254740992.0")
    connection.execute(f"CREATE OR REPLACE MACRO now_s() AS epoch(TIMESTAMPTZ '{now}')::BIGINT")
    connection.execute("CREATE OR REPLACE MACRO stamp(s) AS to_timestamp(s)")
    rows, cumulative = [], 0.0
    for persona in PERSONAS:
        cumulative += persona[1]
        rows.append("(" + ", ".join(_literal(v) for v in (*persona, round(cumulative, 6))) + ")")
    connection.execute(f"CREATE OR REPLACE TABLE personas ({', '.join(PERSONA_COLUMNS)}, upto) "
                       f"AS VALUES {', '.join(rows)}")
    sales = generator().sale_periods(NOW)
    connection.execute("CREATE OR REPLACE TABLE sales AS SELECT * FROM (VALUES " + ", ".join(
        f"({number}, epoch(TIMESTAMPTZ '{first} 00:00:00+00')::BIGINT, "
        f"epoch(TIMESTAMPTZ '{last + dt.timedelta(days=1)} 00:00:00+00')::BIGINT)"
        for number, (first, last) in enumerate(sales)) + ") t(sale, s, e)")
    connection.execute(f"CREATE OR REPLACE MACRO sale_count() AS {len(sales)}")
    # Campaigns: every Tuesday at 09:00 UTC over the history, plus each sale's first and
    # last-week days.
    connection.execute("""
        CREATE OR REPLACE TABLE campaigns AS
        SELECT DISTINCT sent FROM (
            SELECT epoch(d + INTERVAL 9 HOUR)::BIGINT AS sent
            FROM generate_series(TIMESTAMPTZ '2024-07-16 00:00:00+00',
                                 TIMESTAMPTZ '2026-07-14 00:00:00+00', INTERVAL 7 DAY) g(d)
            UNION ALL SELECT s + 8 * 3600 FROM sales
            UNION ALL SELECT e - 7 * 86400 + 8 * 3600 FROM sales)
        WHERE sent <= now_s()""")
    categories = generator().CATEGORIES
    total = sum(c[1] for c in categories)
    cumulative, rows = 0, []
    for number, (name, weight, prefix, low, high) in enumerate(categories):
        cumulative += weight
        rows.append(f"({number}, '{name}', '{prefix}', {low}, {high}, {cumulative / total!r})")
    connection.execute("CREATE OR REPLACE TABLE categories (c, name, prefix, lo, hi, upto) AS "
                       "VALUES " + ", ".join(rows))
    cumulative, rows = 0, []
    total = sum(w for _, w in COUNTRIES)
    for code, weight in COUNTRIES:
        cumulative += weight
        rows.append(f"('{code}', {cumulative / total!r})")
    connection.execute("CREATE OR REPLACE TABLE countries (code, upto) AS VALUES "
                       + ", ".join(rows))


def _category_table() -> list[tuple[int, float]]:
    categories = generator().CATEGORIES
    total = sum(c[1] for c in categories)
    cumulative, found = 0, []
    for number, category in enumerate(categories):
        cumulative += category[1]
        found.append((number, cumulative / total))
    return found


def _country_table() -> list[tuple[str, float]]:
    total = sum(w for _, w in COUNTRIES)
    cumulative, found = 0, []
    for code, weight in COUNTRIES:
        cumulative += weight
        found.append((f"'{code}'", cumulative / total))
    return found


def _pick(draw: str, table: list) -> str:
    """A CASE choosing the first value whose cumulative share exceeds ``draw``."""
    arms = " ".join(f"WHEN {draw} < {upto!r} THEN {value}" for value, upto in table[:-1])
    return f"CASE {arms} ELSE {table[-1][0]} END"


def _write_part(connection, directory: Path, number: int, first: int, last: int) -> None:
    """Customers ``first``..``last``: one Parquet file per table."""
    name = f"part-{number:04d}.parquet"
    # One row per customer with everything its rows are drawn from (times in epoch seconds).
    connection.execute(f"""
        CREATE OR REPLACE TEMP TABLE c AS
        WITH base AS (
            SELECT id, u(id, 0, 'persona') AS pu FROM range({first}, {last + 1}) r(id)),
        persona AS (
            SELECT b.id, p.* FROM base b
            JOIN personas p ON b.pu < p.upto AND b.pu >= p.upto - p.share),
        drawn AS (
            SELECT *,
                now_s() - (86400 * (signup_lo + (signup_hi - signup_lo) * u(id, 0, 'signup'))
                          )::BIGINT AS signup,
                gap_lo + (gap_hi - gap_lo) * u(id, 0, 'gap') AS gap,
                last_lo + (last_hi - last_lo) * u(id, 0, 'last') AS last_ago,
                (visits_lo + (visits_hi - visits_lo) * u(id, 0, 'rate')) / (30 * 86400)
                    AS visit_rate,
                open_lo + (open_hi - open_lo) * u(id, 0, 'open') AS open_rate,
                u(id, 0, 'subscribed') < subscribe_rate AS subscribed,
                {_pick("u(id, 0, 'favourite')", _category_table())} AS favourite,
                {_pick("u(id, 0, 'country')", _country_table())} AS country
            FROM persona),
        planned AS (
            SELECT *,
                greatest(signup, now_s() - (86400 * last_ago)::BIGINT) AS last_order,
                CASE WHEN persona IN ('at_risk', 'churned')
                     THEN now_s() - (86400 * last_ago)::BIGINT ELSE now_s() END AS active_until,
                CASE
                    WHEN gap > 0 AND now_s() - (86400 * last_ago)::BIGINT > signup
                        THEN 1 + ((now_s() - (86400 * last_ago)::BIGINT - signup)
                                  / (86400 * gap))::BIGINT
                    WHEN persona = 'sale_shopper' THEN 1 + (4 * u(id, 0, 'n'))::BIGINT
                    WHEN persona = 'new' AND u(id, 0, 'n') < 0.5 THEN 1
                    WHEN persona = 'undecided' AND u(id, 0, 'n') < 0.3 THEN 1
                    ELSE 0 END AS order_count
            FROM drawn)
        SELECT *, CASE WHEN subscribed THEN now_s()
                       WHEN u(id, 0, 'mailed') < 0.6
                           THEN signup + ((now_s() - signup) * u(id, 1, 'mailed'))::BIGINT
                       ELSE signup END AS mailed_until
        FROM planned""")
    connection.execute(f"""
        COPY (SELECT id, country, stamp(signup) AS signed_up_at, subscribed AS email_subscribed
              FROM c ORDER BY id)
        TO '{directory / 'customers' / name}' (FORMAT parquet)""")
    # Orders: regular ones spread back from the last order, sale shoppers' in the sales.
    connection.execute("""
        CREATE OR REPLACE TEMP TABLE o AS
        WITH numbered AS (
            SELECT id AS customer_id, k, persona, signup, last_order, gap, tier, basket,
                   discount_taste, favourite, visits_before, id * 1000 + k AS order_id
            FROM (SELECT *, unnest(range(order_count)) AS k FROM c)),
        timed AS (
            SELECT n.*, CASE
                WHEN persona = 'sale_shopper' THEN (
                    SELECT s + ((e - s) * u(customer_id, k, 'in sale'))::BIGINT FROM sales
                    WHERE sale = (sale_count() * u(customer_id, k, 'sale'))::BIGINT
                                 % sale_count())
                WHEN persona IN ('new', 'undecided')
                    THEN signup + ((now_s() - signup) * u(customer_id, k, 'ts'))::BIGINT
                ELSE last_order - (86400 * gap * (k + u(customer_id, k, 'ts') - 0.5))::BIGINT
                END AS ts
            FROM numbered n)
        SELECT t.*, EXISTS (SELECT 1 FROM sales WHERE t.ts >= s AND t.ts < e) AS in_sale
        FROM timed t WHERE t.ts >= t.signup AND t.ts <= now_s()""")
    connection.execute(f"""
        CREATE OR REPLACE TEMP TABLE i AS
        WITH lines AS (
            SELECT order_id, customer_id, in_sale, tier, discount_taste, favourite, j,
                   CASE WHEN u(order_id, j, 'fav') < 0.5 THEN favourite
                        ELSE {_pick("u(order_id, j, 'cat')", _category_table())}
                   END AS c
            FROM (SELECT *, unnest(range(1 + (basket * u(order_id, 0, 'size')
                                              * u(order_id, 1, 'size'))::BIGINT)) AS j FROM o)),
        priced AS (
            SELECT l.order_id, l.j, cat.name AS category,
                   (40 * u(l.order_id, l.j, 'sku'))::BIGINT AS number, cat.prefix,
                   (100 * (cat.lo + (cat.hi - cat.lo) * CASE tier
                        WHEN 0 THEN 0.3 * u(l.order_id, l.j, 'price')
                        WHEN 2 THEN 0.5 + 0.5 * u(l.order_id, l.j, 'price')
                        ELSE u(l.order_id, l.j, 'price') END))::BIGINT // 100 * 100 + 90
                        AS cents,
                   u(l.order_id, l.j, 'discounted') < CASE WHEN in_sale
                        THEN greatest(0.6, discount_taste) ELSE discount_taste END AS discounted,
                   CASE WHEN in_sale THEN 20 + 10 * (4 * u(l.order_id, l.j, 'off'))::BIGINT
                        ELSE 10 + 5 * (4 * u(l.order_id, l.j, 'off'))::BIGINT END AS off
            FROM lines l JOIN categories cat ON cat.c = l.c)
        SELECT order_id, j, prefix || lpad((number + 1)::VARCHAR, 3, '0') AS sku, category,
               CASE WHEN discounted THEN (cents * (100 - off) + 50) // 100 ELSE cents END
                   AS cents, discounted
        FROM priced""")
    connection.execute(f"""
        COPY (SELECT o.order_id AS id, o.customer_id, stamp(o.ts) AS "at",
                     t.cents / 100 AS total
              FROM o JOIN (SELECT order_id, sum(cents) AS cents FROM i GROUP BY order_id) t
                ON t.order_id = o.order_id
              ORDER BY o.customer_id, o.ts)
        TO '{directory / 'orders' / name}' (FORMAT parquet)""")
    connection.execute(f"""
        COPY (SELECT order_id, sku, category, cents / 100 AS price, discounted FROM i
              ORDER BY order_id, j)
        TO '{directory / 'order_items' / name}' (FORMAT parquet)""")
    _write_events(connection, directory / "events" / name)


def _write_events(connection, path: Path) -> None:
    connection.execute("""
        CREATE OR REPLACE TEMP TABLE v AS
        WITH habit AS (
            SELECT id, active_until, signup, abandon_rate, reco_rate,
                   (visit_rate * (active_until - signup) + u(id, 0, 'habit'))::BIGINT AS active,
                   (0.1 * visit_rate * (now_s() - active_until) + u(id, 1, 'habit'))::BIGINT
                       AS lapsed,
                   CASE WHEN persona = 'undecided' AND u(id, 0, 'burst') < 0.7
                            THEN 10 + (15 * u(id, 1, 'burst'))::BIGINT
                        WHEN persona = 'new' THEN 2 + (10 * u(id, 1, 'burst'))::BIGINT
                        WHEN persona = 'loyal' AND u(id, 0, 'burst') < 0.15
                            THEN 8 + (10 * u(id, 1, 'burst'))::BIGINT
                        ELSE 0 END AS burst
            FROM c),
        browsing AS (
            SELECT id, abandon_rate, reco_rate, k, CASE
                WHEN k < active THEN signup + ((active_until - signup) * u(id, k, 'visit'))::BIGINT
                WHEN k < active + lapsed
                    THEN active_until + ((now_s() - active_until) * u(id, k, 'visit'))::BIGINT
                ELSE greatest(signup, now_s() - (29 * 86400 * u(id, k, 'visit'))::BIGINT)
                END AS ts
            FROM (SELECT *, unnest(range(active + lapsed + burst)) AS k FROM habit)),
        buying AS (
            SELECT o.customer_id AS id, o.order_id, o.ts, o.signup, c.abandon_rate, c.reco_rate,
                   (o.visits_before + 1) * u(o.order_id, 0, 'before') AS before
            FROM o JOIN c ON c.id = o.customer_id)
        SELECT id, ts, true AS browsing, abandon_rate, reco_rate, k AS salt FROM browsing
        UNION ALL
        SELECT id, greatest(signup, ts - 120 - (1680 * u(order_id, 0, 'visit'))::BIGINT), false,
               abandon_rate, reco_rate, order_id FROM buying
        UNION ALL
        SELECT id, greatest(signup, ts - 3600 - (255600 * u(order_id, j, 'before'))::BIGINT),
               false, abandon_rate, reco_rate, order_id * 10 + j
        FROM (SELECT *, unnest(range(before::BIGINT)) AS j FROM buying)""")
    connection.execute(f"""
        COPY (
            SELECT id AS customer_id, 'visit' AS type, stamp(ts) AS "at" FROM v
            UNION ALL
            SELECT id, 'recommendation_click',
                   stamp(least(now_s(), ts + 60 + (540 * u(id, salt, 'reco ts'))::BIGINT))
            FROM v WHERE u(id, salt, 'reco') < reco_rate
            UNION ALL
            SELECT id, 'cart_abandoned',
                   stamp(least(now_s(), ts + 180 + (1320 * u(id, salt, 'cart ts'))::BIGINT))
            FROM v WHERE browsing AND u(id, salt, 'cart') < abandon_rate
            UNION ALL
            SELECT id, type, stamp(ts) FROM (
                SELECT c.id, 'email_open' AS type,
                       m.sent + 300 + (172800 * u(c.id, m.sent, 'opened') ^ 3)::BIGINT AS ts,
                       u(c.id, m.sent, 'click') < c.click_rate AS clicked
                FROM c JOIN campaigns m ON m.sent > c.signup AND m.sent <= c.mailed_until
                WHERE u(c.id, m.sent, 'open') < CASE WHEN m.sent <= c.active_until
                      THEN c.open_rate ELSE c.open_rate / 4 END) opened
            WHERE ts <= now_s()
            UNION ALL
            SELECT id, 'email_click', stamp(least(now_s(), ts + 5 + (295 * u(id, ts, 'c'))::BIGINT))
            FROM (SELECT c.id, m.sent + 300 + (172800 * u(c.id, m.sent, 'opened') ^ 3)::BIGINT
                             AS ts
                  FROM c JOIN campaigns m ON m.sent > c.signup AND m.sent <= c.mailed_until
                  WHERE u(c.id, m.sent, 'open') < CASE WHEN m.sent <= c.active_until
                        THEN c.open_rate ELSE c.open_rate / 4 END
                    AND u(c.id, m.sent, 'click') < c.click_rate) clicked
            WHERE ts <= now_s()
            ORDER BY customer_id, "at")
        TO '{path}' (FORMAT parquet)""")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.columnar_data",
                                     description="Write the columnar workload's Parquet tables.")
    parser.add_argument("size", type=int, help="number of customers")
    parser.add_argument("--out", type=Path, help=f"directory (default: ${DATA_ENV} or "
                                                 "~/.cache/segdsl-bench, one per size)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: every core)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Generate one size's tables and print their manifest."""
    args = _arguments(argv)
    directory = args.out or default_directory(args.size, args.seed)
    info = generate(args.size, directory, seed=args.seed, threads=args.threads,
                    log=lambda text: print(text, file=sys.stderr, flush=True))
    print(json.dumps({"directory": str(directory), **info}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
