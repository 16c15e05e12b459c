"""The Spark SQL engine, on a real local SparkSession, against the Python engine.

Spark answers a query in seconds, not milliseconds, so the random cases are
evaluated in batches: the cases of the same zone and evaluation time become
one rule file (segments ``c{i}_s``, ``c{i}_u``, ``c{i}_unknown`` for case
``i``) over all their customers (ids ``i * 1000 + id``), one query; each
customer's memberships depend only on their own records. The example files
run once each on the example data, and hand-built tables check what Spark
does its own way (three-valued ``exists``, sums of nothing, NaN, division by
zero, time zones, ``rlike``).
"""

from __future__ import annotations

import json
import zoneinfo
from pathlib import Path

import duckdb
import pytest

import segdsl
import segdsl.sql
from segdsl.rules import evaluation_time
from segdsl.sql.dialects.spark import DIALECT, java_pattern
from segdsl.sql.layout import Layout
from tests.strategies import SCHEMA
from tests.test_differential import render
from tests.test_sql_differential import LAYOUT, Tally, run

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-07-15T12:00:00Z"
_BATCH = 6  # cases per query


def _draw(features, examples: int, name: str) -> list:
    drawn: list = []
    run(features, examples, name, check_case=lambda _c, case, *_: drawn.append(case))
    return drawn


def _batch_text(members: list) -> str:
    text = ""
    for index, setting, rule, _records, _expected in members:
        names = {p: f"c{index}p{j}" for j, p in enumerate(setting.periods)}
        text += "".join(f"period {name} = {start} .. {end}\n"
                        for (start, end), name in names.items())
        body = render(rule, names)
        text += (f"segment c{index}_s = {body}\nsegment c{index}_u = not {body}\n"
                 f"segment c{index}_unknown = not c{index}_s and not c{index}_u\n")
    return text


def compare_in_batches(spark, cases: list, tally: Tally) -> None:
    """Each case's members on Spark equal the Python engine's (refused cases counted)."""
    groups: dict = {}
    for index, (setting, rule, records, now) in enumerate(cases):
        full = segdsl.loads(_batch_text([(0, setting, rule, records, None)]), schema=SCHEMA,
                            timezone=setting.zone_name)
        try:
            segdsl.sql.to_sql(full, "spark", now=now, layout=LAYOUT)
        except segdsl.CheckError as error:
            assert "spark" in error.message, error.message
            tally.uncovered += 1
            reason = error.message.split(" is not supported")[0]
            tally.reasons[reason] = tally.reasons.get(reason, 0) + 1
            continue
        try:
            segdsl.sql.load_records(duckdb.connect(), records, LAYOUT,
                                    full._program.options.timezone)
        except segdsl.DataError:
            tally.unloadable += 1
            continue
        try:
            expected = full.evaluate(records, now=now)
        except segdsl.DataError:
            tally.bad_data += 1  # a query would stop on it: not batched
            continue
        key = (setting.zone_name, evaluation_time(now, full))
        groups.setdefault(key, [[]])
        if len(groups[key][-1]) == _BATCH:  # a query of many cases plans slowly
            groups[key].append([])
        groups[key][-1].append((index, setting, rule, records, expected))
    batches = [(key, batch) for key, batches in groups.items() for batch in batches]
    while batches:
        (zone, at), members = batches.pop()
        rules = segdsl.loads(_batch_text(members), schema=SCHEMA, timezone=zone)
        customers = [{**record, "id": index * 1000 + record["id"]}
                     for index, _s, _r, records, _e in members for record in records]
        segdsl.sql.load_records(spark, customers, LAYOUT, rules._program.options.timezone)
        try:
            found = segdsl.sql.evaluate(rules, spark, now=at, layout=LAYOUT)
        except segdsl.DataError as error:
            # The query stopped on data Spark cannot compute exactly (lower() of a
            # character Java maps otherwise): each case alone, the stopping one counted.
            message = str(error)
            assert "the spark engine" in message and "is not supported" in message, message
            if len(members) > 1:
                batches += [((zone, at), [member]) for member in members]
            else:
                tally.uncovered += 1
            continue
        for index, setting, rule, records, expected in members:
            for segment in ("s", "u", "unknown"):
                got = [i - index * 1000 for i in found[f"c{index}_{segment}"]
                       if index * 1000 <= i < (index + 1) * 1000]
                assert got == sorted(expected[f"c0_{segment}"]), (
                    f"segment {segment}: python {sorted(expected[f'c0_{segment}'])}, spark "
                    f"{got}\nrule: {render(rule)}\nzone: {zone}, now: {at}\n"
                    f"records: {records!r}")
            tally.compared += 1
            tally.mixed += bool(expected["c0_s"]) and bool(
                expected["c0_u"] or expected["c0_unknown"])


