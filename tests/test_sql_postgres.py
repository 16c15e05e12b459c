"""The SQL engine on a real PostgreSQL server (started by the ``postgres_url`` fixture).

- random rules and data of the differential test (tests/test_sql_differential.py):
  the members of ``s``, ``u = not s`` and ``unknown`` equal the Python engine's;
- every segment of the example files on examples/data, in UTC and in Paris;
- the hand-built cases of tests/test_sql_engine.py, and what PostgreSQL does its
  own way: wall clocks around daylight-saving changes, NaN, division by zero,
  exact sums in NUMERIC, ``%`` on doubles, ``matches`` translated or refused,
  ``now`` bound as a parameter, text ordered by code points.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import test_sql_engine as hand
import test_sql_rankings as ranked
from hypothesis import example, given, settings
from test_sql_differential import run

import segdsl
import segdsl.sql
from segdsl.sql.dialects.posix import translate
from segdsl.sql.layout import Layout

psycopg = pytest.importorskip("psycopg")

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted(path for path in (ROOT / "examples").glob("*.seg") if path.name != "recipes.seg")
NOW = "2026-07-15T12:00:00Z"


@pytest.fixture(scope="module")
def database(postgres_url):
    """A connection to the test server's database (autocommit)."""
    connection = psycopg.connect(postgres_url, autocommit=True)
    yield connection
    connection.close()


def _run(url, *args, **options):
    """:func:`run` on a connection of its own to the database at ``url``."""
    with psycopg.connect(url, autocommit=True) as connection:
        return run(*args, connection=connection, **options)


def _in_schema(url, schema):
    """A connection whose tables are those of ``schema`` (created if need be), so that
    the data sets of the tests do not replace each other's tables."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    return psycopg.connect(url, autocommit=True, options=f"-c search_path={schema}")


# ------------------------------------------------------------------ differential


def _check(tally, mixed: float = 0.0) -> None:
    """PostgreSQL refuses only what DuckDB refuses too (constructs the SQL engine does
    not compile yet), but for ``matches`` patterns it cannot read the same way; most
    cases are compared; enough of them have both members and non-members."""
    assert all(reason.startswith("the pattern ") for reason in tally.dialect_only), \
        tally.report()
    assert tally.compared >= 0.3 * (tally.compared + tally.uncovered + tally.bad_data), \
        tally.report()
    assert tally.mixed >= mixed * tally.compared, tally.report()


def test_core_and_nested_rules_give_the_python_engines_members(postgres_url):
    """Random core rules and rules through orders.items: the same members on PostgreSQL."""
    _check(_run(postgres_url, frozenset(), 120, "pg_core"), 0.1)
    _check(_run(postgres_url, frozenset({"nested"}), 60, "pg_nested"), 0.1)


def test_windows_and_time_give_the_python_engines_members(postgres_url):
    """Rules through windows, periods, calendar months and time arithmetic, in UTC and
    Paris (daylight-saving days included): the same members on PostgreSQL."""
    _check(_run(postgres_url, None, 130, "pg_windows"), 0.1)


def test_rankings_and_untyped_fields_give_the_python_engines_members(postgres_url):
    """ntile, percentile and rfm.*, and rules without a schema (types from the columns):
    the same members on PostgreSQL (430 random cases in all, with the tests above)."""
    _check(_run(postgres_url, frozenset({"population"}), 60, "pg_population"), 0.1)
    _check(_run(postgres_url, None, 60, "pg_untyped", schema=None))


@pytest.fixture(scope="module")
def ranking_database(postgres_url):
    """A connection whose customers table the rankings test refills."""
    connection = _in_schema(postgres_url, "ranked")
    yield connection
    connection.close()


@settings(max_examples=25, deadline=None)
@given(ranked._AGES)
@example([0.0, 1.5, float("-inf")])  # 3 tiles: break points [nan, 0.5]; bisect is no count
def test_tiles_are_the_python_engines_on_random_populations(ranking_database, ages):
    """ntile and percentile over random ages (ties, nulls, signed zeros, infinities;
    -infinity, whose break points can be NaN): the Python engine's members on
    PostgreSQL, whose break points come from row numbers."""
    connection = ranking_database
    connection.execute("DROP TABLE IF EXISTS customers")
    connection.execute("CREATE TABLE customers (id BIGINT, age DOUBLE PRECISION)")
    with connection.cursor() as cursor:
        cursor.executemany("INSERT INTO customers VALUES (%s, %s)",
                           [(i, age) for i, age in enumerate(ages)])
    records = [{"id": i, "age": age} for i, age in enumerate(ages)]
    found = segdsl.sql.evaluate(ranked._RULES, connection, now=ranked.NOW, layout=ranked.LAYOUT)
    assert found.members == ranked._RULES.evaluate(records, now=ranked.NOW).members


# ------------------------------------------------------------------ the examples


@pytest.fixture(scope="module")
def example_data(postgres_url):
    """The example customers, as records and as PostgreSQL tables (of a schema of their own)."""
    with open(ROOT / "examples" / "data" / "customers.jsonl", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    connection = _in_schema(postgres_url, "examples")
    segdsl.sql.load_records(connection, records, Layout.from_schema(None))
    yield records, connection
    connection.close()


@pytest.mark.parametrize("zone", [None, "Europe/Paris"])
@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_every_example_segment_has_the_python_engines_members(example_data, path, zone):
    """Every segment of the example files, on the 2,000 example customers in PostgreSQL."""
    records, connection = example_data
    rules = segdsl.load(path, timezone=zone)
    expected = rules.evaluate(records, now=NOW)
    found = segdsl.sql.evaluate(rules, connection, now=NOW)
    assert found.members == {name: sorted(ids) for name, ids in expected.members.items()}
    assert found.total == expected.total == len(records)
    assert any(found.members.values())


# ------------------------------------------------------------------ hand-checked


@pytest.fixture(scope="module")
def hand_built(postgres_url):
    """The hand-built customers of tests/test_sql_engine.py, in PostgreSQL tables (of a
    schema of their own)."""
    connection = _in_schema(postgres_url, "hand")
    segdsl.sql.load_records(connection, hand.CUSTOMERS, hand.LAYOUT)
    yield connection
    connection.close()


def members(connection, text: str, zone: str | None = None, now: str = hand.NOW,
            customers=None) -> list:
    """The members of ``segment s = text`` on PostgreSQL, checked equal to the Python
    engine's."""
    rules = segdsl.loads(text if "segment" in text else f"segment s = {text}",
                         schema=hand.SCHEMA, timezone=zone)
    found = segdsl.sql.evaluate(rules, connection, now=now, layout=hand.LAYOUT)
    expected = rules.evaluate(customers or hand.CUSTOMERS, now=now)
    assert found.members == expected.members, (text, found.members, expected.members)
    return found["s"]


