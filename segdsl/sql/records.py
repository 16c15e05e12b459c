"""Customer records (dicts or objects) written into the normalized tables.

The records' values are read exactly as the Python engine reads them
(:mod:`segdsl.values`): ISO text and datetime objects become instants, naive
ones in the configured zone; a null element of a list is no element; a value
of another type than the schema declares is bad data. Each element of a list
with a key column gets a key numbered in list order, and a list with an order
column its position, so that ``first`` and ``last`` break ties of time as the
Python engine does (by position in the list).

This is how records reach the SQL engine in tests and benchmarks; data that
lives in a database is already in its tables.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from typing import Any

from segdsl import types as t
from segdsl.errors import DataError, UsageError
from segdsl.sql.layout import Layout, ListTable
from segdsl.timeline import UTC, read_date, read_datetime
from segdsl.values import (
    FieldReadError,
    is_record,
    normalise,
    normalise_items,
    read_field,
)


def load_records(connection: Any, records: Iterable[Any], layout: Layout,
                 zone: dt.tzinfo = UTC) -> int:
    """Write ``records`` into ``layout``'s tables on a DuckDB ``connection``
    (through pyarrow), a PostgreSQL (psycopg) one or a SparkSession (as temporary
    views), replacing tables of the same names.

    Returns:
        the number of customers written.

    Raises:
        DataError: a value is not of its declared type, or a list is no list.
        UsageError: pyarrow is not installed (DuckDB), or the ids are of mixed kinds.
    """
    customers = _Rows(_customer_columns(layout))
    tables = {path: _Rows(_element_columns(table, layout)) for path, table in layout.lists.items()}
    keys = itertools.count(1)
    count = 0
    for record in records:
        if not is_record(record):
            raise DataError(f"a customer must be a dict or an object with attributes, not "
                            f"{type(record).__name__}")
        identity = _read(record, layout.id, None)
        customers.add({layout.id: identity, **{
            name: _value(_read(record, name, identity), type_, name, identity, zone)
            for name, type_ in customers.types.items() if name != layout.id}})
        for path, table in layout.lists.items():
            if len(path) == 1:
                _add_elements(tables, layout, table, _read(record, path[0], identity), identity,
                              f"{path[0]}", identity, keys, zone)
        count += 1
    if type(connection).__module__.split(".")[0] == "psycopg":
        from segdsl.sql.postgres import write_tables

        owned = [(layout.customers, customers.types, customers.columns)]
        for path, rows in tables.items():
            table = layout.lists[path]
            # A nested list's owner is the enclosing element's key, a number.
            types = {**rows.types, table.owner: t.ANY if len(path) == 1 else t.NUMBER}
            owned.append((table.table, types, rows.columns))
        write_tables(connection, owned)
        return count
    try:
        import pyarrow as pa
    except ImportError:
        raise UsageError("writing records into tables needs pyarrow: pip install pyarrow") \
            from None
    identity_type = _arrow_type(pa, t.ANY, customers.columns[layout.id])
    _create(connection, pa, layout.customers, customers, {layout.id: identity_type})
    for path, rows in tables.items():
        table = layout.lists[path]
        owner_type = identity_type if len(path) == 1 else pa.int64()
        _create(connection, pa, table.table, rows, {table.owner: owner_type})
    return count


class _Rows:
    """The rows of one table, column by column, with each column's type."""

    def __init__(self, types: dict[str, t.Type]) -> None:
        self.types = types
        self.columns: dict[str, list] = {name: [] for name in types}

    def add(self, row: dict[str, Any]) -> None:
        for name, values in self.columns.items():
            values.append(row.get(name))


def _customer_columns(layout: Layout) -> dict[str, t.Type]:
    columns: dict[str, t.Type] = {layout.id: t.ANY}
    for name, type_ in layout.fields.items():
        if _storable(type_) and name != layout.id:
            columns[layout.column(name)] = type_
    return columns


def _element_columns(table: ListTable, layout: Layout) -> dict[str, t.Type]:
    columns: dict[str, t.Type] = {table.owner: t.ANY}
    if table.key is not None:
        columns[table.key] = t.NUMBER
    if table.order is not None:
        columns[table.order] = t.NUMBER
    for name, type_ in table.fields.items():
        if _storable(type_):
            columns[table.column(name)] = type_
    return columns


def _storable(type_: t.Type) -> bool:
    if type_.is_list:
        return type_.element is not None and type_.element.name in _SCALARS
    if type_.is_record:  # a record of plain values: a struct column
        return bool(type_.fields) and all(
            sub.name in _SCALARS for sub in (type_.fields or {}).values())
    return type_.name in _SCALARS


