"""The DuckDB engine against the Python engine on random rules and data.

The rules and customers come from the generator of the differential test
(tests/test_differential.py): well-typed rules over the declared schema with
windows, periods, nested lists, the prelude and text operators; customers
whose timestamps sit on window edges, with nulls, missing keys and empty
lists, in UTC and in Paris. Each rule is written as a file of three segments
(``s``, ``u = not s``, ``unknown = not s and not u``), so that three-valued
truth is compared, not only membership. The records are written into the
normalized tables of a DuckDB database and both engines evaluate the file:
the members of every segment must be equal. A rule the SQL compiler does not
cover is skipped only when it raises the documented CheckError.
"""

from __future__ import annotations

import datetime as dt
import os

import duckdb
import reference
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import segdsl
import segdsl.sql
from segdsl import nodes as n
from segdsl.sql.layout import Layout
from tests.strategies import SCHEMA
from tests.test_differential import (
    NOWS,
    ZONES,
    Setting,
    cases,
    comparison_op,
    condition,
    counting,
    number_literal,
    record,
    render,
    temporal,
    time,
    walk,
)

EXAMPLES = int(os.environ.get("SEGDSL_SQL_DIFFERENTIAL_EXAMPLES", "0")) or None
# Events and items have no key: their position in the list breaks ties of time.
LAYOUT = Layout.from_schema(SCHEMA, order_by={"events": "position", "orders.items": "position"})


@st.composite
def timed_cases(draw):
    """Cases as :func:`cases` draws them, but whose rules always read the lists
    through windows, periods and time arithmetic (most rules of :func:`cases`
    read only the customer's own fields)."""
    setting = Setting(draw(st.sampled_from(sorted(ZONES))), draw(st.sampled_from(NOWS)))
    depth = draw(st.integers(1, 3))
    parts = [draw(st.sampled_from((
        lambda: n.Comparison(comparison_op(draw), counting(draw, setting, depth, None),
                             number_literal(draw)),
        lambda: n.Comparison(comparison_op(draw), time(draw, setting, depth),
                             temporal(draw, setting, depth, None)),
        lambda: condition(draw, setting, depth),
    )))() for _ in range(draw(st.integers(1, 2)))]
    rule = parts[0] if len(parts) == 1 else draw(st.sampled_from((n.And, n.Or)))(tuple(parts))
    edges = setting.edges(walk(rule))
    setting.targets = [reference.to_datetime(node.value, setting.zone) for node in walk(rule)
                       if isinstance(node, n.DateTime)] + [
        setting.day_start(node.value) for node in walk(rule) if isinstance(node, n.Date)]
    records = [record(draw, setting, edges, identity)
               for identity in range(draw(st.integers(2, 6)))]
    given_now = draw(st.sampled_from((
        setting.now, setting.now.isoformat(),
        setting.now.astimezone(setting.zone).replace(tzinfo=None).isoformat())))
    return setting, rule, records, given_now


def rule_file(setting, rule) -> str:
    """The rule as segments s, u and unknown, its date ranges as named periods."""
    names = {p: f"p{i}" for i, p in enumerate(setting.periods)}
    text = "".join(f"period {name} = {start} .. {end}\n" for (start, end), name in names.items())
    body = render(rule, names)
    return text + (f"segment s = {body}\nsegment u = not {body}\n"
                   "segment unknown = not s and not u\n")


class Tally:
    """How the cases went: compared, skipped as not covered, both refusing the data."""

    def __init__(self) -> None:
        self.compared = self.uncovered = self.bad_data = self.mixed = self.unloadable = 0
        self.reasons: dict[str, int] = {}
        # Cases DuckDB covers that another dialect refuses, by reason.
        self.dialect_only: dict[str, int] = {}

    def report(self) -> str:
        reasons = ", ".join(f"{r}: {n}" for r, n in sorted(self.reasons.items(),
                                                             key=lambda kv: -kv[1])[:5])
        return (f"{self.compared} compared ({self.mixed} with members and non-members), "
                f"{self.uncovered} not covered ({reasons}), {self.bad_data} bad data on both, "
                f"{self.unloadable} records no table holds"
                + (f"; refused where DuckDB is not: {self.dialect_only}"
                   if self.dialect_only else ""))


def compare(connection, case, tally: Tally, schema=SCHEMA, dialect=None) -> None:
    """Both engines on one case; the SQL engine's dialect is ``dialect`` (default: that
    of ``connection``, DuckDB, or PostgreSQL for a psycopg connection)."""
    if dialect is None:
        dialect = ("postgres" if type(connection).__module__.startswith("psycopg")
                   else "duckdb")
    setting, rule, records, now = case
    rules = segdsl.loads(rule_file(setting, rule), schema=schema, timezone=setting.zone_name)
    if schema is None and any(_holds_a_day(r) for r in records):
        # Untyped, a date object meets a datetime by its day; its datetime column
        # would hold its midnight: a DATE column's customers are another case.
        tally.unloadable += 1
        return
    try:
        segdsl.sql.load_records(connection, records, LAYOUT, rules._program.options.timezone)
    except segdsl.DataError:
        # A table cannot hold a value of another type than its column's: such
        # records have no tables to compare on (the rule may not read the value).
        tally.unloadable += 1
        return
    try:
        expected = rules.evaluate(records, now=now)
    except segdsl.DataError:
        expected = None
    # The query's text, written out for messages only.
    query = _Query(rules, now, schema, dialect)
    try:
        found = segdsl.sql.evaluate(rules, connection, now=now, layout=LAYOUT)
    except segdsl.CheckError as error:
        assert dialect in error.message, error.message
        tally.uncovered += 1
        reason = error.message.split(" is not supported")[0]
        tally.reasons[reason] = tally.reasons.get(reason, 0) + 1
        if dialect != "duckdb" and _covered_on_duckdb(rules, now, connection, schema):
            tally.dialect_only[reason] = tally.dialect_only.get(reason, 0) + 1
        return
    except segdsl.DataError as error:
        if expected is not None and _stopped_on_what_it_cannot_compute(error, dialect, tally):
            return
        assert expected is None, (f"the SQL engine raised {error} where the Python engine "
                                  f"gives {expected.members}\nrule: {render(rule)}\n"
                                  f"records: {records!r}\n{query}")
        tally.bad_data += 1
        return
    context = (f"rule: {render(rule)}\nzone: {setting.zone_name}, now: {now!r}\n"
               f"records: {records!r}\n{query}")
    assert expected is not None, f"the Python engine raised, the SQL engine did not\n{context}"
    assert found.members == expected.members, (
        f"python {expected.members}\nsql    {found.members}\n{context}")
    assert found.total == expected.total
    tally.compared += 1
    tally.mixed += bool(expected["s"]) and bool(expected["u"] or expected["unknown"])


