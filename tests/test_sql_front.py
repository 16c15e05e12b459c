"""rules.evaluate on every kind of source the SQL engine reads: DuckDB connections,
relations and files, Parquet, CSV and JSON Lines tables, nested files, DataFrames.

The example customers (the first 400, for speed) are written in each form in a
temporary directory; every form must give exactly the Python engine's Result on
the records (members in the same order, the same total). Sources the Python
engine also reads go through DuckDB only when the answer is provably the same.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import segdsl
from segdsl.errors import CheckError, DataError, UsageError
from segdsl.rules import RuleSet
from segdsl.sql import sources
from segdsl.sql.layout import Layout

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-07-15T12:00:00Z"
COUNT = 400


@pytest.fixture(scope="module")
def records():
    """The first 400 example customers, as dicts."""
    with open(ROOT / "examples" / "data" / "customers.jsonl", encoding="utf-8") as lines:
        return [json.loads(line) for _, line in zip(range(COUNT), lines, strict=False)]


@pytest.fixture(scope="module")
def rules():
    """The summer sale's ten segments (RFM included)."""
    return segdsl.load(ROOT / "examples" / "summer_sale.seg")


@pytest.fixture(scope="module")
def expected(rules, records):
    """The Python engine's Result on the records."""
    return rules.evaluate(records, now=NOW)


@pytest.fixture(scope="module")
def files(tmp_path_factory, records):
    """The records as a JSON Lines file, a nested Parquet file, the normalized tables in
    Parquet, CSV and JSON Lines directories, and a DuckDB database file."""
    root = tmp_path_factory.mktemp("sources")
    jsonl = root / "customers.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    nested = root / "nested.parquet"
    pq.write_table(pa.Table.from_pylist(records), nested)
    made = {"jsonl": jsonl, "nested": nested}
    for format_ in ("parquet", "csv", "jsonl"):
        made[f"{format_}_tables"] = root / f"tables_{format_}"
        sources.write_tables(jsonl, made[f"{format_}_tables"], format=format_)
    database = root / "shop.duckdb"
    with duckdb.connect(str(database)) as connection:
        for name in ("customers", "orders", "order_items", "events"):
            path = made["parquet_tables"] / f"{name}.parquet"
            connection.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{path}')")
    made["database"] = database
    return made


def same(found, expected) -> None:
    assert found.members == expected.members
    assert found.total == expected.total == COUNT
    assert found.now == expected.now


@pytest.mark.parametrize("form", ["jsonl", "nested", "parquet_tables", "csv_tables",
                                  "jsonl_tables", "database"])
def test_each_file_form_gives_the_python_engines_result(rules, expected, files, form):
    """A JSON Lines file, a nested Parquet file, a directory of normalized Parquet,
    CSV or JSON Lines tables and a DuckDB file: the records' Result, exactly."""
    same(rules.evaluate(files[form], now=NOW, engine="duckdb"), expected)


def test_globs_and_lists_of_paths_name_the_tables_by_their_files(rules, expected, files):
    """data/*.parquet and a list of the four paths are the tables their names say."""
    directory = files["parquet_tables"]
    same(rules.evaluate(str(directory / "*.parquet"), now=NOW), expected)
    same(rules.evaluate(sorted(directory.glob("*.parquet")), now=NOW), expected)


def test_a_duckdb_connection_and_relation(rules, expected, files):
    """A connection holding the tables, and a relation of nested customers."""
    with duckdb.connect(str(files["database"]), read_only=True) as connection:
        same(rules.evaluate(connection, now=NOW), expected)
    with duckdb.connect() as connection:
        relation = connection.sql(f"SELECT * FROM read_parquet('{files['nested']}')")
        same(rules.evaluate(relation, now=NOW), expected)


