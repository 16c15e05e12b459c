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
where there is one, the line.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from segdsl.errors import UsageError

ITEM_COLUMNS = ("sku", "category", "price", "discounted", "quantity")
LIST_COLUMNS = ("tags",)
_INTEGER = re.compile(r"-?(0|[1-9]\d*)")
_DECIMAL = re.compile(r"-?(0|[1-9]\d*)\.\d+")


def read_customers(path: str | Path) -> list[dict[str, Any]]:
    """All customers of a data file (see the module docstring for the formats)."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if path.is_dir():
        raise UsageError(f"{path}: is a directory; give customers.jsonl, .json or .csv")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return list(_json_lines(path))
    if suffix == ".json":
        return _json_document(path)
    if suffix == ".csv":
        return _csv_customers(path)
    raise UsageError(f"{path}: unknown data format {suffix or '(no extension)'}; use .jsonl, "
                     f".json or .csv")


def _open(path: Path):
    try:
        return path.open(encoding="utf-8", newline="")
    except OSError as error:
        raise UsageError(f"{path}: cannot read ({error.strerror})") from None


def _json_lines(path: Path) -> Iterator[dict[str, Any]]:
    with _open(path) as lines:
        try:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line.rstrip("\r\n"))
                except json.JSONDecodeError as error:
                    raise UsageError(f"{path}:{number}: not valid JSON ({error.msg} at column "
                                     f"{error.colno})") from None
                if not isinstance(record, dict):
                    raise UsageError(f"{path}:{number}: expected a JSON object per line, found "
                                     f"{type(record).__name__}")
                yield record
        except UnicodeDecodeError as error:
            raise UsageError(f"{path}: not UTF-8 text ({error.reason})") from None


def _json_document(path: Path) -> list[dict[str, Any]]:
    with _open(path) as file:
        try:
            document = json.load(file)
        except json.JSONDecodeError as error:
            raise UsageError(f"{path}:{error.lineno}: not valid JSON ({error.msg} at column "
                             f"{error.colno})") from None
        except UnicodeDecodeError as error:
            raise UsageError(f"{path}: not UTF-8 text ({error.reason})") from None
    if isinstance(document, dict) and isinstance(document.get("customers"), list):
        document = document["customers"]
    if not isinstance(document, list) or not all(isinstance(r, dict) for r in document):
        raise UsageError(f"{path}: expected a list of customer objects")
    return document


def _cell(value: str) -> Any:
    if value == "":
        return None
    if value in ("true", "false"):
        return value == "true"
    if _INTEGER.fullmatch(value):
        return int(value)
    if _DECIMAL.fullmatch(value):
        return float(value)
    return value


def _csv_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, Any]]]:
    with _open(path) as file:
        reader = csv.DictReader(file)
        missing = [name for name in required if name not in (reader.fieldnames or [])]
        if missing:
            raise UsageError(f"{path}: no {missing[0]} column (the columns are "
                             f"{', '.join(reader.fieldnames or []) or 'none'})")
        try:
            for row in reader:
                if None in row:
                    raise UsageError(f"{path}:{reader.line_num}: more cells than columns")
                yield reader.line_num, {name: _cell(value or "") for name, value in row.items()}
        except csv.Error as error:
            raise UsageError(f"{path}:{reader.line_num}: {error}") from None
        except UnicodeDecodeError as error:
            raise UsageError(f"{path}: not UTF-8 text ({error.reason})") from None


def _csv_customers(path: Path) -> list[dict[str, Any]]:
    customers: dict[Any, dict[str, Any]] = {}
    for line, row in _csv_rows(path, ("id",)):
        if row["id"] is None:
            raise UsageError(f"{path}:{line}: empty id")
        if row["id"] in customers:
            raise UsageError(f"{path}:{line}: id {row['id']!r} appears twice")
        for column in LIST_COLUMNS:
            if column in row:
                value = row[column]
                row[column] = [] if value is None else [_cell(part) for part in str(value).split("|")]
        customers[row["id"]] = row
    orders_path, events_path = path.with_name("orders.csv"), path.with_name("events.csv")
    if orders_path.exists():
        _attach_orders(orders_path, customers)
    if events_path.exists():
        _attach_events(events_path, customers)
    return list(customers.values())


def _owner(path: Path, line: int, row: dict[str, Any], customers: dict) -> dict[str, Any]:
    customer = customers.get(row.pop("customer_id"))
    if customer is None:
        raise UsageError(f"{path}:{line}: customer_id does not match any customer id")
    return customer


def _attach_orders(path: Path, customers: dict) -> None:
    for customer in customers.values():
        customer.setdefault("orders", [])
    orders: dict[Any, dict[str, Any]] = {}
    for line, row in _csv_rows(path, ("customer_id",)):
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


def _attach_events(path: Path, customers: dict) -> None:
    for customer in customers.values():
        customer.setdefault("events", [])
    for line, row in _csv_rows(path, ("customer_id",)):
        _owner(path, line, row, customers)["events"].append(row)