def _stopped_on_what_it_cannot_compute(error, dialect: str, tally: Tally) -> bool:
    """Whether the query stopped on data its dialect cannot compute exactly (``lower()``
    of a character it maps otherwise than Python, ...): counted as not covered."""
    message = str(error)
    if f"the {dialect} engine" not in message or "is not supported" not in message:
        return False
    tally.uncovered += 1
    reason = "stopped: " + message.split(" is not supported")[0].split(": ")[-1]
    tally.reasons[reason] = tally.reasons.get(reason, 0) + 1
    return True


def _covered_on_duckdb(rules, now, connection, schema) -> bool:
    """Whether the DuckDB dialect compiles the rules (for the same tables' types)."""
    layout = segdsl.sql.layout_of(connection, LAYOUT) if schema is None else LAYOUT
    try:
        segdsl.sql.to_sql(rules, "duckdb", now=now, layout=layout)
    except segdsl.CheckError:
        return False
    return True


class _Query:
    """The query of a case, written out only when a message shows it."""

    def __init__(self, rules, now, schema, dialect) -> None:
        self.rules, self.now, self.schema, self.dialect = rules, now, schema, dialect

    def __str__(self) -> str:
        if self.schema is None:
            return "(types from the tables)"
        return segdsl.sql.to_sql(self.rules, self.dialect, now=self.now, layout=LAYOUT)


def _holds_a_day(record) -> bool:
    """Whether a customer's untyped datetime field holds a date object."""
    value = record.get("signed_up_at") if isinstance(record, dict) else getattr(
        record, "signed_up_at", None)
    return type(value) is dt.date


def run(features: frozenset | None, examples: int, name: str, schema=SCHEMA,
        connection=None, dialect=None, check_case=compare) -> Tally:
    """Compare ``examples`` cases (of ``features``; None: :func:`timed_cases`) by
    ``check_case(connection, case, tally, schema, dialect)``; on ``connection``
    (default: a DuckDB database in memory, closed at the end)."""
    tally = Tally()
    owned = connection is None
    connection = duckdb.connect() if owned else connection

    @settings(max_examples=EXAMPLES or examples, deadline=None, derandomize=True,
              database=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate])
    @given(timed_cases() if features is None else cases(features))
    def check(case):
        check_case(connection, case, tally, schema, dialect)

    check.__name__ = name  # derandomize seeds from the name
    try:
        check()
    finally:
        if owned:
            connection.close()
    print(f"{name}: {tally.report()}")
    return tally


def test_core_rules_give_the_python_engines_members():
    """Windows, periods, the prelude, text operators, arithmetic, dates and datetimes
    in UTC and Paris: the same members of s, u and unknown on DuckDB as in Python."""
    tally = run(frozenset(), 500, "sql_core")
    assert tally.compared >= 0.85 * (tally.compared + tally.uncovered + tally.bad_data)
    assert tally.mixed >= 0.2 * tally.compared


def test_nested_lists_give_the_python_engines_members():
    """Aggregations through orders.items and over tags: the same members on DuckDB."""
    tally = run(frozenset({"nested"}), 300, "sql_nested")
    assert tally.compared >= 0.85 * (tally.compared + tally.uncovered + tally.bad_data)


def test_windows_and_time_give_the_python_engines_members():
    """Rules that always read orders and events through windows (edges exactly at
    now - 30d, at now, a second either side), periods in the zone, calendar
    months and time arithmetic: the same members on DuckDB."""
    tally = run(None, 500, "sql_windows")
    assert tally.compared >= 0.85 * (tally.compared + tally.uncovered + tally.bad_data)
    assert tally.mixed >= 0.1 * tally.compared


def test_rankings_give_the_python_engines_members():
    """ntile, percentile and rfm.* (recency, frequency, monetary, score, group) over
    the whole table, ties and nulls included: the same members on DuckDB."""
    tally = run(frozenset({"population"}), 300, "sql_population")
    assert tally.compared >= 0.85 * (tally.compared + tally.uncovered + tally.bad_data)
    assert tally.mixed >= 0.2 * tally.compared


def test_rules_without_a_schema_read_the_tables_column_types():
    """Without a schema, a customer's field takes its column's type in the database,
    where the Python engine reads the values alike (text, numbers, booleans, instants,
    lists of text); the same members on DuckDB as in Python without a schema."""
    tally = run(None, 400, "sql_untyped", schema=None)
    assert tally.compared >= 0.85 * (tally.compared + tally.uncovered + tally.bad_data)