@pytest.mark.parametrize("library", ["pandas", "polars", "arrow"])
def test_tables_in_memory_through_duckdb(rules, expected, records, library):
    """pandas, polars and pyarrow tables of nested customers, on DuckDB."""
    table = pa.Table.from_pylist(records)
    frame = {"pandas": lambda: pd.DataFrame(records), "polars": lambda: pl.from_arrow(table),
             "arrow": lambda: table}[library]()
    same(rules.evaluate(frame, now=NOW, engine="duckdb"), expected)


def test_a_mapping_of_normalized_dataframes(rules, expected, files):
    """Table name to a pandas DataFrame of that table: the normalized layout in memory."""
    frames = {name: pd.read_parquet(files["parquet_tables"] / f"{name}.parquet")
              for name in ("customers", "orders", "order_items", "events")}
    same(rules.evaluate(frames, now=NOW), expected)


def test_members_come_in_the_inputs_order(rules, records):
    """Customers given in reverse order are named in reverse order, as by the Python
    engine (the SQL query returns them by id)."""
    backwards = list(reversed(records))
    python = rules.evaluate(backwards, now=NOW)
    found = rules.evaluate(pd.DataFrame(backwards), now=NOW, engine="duckdb")
    assert found.members == python.members
    assert found.members["sale_buyers"][0] > found.members["sale_buyers"][-1]


def spy(monkeypatch) -> list[int]:
    """Counts the Python engine's runs."""
    runs: list[int] = []
    original = RuleSet._evaluate_python

    def counted(self, *args, **kwargs):
        runs.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RuleSet, "_evaluate_python", counted)
    return runs


def test_small_tables_stay_on_the_python_engine_and_large_ones_go_to_duckdb(
        rules, expected, records, monkeypatch):
    """Below SQL_FROM_ROWS rows a DataFrame is read by the Python engine (faster there);
    at or above it, by DuckDB; the answer is the same."""
    runs = spy(monkeypatch)
    frame = pd.DataFrame(records)
    same(rules.evaluate(frame, now=NOW), expected)
    assert runs == [1]
    monkeypatch.setattr(sources, "SQL_FROM_ROWS", COUNT)
    same(rules.evaluate(frame, now=NOW), expected)
    assert runs == [1]


def test_rules_duckdb_cannot_compute_fall_back_to_the_python_engine(records, monkeypatch):
    """round() to decimals, which the DuckDB engine refuses: a large table is then
    evaluated by the Python engine, with its answer; engine="duckdb" raises the CheckError."""
    rules = segdsl.loads("segment rounded = round(sum(orders.total), 1) > 100")
    monkeypatch.setattr(sources, "SQL_FROM_ROWS", 1)
    runs = spy(monkeypatch)
    frame = pd.DataFrame(records)
    assert rules.evaluate(frame, now=NOW) == rules.evaluate(records, now=NOW)
    assert runs == [1, 1]
    with pytest.raises(CheckError, match=r"round\(\) to decimals is not supported by the "
                                         r"duckdb engine yet"):
        rules.evaluate(frame, now=NOW, engine="duckdb")


def test_a_column_of_another_type_than_the_schema_goes_to_the_python_engine(monkeypatch):
    """A number field held as text in the table: DuckDB cannot prove the Python engine's
    answer (which is a DataError here), so the Python engine runs and raises it."""
    rules = segdsl.loads("segment big = sum(orders.total) > 10",
                         schema=segdsl.Schema({"id": "number", "orders": segdsl.ListOf(
                             {"at": "datetime", "total": "number"})}))
    frame = pd.DataFrame([{"id": 1, "orders": [{"at": "2026-07-01T00:00:00Z", "total": "12"}]}])
    monkeypatch.setattr(sources, "SQL_FROM_ROWS", 1)
    runs = spy(monkeypatch)
    with pytest.raises(DataError) as python_error:
        rules.evaluate(frame.to_dict("records"), now=NOW)
    with pytest.raises(DataError) as error:
        rules.evaluate(frame, now=NOW)
    assert str(error.value) == str(python_error.value)
    assert len(runs) == 2