# The hand-built cases, but for the patterns PostgreSQL refuses and the overflow it
# raises an error for (both tested below).
CASES = [(text, expected) for text, expected in hand.CASES
         if "(?i)" not in text and "\\pL" not in text and "1e308" not in text]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[text for text, _ in CASES])
def test_members_on_hand_built_tables(hand_built, text, expected):
    """Each construct gives the members worked out by hand, on PostgreSQL too."""
    assert members(hand_built, text) == expected


def test_wall_clocks_around_daylight_saving_changes(hand_built):
    """In Paris, a calendar step landing on a wall clock seen twice takes its first
    occurrence, and one landing in the skipped hour the offset after the change, as
    python-dateutil does (PostgreSQL's own AT TIME ZONE reads the skipped one otherwise)."""
    paris = "Europe/Paris"
    # 2026-11-25 02:30 Paris minus 1m: 2026-10-25 02:30, first seen at 00:30Z.
    assert members(hand_built, "now - 1m == 2026-10-25T00:30:00Z", paris,
                   now="2026-11-25T01:30:00Z") == [1, 2, 3, 4]
    # 2026-04-29 02:30 Paris minus 1m: 2026-03-29 02:30, skipped: 00:30Z.
    assert members(hand_built, "now - 1m == 2026-03-29T00:30:00Z", paris,
                   now="2026-04-29T00:30:00Z") == [1, 2, 3, 4]
    assert members(hand_built, "signed_up_at + 1m == 2026-07-15T10:30:00Z", paris) == [1]
    assert members(hand_built, "purchased(during = 2026-07-01 .. 2026-07-01)", paris) == [4]


