"""Where each list of a customer record lives in a database.

The default layout is the normalized one a shop's database has::

    customers(id, country, email, tags, ...)        one row per customer
    orders(id, customer_id, at, total, ...)          the customer's ``orders``
    order_items(order_id, sku, category, price, discounted, ...)   ``orders.items``
    events(customer_id, type, at, ...)               the customer's ``events``

A field of the customer is a column of ``customers`` (a list of plain values
such as ``tags`` is a list column, a record of plain values such as
``address`` a struct column). Each list of records is a table holding
one row per element, with a column naming its owner (the customer, or for a
nested list the enclosing element). A field of an element is a column of its
list's table, under the same name unless the layout maps it.

A :class:`Layout` is built from the same :class:`~segdsl.schema.Schema` the
checker uses (:meth:`Layout.from_schema`); tables and columns can be renamed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from segdsl import types as t
from segdsl.errors import CheckError, UsageError
from segdsl.schema import DEFAULT_SCHEMA, Schema

if TYPE_CHECKING:
    from segdsl.schema_file import Table


@attrs.frozen
class ListTable:
    """The table holding the elements of one list field.

    Attributes:
        path: the list's path from the customer: ``("orders",)``,
            ``("orders", "items")``.
        table: the table's name.
        owner: the column naming the owner: the customer's id for a list of
            the customer, the enclosing element's key for a nested list.
        key: the column identifying each element (needed when a nested list
            hangs from this one, and to break ties of ``first``/``last``);
            None when the table has none.
        order: the column giving the elements' order in the list (to break
            ties of ``first``/``last`` between elements stamped alike, and to
            order lists without timestamps); None when the table has none.
        timestamp: the element field holding its time (None: no timestamps).
        fields: the element's declared field types.
        columns: element field name to column name, where they differ.
    """

    path: tuple[str, ...]
    table: str
    owner: str
    key: str | None
    order: str | None
    timestamp: str | None
    fields: Mapping[str, t.Type] = attrs.field(eq=False)
    columns: Mapping[str, str] = attrs.field(factory=dict, eq=False)

    def column(self, name: str) -> str:
        """The column holding element field ``name``."""
        return self.columns.get(name, name)


# Database types whose values the Python engine reads as the same values of the rules'
# types (a naive TIMESTAMP, read in the rules' zone, and DECIMAL, read as a float, are not).
_COLUMN_TYPES = {
    "DOUBLE": t.NUMBER, "VARCHAR": t.STRING, "BOOLEAN": t.BOOL, "DATE": t.DATE,
    "TIMESTAMP WITH TIME ZONE": t.DATETIME, "VARCHAR[]": t.list_of(t.STRING),
    "DOUBLE[]": t.list_of(t.NUMBER), "BOOLEAN[]": t.list_of(t.BOOL),
}
# Whole numbers and single floats: read as doubles, exactly.
_WIDENED = frozenset(("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "FLOAT", "REAL",
                      "UTINYINT", "USMALLINT", "UINTEGER"))

_DEFAULT_TABLES = {
    ("orders",): ("orders", "customer_id", "id", "id"),
    ("orders", "items"): ("order_items", "order_id", None, None),
    ("events",): ("events", "customer_id", None, None),
}


@attrs.frozen
class Layout:
    """The tables and columns rules are read from.

    Attributes:
        customers: the customers' table.
        id: its column holding each customer's id.
        fields: the customer's declared field types.
        lists: the tables of the lists of records, by path.
        columns: customer field name to column name, where they differ.
    """

    customers: str
    id: str
    fields: Mapping[str, t.Type] = attrs.field(eq=False)
    lists: Mapping[tuple[str, ...], ListTable] = attrs.field(eq=False)
    columns: Mapping[str, str] = attrs.field(factory=dict, eq=False)
    #: ``(table, column)`` to the type the database declares for it, for fields
    #: the schema leaves untyped (see :meth:`with_column_types`).
    column_types: Mapping[tuple[str, str], t.Type] = attrs.field(factory=dict, eq=False)
    #: ``(table, column)`` of the columns read as doubles (integers, floats).
    widened: frozenset[tuple[str, str]] = attrs.field(factory=frozenset, eq=False)

    def with_column_types(self, described: Mapping[tuple[str, str], str]) -> Layout:
        """This layout knowing the database's column types (``(table, column)`` to
        the type's name, such as ``VARCHAR`` or ``TIMESTAMP WITH TIME ZONE``):
        fields the schema leaves untyped take the type of their column, where
        the Python engine would read its values the same way."""
        types: dict[tuple[str, str], t.Type] = {}
        widened = set()
        for key, name in described.items():
            found = _COLUMN_TYPES.get(name.upper())
            if found is None and name.upper() in _WIDENED:
                found = t.NUMBER
                widened.add(key)
            if found is not None:
                types[key] = found
        return attrs.evolve(self, column_types=types, widened=frozenset(widened))

    @classmethod
    def from_schema(cls, schema: Schema | None = None, *, customers: str = "customers",
                    id: str = "id",
                    tables: Mapping[str, str] | None = None,
                    keys: Mapping[str, str | None] | None = None,
                    order_by: Mapping[str, str | None] | None = None,
                    owners: Mapping[str, str] | None = None) -> Layout:
        """The default normalized layout for ``schema`` (the checker's default
        schema when None), with tables, keys, order columns and owner columns
        given by dotted list path (``tables={"orders.items": "line_items"}``,
        ``keys=``, ``order_by=``, ``owners=``).

        A list of records other than ``orders``, ``orders.items`` and
        ``events`` gets a table named like its path (``visits``,
        ``orders_returns``), owned through ``customer_id`` (or, nested, the
        enclosing table's key column), without key or order column unless
        given.
        """
        schema = schema if schema is not None else DEFAULT_SCHEMA
        renamed = {**(tables or {})}
        fields = dict(schema.root.fields or {})
        lists: dict[tuple[str, ...], ListTable] = {}
        pending: list[tuple[tuple[str, ...], t.Type, ListTable | None]] = [
            ((name,), type_, None) for name, type_ in fields.items()]
        while pending:
            path, type_, parent = pending.pop(0)
            if not (type_.is_list and type_.element is not None and type_.element.is_record):
                continue
            dotted = ".".join(path)
            table, owner, key, order = _DEFAULT_TABLES.get(
                path, ("_".join(path), "customer_id" if parent is None
                       else f"{parent.table.removesuffix('s')}_id", None, None))
            element = type_.element
            listed = ListTable(
                path, renamed.get(dotted, table), (owners or {}).get(dotted, owner),
                (keys or {}).get(dotted, key), (order_by or {}).get(dotted, order),
                element.timestamp, dict(element.fields or {}))
            lists[path] = listed
            pending += [((*path, name), sub, listed)
                        for name, sub in (element.fields or {}).items()]
        for path in lists:
            if len(path) > 1 and lists[path[:-1]].key is None:
                raise UsageError(f"the list {'.'.join(path)} hangs from {'.'.join(path[:-1])}, "
                                 f"whose table has no key column: name one with keys=")
        return cls(customers, id, fields, lists)

    @classmethod
    def of_rules(cls, rules: Any) -> Layout:
        """The layout ``rules`` are read from by default: the table mapping of
        the project they were loaded with (``segdsl.load(path, project=...)``),
        or else the normalized one of their schema."""
        schema = rules._program.options.schema
        tables = getattr(rules, "_tables", None)
        return cls.from_tables(schema, tables) if tables else cls.from_schema(schema)

    @classmethod
    def from_tables(cls, schema: Schema | None, tables: Mapping[str, Table]) -> Layout:
        """The layout of a schema file's or project file's table mapping:
        ``tables`` maps ``customers`` and dotted list paths to
        :class:`segdsl.schema_file.Table` (``table``, ``id``: the table's own
        key column, ``key``: the column naming the owner, ``columns``)."""
        lists = {path: found for path, found in tables.items() if path != "customers"}
        layout = cls.from_schema(
            schema, tables={p: m.table for p, m in lists.items()},
            keys={p: m.id for p, m in lists.items()},
            owners={p: m.key for p, m in lists.items() if m.key})
        # A list ordered by its key (orders by id) stays ordered by the mapped key.
        renamed = {path: attrs.evolve(
            table, columns=dict(lists[".".join(path)].columns),
            order=table.key if table.order is not None else None)
            for path, table in layout.lists.items() if ".".join(path) in lists}
        customers = tables.get("customers")
        if customers is None:
            return attrs.evolve(layout, lists={**layout.lists, **renamed})
        return attrs.evolve(layout, customers=customers.table,
                            id=customers.id or "id",
                            columns=dict(customers.columns),
                            lists={**layout.lists, **renamed})

    def list_table(self, path: tuple[str, ...], dialect: str) -> ListTable:
        """The table of the list at ``path``.

        Raises:
            CheckError: the layout has no table for it.
        """
        found = self.lists.get(path)
        if found is None:
            raise CheckError(f"the list {'.'.join(path)} has no table in the {dialect} layout: "
                             f"declare it in the schema as a list of records")
        return found

    def column(self, name: str) -> str:
        """The column of ``customers`` holding customer field ``name``."""
        return self.columns.get(name, name)


def declared_columns(layout: Layout) -> dict[tuple[str, str], t.Type]:
    """``(table, column)`` to the type the schema declares for the field it holds."""
    found = {(layout.customers, layout.column(name)): type_
             for name, type_ in layout.fields.items()}
    for table in layout.lists.values():
        found.update({(table.table, table.column(name)): type_
                      for name, type_ in table.fields.items()})
    return found