def test_timestamps_in_text_neither_engine_reads_alike_go_to_the_python_engine(
        tmp_path, monkeypatch):
    """A stamp in Python's basic ISO form (20260701T000000Z) is not read by DuckDB's
    cast: the Python engine decides; with engine="duckdb" it is a DataError."""
    rules = segdsl.loads("segment recent = purchased(30d)")
    path = tmp_path / "few.jsonl"
    path.write_text('{"id": 1, "orders": [{"at": "20260701T000000Z", "total": 5}]}\n'
                    '{"id": 2, "orders": [{"at": "2026-07-01T00:00:00+02:00", "total": 5}]}\n',
                    encoding="utf-8")
    monkeypatch.setattr(sources, "SQL_FROM_BYTES", 1)
    assert rules.evaluate(path, now=NOW).members == {"recent": [1, 2]}
    with pytest.raises(DataError, match="the text 20260701T000000Z is not read as a "
                                        "datetime by the DuckDB engine"):
        rules.evaluate(path, now=NOW, engine="duckdb")


def test_an_engine_given_what_it_cannot_read_and_unknown_engines_are_usage_errors(rules, files):
    """spark and postgres name what they read; an unknown engine names the engines."""
    with pytest.raises(UsageError) as error:
        rules.evaluate(files["database"], now=NOW, engine="spark")
    assert str(error.value) == f"the spark engine reads a SparkSession, not {files['database']}"
    with pytest.raises(UsageError) as error:
        rules.evaluate(files["database"], now=NOW, engine="postgres")
    assert str(error.value) == (f"the postgres engine reads a psycopg connection or a "
                                f"postgresql:// URL, not {files['database']}")
    with pytest.raises(UsageError) as error:
        rules.evaluate([{"id": 1}], now=NOW, engine="sqlite")
    assert str(error.value) == ("unknown engine 'sqlite'; the engines are auto, python, "
                                "duckdb, postgres, spark")


