"""Data files are read, never trusted: every problem names the file (and line), nothing is guessed."""

from __future__ import annotations

from pathlib import Path

import pytest

import segdsl
from segdsl.data import read_customers

NOW = "2026-07-15T12:00:00Z"
BOM = "\ufeff"


def usage_error(path: Path, **options) -> str:
    """The message of the UsageError reading ``path`` raises."""
    with pytest.raises(segdsl.UsageError) as raised:
        read_customers(path, **options)
    return raised.value.message


def csv_folder(tmp_path: Path, customers: str, **siblings: str) -> Path:
    """customers.csv (and orders.csv, events.csv...) in ``tmp_path``; the customers' path."""
    for name, text in siblings.items():
        (tmp_path / f"{name}.csv").write_text(text, encoding="utf-8")
    path = tmp_path / "customers.csv"
    path.write_text(customers, encoding="utf-8")
    return path


# ------------------------------------------------------- timestamp columns


@pytest.mark.parametrize("sibling, header, what", [
    ("orders", "customer_id,order_id,total", "order"),
    ("events", "customer_id,type", "event"),
])
def test_a_sibling_file_without_its_timestamp_column_is_an_error(tmp_path, sibling, header, what):
    """orders.csv or events.csv without `at` names the file and the column, instead of empty windows."""
    path = csv_folder(tmp_path, "id\n1\n", **{sibling: f"{header}\n1,x,3\n"})
    columns = ", ".join(header.split(","))
    assert usage_error(path) == (
        f"{tmp_path / (sibling + '.csv')}: no at column, the time of each {what} (without it no "
        f"{what} is in any window) (the columns are {columns})")


def test_the_timestamp_column_can_be_named(tmp_path):
    """timestamps= names another timestamp column, which is then required instead of `at`."""
    path = csv_folder(tmp_path, "id\n1\n", orders="customer_id,placed,total\n1,2026-07-01,5\n")
    customers = read_customers(path, timestamps={"orders": "placed"})
    assert customers == [{"id": 1, "orders": [{"placed": "2026-07-01", "total": 5, "items": []}]}]
    assert usage_error(path).startswith(f"{tmp_path / 'orders.csv'}: no at column")


def test_bad_timestamps_option_is_a_usage_error(tmp_path):
    """timestamps= must map list names to column names."""
    path = csv_folder(tmp_path, "id\n1\n")
    assert usage_error(path, timestamps={"orders": 5}) == (
        "timestamps must map list names to column names, such as {'orders': 'placed'}")


# ------------------------------------------------------------- empty files


@pytest.mark.parametrize("name, text", [
    ("customers.jsonl", ""),
    ("customers.jsonl", "\n\n"),
    ("customers.json", ""),
    ("customers.json", "[]"),
    ("customers.csv", ""),
    ("customers.csv", "id,country\n"),
])
def test_a_file_without_customers_reads_as_no_customers(tmp_path, name, text):
    """An empty file, `[]` or a CSV header alone is no customers, not an error."""
    path = tmp_path / name
    path.write_text(text)
    assert read_customers(path) == []


# --------------------------------------------------------- numbers overflowing


@pytest.mark.parametrize("text, line, number", [
    ('{"id": 1, "x": 1e400}\n', 1, "1e400 (too large for a number)"),
    ('{"id": 1}\n{"id": 2, "x": -1.5E+999}\n', 2, "-1.5E+999 (too large for a number)"),
    ('{"id": 1}\n\n{"id": 3, "x": NaN}\n', 3, "NaN (not a number in standard JSON)"),
    ('{"id": 1, "x": Infinity}\n', 1, "Infinity (not a number in standard JSON)"),
    ('{"id": 1, "x": -Infinity}\n', 1, "-Infinity (not a number in standard JSON)"),
    ('{"id": 1}\n{"id": 2, "x": 1' + "0" * 5000 + "}\n", 2,
     "1000000000000000000000000000000000000... (more digits than a number may have)"),
])
def test_a_number_no_double_holds_in_json_lines_is_bad_data(tmp_path, text, line, number):
    """1e400, NaN and Infinity in JSON Lines are a UsageError naming file and line."""
    path = tmp_path / "customers.jsonl"
    path.write_text(text)
    assert usage_error(path) == f"{path}:{line}: bad number {number}"


def test_a_number_no_double_holds_in_a_json_document_names_its_line(tmp_path):
    """In a .json document the line of the bad number is found, strings not mistaken for it."""
    path = tmp_path / "customers.json"
    path.write_text('[\n {"id": 1, "note": "1e400 NaN"},\n {"id": 2,\n  "x": 1e400}\n]')
    assert usage_error(path) == f"{path}:4: bad number 1e400 (too large for a number)"


def test_large_but_finite_numbers_and_such_text_are_read(tmp_path):
    """1e300, a 400-digit integer (exact) and the text "NaN" are read as they are."""
    path = tmp_path / "customers.jsonl"
    path.write_text('{"id": 1, "x": 1e300, "n": 1' + "0" * 400 + ', "s": "NaN Infinity 1e999"}\n')
    assert read_customers(path) == [{"id": 1, "x": 1e300, "n": 10 ** 400,
                                     "s": "NaN Infinity 1e999"}]


def test_json_nested_too_deeply_is_a_usage_error(tmp_path):
    """100,000 nested brackets are refused with the file's name, not a RecursionError."""
    path = tmp_path / "customers.json"
    path.write_text("[" * 100_000)
    assert usage_error(path) == f"{path}:1: JSON nested too deeply"