_SCALARS = ("number", "string", "bool", "datetime", "date")


def _add_elements(tables: dict, layout: Layout, table: ListTable, raw: Any, owner: Any,
                  path: str, customer: Any, keys: itertools.count, zone: dt.tzinfo) -> None:
    items = _list(raw, path, customer)
    rows = tables[table.path]
    for index, element in enumerate(items):
        if element is None:
            continue  # a null element is no element
        where = f"{path}[{index}]"
        if not is_record(element):
            raise DataError(f"customer {customer!r}, field {where}: expected a record, found "
                            f"{type(element).__name__}", customer_id=customer, field_path=where)
        row: dict[str, Any] = {table.owner: owner}
        key = next(keys) if table.key is not None else None
        if table.key is not None:
            row[table.key] = key
        if table.order is not None and table.order != table.key:
            row[table.order] = index
        for name, type_ in table.fields.items():
            if _storable(type_):
                row[table.column(name)] = _value(_read(element, name, customer), type_,
                                                 f"{where}.{name}", customer, zone)
        rows.add(row)
        for nested_path, nested in layout.lists.items():
            if nested_path[:-1] == table.path and len(nested_path) == len(table.path) + 1:
                _add_elements(tables, layout, nested, _read(element, nested_path[-1], customer),
                              key, f"{where}.{nested_path[-1]}", customer, keys, zone)


def _read(record: Any, name: str, customer: Any) -> Any:
    try:
        return normalise(read_field(record, name))
    except (FieldReadError, TypeError, ValueError) as error:
        raise DataError(f"customer {customer!r}, field {name}: {error}", customer_id=customer,
                        field_path=name) from None


def _list(raw: Any, path: str, customer: Any) -> list:
    if raw is None:
        return []
    if type(raw) is list:
        return normalise_items(raw)
    raise DataError(f"customer {customer!r}, field {path}: expected a list, found "
                    f"{type(raw).__name__}", customer_id=customer, field_path=path)


def _value(raw: Any, type_: t.Type, path: str, customer: Any, zone: dt.tzinfo) -> Any:
    """A value read from a record, as its column holds it."""
    if raw is None:
        return None
    try:
        if type_.is_list:
            return [_value(item, type_.element or t.ANY, f"{path}[{i}]", customer, zone)
                    for i, item in enumerate(_list(raw, path, customer))]
        if type_.is_record:
            if not is_record(raw):
                raise TypeError(f"expected a record, found {type(raw).__name__}")
            return {name: _value(_read(raw, name, customer), sub, f"{path}.{name}", customer,
                                 zone) for name, sub in (type_.fields or {}).items()}
        name = type_.name
        if name == "number" and type(raw) in (int, float):
            return float(raw)
        if name == "string" and type(raw) is str:
            return raw
        if name == "bool" and type(raw) is bool:
            return raw
        if name == "datetime":
            return read_datetime(raw, zone)
        if name == "date":
            return read_date(raw, zone)
        if name == "any":
            return raw
    except (TypeError, ValueError) as error:
        raise DataError(f"customer {customer!r}, field {path}: cannot read {raw!r} as a "
                        f"{type_} ({error})", customer_id=customer, field_path=path) from None
    raise DataError(f"customer {customer!r}, field {path}: expected a {type_}, found {raw!r}",
                    customer_id=customer, field_path=path)


def _arrow_type(pa: Any, type_: t.Type, values: list) -> Any:
    if type_.is_list:
        return pa.list_(_arrow_type(pa, type_.element or t.ANY, []))
    if type_.is_record:
        return pa.struct([(name, _arrow_type(pa, sub, []))
                          for name, sub in (type_.fields or {}).items()])
    if type_.name == "any":  # ids and owners: whole numbers or text
        kinds = {type(v) for v in values if v is not None}
        if kinds <= {int}:
            return pa.int64()
        if kinds <= {str}:
            return pa.string()
        raise UsageError("ids must be all whole numbers or all text")
    return {"number": pa.float64(), "string": pa.string(), "bool": pa.bool_(),
            "datetime": pa.timestamp("us", tz="UTC"), "date": pa.date32()}[type_.name]


def _create(connection: Any, pa: Any, name: str, rows: _Rows, types: dict[str, Any]) -> None:
    arrays = {column: pa.array(values, type=types.get(column) or _arrow_type(
        pa, rows.types[column], values)) for column, values in rows.columns.items()}
    table = pa.table(arrays)
    from segdsl.sql import spark

    if spark.is_session(connection):
        spark.create_table(connection, name, table)
        return
    view = f"__segdsl_{name}"
    connection.register(view, table)
    try:
        connection.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM "{view}"')
    finally:
        connection.unregister(view)