def test_missing_tables_and_unknown_files_are_usage_errors(rules, tmp_path):
    """A directory without a customers table, a file of unknown kind."""
    with pytest.raises(UsageError) as error:
        rules.evaluate(tmp_path, now=NOW)
    assert str(error.value) == (f"{tmp_path}: no customers table (a customers.parquet, .csv "
                                f"or .jsonl file, or a customers/ folder of Parquet files): "
                                f"it holds no table; the layout reads customers, orders, "
                                f"events, order_items")
    (tmp_path / "clients.csv").write_text("id\n1\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"Parquet files\): it holds clients; the layout"):
        rules.evaluate(tmp_path, now=NOW)
    (tmp_path / "clients.csv").unlink()
    (tmp_path / "shop.txt").write_text("id\n1\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"shop\.txt: cannot tell the kind of data"):
        rules.evaluate(str(tmp_path / "shop.txt"), now=NOW)


def test_python_only_sources_with_engine_python(rules, expected, files):
    """engine="python" reads a JSON Lines file as records; a Parquet directory is refused."""
    same(rules.evaluate(files["jsonl"], now=NOW, engine="python"), expected)
    with pytest.raises(UsageError) as error:
        rules.evaluate(files["parquet_tables"], now=NOW, engine="python")
    assert str(error.value) == ("the Python engine reads records, JSON, JSON Lines, CSV or "
                                "tables in memory, not a directory of tables: use "
                                "engine=\"duckdb\"")


def test_a_mapped_layout_reads_renamed_tables_and_columns(rules, expected, files, tmp_path):
    """Layout.from_tables (a project's [tables]) maps other table and column names."""
    from segdsl.schema_file import Table

    with duckdb.connect() as connection:
        source = files["parquet_tables"]
        connection.execute(f"COPY (SELECT * FROM '{source / 'customers.parquet'}') "
                           f"TO '{tmp_path / 'people.parquet'}'")
        connection.execute(f"COPY (SELECT * RENAME (\"at\" AS placed_at, customer_id AS buyer) "
                           f"FROM '{source / 'orders.parquet'}') TO '{tmp_path / 'sales.parquet'}'")
        for name in ("order_items", "events"):
            connection.execute(f"COPY (SELECT * FROM '{source / name}.parquet') "
                               f"TO '{tmp_path / name}.parquet'")
    layout = Layout.from_tables(None, {
        "customers": Table("customers", "people", "id"),
        "orders": Table("orders", "sales", "id", "buyer", {"at": "placed_at"})})
    assert layout.lists[("orders",)].owner == "buyer"
    same(rules.evaluate(tmp_path, now=NOW, layout=layout), expected)


def test_memberships_are_appended_to_a_table(files, tmp_path):
    """write_memberships makes the table, then appends: (segment, customer_id, now)."""
    rules = segdsl.loads("segment buyers = count(orders) > 5")
    with duckdb.connect(str(tmp_path / "out.duckdb")) as connection:
        result = rules.evaluate(files["jsonl"], now=NOW, engine="duckdb")
        for _ in range(2):
            sources.write_memberships(connection, "members", result.members, result.now)
        rows = connection.execute("SELECT segment, customer_id, now FROM members").fetchall()
    assert len(rows) == 2 * len(result["buyers"]) > 0
    assert {row[1] for row in rows} == set(result["buyers"])
    assert {row[2].isoformat() for row in rows} == {"2026-07-15T12:00:00+00:00"}


def test_records_on_the_duckdb_engine(rules, expected, records):
    """engine="duckdb" on a list of records writes them into tables first: same Result."""
    same(rules.evaluate(records, now=NOW, engine="duckdb"), expected)


def test_lists_and_fields_no_customer_has_are_empty_and_null(records):
    """A table without an events column, orders without items or totals: no elements and
    nulls, as the Python engine reads missing fields; text ids join their lists."""
    rules = segdsl.loads('segment a = purchased(30d) and events("visit", 30d) == 0\n'
                         'segment b = exists(orders, where = total is null)\n'
                         'segment c = count(orders.items) == 0')
    customers = [{"id": "x", "orders": [{"at": "2026-07-10T00:00:00Z"}]},
                 {"id": "y", "orders": None}, {"id": "z"}]
    frame = pd.DataFrame(customers)
    assert rules.evaluate(frame, now=NOW, engine="duckdb") == rules.evaluate(customers, now=NOW)
    assert rules.evaluate(customers, now=NOW).members == {"a": ["x"], "b": ["x"],
                                                          "c": ["x", "y", "z"]}


def test_naive_datetimes_in_a_table_are_refused_on_duckdb(monkeypatch):
    """A naive datetime column is read in the rules' zone by the Python engine; DuckDB
    would read it otherwise: engine="duckdb" refuses it, the automatic choice runs Python."""
    import datetime as dt

    rules = segdsl.loads("segment r = purchased(30d)", timezone="Europe/Paris")
    frame = pd.DataFrame([{"id": 1, "orders": [{"at": dt.datetime(2026, 7, 10), "total": 1.0}]}])
    with pytest.raises(UsageError) as error:
        rules.evaluate(frame, now=NOW, engine="duckdb")
    assert str(error.value) == "orders.at is TIMESTAMP, not a datetime"
    monkeypatch.setattr(sources, "SQL_FROM_ROWS", 1)
    assert rules.evaluate(frame, now=NOW).members == {"r": [1]}


def test_ids_the_python_engine_refuses_are_its_error(monkeypatch):
    """Boolean ids are bad data for the Python engine; on DuckDB they are refused, and the
    automatic choice gives the Python engine's DataError."""
    rules = segdsl.loads("segment everyone = true")
    customers = [{"id": True}, {"id": False}]
    monkeypatch.setattr(sources, "SQL_FROM_ROWS", 1)
    with pytest.raises(DataError) as error:
        rules.evaluate(pd.DataFrame(customers), now=NOW)
    assert str(error.value) == "the customer at position 0 has id bool True: an id is text or a number"
    with pytest.raises(UsageError) as refused:
        rules.evaluate(pd.DataFrame(customers), now=NOW, engine="duckdb")
    assert str(refused.value) == "the ids are BOOLEAN: an id is text or a number"


def test_json_lines_in_another_zone(records, files):
    """lifecycle.seg in Paris (calendar months, RFM groups): the JSON Lines file on DuckDB
    gives the records' Result."""
    rules = segdsl.load(ROOT / "examples" / "lifecycle.seg", timezone="Europe/Paris")
    same(rules.evaluate(files["jsonl"], now=NOW, engine="duckdb"),
         rules.evaluate(records, now=NOW))


def test_the_csv_files_of_read_customers_are_not_read_as_tables(rules, tmp_path):
    """An orders.csv of one row per order line (order_id, no id), as examples/data holds:
    read as the orders table, an order of two lines would count twice. It is refused,
    naming the file to give instead."""
    (tmp_path / "customers.csv").write_text("id,country\n1,FR\n", encoding="utf-8")
    (tmp_path / "orders.csv").write_text(
        "customer_id,order_id,at,total,sku\n1,1-1,2026-07-01T10:00:00Z,30.0,S1\n"
        "1,1-1,2026-07-01T10:00:00Z,30.0,S2\n", encoding="utf-8")
    with pytest.raises(UsageError) as error:
        rules.evaluate(tmp_path, now=NOW)
    assert str(error.value) == (
        f"{tmp_path / 'orders.csv'}: one row per order line (an order_id, no id): these are "
        f"the CSV files segdsl.read_customers reads, from {tmp_path / 'customers.csv'}; give "
        f"that file as the data (as tables, each order needs an id and its lines an "
        f"order_items table)")
    shop = segdsl.read_customers(tmp_path / "customers.csv")
    assert [len(c["orders"]) for c in shop] == [1]


def test_memberships_go_only_into_a_database(tmp_path):
    """Files (a Parquet directory) are no database to write into."""
    with pytest.raises(UsageError) as error:
        sources.write_memberships(str(tmp_path), "members", {"a": [1]}, NOW)
    assert str(error.value) == (f"--into writes into a DuckDB database or PostgreSQL, not into "
                                f"files ({tmp_path})")


def test_ids_of_text_and_numbers_are_read_by_the_python_engine(tmp_path):
    """JSON Lines whose ids are "1" and 2: two ids for the Python engine, which the automatic
    choice takes; on DuckDB (one column type) they are refused, saying why."""
    data = tmp_path / "mixed.jsonl"
    data.write_text('{"id": "1", "x": 5}\n{"id": 2, "x": 5}\n', encoding="utf-8")
    rules = segdsl.loads("segment big = x > 1")
    assert rules.evaluate(str(data), now=NOW)["big"] == ["1", 2]
    with pytest.raises(UsageError) as refused:
        rules.evaluate(str(data), now=NOW, engine="duckdb")
    assert str(refused.value) == ("the ids are of several kinds (text and numbers, or values "
                                  "that are neither): the DuckDB engine reads ids of one kind")


def test_lists_all_empty_and_fields_all_null_read_as_python_reads_them(tmp_path):
    """Every customer's events empty, every order's total null: DuckDB gives those columns
    no type of their own; they are read as no events and null totals, as Python reads
    them (they were refused as 'not a list of records of one shape', 'NULL, not a number')."""
    data = tmp_path / "shop.jsonl"
    data.write_text('{"id": 1, "orders": [{"at": "2026-07-10T00:00:00Z", "total": null}], '
                    '"events": []}\n{"id": 2, "orders": [], "events": []}\n', encoding="utf-8")
    rules = segdsl.loads("segment bought = purchased(30d)\nsegment spent = spent(30d) > 1\n"
                         "segment visiting = visits(30d) >= 1")
    expected = {"bought": [1], "spent": [], "visiting": []}
    assert rules.evaluate(str(data), now=NOW, engine="python").members == expected
    assert rules.evaluate(str(data), now=NOW, engine="duckdb").members == expected
