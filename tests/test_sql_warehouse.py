"""The BigQuery and Snowflake queries, which are generated only (no server runs here).

- Golden files: ``tests/golden/<dialect>/<example>.sql`` is the query of each example
  rule file (``now`` 2026-07-15T12:00:00Z, the zone Europe/Paris); a file the dialect
  refuses has ``<example>.error``, the CheckError's message, instead. After a
  deliberate change to the compiler, refresh them with::

      SEGDSL_REFRESH_GOLDEN=1 python -m pytest -q tests/test_sql_warehouse.py

  and read the diff before committing it.
- Every query (the examples and the constructs of the DuckDB engine's tests) parses
  back with sqlglot in its dialect and prints back the same (sqlglot writes
  ``INTERVAL -12 MONTH``, BigQuery's documented form, as ``INTERVAL '-12' MONTH``).
- What each dialect refuses is a CheckError with an exact message and position.
- Snowflake's ``matches``: RE2 patterns are translated into POSIX patterns that mean
  the same, checked here against RE2 itself on random texts.
- The BigQuery/Snowflake reading of wall clocks by the zone's offsets, run on DuckDB,
  gives python-dateutil's instants across daylight-saving changes.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from pathlib import Path

import duckdb
import pytest
import re2
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

import segdsl
from segdsl.sql.dialects import dialect as find_dialect
from segdsl.sql.dialects.duckdb import DuckDB
from segdsl.sql.dialects.snowflake import posix_pattern

sys.path.insert(0, str(Path(__file__).parent))
import test_recipes
from test_sql_engine import CASES, LAYOUT, SCHEMA

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
EXAMPLES = sorted((ROOT / "examples").glob("*.seg"))
# The recipes read birth dates as dates, and coordinates: their schema is declared.
SCHEMAS = {"recipes": test_recipes.SCHEMA}
DIALECTS = ("bigquery", "snowflake")
NOW = "2026-07-15T12:00:00Z"
ZONE = "Europe/Paris"
REFRESH = os.environ.get("SEGDSL_REFRESH_GOLDEN") == "1"


def _normalized(text: str) -> str:
    """sqlglot's reprint of a BigQuery interval of a whole number."""
    return re.sub(r"INTERVAL '(-?\d+)'", r"INTERVAL \1", text)


def _reads_back(text: str, dialect: str) -> None:
    """``text`` parses in ``dialect`` and prints back the same."""
    again = sqlglot.parse_one(text, read=dialect).sql(dialect, pretty=True)
    assert _normalized(again) == text


