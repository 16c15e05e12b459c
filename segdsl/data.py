"""Reading customers from files: JSON, JSON Lines, or CSV files joined by id.

* ``*.jsonl`` / ``*.ndjson``: one customer object per line.
* ``*.json``: a list of customers, or an object with a ``customers`` list.
* ``*.csv``: one row per customer, with an ``id`` column. Lists come from
  sibling files in the same folder, joined on ``customer_id``:
  ``orders.csv`` (one row per order line item: ``order_id``, the order's
  columns such as ``at`` and ``total``, and the item's ``sku``,
  ``category``, ``price``, ``discounted``, ``quantity``) and ``events.csv``
  (one row per event). In CSV an empty cell is null, ``true``/``false`` are
  booleans, plain decimal numbers are numbers, and ``tags`` holds a list
  joined with ``|``.

Every problem is a :class:`~segdsl.errors.UsageError` naming the file and,
where there is one, the line: text that is not UTF-8 or not valid JSON, a
number that does not fit a double (``1e400``) or has more digits than
Python converts (4,300; JSON's non-standard ``NaN`` and ``Infinity`` are
refused too), a missing ``id``, ``customer_id`` or timestamp
column (``at`` unless ``timestamps=`` names another). A UTF-8 byte-order mark
at the start of a file is ignored. A file without customers (empty, ``[]``, or
a CSV header alone) is not an error: :func:`read_customers` returns ``[]``
and the command line warns about it.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from segdsl import types as t
from segdsl.errors import UsageError
from segdsl.schema import Schema

ITEM_COLUMNS = ("sku", "category", "price", "discounted", "quantity")
LIST_COLUMNS = ("tags",)
#: the timestamp column each sibling CSV file must have, by list name
TIMESTAMPS = {"orders": "at", "events": "at"}
_INTEGER = re.compile(r"-?(0|[1-9]\d*)")
_DECIMAL = re.compile(r"-?(0|[1-9]\d*)\.\d+")
_ENCODING = "utf-8-sig"  # UTF-8, with or without a byte-order mark


class _BadNumber(ValueError):
    """A number in a data file that no double holds (or a NaN/Infinity literal)."""

    def __init__(self, literal: str, reason: str) -> None:
        super().__init__(literal)
        self.literal = literal
        self.reason = reason

    def message(self) -> str:
        shown = self.literal if len(self.literal) <= 40 else self.literal[:37] + "..."
        return f"bad number {shown} ({self.reason})"


def read_customers(path: str | os.PathLike[str], *,
                   timestamps: Mapping[str, str] | None = None,
                   schema: Schema | None = None) -> list[dict[str, Any]]:
    """All customers of a data file (see the module docstring for the formats).

    Args:
        path: a ``.jsonl``/``.ndjson``, ``.json`` or ``.csv`` file.
        timestamps: for CSV, the timestamp column of ``orders.csv`` and
            ``events.csv`` by list name (default :data:`TIMESTAMPS`: ``at``).
        schema: for CSV, the customers' declared fields: a column the schema
            declares a string (or a list of strings) keeps its text, so the
            zip code ``75001`` is not read as a number.

    Returns:
        The customers, in file order; ``[]`` for a file without customers.

    Raises:
        UsageError: the path, the file or a value in it cannot be used.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise UsageError(f"read_customers takes the path of a data file (str or Path), not "
                         f"{type(path).__name__}")
    columns = dict(TIMESTAMPS)
    if timestamps is not None:
        if not isinstance(timestamps, Mapping) or not all(
                isinstance(v, str) for v in timestamps.values()):
            raise UsageError("timestamps must map list names to column names, such as "
                             "{'orders': 'placed'}")
        columns.update(timestamps)
    path = _data_file(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return list(_json_lines(path))
    if suffix == ".json":
        return _json_document(path)
    if suffix == ".csv":
        if schema is not None and not isinstance(schema, Schema):
            raise UsageError(f"schema must be a segdsl.Schema, not {type(schema).__name__}")
        return _csv_customers(path, columns, _text_columns(schema))
    raise UsageError(f"{path}: unknown data format {suffix or '(no extension)'}; use .jsonl, "
                     f".json or .csv")


def stream_customers(path: str | os.PathLike[str], *,
                     timestamps: Mapping[str, str] | None = None,
                     schema: Schema | None = None) -> Iterable[dict[str, Any]]:
    """The customers of a data file, as :func:`read_customers` reads them; a JSON
    Lines file is not read here but comes as a :class:`CustomerLines`, read
    line by line at each iteration (JSON and CSV files come as a list)."""
    if isinstance(path, (str, os.PathLike)) and Path(path).suffix.lower() in (".jsonl",
                                                                               ".ndjson"):
        return CustomerLines(_data_file(Path(path)))
    return read_customers(path, timestamps=timestamps, schema=schema)


class CustomerLines:
    """The customers of a JSON Lines file, read anew (and checked as
    :func:`read_customers` checks them) each time it is iterated: a file of any
    size is read one customer at a time, and read again for a second pass."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"CustomerLines({str(self.path)!r})"

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return _json_lines(self.path)


def _data_file(path: Any) -> Path:
    """``path`` as a Path, once it names an existing file."""
    path = Path(path)
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except (OSError, ValueError) as error:
        raise UsageError(f"{path}: cannot read ({error})") from None
    if not exists:
        raise UsageError(f"{path}: no such file")
    if is_dir:
        raise UsageError(f"{path}: is a directory; give customers.jsonl, .json or .csv")
    return path


def _open(path: Path):
    try:
        return path.open(encoding=_ENCODING, newline="")
    except OSError as error:
        raise UsageError(f"{path}: cannot read ({error.strerror})") from None


# --------------------------------------------------------------------- JSON

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|-?Infinity|NaN|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?')
_LONG_INTEGER = re.compile(r"-?\d{4301,}")  # more digits than Python converts
_LARGEST = 1.7976931348623157e308


def _float(text: str) -> float:
    value = float(text)
    if abs(value) > _LARGEST:
        raise _BadNumber(text, "too large for a number")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _BadNumber(text, "more digits than a number may have") from None


def _constant(text: str) -> Any:
    raise _BadNumber(text, "not a number in standard JSON")


# Integers are left to the decoder (exact, however large; more than 4,300
# digits is a ValueError, reported as a bad number): only floats and the
# NaN/Infinity literals pay for a check.
_DECODER = json.JSONDecoder(parse_float=_float, parse_constant=_constant)


def _decode(text: str) -> Any:
    """``text`` decoded as JSON; raises _BadNumber for a number no double holds."""
    try:
        return _DECODER.decode(text)
    except ValueError as error:
        if isinstance(error, json.JSONDecodeError):
            raise
        long = _LONG_INTEGER.search(text)
        if long is None:
            raise
        raise _BadNumber(long.group(), "more digits than a number may have") from None


def _line_of(text: str, literal: str) -> int:
    """The line of the first ``literal`` in JSON ``text`` outside strings."""
    for token in _TOKEN.finditer(text):
        if token.group() == literal:
            return text.count("\n", 0, token.start()) + 1
    return 1


def _json_lines(path: Path) -> Iterator[dict[str, Any]]:
    with _open(path) as lines:
        try:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                record = _json_value(path, number, line.rstrip("\r\n"))
                if not isinstance(record, dict):
                    raise UsageError(f"{path}:{number}: expected a JSON object per line, found "
                                     f"{type(record).__name__}")
                yield record
        except UnicodeDecodeError as error:
            raise UsageError(f"{path}: not UTF-8 text ({error.reason})") from None


def _json_value(path: Path, number: int, text: str) -> Any:
    """JSON ``text`` of line ``number`` of ``path`` decoded, every problem a UsageError."""
    try:
        return _decode(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{path}:{number + error.lineno - 1}: not valid JSON ({error.msg} at "
                         f"column {error.colno})") from None
    except _BadNumber as error:
        line = number + _line_of(text, error.literal) - 1
        raise UsageError(f"{path}:{line}: {error.message()}") from None
    except RecursionError:
        raise UsageError(f"{path}:{number}: JSON nested too deeply") from None


def _json_document(path: Path) -> list[dict[str, Any]]:
    with _open(path) as file:
        try:
            text = file.read()
        except UnicodeDecodeError as error:
            raise UsageError(f"{path}: not UTF-8 text ({error.reason})") from None
    if not text.strip():
        return []
    document = _json_value(path, 1, text)
    if isinstance(document, dict) and isinstance(document.get("customers"), list):
        document = document["customers"]
    if not isinstance(document, list) or not all(isinstance(r, dict) for r in document):
        raise UsageError(f"{path}: expected a list of customer objects")
    return document


# ---------------------------------------------------------------------- CSV


def _cell(value: str) -> Any:
    if value == "":
        return None
    if value in ("true", "false"):
        return value == "true"
    if _INTEGER.fullmatch(value):
        return int(value) if len(value) < 4300 else _int(value)
    if _DECIMAL.fullmatch(value):
        number = float(value)
        if number - number != 0:  # infinite: the text overflows a double
            raise _BadNumber(value, "too large for a number")
        return number
    return value


def _cells(path: Path, line: int, row: dict[str, Any], texts: frozenset[str]
           ) -> dict[str, Any]:
    try:
        return {name: (value or None) if name in texts else _cell(value or "")
                for name, value in row.items()}
    except _BadNumber as error:
        raise UsageError(f"{path}:{line}: {error.message()}") from None


def _csv_rows(path: Path, required: tuple[str, ...],
              purposes: Mapping[str, str] | None = None, texts: frozenset[str] = frozenset()
              ) -> Iterator[tuple[int, dict[str, Any]]]:
    with _open(path) as file:
        reader = csv.DictReader(file)
        try:
            fieldnames = reader.fieldnames
        except csv.Error as error:
            raise UsageError(f"{path}:1: {error}") from None
        except UnicodeDecodeError as error:
            raise UsageError(f"{path}: not UTF-8 text ({error.reason})") from None
        if fieldnames is None:
            return  # an empty file: no rows
        missing = [name for name in required if name not in fieldnames]
        if missing:
            purpose = (purposes or {}).get(missing[0], "")
            raise UsageError(f"{path}: no {missing[0]} column{purpose} (the columns are "
                             f"{', '.join(fieldnames) or 'none'})")
        try:
            for row in reader:
                if None in row:
                    raise UsageError(f"{path}:{reader.line_num}: more cells than columns")
                yield reader.line_num, _cells(path, reader.line_num, row, texts)
        except csv.Error as error:
            raise UsageError(f"{path}:{reader.line_num}: {error}") from None
        except UnicodeDecodeError as error:
            raise UsageError(f"{path}: not UTF-8 text ({error.reason})") from None


def _text_columns(schema: Schema | None) -> dict[str, frozenset[str]]:
    """The columns read as text in each file (``customers``, ``orders``, ``events``):
    the fields the schema declares strings or lists of strings (an order's row
    holds its item's fields too)."""
    if schema is None:
        return {"customers": frozenset(), "orders": frozenset(), "events": frozenset()}

    def texts(record: t.Type | None) -> set[str]:
        if record is None or not record.is_record or not record.fields:
            return set()
        return {name for name, type_ in record.fields.items() if type_.name == "string"
                or type_.is_list and type_.element is not None
                and type_.element.name == "string"}

    def element(record: t.Type | None, name: str) -> t.Type | None:
        field = record.field(name) if record is not None and record.is_record else None
        return field.element if field is not None and field.is_list else None

    orders = element(schema.root, "orders")
    customers = texts(schema.root)
    owner = {"customer_id"} if "id" in customers else set()  # joined on the same text
    return {"customers": frozenset(customers),
            "orders": frozenset(texts(orders) | texts(element(orders, "items")) | owner),
            "events": frozenset(texts(element(schema.root, "events")) | owner)}


def _csv_customers(path: Path, timestamps: Mapping[str, str],
                   texts: dict[str, frozenset[str]]) -> list[dict[str, Any]]:
    customers: dict[Any, dict[str, Any]] = {}
    for line, row in _csv_rows(path, ("id",), texts=texts["customers"]):
        if row["id"] is None:
            raise UsageError(f"{path}:{line}: empty id")
        if row["id"] in customers:
            raise UsageError(f"{path}:{line}: id {row['id']!r} appears twice")
        for column in LIST_COLUMNS:
            if column in row:
                row[column] = _list_cell(path, line, row[column],
                                         column in texts["customers"])
        customers[row["id"]] = row
    orders_path, events_path = path.with_name("orders.csv"), path.with_name("events.csv")
    if orders_path.exists():
        _attach_orders(orders_path, customers, timestamps["orders"], texts["orders"])
    if events_path.exists():
        _attach_events(events_path, customers, timestamps["events"], texts["events"])
    return list(customers.values())


def _list_cell(path: Path, line: int, value: Any, text: bool) -> list[Any]:
    """A cell holding a list joined with ``|`` (its parts kept as text when ``text``)."""
    if value is None:
        return []
    parts = str(value).split("|")
    if text:
        return parts
    try:
        return [_cell(part) for part in parts]
    except _BadNumber as error:
        raise UsageError(f"{path}:{line}: {error.message()}") from None


def _owner(path: Path, line: int, row: dict[str, Any], customers: dict) -> dict[str, Any]:
    customer = customers.get(row.pop("customer_id"))
    if customer is None:
        raise UsageError(f"{path}:{line}: customer_id does not match any customer id")
    return customer


def _required(timestamp: str, what: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """The columns a sibling file must have, and what each is for."""
    return ("customer_id", timestamp), {
        "customer_id": ", the id of each row's customer",
        timestamp: f", the time of each {what} (without it no {what} is in any window)",
    }


def _attach_orders(path: Path, customers: dict, timestamp: str,
                   texts: frozenset[str]) -> None:
    for customer in customers.values():
        customer.setdefault("orders", [])
    orders: dict[Any, dict[str, Any]] = {}
    for line, row in _csv_rows(path, *_required(timestamp, "order"), texts=texts):
        customer = _owner(path, line, row, customers)
        item = {name: row.pop(name) for name in ITEM_COLUMNS if name in row}
        order_id = row.pop("order_id", None)
        order = orders.get(order_id) if order_id is not None else None
        if order is None:
            order = {**row, "items": []}
            customer["orders"].append(order)
            if order_id is not None:
                orders[order_id] = order
        if any(value is not None for value in item.values()):
            order["items"].append(item)


def _attach_events(path: Path, customers: dict, timestamp: str,
                   texts: frozenset[str]) -> None:
    for customer in customers.values():
        customer.setdefault("events", [])
    for line, row in _csv_rows(path, *_required(timestamp, "event"), texts=texts):
        _owner(path, line, row, customers)["events"].append(row)