def test_nan_and_infinity_and_division_by_zero(database):
    """inf - inf (NaN) is null, as is a division by zero (PostgreSQL would raise one);
    infinite totals are stored and compared."""
    customers = [{"id": 1, "orders": [{"at": "2026-07-01T00:00:00Z", "total": float("inf")}]},
                 {"id": 2, "orders": [{"at": "2026-07-01T00:00:00Z", "total": 5}]}]
    segdsl.sql.load_records(database, customers, hand.LAYOUT)
    assert members(database, "max(orders.total) - max(orders.total) is null",
                   customers=customers) == [1]
    assert members(database, "max(orders.total) / 0 is null", customers=customers) == [1, 2]
    assert members(database, "max(orders.total) > 1e308", customers=customers) == [1]


def test_overflow_stops_the_query(hand_built):
    """A double overflowing to infinity (Python's inf) stops the query: PostgreSQL
    raises an error rather than give infinity."""
    rules = segdsl.loads("segment s = 1e308 * 10 - 1e308 * 10 is null", schema=hand.SCHEMA)
    with pytest.raises(segdsl.DataError, match="^the database could not compute the "
                       "segments: value out of range: overflow$"):
        segdsl.sql.evaluate(rules, hand_built, now=hand.NOW, layout=hand.LAYOUT)


def test_sums_are_exact_in_numeric(database):
    """Sums are exact decimal sums of the values rounded to 9 decimals, read back as
    the nearest double: 0.1 + 0.2 is 0.3, and totals beyond 2**63 units (BIGINT) too."""
    customers = [{"id": 1, "orders": [{"at": "2026-07-01T00:00:00Z", "total": v}
                                      for v in (0.1, 0.2)]},
                 {"id": 2, "orders": [{"at": "2026-07-01T00:00:00Z", "total": v}
                                      for v in (1e20, 3.5, -1e20)]},
                 {"id": 3, "orders": [{"at": "2026-07-01T00:00:00Z", "total": v}
                                      for v in (0.000000001, 0.0000000015, -0.0000000025)]}]
    segdsl.sql.load_records(database, customers, hand.LAYOUT)
    assert members(database, "sum(orders.total) == 0.3", customers=customers) == [1]
    assert members(database, "sum(orders.total) == 3.5", customers=customers) == [2]
    # 1 + 2 (1.5 rounds away from zero) - 3 (2.5 too): 0 units.
    assert members(database, "sum(orders.total) == 0", customers=customers) == [3]


def test_modulo_of_doubles(database):
    """``%`` is exact where the operands are their short decimals (whole numbers,
    halves, quarters) and takes the divisor's sign; otherwise the query stops."""
    customers = [{"id": 1, "age": 12.5}, {"id": 2, "age": -7}, {"id": 3, "age": 99.75}]
    segdsl.sql.load_records(database, customers, hand.LAYOUT)
    assert members(database, "age % 3 == 0.5", customers=customers) == [1]
    assert members(database, "age % 3 == 2", customers=customers) == [2]
    assert members(database, "age % -4 == -0.25", customers=customers) == [3]
    assert members(database, "age % 0 is null", customers=customers) == [1, 2, 3]
    rules = segdsl.loads("segment s = age % 0.1 == 0", schema=hand.SCHEMA)
    with pytest.raises(segdsl.DataError, match=r"^'%' of numbers that are not short decimals "
                       r"\(such as 0\.1, which a double holds only approximately\) is not "
                       r"supported by the postgres engine yet$"):
        segdsl.sql.evaluate(rules, database, now=hand.NOW, layout=hand.LAYOUT)


PATTERNS = ["^a.c$", "a.c", "\\d+", "\\w+@", "\\s", "[^a]", "[]a]", "[a\\-z]", "[\\d.]+$",
            "a{2,3}", "a+?b", "\\x41", "\\x{e9}", "\\.", "^(?:ab|cd)$", "(?P<x>b)c", "é",
            "\\Aab\\z", "\\S\\W\\D", "x*", "[\\t ]"]