def _golden(path: Path, dialect: str) -> tuple[str, str]:
    """The golden file's name for ``path`` and what it must hold."""
    rules = segdsl.load(path, timezone=ZONE, schema=SCHEMAS.get(path.stem))
    try:
        return f"{path.stem}.sql", rules.to_sql(dialect=dialect, now=NOW) + "\n"
    except segdsl.CheckError as error:
        return f"{path.stem}.error", f"{path.name}:{error.line}:{error.column}: {error.message}\n"


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("path", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_queries_match_their_golden_files(path, dialect):
    """The query of each example file is its golden file, byte for byte (refresh: see
    the module's docstring)."""
    name, text = _golden(path, dialect)
    folder = GOLDEN / dialect
    target = folder / name
    if REFRESH:
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(f"{path.stem}.*"):
            stale.unlink()
        target.write_text(text, encoding="utf-8")
    assert target.exists(), f"no golden file {target}: run with SEGDSL_REFRESH_GOLDEN=1"
    assert target.read_text(encoding="utf-8") == text
    assert not [other for other in folder.glob(f"{path.stem}.*") if other != target]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_compiled_example_has_a_query(dialect):
    """The two example files the compiler covers give a query, not a refusal, in both
    warehouses (recipes.seg changes the case of a list of texts, which neither compiles yet)."""
    for stem in ("lifecycle", "summer_sale"):
        assert (GOLDEN / dialect / f"{stem}.sql").exists()


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("path", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_queries_read_back_unchanged(path, dialect):
    """Each example's query, with ``now`` written in or left as the dialect's parameter,
    in UTC and in Paris, parses with sqlglot's parser of the dialect and prints back
    the same text."""
    for zone in (None, ZONE):
        rules = segdsl.load(path, timezone=zone, schema=SCHEMAS.get(path.stem))
        for now in (None, NOW):
            try:
                text = rules.to_sql(dialect=dialect, now=now)
            except segdsl.CheckError:
                assert path.stem == "recipes"
                continue
            _reads_back(text, dialect)


def test_now_is_the_dialects_parameter():
    """Without ``now``, BigQuery reads the query parameter ``@now`` and Snowflake the
    session variable ``$now``, both as instants."""
    rules = segdsl.loads("segment s = purchased(30d)", schema=SCHEMA)
    assert "CAST(@now AS TIMESTAMP)" in rules.to_sql(dialect="bigquery")
    assert "CAST($now AS TIMESTAMPTZ)" in rules.to_sql(dialect="snowflake")
    assert "@now" not in rules.to_sql(dialect="bigquery", now=NOW)


# What each dialect refuses among the constructs of the DuckDB engine's tests, with
# the message's start and its column (the line is 1: "segment s = <rule>").
_MOD = "'%' is not supported by the bigquery engine yet: BigQuery's MOD takes no FLOAT64"
_LISTS = "lists of values is not supported by the snowflake engine yet"
_FIRST = ("first() and last() of another field than the timestamp is not supported by the "
          "snowflake engine yet")
_POSIX = "may mean another thing in Snowflake's POSIX regular expressions"
REFUSED = {
    "bigquery": {
        "(-7) % 3 == 2": (_MOD, 13), "age % -4 == -2": (_MOD, 13),
        "age % 0 is null": (_MOD, 13),
    },
    "snowflake": {
        '"vip" in tags': (_LISTS, 13), '"new" in tags': (_LISTS, 13),
        '"new" not in tags': (_LISTS, 13), 'tags contains "new"': (_LISTS, 13),
        'not (tags contains "new")': (_LISTS, 18), "length(tags) == 2": (_LISTS, 13),
        "count(tags) == 1": (_LISTS, 13), "exists(tags)": (_LISTS, 13),
        "first(orders.total) == 12.5": (_FIRST, 13), "last(orders.total) == 0.2": (_FIRST, 13),
        "count(orders, where = first(items.price) == total) == 2": (_FIRST, 35),
        'email matches "(?i)^zoé"': (
            ("'matches' with the pattern '(?i)^zoé' is not supported by the snowflake engine "
            f"yet: a flag group such as (?i) {_POSIX}"), 13),
        'email matches "^\\\\pL+\\\\.\\\\pL+@"': (
            ("'matches' with the pattern '^\\\\pL+\\\\.\\\\pL+@' is not supported by the "
            f"snowflake engine yet: the escape \\p {_POSIX}"), 13),
    },
}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_constructs_compile_or_are_refused_exactly(dialect):
    """Every construct of the DuckDB engine's tests either compiles to a query that
    reads back unchanged, in UTC and in Paris, or is refused with its exact message at
    the construct; the refused ones are exactly those listed."""
    refused = {}
    for text, _ in CASES:
        for zone in (None, ZONE):
            rules = segdsl.loads(f"segment s = {text}", schema=SCHEMA, timezone=zone)
            try:
                query = rules.to_sql(dialect=dialect, layout=LAYOUT, now=NOW)
            except segdsl.CheckError as error:
                refused[text] = (error.message, error.column)
                assert error.line == 1
                continue
            _reads_back(query, dialect)
    assert refused == REFUSED[dialect]


@pytest.mark.parametrize(("dialect", "text", "message"), [
    ("snowflake", "address.city == \"Paris\"",
     "nested record fields is not supported by the snowflake engine yet"),
    ("snowflake", 'email matches "é"',
     ("'matches' with the pattern 'é' is not supported by the snowflake engine yet: the "
     f"character 'é' beyond ASCII {_POSIX}")),
    ("snowflake", 'email matches "[a-]z"', None),
    ("snowflake", 'email matches "[+--]"',
     ("'matches' with the pattern '[+--]' is not supported by the snowflake engine yet: "
     f"the range +-- {_POSIX}")),
    ("snowflake", 'email matches "a|"',
     ("'matches' with the pattern 'a|' is not supported by the snowflake engine yet: an "
     f"empty alternative {_POSIX}")),
    ("bigquery", "signed_up_at - now > 2d", None),
    ("bigquery", "address.city == \"Paris\"", None),
    ("bigquery", "age % 2 == 1", _MOD),
])
def test_more_refusals_are_exact(dialect, text, message):
    """Record fields (Snowflake holds records as VARIANT), patterns beyond the common
    part of RE2 and POSIX, and BigQuery's modulo of doubles are refused with these
    messages; what is not listed compiles."""
    rules = segdsl.loads(f"segment s = {text}", schema=SCHEMA)
    if message is None:
        _reads_back(rules.to_sql(dialect=dialect, layout=LAYOUT), dialect)
        return
    with pytest.raises(segdsl.CheckError) as caught:
        rules.to_sql(dialect=dialect, layout=LAYOUT)
    assert caught.value.message == message
    assert (caught.value.line, caught.value.column) == (1, 13)


def test_snowflake_stops_the_query_by_reading_the_message_as_a_number():
    """Snowflake has no function raising an error: a date stepped beyond 9999, or
    ``lower()`` of text beyond ASCII, reads the message as an INTEGER, for the rows
    concerned only, with two different branches an optimizer cannot merge."""
    rules = segdsl.loads('segment s = signed_up_at + 1m <= now and lower(email) == "a"',
                         schema=SCHEMA)
    text = rules.to_sql(dialect="snowflake", pretty=False)
    assert "CAST(IFF(NOT" in text and "'a date-time outside the years 1 to 9999', '0') " \
        "AS INT) = 0" in text
    assert "OCTET_LENGTH(s0.email) > LENGTH(s0.email)" in text
    assert ("lower() of characters whose case the snowflake engine changes otherwise than "
            "Python is not supported yet") in text


def test_bigquery_filters_inside_the_aggregates():
    """BigQuery has no FILTER clause: counts are COUNTIF, sums and extremes aggregate
    IF(condition, x, NULL), and first/last an ARRAY_AGG of structs, nulls last."""
    rules = segdsl.loads("segment s = first(orders.total, within = 30d) > 1 and "
                         "spent(30d) > 1 and purchased(30d)", schema=SCHEMA)
    text = rules.to_sql(dialect="bigquery", layout=LAYOUT, pretty=False)
    assert "FILTER" not in text and "COUNTIF(" in text and "SUM(IF(" in text
    assert "AS BIGNUMERIC)" in text
    assert ("ARRAY_AGG(IF(s1.`at` > " in text and "STRUCT(s1.total AS v), NULL) IGNORE NULLS "
            "ORDER BY s1.`at` IS NULL, s1.`at` ASC, s1.id IS NULL, s1.id ASC LIMIT 1)[SAFE_OFFSET(0)].v"
            in text)


def test_snowflake_sums_whole_parts_below_two_to_the_53():
    """Snowflake's exact sum splits each ``ROUND(v * 1e9)`` into three whole doubles
    below 2**53 (each step exact in doubles) before converting them to NUMBER(38, 0):
    the split, done in Python with the same double operations, gives back the exact
    integer for values of every size."""
    chunk = float(2 ** 53)
    for whole in (0.0, 1.0, -5.0, 2.0 ** 53 - 1, 2.0 ** 60 + 2 ** 8, -(2.0 ** 70), 1e30,
                  -1.2345e37, 2.0 ** 106 + 2.0 ** 60, 9.99e37):
        high = float(int(whole / (chunk * chunk)))
        middle = float(int(whole / chunk)) - high * chunk
        low = whole - float(int(whole / chunk)) * chunk
        assert all(abs(part) < chunk for part in (high, middle, low))
        assert int(low) + int(middle) * 2 ** 53 + int(high) * 2 ** 106 == int(whole)
    text = segdsl.loads("segment s = spent(30d) > 1", schema=SCHEMA).to_sql(
        dialect="snowflake", pretty=False)
    assert "AS DECIMAL(38, 0)) * CAST(81129638414606681695789005144064 AS DECIMAL(38, 0))" \
        in text


# Snowflake's regular expressions

@pytest.mark.parametrize(("pattern", "posix"), [
    ("^[a-z]+@", "^[a-z]+@"), ("R$", "R$"), ("a.c", "a.c"), (r"\d{3,}", "[0-9]{3,}"),
    (r"\w+\.fr$", "[0-9A-Za-z_]+\\.fr$"), (r"(?:ab|cd)+?x", "(ab|cd)+x"),
    (r"(?P<user>\S+)@", "([^\t\n\f\r ]+)@"), (r"[\d.-]", "[0-9.-]"), (r"\Avip\z", "^vip$"),
    (r"a\-b\/c", "a-b/c"), ("x{,2}", "x\\{,2}"), (r"\bvip\b", r"\bvip\b"),
    (r"[^\s]", "[^\t\n\f\r ]"), (r"\x41\t", "A\t"),
])
def test_snowflake_patterns_are_translated(pattern, posix):
    """RE2 patterns made of the common part of RE2 and POSIX ERE are translated: Perl
    classes become brackets, non-capturing and named groups plain groups, lazy
    quantifiers greedy ones, a brace that is no repetition an escaped brace."""
    assert posix_pattern(pattern, find_dialect("snowflake").refuse) == posix


_ALPHABET = "ab1_ .\n-@É"
_PIECES = st.sampled_from([
    "a", "b", "1", ".", "@", r"\d", r"\w", r"\s", r"\S", r"\W", "[ab]", "[^a]", "[a-b1]",
    r"\.", "^", "$", r"\b", "(a|b)", "(?:ab)", "a*", "b+", "1?", "a{2}", "b{1,2}", "[_-]",
    "a*?", r"\A", r"\z",
])


@settings(max_examples=150, deadline=None)
@given(pieces=st.lists(_PIECES, min_size=1, max_size=5),
       text=st.text(alphabet=_ALPHABET, max_size=8))
def test_translated_patterns_find_what_re2_finds(pieces, text):
    """A translated pattern, searched as Snowflake's whole-text RLIKE is given it
    (``(.|\\n)*(pattern)(.|\\n)*``), finds a match exactly when RE2 finds the original
    anywhere (RE2 reads both: the translation only uses what POSIX reads alike)."""
    pattern = "".join(pieces)
    try:
        original = re2.compile(pattern)
    except re2.error:
        return
    try:
        posix = posix_pattern(pattern, find_dialect("snowflake").refuse)
    except segdsl.CheckError:
        return
    whole = re2.compile(f"(.|\n)*({posix})(.|\n)*")
    assert (whole.fullmatch(text) is not None) == (original.search(text) is not None)


# Wall clocks read by the zone's offsets, run on DuckDB

@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "Australia/Lord_Howe"])
def test_wall_clocks_are_read_as_the_python_engine_reads_them(zone):
    """Across the daylight-saving changes of 2026 (skipped and repeated wall clocks,
    Lord Howe's half hour), the reading from the zone's offsets that every dialect
    but PostgreSQL's and Spark's shares gives, run on DuckDB, the instants the
    Python engine's zone gives (segdsl.zones)."""
    from segdsl.timeline import as_timezone

    zone_info = as_timezone(zone)
    start = dt.datetime(2026, 1, 1)
    walls = [start + dt.timedelta(minutes=15 * k) for k in range(365 * 24 * 4)
             if (start + dt.timedelta(minutes=15 * k)).hour in (0, 1, 2, 3)]
    query = exp.select(exp.column("w"), DuckDB().instant(exp.column("w"), zone)).from_("walls")
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute("CREATE TABLE walls (w TIMESTAMP)")
    connection.executemany("INSERT INTO walls VALUES (?)", [(w,) for w in walls])
    for wall_clock, found in connection.execute(query.sql("duckdb")).fetchall():
        assert found == wall_clock.replace(tzinfo=zone_info).astimezone(dt.UTC), wall_clock