def test_random_rules_give_the_python_engines_members(spark):
    """Random rules of the differential test (windows and edges, periods, calendar
    months, nested lists, nulls, UTC and Paris): at least 50 compared per run, the same
    members of s, u and unknown on Spark as in Python."""
    tally = Tally()
    cases = (_draw(None, 40, "spark_windows") + _draw(frozenset(), 30, "spark_core")
             + _draw(frozenset({"nested"}), 15, "spark_nested"))
    compare_in_batches(spark, cases, tally)
    print(tally.report())
    assert tally.compared >= 50, tally.report()


def test_rankings_give_the_python_engines_members(spark):
    """ntile, percentile and rfm.* over the whole table (so one case per query), ties
    and nulls included: the same members on Spark as in Python."""
    tally = run(frozenset({"population"}), 8, "spark_population", connection=spark,
                dialect="spark")
    assert tally.compared >= 5, tally.report()


@pytest.fixture(scope="module")
def examples(spark):
    with open(ROOT / "examples" / "data" / "customers.jsonl", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    segdsl.sql.load_records(spark, records, Layout.from_schema(None))
    return records


# recipes.seg uses the calendar functions, not compiled to SQL yet.
@pytest.mark.parametrize("name,zone", [("summer_sale.seg", "Europe/Paris"),
                                       ("lifecycle.seg", None)])
def test_every_example_segment_has_the_python_engines_members(spark, examples, name, zone):
    """Every segment of the example files on the 2,000 example customers, RFM groups
    included: the same members on Spark as in Python."""
    rules = segdsl.load(ROOT / "examples" / name, timezone=zone)
    expected = rules.evaluate(examples, now=NOW)
    found = segdsl.sql.evaluate(rules, spark, now=NOW)
    assert found.members == {name: sorted(ids) for name, ids in expected.members.items()}
    assert found.total == len(examples)
    assert any(found.members.values())


# ------------------------------------------------------------------ hand-checked

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
_HAND = [
    {"id": 1, "country": "FR", "tags": ["a", None], "orders": [
        {"id": 10, "total": None, "at": "2026-07-01T10:00:00Z"},
        {"id": 11, "total": 5.0, "at": "2026-07-02T10:00:00Z"}],
     "events": []},
    {"id": 2, "country": None, "tags": None, "orders": [], "events": []},
    {"id": 3, "country": "DE", "tags": ["b"], "orders": [
        {"id": 12, "total": 0.1, "at": "2026-03-29T00:30:00Z"},
        {"id": 13, "total": 0.2, "at": "2026-03-29T01:30:00Z"}],
     "events": [{"type": "x", "at": "2026-03-29T01:00:00Z"}]},
]


def _both(spark, text: str, now: str = NOW, zone: str | None = None) -> dict:
    """The members of every segment of ``text`` on Spark, checked equal to Python's."""
    rules = segdsl.loads(text, schema=SCHEMA, timezone=zone)
    segdsl.sql.load_records(spark, _HAND, LAYOUT, rules._program.options.timezone)
    found = segdsl.sql.evaluate(rules, spark, now=now, layout=LAYOUT)
    expected = rules.evaluate(_HAND, now=now)
    assert found.members == {k: sorted(v) for k, v in expected.members.items()}
    return found.members


def test_what_spark_does_its_own_way_gives_the_python_engines_answers(spark):
    """exists over null values is false, not unknown; sums and counts of nothing are 0;
    x / 0 and NaN are null; 'in' a list holding null is unknown when not found; a
    calendar month across the change to summer time in Paris; inf - inf (NaN) is null,
    not above every number; all in one query."""
    members = _both(spark, """
        period march = 2026-03-01 .. 2026-03-31
        segment big = exists(orders, where = total > 1)
        segment not_big = not big
        segment none_spent = sum(orders.total, where = total > 100) == 0
        segment count_zero = count(orders, within = 1d) == 0
        segment by_zero = sum(orders.total) / 0 > 0
        segment by_zero_null = sum(orders.total) / 0 is null
        segment money = sum(orders.total) == 0.3
        segment tagged_c = "c" in tags
        segment not_tagged_c = "c" not in tags
        segment spring = exists(orders, where = at > 2026-04-29T02:30:00 - 1m)
        segment ordered_in_march = exists(orders, within = march)
        segment last_total = last(orders.total) == 5
        segment first_total_null = first(orders.total) is null and count(orders) > 0
        segment nan_null = (sum(orders.total) + 1e308 * 10) - 1e308 * 10 is null
        segment nan_above = (sum(orders.total) + 1e308 * 10) - 1e308 * 10 > 5
    """, zone="Europe/Paris")
    assert members["big"] == [1] and members["not_big"] == [2, 3]
    assert members["none_spent"] == [1, 2, 3]
    assert members["count_zero"] == [1, 2, 3]
    assert members["by_zero"] == [] and members["by_zero_null"] == [1, 2, 3]
    assert members["money"] == [3]
    assert members["tagged_c"] == [] and members["not_tagged_c"] == [3]
    assert members["spring"] == [1, 3]
    assert members["ordered_in_march"] == [3]
    assert members["last_total"] == [1] and members["first_total_null"] == [1]
    assert members["nan_null"] == [1, 2, 3] and members["nan_above"] == []


def test_a_missing_table_is_a_usage_error(spark):
    """A layout naming a table the session does not have: a UsageError naming it."""
    rules = segdsl.loads("segment s = count(orders) > 0", schema=SCHEMA)
    layout = Layout.from_schema(SCHEMA, tables={"orders": "no_such_orders"})
    segdsl.sql.load_records(spark, _HAND, LAYOUT)
    with pytest.raises(segdsl.UsageError, match="no_such_orders"):
        segdsl.sql.evaluate(rules, spark, now=NOW, layout=layout)


def test_the_query_does_not_depend_on_the_sessions_zone_or_ansi_mode(spark):
    """With the session in New York and ANSI mode on, the engine still answers as in
    Python (it sets UTC and ANSI off while it runs) and restores both settings."""
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    spark.conf.set("spark.sql.ansi.enabled", "true")
    try:
        members = _both(spark, "segment late = exists(orders, where = at == 2026-03-29)\n"
                        "segment half = sum(orders.total) / 0 > 0",
                        zone="Europe/Paris")
        assert members == {"late": [3], "half": []}
        assert spark.conf.get("spark.sql.session.timeZone") == "America/New_York"
        assert spark.conf.get("spark.sql.ansi.enabled") == "true"
        # The query text itself, run as it is in New York: the same rows.
        spark.conf.set("spark.sql.ansi.enabled", "false")
        rules = segdsl.loads("segment late = exists(orders, where = at == 2026-03-29)\n"
                             "segment spring = exists(orders, where = at > "
                             "2026-04-29T02:30:00 - 1m)", schema=SCHEMA,
                             timezone="Europe/Paris")
        text = rules.to_sql(dialect="spark", now=NOW, layout=LAYOUT)
        rows = [tuple(row) for row in spark.sql(text).collect()]
        assert rows == [(1, False, True), (2, False, False), (3, True, True)]
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
        spark.conf.set("spark.sql.ansi.enabled", "false")


def test_a_skipped_wall_clock_is_read_with_the_offset_after_the_change(spark):
    """2026-03-29 02:30 does not exist in Paris: as python-dateutil reads it (00:30 UTC,
    not Java's 01:30 UTC), one month before 2026-04-29 02:30 is that instant."""
    members = _both(spark, "segment before = exists(orders, where = at < "
                           "2026-04-29T02:30:00 - 1m)\nsegment at_most = exists(orders, where "
                           "= at <= 2026-04-29T02:30:00 - 1m)", zone="Europe/Paris")
    assert members == {"before": [], "at_most": [3]}


def test_a_step_leaving_the_years_1_to_9999_stops_the_query(spark):
    """raise_error stops the query: a DataError, as the Python engine raises one."""
    rules = segdsl.loads("segment far = exists(orders, where = at + 9000y > now)",
                         schema=SCHEMA)
    segdsl.sql.load_records(spark, _HAND, LAYOUT)
    with pytest.raises(segdsl.DataError):
        rules.evaluate(_HAND, now=NOW)
    with pytest.raises(segdsl.DataError, match="^a date-time outside the years 1 to 9999$"):
        segdsl.sql.evaluate(rules, spark, now=NOW, layout=LAYOUT)


@pytest.mark.parametrize("pattern,java", [
    ("^a.c$", "^a[^\\n]c\\z"),
    ("\\d+\\s", "\\d+[\\t\\n\\f\\r ]"),
    ("[\\sx]", "[\\t\\n\\f\\r x]"),
    ("(?P<user>[a-z]+)@", "(?:[a-z]+)@"),
    ("a{2,3}\\.", "a{2,3}\\."),
])
def test_patterns_meaning_the_same_in_java_are_translated(pattern, java):
    """RE2 patterns are rewritten where Java reads them otherwise: '.', '$', '\\s'."""
    assert java_pattern(pattern, DIALECT) == java


@pytest.mark.parametrize("pattern,why", [
    ("(?i)abc", "a flag group '(?'"),
    ("\\bword", "'\\b'"),
    ("\\pL+", "'\\p'"),
    ("[[:alpha:]]", "'[' inside a class"),
    ("[a-z&&[^e]]", "'&&' inside a class"),
    ("[a&&b]", "'&&' inside a class"),
    ("a{,2}", "a '{' that is no repetition"),
    ("\\Qa.b\\E", "'\\Q'"),
])
def test_patterns_java_reads_otherwise_are_refused(pattern, why):
    """A pattern Java's rlike would read otherwise is a CheckError naming it and spark."""
    rules = segdsl.loads(f"segment s = email matches {json.dumps(pattern)}", schema=SCHEMA)
    with pytest.raises(segdsl.CheckError) as raised:
        rules.to_sql(dialect="spark")
    assert raised.value.message == (
        f"'matches' with the pattern {pattern!r} is not supported by the spark engine yet: "
        f"{why} means something else in Java's regular expressions")


def test_matches_on_spark_gives_the_python_engines_members(spark):
    """'.' does not match a newline, '$' only at the very end, '\\s' not a vertical tab:
    the same members on Spark as in Python."""
    people = [{"id": 1, "email": "a\nc"}, {"id": 2, "email": "abc\n"}, {"id": 3,
              "email": "x\x0by"}, {"id": 4, "email": "a\rc"}]
    rules = segdsl.loads('segment dot = email matches "^a.c$"\n'
                         'segment end = email matches "c$"\n'
                         'segment space = email matches "x\\\\sy"', schema=SCHEMA)
    segdsl.sql.load_records(spark, people, LAYOUT)
    found = segdsl.sql.evaluate(rules, spark, now=NOW, layout=LAYOUT)
    assert found.members == rules.evaluate(people, now=NOW).members
    assert found.members == {"dot": [4], "end": [1, 4], "space": []}


def test_the_spark_query_reads_back_through_sqlglot():
    """The Spark query of an example file parses with sqlglot's Spark dialect, and its
    evaluation time is a parameter :now, never the database's clock."""
    import sqlglot

    rules = segdsl.load(ROOT / "examples" / "summer_sale.seg", timezone="Europe/Paris")
    text = rules.to_sql(dialect="spark", pretty=False)
    assert sqlglot.parse_one(text, read="spark") is not None
    assert "CAST(:now AS TIMESTAMP)" in text
    assert "current_timestamp" not in text.lower()