TEXTS = ["abc", "a\nc", "٣٣", "éé@", "aab", "A", "é", ".", "ab", "cd", "bc", "a\n", "ab\n",
         "a-z", "a b", "]", "1.5", "x", "a\tb", "é@x", ""]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_translated_patterns_find_what_re2_finds(database, pattern):
    """RE2 patterns translated to PostgreSQL's regular expressions match the same texts:
    ``.`` not a newline, ``\\d`` and ``\\w`` ASCII only, ``$`` only at the very end."""
    customers = [{"id": i, "email": text} for i, text in enumerate(TEXTS)]
    segdsl.sql.load_records(database, customers, hand.LAYOUT)
    rule = json.dumps(pattern)
    members(database, f"email matches {rule}", customers=customers)


@pytest.mark.parametrize(("pattern", "why"), [
    ("(?i)abc", "flags such as (?i) fold case otherwise in PostgreSQL"),
    ("\\bab", "'\\b' has no equivalent of the same meaning in PostgreSQL"),
    ("\\pL+", "'\\p' has no equivalent of the same meaning in PostgreSQL"),
    ("[[:alpha:]]", "POSIX classes such as [:alpha:] are not ASCII only in PostgreSQL"),
    ("a{300}", "PostgreSQL repeats at most 255 times"),
    ("[\\D]", "'\\D' inside brackets"),
])
def test_patterns_that_may_mean_otherwise_are_refused(pattern, why):
    """A pattern PostgreSQL could read otherwise is a CheckError naming it, at its place."""
    text = f"segment s = email matches {json.dumps(pattern)}"
    rules = segdsl.loads(text, schema=hand.SCHEMA)
    with pytest.raises(segdsl.CheckError) as raised:
        rules.to_sql(dialect="postgres")
    assert raised.value.message == (f"the pattern {pattern!r} of 'matches' is not supported "
                                    f"by the postgres engine yet: {why}")
    assert raised.value.span is not None and raised.value.span.column == 13


def test_lower_and_upper_beyond_ascii_stop_the_query(hand_built):
    """lower() and upper() of text beyond ASCII (whose case mapping differs from
    Python's: "ß".upper() is "SS") stop the query with a DataError, as on DuckDB, and
    leave the caller's open transaction usable."""
    with psycopg.connect(hand_built.info.dsn) as connection:  # a transaction stays open
        connection.execute("SET search_path = hand")
        rules = segdsl.loads('segment s = upper(email) == "X"', schema=hand.SCHEMA)
        with pytest.raises(segdsl.DataError, match="^upper\\(\\) of characters whose case the "
                           "postgres engine changes otherwise than Python is not supported "
                           "yet$"):
            segdsl.sql.evaluate(rules, connection, now=hand.NOW, layout=hand.LAYOUT)
        assert connection.execute("SELECT count(*) FROM customers").fetchone() == (4,)


def test_now_is_a_bound_parameter_and_the_session_zone_changes_nothing(postgres_url):
    """The query reads ``now`` from its parameter %(now)s (never the server's clock),
    and a session in another time zone gives the same members; a URL works as a
    connection."""
    rules = segdsl.loads("segment s = signed_up_at == 2026-07-15\n"
                         "segment t = days_since_last_order == 14", schema=hand.SCHEMA,
                         timezone="Europe/Paris")
    text = rules.to_sql(dialect="postgres", pretty=False)
    assert "%(now)s" in text and "NOW()" not in text.upper().replace("%(NOW)S", "")
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        segdsl.sql.load_records(connection, hand.CUSTOMERS, hand.LAYOUT)
        connection.execute("SET TIME ZONE 'Pacific/Kiritimati'")
        found = segdsl.sql.evaluate(rules, connection, now=hand.NOW, layout=hand.LAYOUT)
    assert found.members == {"s": [4], "t": [4]}
    assert segdsl.sql.evaluate(rules, postgres_url, now=hand.NOW,
                               layout=hand.LAYOUT).members == found.members