@pytest.mark.parametrize("cell", ["1" + "0" * 400 + ".5", "1" + "0" * 5000])
def test_a_csv_number_cell_that_overflows_is_bad_data(tmp_path, cell):
    """A CSV number cell no double holds (or with more digits than Python converts) names the file and line."""
    path = csv_folder(tmp_path, f"id,x\n1,2\n2,{cell}\n")
    assert usage_error(path).startswith(f"{path}:3: bad number 1000")


def test_an_overflowing_number_in_orders_csv_and_in_tags(tmp_path):
    """Sibling files and `|`-joined lists check their numbers too."""
    path = csv_folder(tmp_path, "id,tags\n1,a|1" + "0" * 400 + ".5\n")
    assert usage_error(path).startswith(f"{path}:2: bad number")
    path = csv_folder(tmp_path, "id\n1\n", orders=f"customer_id,at,total\n1,,1{'0' * 400}.0\n")
    assert usage_error(path).startswith(f"{tmp_path / 'orders.csv'}:2: bad number")


# ------------------------------------------------------------ byte-order mark


@pytest.mark.parametrize("name, text", [
    ("customers.jsonl", BOM + '{"id": 1, "country": "FR"}\n'),
    ("customers.json", BOM + '[{"id": 1, "country": "FR"}]'),
    ("customers.csv", BOM + "id,country\n1,FR\n"),
])
def test_a_byte_order_mark_is_accepted(tmp_path, name, text):
    """A UTF-8 byte-order mark at the start of a data file is ignored."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert read_customers(path) == [{"id": 1, "country": "FR"}]


def test_a_byte_order_mark_in_orders_csv_is_accepted(tmp_path):
    """orders.csv written by a spreadsheet, with its mark, joins as usual."""
    path = csv_folder(tmp_path, "id\n1\n", orders=BOM + "customer_id,at,total\n1,2026-07-01,5\n")
    assert read_customers(path)[0]["orders"] == [{"at": "2026-07-01", "total": 5, "items": []}]


# --------------------------------------------------------------- bad paths


@pytest.mark.parametrize("path, shown", [(None, "NoneType"), (5, "int"), (["a.csv"], "list")])
def test_read_customers_of_something_not_a_path_is_a_usage_error(path, shown):
    """read_customers(None) and other non-paths are a UsageError saying what to pass."""
    with pytest.raises(segdsl.UsageError) as raised:
        read_customers(path)
    assert raised.value.message == (
        f"read_customers takes the path of a data file (str or Path), not {shown}")


def test_a_path_with_a_nul_character_is_a_usage_error():
    """A path the system cannot even look up is a UsageError, not a ValueError."""
    with pytest.raises(segdsl.UsageError) as raised:
        read_customers("cust\0omers.jsonl")
    assert raised.value.message == "cust\0omers.jsonl: no such file"


def _csv_shop(tmp_path: Path) -> Path:
    (tmp_path / "customers.csv").write_text("id,zip,tags\n1,01234,a|7\n2,75001,\n")
    (tmp_path / "orders.csv").write_text("customer_id,at,total,sku\n"
                                         "1,2026-07-01T00:00:00Z,5,00123\n"
                                         "2,2026-07-02T00:00:00Z,7,456\n")
    return tmp_path / "customers.csv"


def test_csv_columns_the_schema_declares_strings_keep_their_text(tmp_path):
    """A zip code, a tag, an item's sku: declared strings, they stay text (75001, 7 and
    456 would otherwise be read as numbers); the other columns are guessed as before."""
    schema = segdsl.Schema({"id": "number", "zip": "string", "tags": "list[string]",
                            "orders": [{"at": "datetime", "total": "number",
                                        "items": [{"sku": "string"}]}]})
    assert read_customers(_csv_shop(tmp_path), schema=schema) == [
        {"id": 1, "zip": "01234", "tags": ["a", "7"], "orders": [
            {"at": "2026-07-01T00:00:00Z", "total": 5, "items": [{"sku": "00123"}]}]},
        {"id": 2, "zip": "75001", "tags": [], "orders": [
            {"at": "2026-07-02T00:00:00Z", "total": 7, "items": [{"sku": "456"}]}]}]
    guessed = read_customers(_csv_shop(tmp_path))
    assert [c["zip"] for c in guessed] == ["01234", 75001]
    assert guessed[0]["tags"] == ["a", 7]


def test_text_ids_join_the_orders_on_their_text(tmp_path):
    """With ids declared strings, orders.csv's customer_id is read as text too."""
    schema = segdsl.Schema({"id": "string"}, open=True)
    customers = read_customers(_csv_shop(tmp_path), schema=schema)
    assert [(c["id"], len(c["orders"])) for c in customers] == [("1", 1), ("2", 1)]


def test_rules_over_a_csv_read_with_their_schema(tmp_path):
    """`segdsl eval --schema` reads the CSV with it: `zip starts_with "75"` finds customer 2."""
    schema = segdsl.Schema({"id": "number", "zip": "string"}, open=True)
    rules = segdsl.loads('segment paris = zip starts_with "75"', schema=schema)
    customers = read_customers(_csv_shop(tmp_path), schema=schema)
    assert rules.evaluate(customers, now="2026-07-15")["paris"] == [2]


def test_a_schema_that_is_no_schema_is_a_usage_error(tmp_path):
    with pytest.raises(segdsl.UsageError, match="schema must be a segdsl.Schema, not dict"):
        read_customers(_csv_shop(tmp_path), schema={"zip": "string"})
