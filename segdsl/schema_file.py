"""Schema files: the fields of customer records, written by hand in TOML.

    # schema.toml
    open = false                       # fields not declared here are errors in rules

    [customers]                        # where customers live in a database
    table = "customers"
    id = "id"

    [fields]
    id = "number"
    country = { type = "string", values = ["BE", "DE", "FR"] }
    tags = "list[string]"

    [fields.address]                   # a nested record
    city = "string"

    [lists.orders]                     # a list of records, and its table
    timestamp = "at"
    table = "orders"
    key = "customer_id"                # the column naming the customer
    columns = { at = "placed_at" }     # field = column, where they differ

    [lists.orders.fields]
    at = "datetime"
    total = "number"

    [lists."orders.items"]             # a list inside each order
    table = "order_items"
    key = "order_id"

    [lists."orders.items".fields]
    category = { type = "string", values = ["shoes", "beauty"] }

A type is a name (``bool``, ``number``, ``string``, ``date``, ``datetime``,
``duration``, ``any``, ``record``, ``list[T]``), a table
``{ type = "string", values = [...] }`` (a string with a fixed set of values),
or a table of fields (a nested record; one with a field named ``type`` is
written ``{ type = "record", fields = {...} }``). Lists of records are declared
under ``[lists.PATH]``, PATH being dotted for a list inside another list's
elements, so that each list's table mapping sits beside its fields.

TOML is read by the standard library (``tomllib``), is the format of
``pyproject.toml`` where the project table may live, and has comments and
dates; see the README for the choice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import attrs

from segdsl import types as t
from segdsl.errors import UsageError
from segdsl.schema import DEFAULT_TIMESTAMP, ListOf, OneOf, Schema
from segdsl.toml_source import TomlSource, did_you_mean

TOP_KEYS = ("open", "customers", "fields", "lists")
LIST_KEYS = ("timestamp", "table", "id", "key", "columns", "fields")
CUSTOMER_KEYS = ("table", "id", "columns")
FIELD_SPEC_KEYS = ("type", "values", "fields")


@attrs.frozen
class Table:
    """Where the customers, or one list of records, live in a database.

    Attributes:
        path: ``customers``, or the list's dotted path (``orders.items``).
        table: the table's name (may be qualified: ``shop.orders``).
        id: the table's own key column (what a nested list's ``key`` names).
        key: the column naming the customer (for a nested list: the
            element of the enclosing list); None for the customers' table.
        columns: field name to column name, where they differ.
    """

    path: str
    table: str
    id: str | None = "id"
    key: str | None = None
    columns: Mapping[str, str] = attrs.field(factory=dict)

    def column(self, field: str) -> str:
        """The column holding ``field``."""
        return self.columns.get(field, field)


#: The brief's default database layout; a schema file or project file maps other names.
DEFAULT_TABLES = {
    "customers": Table("customers", "customers", "id", None),
    "orders": Table("orders", "orders", "id", "customer_id"),
    "orders.items": Table("orders.items", "order_items", None, "order_id"),
    "events": Table("events", "events", None, "customer_id"),
}


def default_table(path: str) -> Table:
    """The mapping of a list no file maps: the brief's layout for its lists;
    otherwise a table named after the path, keyed by ``customer_id`` (or, in
    a nested list, by the enclosing list's name in the singular + ``_id``)."""
    if path in DEFAULT_TABLES:
        return DEFAULT_TABLES[path]
    parent, _, _ = path.rpartition(".")
    key = "customer_id" if not parent else f"{parent.rsplit('.', 1)[-1].removesuffix('s')}_id"
    return Table(path, path.replace(".", "_"), "id", key)


@attrs.frozen
class SchemaFile:
    """What a schema file declares.

    Attributes:
        schema: the customers' fields, for the checker.
        tables: the table mapping of the customers and of each list, by path.
    """

    schema: Schema
    tables: Mapping[str, Table]


def read_schema(text: str, file: str) -> SchemaFile:
    """The schema and table mapping declared by a schema file's text.

    Raises:
        UsageError: the text is not valid TOML or not a schema (placed on
            the offending key or value).
    """
    source = TomlSource(text, file)
    return schema_from_table(source.data, source, "")


def schema_from_table(data: Mapping[str, Any], source: TomlSource, prefix: str) -> SchemaFile:
    """The schema of ``data``, a schema file's table (``prefix`` is the name of the
    table holding it in a project file, ``schema.``, or empty)."""
    source.unknown_keys(data, TOP_KEYS, "the schema" if not prefix else f"[{prefix.rstrip('.')}]")
    reader = _Reader(source, prefix)
    fields = reader.record(data.get("fields", {}), f"{prefix}fields", "")
    lists = data.get("lists", {})
    if not isinstance(lists, Mapping):
        raise source.fail("'lists' must be a table of lists: [lists.orders]", "lists")
    tables = {"customers": reader.customers(data.get("customers", {}))}
    for path in sorted(lists, key=lambda p: p.count(".")):
        reader.add_list(fields, path, lists[path], tables)
    open_ = data.get("open", False)
    if not isinstance(open_, bool):
        raise source.fail("'open' is true or false", "open")
    try:
        return SchemaFile(Schema(fields, open=open_), tables)
    except UsageError as error:
        raise source.fail(error.message, None, None, hint=error.hint) from None


class _Reader:
    """Reads the tables of a schema file into :class:`Schema` field specs."""

    def __init__(self, source: TomlSource, prefix: str) -> None:
        self.source = source
        self.prefix = prefix

    def lines(self, header: str) -> tuple[int, int]:
        return self.source.table_lines(header)

    def record(self, table: Any, header: str, path: str) -> dict[str, Any]:
        if not isinstance(table, Mapping):
            raise self.source.fail(f"[{header}] must be a table of fields", header.rsplit(".")[-1])
        return {name: self.field(spec, header, f"{path}{name}", name)
                for name, spec in table.items()}

    def field(self, spec: Any, header: str, path: str, name: str) -> Any:
        lines = self.lines(header)
        if isinstance(spec, str):
            try:
                t.parse_type(spec)
            except ValueError:
                raise self.source.fail(f"field {path}: unknown type '{spec}'", spec, lines,
                                       hint=did_you_mean(spec, [*t.SCALARS, "record",
                                                                "list[string]"])) from None
            return spec
        if not isinstance(spec, Mapping):
            raise self.source.fail(f"field {path}: a type is a name such as \"string\" or a "
                                   f"table, not {json.dumps(spec, default=str)}", name, lines)
        kind = spec.get("type")
        if not isinstance(kind, str):
            return self.record(spec, f"{header}.{_key(name)}", path + ".")
        self.source.unknown_keys(spec, FIELD_SPEC_KEYS, f"the type of {path}", lines)
        if kind == "record":
            return self.record(spec.get("fields", {}), f"{header}.{_key(name)}.fields", path + ".")
        if "values" in spec:
            values = spec["values"]
            if kind != "string" or not isinstance(values, list) or not values \
                    or not all(isinstance(v, str) for v in values):
                raise self.source.fail(f"field {path}: values are for string fields: "
                                       f"type = \"string\", values = [\"a\", \"b\"]", "values",
                                       lines)
            return OneOf(*values)
        return self.field(kind, header, path, name)

    def customers(self, table: Any) -> Table:
        header = f"{self.prefix}customers"
        if not isinstance(table, Mapping):
            raise self.source.fail("[customers] must be a table: table = \"customers\"",
                                   "customers")
        self.source.unknown_keys(table, CUSTOMER_KEYS, f"[{header}]", self.lines(header))
        base = DEFAULT_TABLES["customers"]
        return Table("customers", self._name(table, "table", base.table, header),
                     self._text(table, "id", base.id, header), None,
                     self._columns(table, header))

    def add_list(self, fields: dict[str, Any], path: str, table: Any,
                 tables: dict[str, Table]) -> None:
        header = f"{self.prefix}lists.{_key(path)}"
        lines = self.lines(header)
        if not isinstance(table, Mapping):
            raise self.source.fail(f"[{header}] must be a table", path, lines)
        self.source.unknown_keys(table, LIST_KEYS, f"[{header}]", lines)
        *parents, name = path.split(".")
        owner = fields
        for index, parent in enumerate(parents):
            found = owner.get(parent)
            if not isinstance(found, ListOf):
                raise self.source.fail(f"list {path}: {'.'.join(parents[:index + 1])} is not a "
                                       f"list declared before it", path, lines,
                                       hint=f"declare [{self.prefix}lists."
                                            f"{'.'.join(parents[:index + 1])}] too")
            owner = found.fields  # type: ignore[assignment]
        if name in owner:
            raise self.source.fail(f"list {path} is also declared as a field", path, lines)
        element = self.record(table.get("fields", {}), f"{header}.fields", path + ".")
        timestamp = self._name(table, "timestamp", DEFAULT_TIMESTAMP, header)
        if timestamp not in element and (timestamp != DEFAULT_TIMESTAMP or "timestamp" in table):
            raise self.source.fail(f"list {path}: timestamp field '{timestamp}' is not among "
                                   f"its fields", "timestamp", lines,
                                   hint=did_you_mean(timestamp, element))
        owner[name] = ListOf(element, timestamp=timestamp if timestamp in element else None)
        base = default_table(path)
        tables[path] = Table(path, self._name(table, "table", base.table, header),
                             self._text(table, "id", base.id, header),
                             self._text(table, "key", base.key, header),
                             self._columns(table, header))

    def _text(self, table: Mapping[str, Any], key: str, default: str | None,
              header: str) -> str | None:
        value = table.get(key, default)
        if value is not None and (not isinstance(value, str) or not value):
            raise self.source.fail(f"'{key}' must be a name in quotes", key, self.lines(header))
        return value

    def _name(self, table: Mapping[str, Any], key: str, default: str, header: str) -> str:
        value = self._text(table, key, default, header)
        return default if value is None else value

    def _columns(self, table: Mapping[str, Any], header: str) -> dict[str, str]:
        columns = table.get("columns", {})
        if not isinstance(columns, Mapping) or not all(
                isinstance(v, str) and v for v in columns.values()):
            raise self.source.fail("'columns' maps fields to column names: "
                                   "columns = { at = \"placed_at\" }", "columns",
                                   self.lines(header))
        return dict(columns)


# ------------------------------------------------------------------ writing


def write_schema(schema: Schema, *, tables: Mapping[str, Table] | None = None,
                 comment: str | None = None) -> str:
    """A schema file declaring ``schema`` (and the table mapping of its lists).

    ``read_schema(write_schema(s))`` declares the same fields as ``s``.
    """
    tables = dict(tables or {})
    lines: list[str] = []
    if comment:
        lines.extend(f"# {line}".rstrip() for line in comment.splitlines())
        lines.append("")
    lines.append(f"open = {'true' if schema.open else 'false'}")
    customers = tables.get("customers", DEFAULT_TABLES["customers"])
    lines.extend(["", "[customers]", *_table_lines(customers)])
    lists: list[tuple[str, t.Type]] = []
    lines.extend(_record_lines(schema.root, "fields", "", lists))
    while lists:
        path, element = lists.pop(0)
        header = f"lists.{_key(path)}"
        lines.extend(["", f"[{header}]"])
        if element.timestamp:
            lines.append(f"timestamp = {_string(element.timestamp)}")
        lines.extend(_table_lines(tables.get(path, default_table(path))))
        lines.extend(_record_lines(element, f"{header}.fields", path + ".", lists))
    return "\n".join(lines) + "\n"


def _table_lines(table: Table) -> list[str]:
    lines = [f"table = {_string(table.table)}"]
    if table.id is not None:
        lines.append(f"id = {_string(table.id)}")
    if table.key is not None:
        lines.append(f"key = {_string(table.key)}")
    if table.columns:
        pairs = ", ".join(f"{_key(k)} = {_string(v)}" for k, v in table.columns.items())
        lines.append(f"columns = {{ {pairs} }}")
    return lines


def _record_lines(record: t.Type, header: str, path: str,
                  lists: list[tuple[str, t.Type]]) -> list[str]:
    """``[header]`` with the scalar fields of ``record``, then its nested records;
    its lists of records are queued on ``lists``."""
    scalars: list[str] = []
    nested: list[str] = []
    for name, type_ in (record.fields or {}).items():
        if type_.is_list and type_.element is not None and type_.element.is_record \
                and type_.element.fields is not None:
            lists.append((f"{path}{name}", type_.element))
        elif type_.is_record and type_.fields is not None:
            if "type" in type_.fields:
                sub = f"{header}.{_key(name)}"
                nested.extend(["", f"[{sub}]", 'type = "record"'])
                nested.extend(_record_lines(type_, f"{sub}.fields", f"{path}{name}.", lists))
            else:
                nested.extend(_record_lines(type_, f"{header}.{_key(name)}", f"{path}{name}.",
                                            lists))
        else:
            scalars.append(f"{_key(name)} = {_type_text(type_)}")
    return ["", f"[{header}]", *scalars, *nested]


def _type_text(type_: t.Type) -> str:
    if type_.values is not None:
        values = ", ".join(_string(v) for v in sorted(type_.values))
        return f'{{ type = "string", values = [{values}] }}'
    return _string(str(type_))


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else _string(name)


def _string(text: str) -> str:
    # A JSON string is a TOML basic string (both escape \", \\ and controls as \uXXXX).
    return json.dumps(text, ensure_ascii=False)