def test_text_is_ordered_by_code_points_whatever_the_collation(database):
    """``<``, ``between``, ``==`` and ``in`` compare text by code points, as Python does,
    even in a column whose collation orders it otherwise or finds other texts equal;
    percent signs in literals are text, not parameters."""
    customers = [{"id": 1, "country": "B"}, {"id": 2, "country": "a"},
                 {"id": 3, "country": "%(now)s"}]
    segdsl.sql.load_records(database, customers, hand.LAYOUT)
    try:  # a collation of ICU's, which puts "a" before "B"
        database.execute("CREATE COLLATION IF NOT EXISTS segdsl_root (provider = icu, "
                         "locale = 'und')")
    except psycopg.Error as error:
        pytest.skip(f"this PostgreSQL has no ICU collations: {error}")
    database.execute("ALTER TABLE customers ALTER COLUMN country TYPE TEXT COLLATE segdsl_root")
    assert database.execute("SELECT 'a' < 'B' COLLATE segdsl_root").fetchone() == (True,)
    assert members(database, 'country < "a"', customers=customers) == [1, 3]
    assert members(database, 'country between "B" and "a"', customers=customers) == [1, 2]
    assert members(database, 'country == "%(now)s" or country ends_with "%(now)s"',
                   customers=customers) == [3]
    # A collation that finds "b" equal to "B": equality and 'in' are still Python's.
    database.execute("CREATE COLLATION IF NOT EXISTS segdsl_caseless (provider = icu, "
                     "locale = 'und-u-ks-level2', deterministic = false)")
    database.execute("ALTER TABLE customers ALTER COLUMN country TYPE TEXT "
                     "COLLATE segdsl_caseless")
    assert members(database, 'country == "b" or country in ["A"]', customers=customers) == []


_TOKENS = ["a", "b", "é", ".", "^", "$", "|", "(", ")", "(?:", "[", "]", "[^", "-", "*", "+",
           "?", "*?", "{2}", "{1,2}", "{2,}", "{", "}", ",", "\\d", "\\w", "\\s", "\\D", "\\W",
           "\\S", "\\.", "\\n", "\\x41", "\\A", "\\z", "\n", " ", "1", "_", "\\]", "\\-", "\\\\"]
_SAMPLES = ["", "a", "ab", "ba", "aab", "a\n", "\nb", "a b", "é", "A", "1", "_", "a.b", "-",
            "]", "\\", "a{2}", "ab\nab", "\t", "éa1 _", "b-a", "aaab"]


def test_random_patterns_find_what_re2_finds(database):
    """Random RE2 patterns (built from a grammar's tokens) that the dialect translates are
    valid PostgreSQL regular expressions matching exactly the texts RE2 matches."""
    import random

    import re2

    chance = random.Random(20260715)
    options = re2.Options()
    options.log_errors = False
    checked = 0
    for _ in range(600):
        pattern = "".join(chance.choice(_TOKENS) for _ in range(chance.randint(1, 6)))
        try:
            compiled = re2.compile(pattern, options)
        except re2.error:
            continue
        translated = translate(pattern)
        if isinstance(translated, tuple):
            continue
        found = database.execute(
            "SELECT array_agg(t ~ %(p)s ORDER BY i) FROM unnest(%(texts)s::text[]) "
            "WITH ORDINALITY AS s(t, i)", {"p": translated, "texts": _SAMPLES}).fetchone()[0]
        expected = [compiled.search(text) is not None for text in _SAMPLES]
        assert found == expected, (pattern, translated)
        checked += 1
    assert checked >= 150


def test_eval_into_appends_the_memberships_to_postgresql(example_data, postgres_url, capsys):
    """`segdsl eval --data postgresql://... --into TABLE` makes the table in that database,
    then appends to it: one row (segment, customer_id, now) per member."""
    from command_line import run

    records, connection = example_data
    expected = segdsl.load(ROOT / "examples" / "lifecycle.seg").evaluate(
        records, now=NOW, segments="prospects")["prospects"]
    url = f"{postgres_url}?options=-csearch_path%3Dexamples"
    connection.execute("DROP TABLE IF EXISTS memberships")
    for _ in range(2):
        status, _, err = run(capsys, "eval", str(ROOT / "examples" / "lifecycle.seg"), "--data",
                             url, "--now", NOW, "--segment", "prospects", "--into",
                             "memberships")
        assert (status, err) == (0, f"wrote {len(expected)} memberships into memberships\n")
    rows = connection.execute("SELECT segment, customer_id, now FROM memberships").fetchall()
    assert sorted(row[1] for row in rows) == sorted(expected + expected)
    assert {(row[0], row[2].isoformat()) for row in rows} == {
        ("prospects", "2026-07-15T12:00:00+00:00")}