# A cross-check of the logic on DuckDB, through sqlglot's transpiler

# What sqlglot cannot transpile to DuckDB (not a fault of the queries): ARRAY_AGG with
# LIMIT, and OCTET_LENGTH of text (DuckDB's takes bytes).
_NOT_TRANSPILED = {
    "bigquery": {"first(orders.total) == 12.5", "last(orders.total) == 0.2",
                 "count(orders, where = first(items.price) == total) == 2"},
    "snowflake": {'lower(country) == "fr"'},
}


@pytest.fixture(scope="module")
def hand_built():
    """The DuckDB engine tests' hand-built tables."""
    from test_sql_engine import TABLES

    connection = duckdb.connect()
    for statement in TABLES.split(";"):
        if statement.strip():
            connection.execute(statement)
    return connection


@pytest.mark.parametrize("dialect", DIALECTS)
def test_queries_transpiled_to_duckdb_give_the_python_engines_members(hand_built, dialect):
    """Each construct's BigQuery or Snowflake query, transpiled by sqlglot to DuckDB and
    run on the hand-built tables (in Paris: daylight saving, calendar steps), gives the
    Python engine's members: a check of the queries' logic (each function as sqlglot
    maps it), not of the warehouses' own semantics, which the dialect modules document."""
    import logging

    from test_sql_engine import CUSTOMERS
    from test_sql_engine import NOW as ENGINE_NOW

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    for text, _ in CASES:
        if text in REFUSED[dialect] or text in _NOT_TRANSPILED[dialect]:
            continue
        rules = segdsl.loads(f"segment s = {text}", schema=SCHEMA, timezone=ZONE)
        query = rules.to_sql(dialect=dialect, layout=LAYOUT, now=ENGINE_NOW)
        rows = hand_built.execute(sqlglot.transpile(query, read=dialect, write="duckdb")[0])
        found = sorted(row[0] for row in rows.fetchall() if row[1] is True)
        assert found == sorted(rules.evaluate(CUSTOMERS, now=ENGINE_NOW).members["s"]), text


@pytest.mark.parametrize("dialect", DIALECTS)
def test_example_queries_transpiled_to_duckdb_give_the_python_engines_members(dialect):
    """The golden queries of the example files, transpiled to DuckDB, give the Python
    engine's members of every segment on the 2,000 example customers."""
    import json
    import logging

    import segdsl.sql
    from segdsl.sql.layout import Layout

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    with open(ROOT / "examples" / "data" / "customers.jsonl", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    connection = duckdb.connect()
    segdsl.sql.load_records(connection, records, Layout.from_schema(None))
    for stem in ("lifecycle", "summer_sale"):
        rules = segdsl.load(ROOT / "examples" / f"{stem}.seg", timezone=ZONE)
        text = (GOLDEN / dialect / f"{stem}.sql").read_text(encoding="utf-8")
        rows = connection.execute(sqlglot.transpile(text, read=dialect, write="duckdb")[0])
        names = [column[0] for column in rows.description][1:]
        table = rows.fetchall()
        found = {name: sorted(row[0] for row in table if row[i] is True)
                 for i, name in enumerate(names, start=1)}
        expected = rules.evaluate(records, now=NOW).members
        assert found == {name: sorted(ids) for name, ids in expected.items()}
