"""The command line on the SQL engine: eval's engine choice and --engine, --into, and
the sql verb, whose query parses back with sqlglot."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import sqlglot

from segdsl.rules import RuleSet
from segdsl.sql import sources
from tests.command_line import run

ROOT = Path(__file__).resolve().parents[1]
RULES = str(ROOT / "examples" / "summer_sale.seg")
NOW = "2026-07-15T12:00:00Z"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """300 example customers as JSON Lines, as normalized Parquet tables and as a
    DuckDB file holding those tables."""
    root = tmp_path_factory.mktemp("cli_sql")
    with open(ROOT / "examples" / "data" / "customers.jsonl", encoding="utf-8") as lines:
        text = "".join(line for _, line in zip(range(300), lines, strict=False))
    jsonl = root / "customers.jsonl"
    jsonl.write_text(text, encoding="utf-8")
    tables = root / "tables"
    sources.write_tables(jsonl, tables)
    database = root / "shop.duckdb"
    with duckdb.connect(str(database)) as connection:
        for name in ("customers", "orders", "order_items", "events"):
            connection.execute(f"CREATE TABLE {name} AS SELECT * FROM '{tables / name}.parquet'")
    return {"jsonl": str(jsonl), "tables": str(tables), "database": str(database)}


def members(capsys, *args: str) -> dict:
    status, out, err = run(capsys, "eval", RULES, "--now", NOW, "--format", "json", *args)
    assert status == 0, err
    return json.loads(out)


def test_parquet_tables_and_a_duckdb_file_give_the_members_of_the_json_lines(capsys, data):
    """eval on the Parquet directory (DuckDB, chosen from DATA) and on the DuckDB file
    prints the same document as on the JSON Lines (Python engine)."""
    expected = members(capsys, "--data", data["jsonl"])
    assert expected["total"] == 300
    assert members(capsys, "--data", data["tables"]) == expected
    assert members(capsys, "--data", data["database"]) == expected
    assert members(capsys, "--data", data["jsonl"], "--engine", "duckdb") == expected


def test_large_json_lines_go_to_duckdb_unless_the_rules_do_not_compile(capsys, data,
                                                                       monkeypatch):
    """JSON Lines above SQL_FROM_BYTES go to DuckDB; rules it refuses go to Python; the
    answer is the same either way."""
    expected = members(capsys, "--data", data["jsonl"])
    runs: list[int] = []
    original = RuleSet._evaluate_python
    monkeypatch.setattr(RuleSet, "_evaluate_python",
                        lambda self, *a, **k: runs.append(1) or original(self, *a, **k))
    monkeypatch.setattr(sources, "SQL_FROM_BYTES", 1)
    assert members(capsys, "--data", data["jsonl"]) == expected
    assert runs == []
    status, out, _ = run(capsys, "eval", str(ROOT / "examples" / "recipes.seg"), "--data",
                         data["jsonl"], "--now", NOW, "--segment", "birthday_this_month")
    assert status == 0 and "birthday_this_month" in out
    assert runs == [1]


def test_the_engine_flag_overrides_the_choice(capsys, data):
    """--engine python cannot read Parquet, nor spark a directory of tables."""
    status, _, err = run(capsys, "eval", RULES, "--data", data["tables"], "--engine", "python")
    assert (status, err) == (2, (f"segdsl: {data['tables']}: the Python engine reads .jsonl, "
                                f".json or .csv files; this data needs an SQL engine "
                                f"(--engine duckdb)\n"))
    status, _, err = run(capsys, "eval", RULES, "--data", data["tables"], "--engine", "spark")
    assert (status, err) == (2, f"segdsl: the spark engine reads a SparkSession, not "
                                f"{data['tables']}\n")
    status, _, err = run(capsys, "eval", RULES, "--data", data["tables"], "--columns", "email",
                         "--format", "csv")
    assert (status, err) == (2, ("segdsl: --columns reads the customers' records: give --engine "
                                "python (with JSON, JSON Lines or CSV data)\n"))


def test_into_appends_the_memberships_to_the_database(capsys, data, tmp_path):
    """--into TABLE makes the table in the DuckDB file, then appends to it."""
    database = tmp_path / "shop.duckdb"
    database.write_bytes(Path(data["database"]).read_bytes())
    expected = members(capsys, "--data", data["database"], "--segment", "undecided")
    for _ in range(2):
        status, _, err = run(capsys, "eval", RULES, "--data", str(database), "--now", NOW,
                             "--segment", "undecided", "--into", "memberships")
        assert (status, err) == (0, (f"wrote {expected['sizes']['undecided']} memberships into "
                                    f"memberships\n"))
    with duckdb.connect(str(database), read_only=True) as connection:
        rows = connection.execute("SELECT segment, customer_id, now FROM memberships "
                                  "ORDER BY rowid").fetchall()
    ids = expected["members"]["undecided"]
    assert [row[1] for row in rows] == ids + ids
    assert {(row[0], row[2].isoformat()) for row in rows} == {
        ("undecided", "2026-07-15T12:00:00+00:00")}


def test_into_needs_a_database(capsys, data):
    """--into with JSON Lines data: nowhere to write, exit 2."""
    status, _, err = run(capsys, "eval", RULES, "--data", data["jsonl"], "--into", "m")
    assert (status, err) == (2, ("segdsl: --into writes into the database the data comes "
                                "from: give --data a DuckDB file or a postgresql:// URL\n"))


def test_sql_prints_a_query_sqlglot_reads_back(capsys):
    """segdsl sql prints the query; it parses with sqlglot's DuckDB dialect, names the
    segments asked for, and has the time written in."""
    status, out, err = run(capsys, "sql", RULES, "--dialect", "duckdb", "--now", NOW,
                           "--segment", "undecided", "--segment", "sale_buyers")
    assert (status, err) == (0, "")
    tree = sqlglot.parse_one(out, read="duckdb")
    assert [e.alias_or_name for e in tree.expressions] == ["customer_id", "undecided",
                                                          "sale_buyers"]
    assert "2026-07-15 12:00:00+00:00" in out
    status, out, _ = run(capsys, "sql", RULES)
    assert status == 0 and "$now" in out


def test_sql_errors(capsys, tmp_path):
    """An unknown dialect is a usage error (2); a rule the dialect refuses, a check error (1)."""
    status, _, err = run(capsys, "sql", RULES, "--dialect", "oracle")
    assert (status, err) == (2, ("segdsl: unknown SQL dialect 'oracle'; the dialects are "
                                "duckdb, postgres, spark, bigquery, snowflake\n"))
    rounded = tmp_path / "rounded.seg"
    rounded.write_text("segment rounded = round(sum(orders.total), 1) > 100\n", encoding="utf-8")
    status, _, err = run(capsys, "sql", str(rounded))
    assert status == 1
    assert err.startswith(f"{rounded}:1:19: round() to decimals is not supported by the "
                          f"duckdb engine yet")


def test_help_shows_the_new_verb_and_flags(capsys):
    """sql --help has an example and the exit codes; eval --help lists --engine and --into."""
    status, out, _ = run(capsys, "sql", "--help")
    assert status == 0
    assert "example:\n  segdsl sql examples/summer_sale.seg --dialect duckdb" in out
    assert "exit status:" in out
    status, out, _ = run(capsys, "eval", "--help")
    assert "--engine {python,duckdb,postgres,spark}" in out and "--into TABLE" in out


def test_the_project_engine_and_table_mapping(capsys, data, tmp_path, monkeypatch):
    """engine = "duckdb" and [tables] in segdsl.toml: eval reads renamed tables and columns."""
    source = Path(data["tables"])
    shop = tmp_path / "shop"
    shop.mkdir()
    with duckdb.connect() as connection:
        connection.execute(f"COPY (FROM '{source / 'customers.parquet'}') TO "
                           f"'{shop / 'people.parquet'}'")
        connection.execute(f"COPY (SELECT * RENAME (\"at\" AS placed_at) FROM "
                           f"'{source / 'orders.parquet'}') TO '{shop / 'sales.parquet'}'")
        for name in ("order_items", "events"):
            connection.execute(f"COPY (FROM '{source / name}.parquet') TO '{shop / name}.parquet'")
    (tmp_path / "segdsl.toml").write_text(
        'engine = "duckdb"\ndata = "shop"\n\n[tables.customers]\ntable = "people"\n\n'
        '[tables.orders]\ntable = "sales"\ncolumns = { at = "placed_at" }\n', encoding="utf-8")
    expected = members(capsys, "--data", data["jsonl"])
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "eval", RULES, "--now", NOW, "--format", "json")
    assert (status, err) == (0, "")
    assert json.loads(out) == expected


def test_notes_on_missing_fields_are_the_same_on_duckdb(capsys, data, tmp_path, monkeypatch):
    """Without a schema, a field no customer has is noted on the DuckDB route as on the
    Python one (the notes come from the columns of the JSON Lines)."""
    rules = tmp_path / "typo.seg"
    rules.write_text('segment french = countrty == "FR" and purchased(30d)\n', encoding="utf-8")
    python = run(capsys, "eval", str(rules), "--data", data["jsonl"], "--now", NOW)
    monkeypatch.setattr(sources, "SQL_FROM_BYTES", 1)
    duck = run(capsys, "eval", str(rules), "--data", data["jsonl"], "--now", NOW)
    assert duck == python
    assert "no customer has a field 'countrty'" in python[2]
