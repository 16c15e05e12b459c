"""From checked trees to one SQL query computing every segment of a file.

The query is built as a ``sqlglot`` expression tree, directly from the
checked tree (never by writing SQL text and transpiling it). Its shape::

    WITH g1 AS (                           -- one scan of orders for the customers
        SELECT s1.customer_id AS k,
               COUNT(*) FILTER (WHERE <window and where of aggregation 1>) AS a1,
               SUM(...) FILTER (WHERE ...) AS a2, ...
        FROM orders AS s1 GROUP BY s1.customer_id),
         g2 AS (... FROM events AS s1 GROUP BY s1.customer_id)
    SELECT s0.id AS customer_id, (<rule of segment 1>) IS TRUE AS "seg1", ...
    FROM customers AS s0 LEFT JOIN g1 ON g1.k = s0.id LEFT JOIN g2 ON g2.k = s0.id

Every aggregation is computed once however many segments use it; the
aggregations over one list (in one *group*) share one scan of its table,
grouped by the owner (the customer, or for a list nested in an element, the
element). An aggregation inside another's ``where`` is computed in a group of
its own, before: a ``where`` over orders that reads ``count(items)`` joins the
items counted per order, and one that reads ``days_since_last_order`` joins
the value computed per customer in an earlier group. Scope depths of the
checked tree map to table aliases: ``s0`` is the customer, ``s1``, ``s2``, ...
the elements of the lists of a scan, outermost first. A segment that others
use is computed once, in a layer (CTEs ``m0``, ``m1``, ...) before them, and
read as a column; rankings (``ntile``, ``percentile``, ``rfm.*``) come from
the CTEs of :mod:`segdsl.sql.population`.

Types: the checked tree's, and for a customer's field it leaves untyped (no
schema), the type of its column in the database when the layout knows it
(:meth:`~segdsl.sql.layout.Layout.with_column_types`): values of another type
than the Python engine would read there are refused.

The values follow the Python engine exactly (see the README for the rules):

- Numbers are ``DOUBLE``; integer literals beyond 2**53, which no double
  holds exactly, are refused. Division and modulo by zero are null; a NaN
  result (``inf - inf``) is null; modulo takes the divisor's sign, as Python's.
- Datetimes are ``TIMESTAMPTZ`` instants; a datetime meets a date by its
  calendar day in the configured zone. Durations of hours, days and weeks are
  exact microseconds; months and years step the zone's calendar, wall clocks
  read back as python-dateutil reads them. A result outside the years 1 to
  9999 stops the query with an error, as the Python engine raises one.
- Windows: ``within = 30d`` holds the elements stamped after ``now - 30d`` and
  at or before ``now``; a period holds its whole days in the zone; elements
  stamped after ``now`` are never counted; undated elements are counted only
  without a window, and are never ``first`` or ``last``.
- ``first``/``last`` go by timestamp, ties broken by the list's order column
  (``orders.id`` by default); a list without one refuses them where ties
  could change the answer. A customer none of whose elements is dated gets
  them in list order (the Python engine's rule).
- **Sums**: ``sum`` is defined, order-independently, as the sum of the values
  each rounded to 9 decimals (``round(v * 1e9)``, halves away from zero),
  computed exactly (``HUGEINT``), then the nearest double to that exact sum
  (:func:`segdsl.sums.exact_sum` is the same definition in Python).
  ``avg`` is that sum divided by the count.

Anything not covered yet raises :class:`~segdsl.errors.CheckError` naming the
construct and the dialect, before any data is read.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

import attrs
from sqlglot import exp

from segdsl import checked as c
from segdsl import types as t
from segdsl.aggregates import window_cut
from segdsl.errors import CheckError, SegdslError, UsageError
from segdsl.functions import EARTH_RADIUS_KM
from segdsl.sql.dialects import dialect as find_dialect
from segdsl.sql.dialects.base import (
    Dialect,
    alias,
    binary,
    case,
    cast,
    join,
    named_table,
    with_ctes,
    wrap,
)
from segdsl.sql.layout import Layout, ListTable
from segdsl.sql.population import Rankings
from segdsl.timeline import UTC, Duration, Period, in_zone

# The customer's id in the layers of segments (a segment may be called customer_id).
_INTERNAL_ID = "__segdsl_customer"
# The item of a list of values in a lambda or a table of its items.
_ITEM = "__segdsl_item"
# The fixed units' lengths, as the Python engine steps them (segdsl.timeline).
_UNITS_US = {unit: Duration(1, unit).step() // dt.timedelta(microseconds=1)
             for unit in ("h", "d", "w")}
# Beyond this, a window reaches before year 1 from any now: it has no start.
_TEN_THOUSAND_YEARS_US = 10_000 * 366 * 86_400_000_000
_EXACT_INTEGERS = 2 ** 53
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_SCALE = 9  # decimals kept of each summed value
_AGGREGATIONS = ("count", "count_distinct", "exists", "sum", "avg", "min", "max", "first", "last")
_FIRST_INSTANT = "0001-01-01 00:00:00+00:00"
_LAST_INSTANT = "9999-12-31 23:59:59.999999+00:00"
_DOUBLE = exp.DataType.build("DOUBLE")
_SCALAR_TYPES = {"number": "DOUBLE", "string": "VARCHAR", "bool": "BOOLEAN",
                 "date": "DATE", "datetime": "TIMESTAMPTZ"}
_ADD = c.Operator["ADD"]
_CONTAINS = c.Operator["CONTAINS"]
_DIVIDE = c.Operator["DIVIDE"]
_ENDS_WITH = c.Operator["ENDS_WITH"]
_EQ = c.Operator["EQ"]
_GE = c.Operator["GE"]
_GT = c.Operator["GT"]
_LE = c.Operator["LE"]
_LT = c.Operator["LT"]
_MATCHES = c.Operator["MATCHES"]
_MODULO = c.Operator["MODULO"]
_MULTIPLY = c.Operator["MULTIPLY"]
_NE = c.Operator["NE"]
_STARTS_WITH = c.Operator["STARTS_WITH"]
_SUBTRACT = c.Operator["SUBTRACT"]
_COMPARISONS = {_EQ: exp.EQ, _NE: exp.NEQ, _LT: exp.LT,
                _LE: exp.LTE, _GT: exp.GT, _GE: exp.GTE}


@attrs.frozen
class _Entry:
    """What a scope depth of the checked tree is in a scan: the customer
    (``table`` None) or the element of a list table, under alias ``s{position}``."""

    position: int
    table: ListTable | None
    written_out: bool = False
    #: an item of a list of plain values (read from a table of its items)
    item: bool = False
    #: an enclosing element a correlated subquery reads, not an owner of the rows below
    outer: bool = False

    @property
    def alias(self) -> str:
        return f"s{self.position}"


#: For each scope depth of the checked tree, its entry (None: not reachable from here).
Scope = tuple[_Entry | None, ...]

_CUSTOMER_SCOPE: Scope = (_Entry(0, None),)
# The customer's scope where a segment's rule is written out in full (inside a 'where').
_WRITTEN_OUT: Scope = (_Entry(0, None, written_out=True),)


class _Inline:
    """Where a correlated subquery's aggregates are read: in place."""

    def add(self, key: Any, expression: exp.Expr) -> exp.Expr:
        return expression.copy()


@attrs.define
class _Group:
    """The aggregations computed by one scan of a list's table.

    Attributes:
        name: the CTE's name (``g1``).
        level: the owner's position (0: the customer).
        ancestors: the tables of positions 0..level (None: customers).
        chain: the tables scanned, outermost first (nested lists joined).
        stage: groups of a lower stage are computed first.
        columns: the aggregate expressions, aliased ``a1``, ``a2``, ...
    """

    name: str
    level: int
    ancestors: tuple[ListTable | None, ...]
    chain: tuple[ListTable, ...]
    stage: int
    columns: list[exp.Expr] = attrs.field(factory=list)
    index: dict[Any, str] = attrs.field(factory=dict)

    def add(self, key: Any, expression: exp.Expr) -> exp.Column:
        """A column computing ``expression`` (once per key)."""
        name = self.index.get(key)
        if name is None:
            name = f"a{len(self.columns) + 1}"
            self.index[key] = name
            self.columns.append(alias(expression, name))
        return exp.column(name, table=self.name)


class QueryCompiler:
    """Builds the query of a rule set's segments.

    Args:
        body: resolves a segment name to its checked rule.
        layout: where the lists live.
        zone: the configured timezone.
        dialect: the dialect's name.
        now: the evaluation time, or None for a ``$now`` parameter.
        populations: the population nodes (rankings) by key.
        own_ranking_scans: the rankings' measures read scans of their own
            instead of sharing the segments' (see :func:`compile_rules`).
    """

    def __init__(self, body: Callable[[str], c.Checked], layout: Layout, zone: dt.tzinfo,
                 dialect: str = "duckdb", now: dt.datetime | None = None,
                 populations: dict[str, c.Population] | None = None,
                 own_ranking_scans: bool = False) -> None:
        self.body = body
        self.layout = layout
        self.dialect: Dialect = find_dialect(dialect)
        self.zone = zone
        self.zone_name = zone_name(zone, self.dialect.name)
        self._at = now
        self._memo: dict[tuple[int, Scope], tuple[c.Checked, exp.Expr]] = {}
        self._groups: dict[Any, _Group] = {}
        self._aggregates: dict[Any, tuple[_Group, exp.Expr]] = {}
        self._referring: list[str] = []
        self._layered: set[str] = set()
        self._populations = populations or {}
        self._rankings = Rankings(lambda node: self.value(node, _CUSTOMER_SCOPE), self.dialect)
        self._layer_index = 0
        self._scope: Scope = _CUSTOMER_SCOPE
        self._own_ranking_scans = own_ranking_scans
        self._ranking = False  # compiling the rankings' measures in scans of their own

    # ------------------------------------------------------------- the query

    def query(self, names: Iterable[str]) -> exp.Select:
        """The query giving each customer's id and one boolean column per segment.

        Segments that others refer to are computed once, in layers: the
        segments of layer ``k`` read those of earlier layers as columns of
        the CTE ``m{k-1}``; without references there is a single layer.
        """
        names = list(names)
        layers = self._layers(names)
        customers = alias(exp.to_table(self.layout.customers), "s0", table=True)
        ctes: list[tuple[str, exp.Select]] = []
        if len(layers) == 1:
            query = self._layer(names, customers, None)
        else:
            for index, layer in enumerate(layers):
                self._layer_index = index
                self._memo.clear()  # references read another layer's columns
                ctes.append((f"m{index}", self._layer(layer, customers.copy(),
                                                      index - 1 if index else None)))
            last = f"m{len(layers) - 1}"
            query = exp.select(alias(exp.column(_INTERNAL_ID, table=last), "customer_id"), *(
                exp.column(exp.to_identifier(name, quoted=True), table=last) for name in names)
            ).from_(named_table(last), copy=False)
        query = query.order_by(exp.Literal.number(1), copy=False)  # by id, named or not
        ranked = self._ranked(customers) if self._rankings.nodes else []
        scans: list[tuple[str, exp.Expr]] = [
            (group.name, self._scan(group))
            for group in sorted(self._groups.values(), key=lambda g: (g.stage, g.name))]
        return with_ctes(query, [*scans, *ranked, *ctes], self.dialect.materialized or None)

    def _ranked(self, customers: exp.Expr) -> list[tuple[str, exp.Expr]]:
        """The rankings' CTEs; with ``own_ranking_scans``, their measures read
        scans of their own, so that they are computed without the segments'."""
        if self._own_ranking_scans:
            self._memo.clear()
            self._ranking = True
        try:
            return self._rankings.ctes(customers.copy(), self._join_groups)
        finally:
            self._ranking = False

    def _layers(self, names: list[str]) -> list[list[str]]:
        """The segments to compute, by layer: a segment after those it refers to
        (at the customer's level; references inside a 'where' are written out)."""
        depth: dict[str, int] = {}
        pending = list(names)
        while pending:
            name = pending[-1]
            refs = sorted({node.name for node in c.walk(
                self.body(name), lambda sub: not isinstance(sub, c.Aggregate))
                if isinstance(node, c.SegmentRef)})
            missing = [ref for ref in refs if ref not in depth]
            if missing:  # the checker refuses cycles: this ends
                pending = [other for other in pending if other not in missing] + missing
                continue
            pending.pop()
            if name not in depth:
                depth[name] = 1 + max((depth[ref] for ref in refs if ref in depth), default=-1)
        if max(depth.values(), default=0) == 0:
            return [names]
        layers: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
        for name, layer in depth.items():
            layers[layer].append(name)
        self._layered = set(depth)
        return layers

    def _layer(self, names: list[str], customers: exp.Expr, previous: int | None
               ) -> exp.Select:
        own = "customer_id" if previous is None and len(self._layered) == 0 else _INTERNAL_ID
        selected = [alias(exp.column(self.layout.id, table="s0"), own)]
        for name in names:
            condition = self._condition(self.body(name), _CUSTOMER_SCOPE, name)
            member = self.dialect.is_true(condition)
            selected.append(alias(member, exp.to_identifier(name, quoted=True)))
        identity = exp.column(self.layout.id, table="s0")
        read = _tables_read(selected[1:])  # by the segments
        if previous is not None:
            earlier = f"m{previous}"
            selected = [exp.column(exp.Star(), table=earlier), *selected[1:]]
            query = exp.select(*selected).from_(named_table(earlier), copy=False)
            identity = exp.column(_INTERNAL_ID, table=earlier)
            if "s0" in read:
                query = join(query, customers, "inner",
                             binary(exp.EQ, exp.column(self.layout.id, table="s0"),
                                    identity.copy()))
        else:
            query = exp.select(*selected).from_(customers, copy=False)
        if "pv" in read:
            query = join(query, named_table("pv"), "left",
                         binary(exp.EQ, exp.column("customer_id", table="pv"), identity.copy()))
        return self._join_groups(query, identity, read)

    def _join_groups(self, query: exp.Select, identity: exp.Expr | None = None,
                     read: set[str] | None = None) -> exp.Select:
        """``query`` (over the customers) joined to the groups its columns read
        (``read``: the tables they read, when known)."""
        identity = identity if identity is not None else exp.column(self.layout.id, table="s0")
        if read is None:
            read = _tables_read(query.expressions)
        for group in self._joined(read, level=0):
            query = join(query, named_table(group.name), "left",
                         binary(exp.EQ, exp.column("k", table=group.name), identity.copy()))
        return query

    def _joined(self, names: set[str], level: int | None = None) -> list[_Group]:
        """The groups among the tables ``names`` (of the given level only, when given)."""
        by_name = {group.name: group for group in self._groups.values()}
        return [by_name[name] for name in sorted(names, key=_natural)
                if name in by_name and (level is None or by_name[name].level == level)]

    def _scan(self, group: _Group) -> exp.Select:
        """The CTE computing a group: one scan of its tables, grouped by owner."""
        level, chain = group.level, group.chain
        base = f"s{level + 1}"
        owner = exp.column(chain[0].owner, table=base)
        query = _scan_of(exp.select(alias(owner, "k"), *group.columns), chain, level)
        used = _tables_read(group.columns)
        # (groups deeper than this scan's rows are joined in correlated subqueries)
        others = [other for other in self._joined(used)
                  if other.level <= level + len(chain)]
        needed = [position for position in range(level + 1) if f"s{position}" in used]
        needed += [other.level + 1 for other in others if other.level < level]
        deepest_join = min(needed, default=level + 1)
        for position in range(level, deepest_join - 1, -1):
            # Join the owner's ancestors up to the shallowest one read.
            ancestor = group.ancestors[position]
            name = self.layout.customers if ancestor is None else ancestor.table
            key = self.layout.id if ancestor is None else _key(ancestor)
            query = join(query, alias(exp.to_table(name), f"s{position}", table=True), "inner",
                         binary(exp.EQ, exp.column(key, table=f"s{position}"),
                                self._identity(group, position)))
        for other in others:
            query = join(query, named_table(other.name), "left",
                         binary(exp.EQ, exp.column("k", table=other.name),
                                self._identity(group, other.level)))
        kept = _rows_kept(group.columns)
        if kept is not None:
            query = query.where(kept, copy=False)
        return query.group_by(owner.copy(), copy=False)

    def _identity(self, group: _Group, position: int) -> exp.Expr:
        """In ``group``'s scan, the key of the row at ``position`` (0: the customer's id)."""
        level, chain = group.level, group.chain
        if position <= level:
            # The owner column of the row just below it.
            below = chain[0] if position == level else group.ancestors[position + 1]
            assert below is not None  # positions above the customer are tables
            return exp.column(below.owner, table=f"s{position + 1}")
        table = chain[position - level - 1]
        if table.key is None:
            raise self.dialect.refuse(f"reading the elements of {table.table} by key",
                                      "its table has no key column")
        return exp.column(table.key, table=f"s{position}")

    # ------------------------------------------------------------- values

    def value(self, node: Any, scope: Scope) -> exp.Expr:
        """The SQL expression of ``node`` in ``scope`` (a fresh copy)."""
        key = (id(node), scope)
        found = self._memo.get(key)
        if found is not None:
            return found[1].copy()
        build = getattr(self, "_" + type(node).__name__.lower(), None)
        if build is None:
            raise self._refuse(node, type(node).__name__.lower())
        outer, self._scope = self._scope, scope
        try:
            built = build(node, scope)
        except CheckError as error:
            # A dialect's refusal, placed at the node that needed the construct.
            span = getattr(getattr(node, "syntax", None), "span", None)
            if error.span is None and span is not None:
                error.span = span
            raise
        finally:
            self._scope = outer
        self._memo[key] = (node, built)  # the node is kept alive while its id is a key
        return built

    def _condition(self, node: Any, scope: Scope, what: str = "a condition"
                   ) -> exp.Expr:
        kind = self.kind(node, scope)
        if kind not in ("bool", "null"):
            raise self._refuse(node, f"{what} of type {node.type}")
        return self.value(node, scope)

    def kind(self, node: Any, scope: Scope | None = None) -> str:
        """The concrete type of ``node``'s values (``null`` for the null literal).

        Raises:
            CheckError: the type is only known when data is read.
        """
        if isinstance(node, c.Apply) and node.name == "coalesce":
            kinds = {self.kind(arg) for arg in node.args} - {"null"}
            if len(kinds) > 1:
                raise self._refuse(node, "coalesce of values of different types")
            return kinds.pop() if kinds else "null"
        if isinstance(node, c.Binary) and node.type.name == "any":
            return self.kind(node.left)
        name = self.type_of(node, scope).name
        if name == "any":
            raise self._refuse(node, "a value whose type is only known from the data",
                               "declare its field's type in the schema")
        return name

    def type_of(self, node: Any, scope: Scope | None = None) -> t.Type:
        """``node``'s type: the checker's, or for a field it left untyped, its
        column's in the database (when the layout knows it). ``scope``: where
        ``node`` is read (default: that of the node being built)."""
        if node.type.name != "any":
            return node.type
        scope = scope if scope is not None else self._scope
        if isinstance(node, c.Aggregate):
            return self._aggregated_type(node, scope)
        if isinstance(node, c.Apply) and node.name in ("lower", "upper") and node.args:
            # text in, text out; a list of texts in, a list of texts out
            found = self.type_of(node.args[0], scope)
            return found if found == t.STRING or found == t.list_of(t.STRING) else node.type
        if not isinstance(node, c.Field) or len(node.path) != 1:
            return node.type
        entry = scope[node.depth] if node.depth < len(scope) else None
        if entry is None:
            return node.type
        if entry.table is None:
            key = (self.layout.customers, self.layout.column(node.path[0]))
        else:
            key = (entry.table.table, entry.table.column(node.path[0]))
        return self.layout.column_types.get(key, node.type)

    def _aggregated_type(self, node: Any, scope: Scope) -> t.Type:
        """The type of ``min``/``max``/``first``/``last`` of a field the schema
        leaves untyped: its column's, when the layout knows it."""
        source = node.source
        if node.function not in ("min", "max", "first", "last") or not node.value \
                or not isinstance(source, c.Field) or source.depth >= len(scope):
            return node.type
        entry = scope[source.depth]
        if entry is None:
            return node.type
        path = (*(entry.table.path if entry.table is not None else ()), *source.path)
        cuts = (0, *node.flatten)
        for start, end in itertools.pairwise(cuts):
            path = (*path, *node.value[start:end])
        final = node.value[node.flatten[-1]:] if node.flatten else node.value
        table = self.layout.lists.get(path)
        if table is None or len(final) != 1:
            return node.type
        found = self.layout.column_types.get((table.table, table.column(final[0])))
        return found if found is not None and not found.is_list else node.type

    def _column_kind(self, table: ListTable, name: str) -> str | None:
        found = self.layout.column_types.get((table.table, table.column(name)))
        return found.name if found is not None else None

    def _refuse(self, node: Any, construct: str, why: str = "") -> CheckError:
        error = self.dialect.refuse(construct, why)
        syntax = node.syntax if node is not None else None
        if syntax is not None and getattr(syntax, "span", None) is not None:
            error.span = syntax.span
        return error

    # leaves

    def _constant(self, node: Any, scope: Scope) -> exp.Expr:
        return self.literal(node.value, node.type, node)

    def literal(self, value: Any, type_: t.Type, node: c.Checked | None = None
                ) -> exp.Expr:
        """A constant of the rules as SQL."""
        if value is None:
            sql_type = _SCALAR_TYPES.get(type_.name)
            return cast(exp.null(), sql_type) if sql_type else exp.null()
        if isinstance(value, bool):
            return exp.true() if value else exp.false()
        if isinstance(value, int):
            if abs(value) > _EXACT_INTEGERS:
                raise self._refuse(node, f"the integer {value}",
                                   "numbers are doubles, which hold integers exactly only up "
                                   "to 2**53")
            return cast(exp.Literal.number(value), _DOUBLE)
        if isinstance(value, float):
            text = repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
            return cast(exp.Literal.string(text), _DOUBLE)
        if isinstance(value, str):
            return exp.Literal.string(value)
        if isinstance(value, dt.datetime):
            return self.instant_literal(value, node)
        if isinstance(value, dt.date):
            return cast(exp.Literal.string(value.isoformat()), "DATE")
        if isinstance(value, Duration):
            return exp.Literal.number(self._micros(value, node))
        raise self._refuse(node, f"a constant {type_}")

    def instant_literal(self, moment: dt.datetime, node: c.Checked | None = None
                        ) -> exp.Expr:
        try:
            text = in_zone(moment, UTC).isoformat(sep=" ")
        except ValueError:
            raise self._refuse(node, f"the instant {moment.isoformat()}",
                               "it is outside the years 1 to 9999 in UTC") from None
        return cast(exp.Literal.string(text), "TIMESTAMPTZ")

    def _micros(self, duration: Duration, node: c.Checked | None) -> int:
        if duration.is_calendar:
            raise self._refuse(node, f"the calendar duration {duration} as a length of time")
        return duration.amount * _UNITS_US[duration.unit]

    def _listof(self, node: Any, scope: Scope) -> exp.Expr:
        raise self._refuse(node, "a list of values outside 'in'")

    def _now(self, node: Any, scope: Scope) -> exp.Expr:
        return self.now()

    def now(self) -> exp.Expr:
        """The evaluation time: a literal, or the dialect's parameter."""
        if self._at is None:
            return self.dialect.now()
        return self.instant_literal(self._at)

    def _field(self, node: Any, scope: Scope) -> exp.Expr:
        entry = scope[node.depth] if node.depth < len(scope) else None
        if entry is None:
            raise self._refuse(node, f"reading '{node.dotted}' of an enclosing element from an "
                               "aggregation over another list")
        if not node.path:
            if not entry.item:
                raise self._refuse(node, "a whole element as a value")
            return exp.column(_ITEM, table=entry.alias)
        if len(node.path) > 1:
            return self._nested_field(node, entry)
        name = node.path[0]
        type_ = node.type
        if type_.is_list and (type_.element is None or type_.element.is_record
                              or entry.table is not None):
            raise self._refuse(node, f"the list '{name}' as a value")
        if type_.is_record:
            raise self._refuse(node, f"the record '{name}' as a value")
        column = self.layout.column(name) if entry.table is None else entry.table.column(name)
        table = self.layout.customers if entry.table is None else entry.table.table
        read = exp.column(column, table=entry.alias)
        if (table, column) in self.layout.widened:
            return cast(read, _DOUBLE)
        return read

    def _nested_field(self, node: Any, entry: _Entry) -> exp.Expr:
        """``address.city``: a field of a record of plain values, held as a struct column
        of the customers' table (the schema declares its fields)."""
        if entry.table is not None or len(node.path) != 2 or node.type.name not in (
                "number", "string", "bool", "date", "datetime"):
            raise self._refuse(node, f"the nested field '{node.dotted}'")
        record = self.layout.fields.get(node.path[0])
        if record is None or not record.is_record or node.path[1] not in (record.fields or {}):
            raise self._refuse(node, f"the nested field '{node.dotted}'")
        return self.dialect.struct_field(
            exp.column(self.layout.column(node.path[0]), table=entry.alias), node.path[1])

    def _segmentref(self, node: Any, scope: Scope) -> exp.Expr:
        if scope == _CUSTOMER_SCOPE and node.name in self._layered:
            # Computed in an earlier layer: read its column.
            return exp.column(exp.to_identifier(node.name, quoted=True),
                              table=f"m{self._layer_index - 1}")
        if node.name in self._referring:
            raise self._refuse(node, f"the cycle through segment '{node.name}'")
        self._referring.append(node.name)
        try:
            body = self._condition(self.body(node.name), _WRITTEN_OUT, node.name)
        finally:
            self._referring.pop()
        return self.dialect.is_true(body)

    # logic

    def _not(self, node: Any, scope: Scope) -> exp.Expr:
        return _not(self._condition(node.operand, scope))

    def _and(self, node: Any, scope: Scope) -> exp.Expr:
        return _and(*(self._condition(o, scope) for o in node.operands))

    def _or(self, node: Any, scope: Scope) -> exp.Expr:
        return _or(*(self._condition(o, scope) for o in node.operands))

    def _isnull(self, node: Any, scope: Scope) -> exp.Expr:
        operand = node.operand
        if isinstance(operand, c.Field) and operand.type.is_record and operand.depth == 0 \
                and len(operand.path) == 1 and _storable_record(operand.type):
            value: exp.Expr = exp.column(self.layout.column(operand.path[0]), table="s0")
        else:
            if operand.type.name not in ("list",):
                self.kind(operand)
            value = self.value(operand, scope)
        test = exp.Is(this=wrap(value), expression=exp.null())
        return _not(test) if node.negated else test

    # comparisons and arithmetic

    def _binary(self, node: Any, scope: Scope) -> exp.Expr:
        op = node.op
        if op in _COMPARISONS:
            return self._comparison(node, scope)
        if op in (_CONTAINS, _STARTS_WITH, _ENDS_WITH,
                  _MATCHES):
            return self._text(node, scope)
        return self._arithmetic(node, scope)

    def _comparison(self, node: Any, scope: Scope) -> exp.Expr:
        kinds = {self.kind(node.left), self.kind(node.right)} - {"null"}
        untyped = "any" in (node.left.type.name, node.right.type.name)
        if kinds == {"date", "datetime"} and untyped:
            return self._by_day(node, scope)
        if len(kinds) > 1 and untyped and node.op in (_EQ, _NE) \
                and not kinds & {"list", "record", "period", "duration"}:
            # Values of two kinds are never equal (read from the data: no type error).
            left, right = self.value(node.left, scope), self.value(node.right, scope)
            missing = _or(exp.Is(this=wrap(left), expression=exp.null()),
                          exp.Is(this=wrap(right), expression=exp.null()))
            return case(missing, cast(exp.null(), "BOOLEAN"),
                        exp.false() if node.op is _EQ else exp.true())
        if len(kinds) > 1:
            raise self._refuse(node, f"comparing values of types {' and '.join(sorted(kinds))}")
        if kinds & {"list", "record", "period"} or (kinds == {"duration"} and not all(
                _exact_durations(side) for side in (node.left, node.right))):
            raise self._refuse(node, f"comparing {kinds.pop()} values")
        left, right = self.value(node.left, scope), self.value(node.right, scope)
        if kinds == {"string"}:
            left, right = self.dialect.ordered_text(left), self.dialect.ordered_text(right)
        return binary(_COMPARISONS[node.op], left, right)

    def _by_day(self, node: Any, scope: Scope) -> exp.Expr:
        """A date of unknown type compared with a datetime: by the datetime's day in
        the zone, as the Python engine compares them."""
        sides = []
        for side in (node.left, node.right):
            value = self.value(side, scope)
            if self.kind(side) == "datetime":
                value = self.dialect.wall_day(value, self.zone_name)
            sides.append(value)
        return binary(_COMPARISONS[node.op], *sides)

    def _text(self, node: Any, scope: Scope) -> exp.Expr:
        d = self.dialect
        if node.op is _CONTAINS and self.type_of(node.left).is_list:
            element = _element_kind(self.type_of(node.left))
            if self.kind(node.right) not in (element, "null"):
                raise self._refuse(node, "looking in a list for a value of another type")
            return d.list_contains(self.value(node.left, scope),
                                   self.typed(node.right, scope, element))
        left, right = self.typed(node.left, scope, "string"), self.typed(node.right, scope,
                                                                          "string")
        for side in (node.left, node.right):
            if self.kind(side) not in ("string", "null"):
                raise self._refuse(node, f"'{node.op.value}' on a {side.type}")
        if node.op is _MATCHES:
            if not (isinstance(node.right, c.Constant) and isinstance(node.right.value, str)):
                raise self._refuse(node, "'matches' with a pattern that is not a constant")
            pattern = node.pattern.pattern if node.pattern is not None else node.right.value
            return d.regex_search(left, _without_surrogates(pattern))
        name = {_CONTAINS: "contains", _STARTS_WITH: "starts_with",
                _ENDS_WITH: "ends_with"}[node.op]
        return d.text_test(name, left, right)

    def _arithmetic(self, node: Any, scope: Scope) -> exp.Expr:
        left_kind, right_kind = node.left.type.name, node.right.type.name
        if "duration" in (left_kind, right_kind) and node.type.name in ("duration", "number"):
            return self._duration_arithmetic(node, scope)
        if "duration" in (left_kind, right_kind) and node.type.name in ("datetime", "date"):
            return self._time_step(node, scope)
        if node.op is _SUBTRACT and node.type.name == "duration":
            return self._difference(node, scope)
        kinds = {self.kind(node.left), self.kind(node.right)} - {"null"}
        if not kinds <= {"number"}:
            raise self._refuse(node, f"'{node.op.value}' on {' and '.join(sorted(kinds))}")
        left, right = self.value(node.left, scope), self.value(node.right, scope)
        if node.op is _DIVIDE:
            result = binary(exp.Div, left, exp.Nullif(this=right, expression=_zero()))
        elif node.op is _MODULO:
            result = self._modulo(left, right)
        else:
            kind = {_ADD: exp.Add, _SUBTRACT: exp.Sub,
                    _MULTIPLY: exp.Mul}[node.op]
            result = binary(kind, left, right)
        # inf - inf, 0 * inf: NaN, which rules read as null.
        return self.dialect.not_nan(result)

    def _modulo(self, left: exp.Expr, right: exp.Expr) -> exp.Expr:
        """Python's ``a % b``: the remainder takes the divisor's sign; null for ``b == 0``."""
        remainder = self.dialect.modulo(left, exp.Nullif(this=right, expression=_zero()))
        differs = _and(
            binary(exp.NEQ, remainder, _zero()),
            binary(exp.NEQ, binary(exp.LT, remainder.copy(), _zero()),
                   binary(exp.LT, right.copy(), _zero())))
        return case(differs, binary(exp.Add, remainder.copy(), right.copy()), remainder.copy())

    def _negate(self, node: Any, scope: Scope) -> exp.Expr:
        if self.kind(node.operand) not in ("number", "duration", "null"):
            raise self._refuse(node, f"negating a {node.operand.type}")
        kind = "number" if node.type.name != "duration" else "duration"
        return exp.Neg(this=wrap(self.typed(node.operand, scope, kind)))

    def _difference(self, node: Any, scope: Scope) -> exp.Expr:
        """``a - b`` of two datetimes or two dates: a duration in microseconds."""
        kinds = {self.kind(node.left), self.kind(node.right)} - {"null"}
        kind = "date" if kinds == {"date"} else "datetime"
        left, right = self.typed(node.left, scope, kind), self.typed(node.right, scope, kind)
        if kinds == {"date"}:
            return binary(exp.Mul, self.dialect.days_apart(left, right),
                          exp.Literal.number(_UNITS_US["d"]))
        if kinds <= {"datetime"}:
            return binary(exp.Sub, self._epoch_us(node.left, left),
                          self._epoch_us(node.right, right))
        raise self._refuse(node, f"subtracting {' and '.join(sorted(kinds))}")

    def _time_step(self, node: Any, scope: Scope) -> exp.Expr:
        """``moment ± duration`` or ``duration + moment``, in the zone's calendar."""
        moment_node, step_node = ((node.right, node.left) if node.left.type == t.DURATION
                                  else (node.left, node.right))
        duration = _duration_of(step_node)
        if duration is None:
            raise self._refuse(node, "a duration that is not a constant")
        sign = -1 if node.op is _SUBTRACT else 1
        kind = self.kind(moment_node)
        if kind == "null":
            kind = node.type.name  # null, typed as the result
        if moment_node.type.name == "any" and kind != "datetime":
            # The Python engine reads such a value as a datetime first (a date: its midnight).
            raise self._refuse(node, f"adding a duration to a {kind} of unknown type")
        moment = self.typed(moment_node, scope, kind)
        if abs(duration.amount) > 10_000 * 366 * 24:
            raise self._refuse(node, f"a step of {duration}", "it leaves the years 1 to 9999")
        if kind == "date":
            return self._guarded_date(self._date_step(moment, duration, sign, node))
        if kind != "datetime":
            raise self._refuse(node, f"adding a duration to a {moment_node.type}")
        return self._guarded_instant(self.shifted(moment, duration, sign))

    def shifted(self, moment: exp.Expr, duration: Duration, sign: int) -> exp.Expr:
        """``moment + sign * duration``: exact lengths, or steps of the zone's calendar."""
        d = self.dialect
        if not duration.is_calendar:
            micros = sign * duration.amount * _UNITS_US[duration.unit]
            return d.plus_microseconds(moment, micros)
        months = sign * duration.amount * (12 if duration.unit == "y" else 1)
        wall = d.months_later(d.wall_clock(moment, self.zone_name), months)
        return d.instant(wall, self.zone_name)

    def _date_step(self, day: exp.Expr, duration: Duration, sign: int,
                   node: c.Checked) -> exp.Expr:
        if duration.unit == "h":
            raise self._refuse(node, "adding hours to a date")
        if duration.is_calendar:
            months = sign * duration.amount * (12 if duration.unit == "y" else 1)
            return self.dialect.months_later(day, months, date=True)
        days = sign * duration.amount * (7 if duration.unit == "w" else 1)
        return self.dialect.date_plus_days(day, days)

    def _guarded_instant(self, moment: exp.Expr) -> exp.Expr:
        outside = _not(exp.Between(
            this=wrap(moment), low=cast(exp.Literal.string(_FIRST_INSTANT), "TIMESTAMPTZ"),
            high=cast(exp.Literal.string(_LAST_INSTANT), "TIMESTAMPTZ")))
        return self.dialect.fail_when(outside, "a date-time outside the years 1 to 9999",
                                      moment.copy(), "TIMESTAMPTZ")

    def _guarded_date(self, day: exp.Expr) -> exp.Expr:
        outside = _not(exp.Between(
            this=wrap(day), low=cast(exp.Literal.string("0001-01-01"), "DATE"),
            high=cast(exp.Literal.string("9999-12-31"), "DATE")))
        return self.dialect.fail_when(outside, "a date outside the years 1 to 9999", day.copy(),
                                      "DATE")

    def _todate(self, node: Any, scope: Scope) -> exp.Expr:
        if self.kind(node.operand) == "date":  # a DATE column, read without a schema
            return self.value(node.operand, scope)
        if self.kind(node.operand) not in ("datetime", "null"):
            raise self._refuse(node, f"the day of a {node.operand.type}")
        return self.dialect.wall_day(self.typed(node.operand, scope, "datetime"),
                                     self.zone_name)

    def _coerce(self, node: Any, scope: Scope) -> exp.Expr:
        if self.kind(node.operand) in (node.type.name, "null"):
            return self.value(node.operand, scope)
        raise self._refuse(node, f"reading a {self.type_of(node.operand)} as a {node.type}",
                           "declare the field's type in the schema")

    def _membership(self, node: Any, scope: Scope) -> exp.Expr:
        found = self._found(node, scope)
        return _not(found) if node.negated else found

    def _found(self, node: Any, scope: Scope) -> exp.Expr:
        kind = self.kind(node.element)
        container = node.container
        if kind == "null":  # null is in nothing and out of nothing: unknown
            return cast(exp.null(), "BOOLEAN")
        element = self.value(node.element, scope)
        container_type = self.type_of(container)
        items_kind = _element_kind(container_type)
        if node.element.type.name == "any" and kind == "date" and items_kind == "datetime":
            # The Python engine looks for a date among datetimes by their days.
            raise self._refuse(node, "looking for a date of unknown type among datetimes")
        if node.element.type.name == "any" and kind == "datetime" and items_kind == "date":
            # ... and reads a value of unknown type as a date to look for it among dates.
            element = self.dialect.wall_day(element, self.zone_name)
            kind = "date"
        if container_type.name == "string":
            if kind not in ("string", "null"):
                raise self._refuse(node, f"looking for a {node.element.type} in text")
            return self.dialect.text_test("contains", self.typed(container, scope, "string"),
                                          self.typed(node.element, scope, "string"))
        if kind == "string":
            element = self.dialect.ordered_text(element)
        if isinstance(container, c.Constant) and isinstance(container.value, tuple):
            items = [self.literal(v, t.Type(kind)) for v in container.value
                     if v is not None and _of_kind(v, kind)]
            unknown = any(v is None for v in container.value)
            return self._among(element, items, unknown)
        if isinstance(container, c.ListOf):
            for item in container.items:
                if self.kind(item) not in (kind, "null"):
                    raise self._refuse(node, "a list of values of several types")
            return self._among(element, [self.value(i, scope) for i in container.items], False)
        if container_type.is_list:
            if _element_kind(container_type) not in (kind, "null"):
                raise self._refuse(node, "looking in a list for a value of another type")
            # Found: true; not found among items of which one is null: unknown.
            listed = self.value(container, scope)
            d = self.dialect
            has_null = binary(exp.GT, d.list_length(listed), d.list_present(listed.copy()))
            return case(d.list_contains(listed.copy(), element), exp.true(),
                        case(has_null, cast(exp.null(), "BOOLEAN"),
                             d.list_contains(listed.copy(), element.copy())))
        raise self._refuse(node, f"'in' a {container_type}")

    def _among(self, element: exp.Expr, items: list[exp.Expr], unknown: bool
               ) -> exp.Expr:
        """``element IN (items)``, a null item making a miss unknown, as SQL's IN does."""
        if unknown:
            items = [*items, exp.null()]
        if not items:
            return case(exp.Is(this=wrap(element), expression=exp.null()),
                        cast(exp.null(), "BOOLEAN"), exp.false())
        return exp.In(this=wrap(element), expressions=items)

    def _between(self, node: Any, scope: Scope) -> exp.Expr:
        parts = (node.operand, node.low, node.high)
        kinds = {self.kind(part) for part in parts} - {"null"}
        if kinds == {"date", "datetime"} and any(p.type.name == "any" for p in parts):
            # Each bound on its own terms, a date meeting a datetime by its day.
            low, value, high = (self._dated(part, scope) for part in
                                (node.low, node.operand, node.high))
            return _and(_at_most(low, value), _at_most(value, high))
        if len(kinds) > 1 or kinds & {"list", "record", "period", "bool"}:
            raise self._refuse(node, f"'between' on {' and '.join(sorted(kinds))}")
        sides = [self.value(part, scope) for part in parts]
        if kinds == {"string"}:
            sides = [self.dialect.ordered_text(side) for side in sides]
        return exp.Between(this=wrap(sides[0]), low=wrap(sides[1]), high=wrap(sides[2]))

    def _dated(self, node: Any, scope: Scope) -> tuple[exp.Expr, exp.Expr | None]:
        """``(value, its day when it is a datetime, else None)``."""
        value = self.value(node, scope)
        if self.kind(node) != "datetime":
            return value, None
        return value, self.dialect.wall_day(value.copy(), self.zone_name)

    # functions

    def _apply(self, node: Any, scope: Scope) -> exp.Expr:
        from segdsl.functions import BUILTINS

        if node.name == "when_ordered" and getattr(node.function, "__module__", "") == \
                "segdsl.checker":
            # RFM frequency and monetary value: null for a customer who never ordered.
            recency, measure = (self.value(arg, scope) for arg in node.args)
            return case(exp.Is(this=wrap(recency), expression=exp.null()),
                        cast(exp.null(), _DOUBLE), measure)
        builtin = BUILTINS.get(node.name)
        if builtin is None or builtin.implementation is not node.function:
            raise self._refuse(node, f"the Python function {node.name}()")
        build = getattr(self, f"_call_{node.name}", None)
        if build is None:
            raise self._refuse(node, f"the function {node.name}()")
        params = [param.accepts[0].name for param in builtin.params]
        return build(node, [self.typed(arg, scope, params[min(i, len(params) - 1)])
                            for i, arg in enumerate(node.args)])

    def typed(self, node: Any, scope: Scope, kind: str) -> exp.Expr:
        """``node``'s value; the null literal typed as ``kind`` (a database must
        know which function a call of null means)."""
        value = self.value(node, scope)
        sql_type = _SCALAR_TYPES.get(kind)
        if sql_type is not None and self.kind(node) == "null":
            return cast(value, sql_type)
        return value

    def _call_lower(self, node: Any, args: list[exp.Expr]) -> exp.Expr:
        return self._ascii_only(node, args[0], "lower")

    def _call_upper(self, node: Any, args: list[exp.Expr]) -> exp.Expr:
        return self._ascii_only(node, args[0], "upper")

    def _ascii_only(self, node: Any, text: exp.Expr, name: str) -> exp.Expr:
        if self.kind(node.args[0]) == "list":
            return self._case_of_list(node, text, name)
        # Python maps a few letters otherwise (ß, ligatures, final sigma): the query
        # stops rather than give another answer.
        d = self.dialect
        beyond = d.case_unsafe(text, name)
        return d.fail_when(beyond, f"{name}() of characters whose case the {d.name} engine "
                           f"changes otherwise than Python is not supported yet",
                           d.function(name, text.copy()), "VARCHAR")

    def _call_length(self, node: Any, args: list[exp.Expr]) -> exp.Expr:
        kind = self.kind(node.args[0])
        if kind == "list":
            return cast(self.dialect.list_length(args[0]), _DOUBLE)
        if kind in ("string", "null"):
            return cast(self.dialect.function("length", args[0]), _DOUBLE)
        raise self._refuse(node, f"length() of a {node.args[0].type}")

    def _call_abs(self, node: Any, args: list[exp.Expr]) -> exp.Expr:
        return self.dialect.function("abs", args[0])

    def _call_round(self, node: Any, args: list[exp.Expr]) -> exp.Expr:
        if len(node.args) > 1:
            digits = node.args[1]
            if not (isinstance(digits, c.Constant) and isinstance(digits.value, (int, float))
                    and not isinstance(digits.value, bool) and int(digits.value) == 0):
                raise self._refuse(node, "round() to decimals",
                                   "Python rounds the exact binary value, half to even")
        # Half to even, as Python's round: a tie is rounded to the even neighbour.
        value = args[0]
        d = self.dialect
        tie = binary(exp.EQ, binary(exp.Sub, value, d.function("floor", value.copy())),
                     cast(exp.Literal.string("0.5"), _DOUBLE))
        even = binary(exp.Mul, cast(exp.Literal.number(2), _DOUBLE),
                      d.function("round", binary(exp.Div, value.copy(),
                                                 cast(exp.Literal.number(2), _DOUBLE))))
        return case(tie, even, d.function("round", value.copy()))

    def _call_days_between(self, node: Any, args: list[exp.Expr]) -> exp.Expr:
        kinds = {self.kind(arg) for arg in node.args} - {"null"}
        d = self.dialect
        if kinds == {"date"}:
            return cast(d.days_apart(args[1], args[0]), _DOUBLE)
        if not kinds <= {"datetime"}:
            raise self._refuse(node, "days_between() of a date and a datetime")
        micros = binary(exp.Sub, self._epoch_us(node.args[1], args[1]),
                        self._epoch_us(node.args[0], args[0]))
        seconds = binary(exp.Div, cast(micros, _DOUBLE),
                         cast(exp.Literal.number(1_000_000), _DOUBLE))
        days = d.function("floor", binary(exp.Div, seconds,
                                          cast(exp.Literal.number(86_400), _DOUBLE)))
        # Python divides exact microseconds; a double holds them exactly below 2**53.
        beyond = binary(exp.GTE, d.function("abs", micros.copy()),
                        exp.Literal.number(_EXACT_INTEGERS))
        return d.fail_when(beyond, "days_between() of instants more than 285 years apart", days,
                           "DOUBLE")

    def _epoch_us(self, node: Any, instant: exp.Expr) -> exp.Expr:
        """Microseconds since 1970 of ``instant`` (compiled from ``node``): a
        constant for a written ``now``."""
        if isinstance(node, c.Now) and self._at is not None:
            return exp.Literal.number(_epoch_micros(self._at))
        return self.dialect.epoch_us(instant)

    def _call_coalesce(self, node: Any, args: list[exp.Expr]) -> exp.Expr:
        self.kind(node)
        return exp.Coalesce(this=args[0], expressions=args[1:])

    def _population(self, node: Any, scope: Scope) -> exp.Expr:
        def part(kind: str) -> c.Population:
            found = self._populations.get(kind)
            if found is None:
                raise self._refuse(node, f"{node.kind} without its {kind}")
            return found

        return self._rankings.column(node, part)

    def _window(self, node: Any, scope: Scope) -> exp.Expr:
        raise self._refuse(node, "a window outside an aggregation")

    # ------------------------------------------------------------- aggregations

    def _aggregate(self, node: Any, scope: Scope) -> exp.Expr:
        source = node.source
        if not isinstance(source, c.Field) or len(source.path) != 1:
            raise self._refuse(node, "an aggregation over a list that is not a field")
        owner = scope[source.depth] if source.depth < len(scope) else None
        if owner is None:
            raise self._refuse(node, "an aggregation over a list of an enclosing element")
        element = source.type.element if source.type.is_list else None
        if element is None or not element.is_record:
            if not self.type_of(source).is_list:
                raise self._refuse(node, f"{node.function}() over '{source.dotted}', which is "
                                   "not known to be a list")
            return self._plain_list(node, scope, owner)
        if self._correlated(node, scope, owner.position):
            self.dialect.correlated_aggregates()
            return self._correlated_aggregate(node, scope, owner)
        return self._grouped(node, scope, owner)

    def _plain_list(self, node: Any, scope: Scope, owner: _Entry) -> exp.Expr:
        """``count(tags)``, ``exists(tags)``: a list column of plain values."""
        if node.where is not None:
            return self._subquery_aggregate(node, scope, owner)
        if node.function == "count_distinct" and not node.value:
            if node.window is not None:
                return cast(_zero(), _DOUBLE)
            return cast(exp.Coalesce(this=self.dialect.list_distinct_count(
                self.value(node.source, scope)), expressions=[exp.Literal.number(0)]), _DOUBLE)
        if owner.table is not None or node.value or node.where is not None:
            raise self._refuse(node, f"{node.function}() over a list of plain values here")
        if node.function not in ("count", "exists"):
            raise self._refuse(node, f"{node.function}() over a list of plain values")
        if node.window is not None:  # plain values have no time: no window holds any
            return cast(_zero(), _DOUBLE) if node.function == "count" else exp.false()
        present = exp.Coalesce(this=self.dialect.list_present(self.value(node.source, scope)),
                               expressions=[exp.Literal.number(0)])
        if node.function == "count":
            return cast(present, _DOUBLE)
        return binary(exp.GT, present, exp.Literal.number(0))

    def _grouped(self, node: Any, scope: Scope, owner: _Entry) -> exp.Expr:
        level = owner.position
        key = (node, tuple(e for e in scope[:node.source.depth + 1]), self._ranking)
        found = self._aggregates.get(key)
        if found is not None:
            return found[1].copy()
        parent = owner.table.path if owner.table is not None else ()
        cuts = (0, *node.flatten)
        nested = [node.value[a:b] for a, b in itertools.pairwise(cuts)]
        final = node.value[node.flatten[-1]:] if node.flatten else node.value
        paths = [(*parent, *node.source.path)]
        for part in nested:
            paths.append((*paths[-1], *part))
        chain = tuple(self.layout.list_table(p, self.dialect.name) for p in paths)
        base = node.depth - len(node.flatten)
        ancestors = tuple(e.table for e in scope[:node.source.depth + 1]
                          if e is not None and e.position <= level)
        inner: list[_Entry | None] = [e if e is not None and e.position <= level else None
                                      for e in scope[:base]]
        inner += [None] * (base - len(inner))
        inner += [_Entry(level + 1 + i, table) for i, table in enumerate(chain)]
        inner_scope: Scope = tuple(inner)
        if len(final) > 1:
            raise self._refuse(node, f"aggregating the nested field '{'.'.join(final)}'")
        parts = self._aggregate_parts(node, inner_scope, chain, final, level)
        references = [p for p in parts.values() if p is not None]
        depends = self._joined(_tables_read(references))
        if any(e is not None and e.outer for e in scope[:level + 1]) and any(
                g.level < level for g in depends):
            raise self._refuse(node, "an aggregation reading the customer's aggregates inside a "
                               "correlated condition")
        stage = 1 + max((g.stage for g in depends), default=-1)
        group = self._group(level, ancestors, chain, stage, depends)
        outer = group
        if len(chain) > 1 and "stamped" in parts:
            outer = self._group(level, ancestors, chain[:1], 0, [])
        reading = self._reading(node, group, parts, outer)
        self._aggregates[key] = (group, reading)
        return reading.copy()

    def _group(self, level: int, ancestors: tuple[ListTable | None, ...],
               chain: tuple[ListTable, ...], stage: int, read: list[_Group]) -> _Group:
        """The group scanning ``chain`` for owners at ``level``, computed at
        ``stage`` or later, for aggregations reading the groups ``read``.

        One table is scanned once where it can be: a group of an earlier stage
        moves to the later one, unless another group reads it (which must then
        come after it); a group of a later stage takes the earlier stage's
        aggregations, which need only what comes before it."""
        scanned = (self._ranking, level, ancestors, chain)
        same = [group for key, group in self._groups.items() if key[:4] == scanned]
        for group in same:
            if group.stage >= stage:
                return group
        for group in same:
            if group not in read and not any(
                    group in self._joined(_tables_read(other.columns))
                    for other in self._groups.values()):
                del self._groups[(*scanned, group.stage)]
                group.stage = stage
                self._groups[(*scanned, stage)] = group
                return group
        group = _Group(f"g{len(self._groups) + 1}", level, ancestors, chain, stage)
        self._groups[(*scanned, stage)] = group
        return group

    def _aggregate_parts(self, node: Any, scope: Scope, chain: tuple[ListTable, ...],
                         final: tuple[str, ...], level: int) -> dict[str, exp.Expr | None]:
        """The SQL aggregates ``node`` needs, before they are placed in a group."""
        outer = chain[0]
        outer_alias = f"s{level + 1}"
        stamp = (exp.column(outer.column(node.timestamp), table=outer_alias)
                 if node.timestamp is not None else None)
        conditions: list[exp.Expr] = []
        if node.timestamp is not None and node.timestamp != outer.timestamp:
            raise self._refuse(node, f"windows on '{node.timestamp}' of {outer.table}")
        function = node.function
        if function not in _AGGREGATIONS:
            raise self._refuse(node, f"{function}()")
        dated = function in ("first", "last")
        if stamp is not None:
            window = self._window_condition(node, stamp, dated, scope)
            if window is None:
                return {"empty": None}
            conditions.append(window)
        elif node.window is not None:
            return {"empty": None}
        chosen = None
        if node.where is not None:
            chosen = self._condition(node.where, scope, "the 'where' of an aggregation")
            conditions.append(chosen)
        inner = chain[-1]
        inner_alias = f"s{level + len(chain)}"
        value = exp.column(inner.column(final[0]), table=inner_alias) if final else None
        if final:
            kind = _field_kind(inner, final[0]) or self._column_kind(inner, final[0])
            if kind not in ("number", "string", "bool", "date", "datetime"):
                raise self._refuse(node, f"{function}() of '{final[0]}', whose type is "
                                   f"{kind or 'not declared'}")
            if function in ("sum", "avg") and kind != "number":
                raise self._refuse(node, f"{function}() of a {kind}")
        where = _and(*conditions) if conditions else None

        def filtered(aggregate: exp.Expr) -> exp.Expr:
            if where is None:
                return aggregate
            return self.dialect.filtered_aggregate(aggregate, where.copy())

        if function == "count_distinct":
            if value is None:
                raise self._refuse(node, "count_distinct() of whole elements")
            return {"count": filtered(exp.Count(this=exp.Distinct(expressions=[
                self._distinct_value(value, kind)])))}
        if function in ("count", "exists"):
            counted = exp.Count(this=value if value is not None else exp.Star())
            return {"count": filtered(counted)}
        if value is None and function not in ("first", "last"):
            raise self._refuse(node, f"{function}() of whole elements")
        parts: dict[str, exp.Expr | None]
        if function in ("sum", "avg"):
            assert value is not None
            units = self.dialect.exact_units(value, _SCALE)
            parts = {"sum": filtered(exp.Sum(this=units))}
            if function == "avg":
                parts["count"] = filtered(exp.Count(this=value.copy()))
            return parts
        if function in ("min", "max"):
            extreme = exp.Min if function == "min" else exp.Max
            compared = (self.dialect.ordered_text(value)
                        if value is not None and final and kind == "string" else value)
            return {"value": filtered(extreme(this=compared))}
        parts = {"value": self._picked(node, chain, value, stamp, level,
                                       where.copy() if where is not None else None)}
        if stamp is not None and node.window is None and value is not None \
                and value.name != stamp.name:
            # When none of a customer's elements has a timestamp, the Python
            # engine takes them in list order: the first is the list's first.
            parts["listed"] = self._picked(node, chain, value.copy(), None, level,
                                           chosen.copy() if chosen is not None else None)
            # Whether the list has a dated element: counted over the outer list alone
            # (through nested lists, an order without items still has its date).
            parts["stamped"] = exp.Count(this=stamp.copy())
        return parts

    def _picked(self, node: Any, chain: tuple[ListTable, ...],
                value: exp.Expr | None, stamp: exp.Expr | None,
                level: int, where: exp.Expr | None = None) -> exp.Expr:
        """``first``/``last``: the value of the earliest (latest) element (of
        those where ``where`` holds)."""
        last = node.function == "last"
        if value is None:
            raise self._refuse(node, f"{node.function}() of whole elements")
        if stamp is not None and len(chain) == 1 and value.name == stamp.name:
            extreme = (exp.Max if last else exp.Min)(this=value)
            return extreme if where is None else self.dialect.filtered_aggregate(extreme, where)
        order: list[exp.Expr] = [stamp.copy()] if stamp is not None else []
        for offset, table in enumerate(chain):
            if table.order is None:
                raise self._refuse(node, f"{node.function}() over {table.table}",
                                   "elements stamped alike need an order column to break the "
                                   "tie: name one in the layout")
            order.append(exp.column(table.order, table=f"s{level + 1 + offset}"))
        ordered = [exp.Ordered(this=part, desc=last, nulls_first=False) for part in order]
        return self.dialect.ordered_first(value, ordered, where)

    def _window_condition(self, node: Any, stamp: exp.Expr, dated: bool,
                          scope: Scope = _CUSTOMER_SCOPE) -> exp.Expr | None:
        """Which elements the aggregation sees by time (None: none at all)."""
        now = self.now()
        until = binary(exp.LTE, stamp, now)
        if node.window is None:
            if dated:
                return until
            return _or(until, exp.Is(this=stamp.copy(), expression=exp.null()))
        value = node.window.value
        if not isinstance(value, c.Constant):
            return self._computed_window(node, stamp, dated, scope)
        window = value.value
        if isinstance(window, Period):
            first, after = _period_bounds(window, self.zone)
            parts = [binary(exp.GTE, stamp.copy(), self.instant_literal(first)), until]
            if after is not None:
                parts.append(binary(exp.LT, stamp.copy(), self.instant_literal(after)))
            return _and(*parts)
        if not isinstance(window, Duration):
            raise self._refuse(node, f"a window of {value.type}")
        if self._at is not None:  # the Python engine's own start, written as a constant
            cut = window_cut(self._at, self.zone, window.step())
            if cut is None:
                return None
            start = cut[0]
            return until if start is None else _and(
                binary(exp.GT, stamp.copy(), self.instant_literal(start)), until)
        length = (window.amount * _UNITS_US[window.unit] if not window.is_calendar
                  else window.amount * (12 if window.unit == "y" else 1) * 31 * _UNITS_US["d"])
        if length > _TEN_THOUSAND_YEARS_US:
            return until  # it starts before year 1 from any now: the beginning of time
        if length < -_TEN_THOUSAND_YEARS_US:
            return None  # it starts after year 9999: nothing
        begin = self.shifted(self.now(), window, -1)
        return _and(binary(exp.GT, stamp.copy(), begin), until)

    def _reading(self, node: Any, group: _Group, parts: dict[str, Any],
                 outer: _Group | None = None) -> exp.Expr:
        """How a scan's result reads ``node``'s value, from its group's columns
        (``stamped`` from the ``outer`` list's group)."""
        function = node.function
        if "empty" in parts:  # a window that holds nothing
            return {"count": cast(_zero(), _DOUBLE), "exists": exp.false(),
                    "count_distinct": cast(_zero(), _DOUBLE),
                    "sum": cast(_zero(), _DOUBLE)}.get(
                function, cast(exp.null(), _SCALAR_TYPES.get(node.type.name, "DOUBLE")))
        columns = {name: (outer if name == "stamped" and outer is not None else group).add(
            part, part) for name, part in parts.items()}
        zero = exp.Literal.number(0)
        if function in ("count", "count_distinct"):
            return cast(exp.Coalesce(this=columns["count"], expressions=[zero]), _DOUBLE)
        if function == "exists":
            return binary(exp.GT, exp.Coalesce(this=columns["count"], expressions=[zero]),
                          zero.copy())
        if function in ("sum", "avg"):
            total = exp.Coalesce(this=self._exact(columns["sum"]),
                                 expressions=[cast(zero.copy(), _DOUBLE)])
            if function == "sum":
                return total
            return case(binary(exp.GT, columns["count"], zero.copy()),
                        binary(exp.Div, total, cast(columns["count"].copy(), _DOUBLE)))
        if "listed" in columns:
            untimed = binary(exp.EQ, exp.Coalesce(this=columns["stamped"], expressions=[zero]),
                             zero.copy())
            return case(untimed, columns["listed"], columns["value"])
        return columns["value"]

    def _exact(self, units: exp.Expr) -> exp.Expr:
        """The double nearest to ``units`` * 10**-9 (read from its decimal text,
        which the database rounds correctly)."""
        return self.dialect.from_exact_units(units, _SCALE)

    # ------------------------------------------------------------- calendar, numbers, places

    def _today(self, node: Any, scope: Scope) -> exp.Expr:
        return self.today(node)

    def today(self, node: c.Checked | None = None) -> exp.Expr:
        """The day of the evaluation time in the configured zone."""
        if self._at is None:
            return cast(self.dialect.wall_clock(self.now(), self.zone_name), "DATE")
        try:
            day = in_zone(self._at, self.zone).date()
        except ValueError:
            raise self._refuse(node, "today outside the years 1 to 9999") from None
        return cast(exp.Literal.string(day.isoformat()), "DATE")

    def _date_part(self, part: str, args: list[exp.Expr]) -> exp.Expr:
        return cast(self.dialect.date_part(part, args[0]), _DOUBLE)

    def _call_year(self, node: Any, args: list[exp.Expr]) -> exp.Expr:
        return self._date_part("year", args)

    def _call_month(self, node: Any, args: list[exp.Expr]) -> exp.Expr:
        return self._date_part("month", args)

    def _call_day(self, node: Any, args: list[exp.Expr]) -> exp.Expr:
        return self._date_part("day", args)

    def _call_weekday(self, node: Any, args: list[exp.Expr]) -> exp.Expr:
        return self._date_part("weekday", args)

    def _call_day_of_year(self, node: Any, args: list[exp.Expr]) -> exp.Expr:
        return self._date_part("day_of_year", args)

    def _on_year(self, day: exp.Expr, year: exp.Expr) -> exp.Expr:
        """``day``'s month and day in ``year``; 29 February is 28 February in a common year
        (:func:`segdsl.functions._on_year`)."""
        d = self.dialect

        def divides(divisor: int) -> exp.Expr:
            return binary(exp.EQ, binary(exp.Mod, year.copy(), exp.Literal.number(divisor)),
                          exp.Literal.number(0))

        leap = _and(divides(4), _or(_not(divides(100)), divides(400)))
        month, dom = d.date_part("month", day), d.date_part("day", day.copy())
        leap_day = _and(binary(exp.EQ, month, exp.Literal.number(2)),
                        binary(exp.EQ, dom, exp.Literal.number(29)), _not(leap))
        return d.make_date(year.copy(), month.copy(),
                           case(leap_day, exp.Literal.number(28), dom.copy()))

    def _call_anniversary(self, node: Any, args: list[exp.Expr]) -> exp.Expr:
        day, today = args
        d = self.dialect
        year = d.date_part("year", today)
        this_year = self._on_year(day, year)
        next_year = self._on_year(day.copy(), binary(exp.Add, year.copy(), exp.Literal.number(1)))
        last_year = binary(exp.EQ, year.copy(), exp.Literal.number(9999))
        found = case(binary(exp.GTE, this_year, today.copy()), this_year.copy(),
                     d.fail_when(last_year, "an anniversary after the year 9999", next_year,
                                 "DATE"))
        return case(exp.Is(this=wrap(day.copy()), expression=exp.null()),
                    cast(exp.null(), "DATE"), found)

    def _months_between(self, start: exp.Expr, end: exp.Expr) -> exp.Expr:
        """Whole months from ``start`` to ``end`` as dateutil's ``relativedelta``
        counts them: the month difference, less one when ``end`` falls short of
        ``start``'s day (clipped to ``end``'s month), backwards alike."""
        d = self.dialect

        def part(name: str, day: exp.Expr) -> exp.Expr:
            return d.date_part(name, day.copy())

        months = binary(exp.Add, binary(exp.Mul, binary(exp.Sub, part("year", end),
                                                         part("year", start)),
                                        exp.Literal.number(12)),
                        binary(exp.Sub, part("month", end), part("month", start)))
        clipped = exp.Least(this=part("day", start), expressions=[d.month_days(end.copy())])
        short = _and(binary(exp.GTE, end.copy(), start.copy()),
                     binary(exp.LT, part("day", end), clipped))
        over = _and(binary(exp.LT, end.copy(), start.copy()),
                    binary(exp.GT, part("day", end), clipped.copy()))
        one, zero = exp.Literal.number(1), exp.Literal.number(0)
        return binary(exp.Add, binary(exp.Sub, months, case(short, one, zero)),
                      case(over, one.copy(), zero.copy()))

    def _call_months_between(self, node: Any, args: list[exp.Expr]) -> exp.Expr:
        return cast(self._months_between(*args), _DOUBLE)

    def _call_years_between(self, node: Any, args: list[exp.Expr]) -> exp.Expr:
        # relativedelta's years: whole months divided by 12, towards zero
        months = cast(self._months_between(*args), _DOUBLE)
        return self.dialect.function("trunc", binary(
            exp.Div, months, cast(exp.Literal.number(12), _DOUBLE)))

    def _call_sqrt(self, node: Any, args: list[exp.Expr]) -> exp.Expr:
        value = args[0]
        return case(binary(exp.LT, value, _zero()), cast(exp.null(), _DOUBLE),
                    self.dialect.function("sqrt", value.copy()))

    def _whole(self, name: str, args: list[exp.Expr]) -> exp.Expr:
        value, d = args[0], self.dialect
        return d.fail_when(d.is_infinite(value), f"{name}() of an infinity, which has no whole "
                           "part", d.function(name, value.copy()), "DOUBLE")

    def _call_floor(self, node: Any, args: list[exp.Expr]) -> exp.Expr:
        return self._whole("floor", args)

    def _call_ceil(self, node: Any, args: list[exp.Expr]) -> exp.Expr:
        return self._whole("ceil", args)

    def _call_distance_km(self, node: Any, args: list[exp.Expr]) -> exp.Expr:
        """The haversine formula, operation for operation as
        :func:`segdsl.functions._distance_km` computes it (the C library's
        ``sin``, ``cos``, ``asin``, ``sqrt`` and ``pow``, as Python's math)."""
        d = self.dialect
        lat1, lng1, lat2, lng2 = args

        def number(value: float) -> exp.Expr:
            return cast(exp.Literal.string(repr(value)), _DOUBLE)

        def radians(degrees: exp.Expr) -> exp.Expr:  # math.radians: x * (pi / 180)
            return binary(exp.Mul, degrees, number(math.pi / 180.0))

        def squared(value: exp.Expr) -> exp.Expr:
            return d.function("power", value, number(2.0))

        phi1, phi2 = radians(lat1.copy()), radians(lat2.copy())
        half_dphi = binary(exp.Div, binary(exp.Sub, phi2, phi1), number(2.0))
        half_dlambda = binary(exp.Div, radians(binary(exp.Sub, lng2.copy(), lng1.copy())),
                              number(2.0))
        h = binary(exp.Add, squared(d.function("sin", half_dphi)), binary(
            exp.Mul, binary(exp.Mul, d.function("cos", phi1.copy()), d.function("cos", phi2.copy())),
            squared(d.function("sin", half_dlambda))))
        root = exp.Least(this=number(1.0), expressions=[d.function("sqrt", h)])
        distance = binary(exp.Mul, number(2 * EARTH_RADIUS_KM), d.function("asin", root))
        outside = [_not(exp.Between(this=wrap(value.copy()), low=number(-limit),
                                    high=number(float(limit))))
                   for value, limit in zip(args, (90.0, 180.0, 90.0, 180.0), strict=True)]
        known = _and(*(_not(exp.Is(this=wrap(value.copy()), expression=exp.null()))
                       for value in args))
        checked = d.fail_when(_or(*outside), "distance_km() of a latitude outside -90 to 90 or "
                              "a longitude outside -180 to 180 degrees", distance, "DOUBLE")
        # LEAST skips nulls in some databases: a null argument is a null distance here.
        return case(known, checked, cast(exp.null(), _DOUBLE))

    def _case_of_list(self, node: Any, items: exp.Expr, name: str) -> exp.Expr:
        """``lower(tags)``: each item changed, nulls kept (checked as ``lower()`` is)."""
        d = self.dialect
        item = exp.column(_ITEM)
        beyond = d.case_unsafe(item, name)
        changed = d.fail_when(beyond, f"{name}() of characters whose case the {d.name} engine "
                              f"changes otherwise than Python is not supported yet",
                              d.function(name, item.copy()), "VARCHAR")
        return d.list_transform(items, _ITEM, changed)

    # ------------------------------------------------------------- duration arithmetic

    def _duration_arithmetic(self, node: Any, scope: Scope) -> exp.Expr:
        """Fixed durations (microseconds) added, scaled, divided: exactly as
        ``timedelta`` computes them (rounded half to even to the microsecond)."""
        for side in (node.left, node.right):
            duration = _duration_of(side)
            if duration is not None and duration.is_calendar:
                raise self._refuse(node, f"arithmetic on the calendar duration {duration} "
                                   "with a value computed from the data")
        left_kind = "duration" if node.left.type == t.DURATION else "number"
        right_kind = "duration" if node.right.type == t.DURATION else "number"
        left = self.typed(node.left, scope, left_kind)
        right = self.typed(node.right, scope, right_kind)
        if node.op in (_ADD, _SUBTRACT):
            return binary(exp.Add if node.op is _ADD else exp.Sub, left, right)
        if node.op is _MULTIPLY:
            micros, factor = (left, right) if left_kind == "duration" else (right, left)
            return self._scaled(micros, factor)
        if right_kind == "duration":  # a number: their ratio, null for a zero divisor
            d = self.dialect
            beyond = _or(*(binary(exp.GTE, d.function("abs", side.copy()),
                                  exp.Literal.number(_EXACT_INTEGERS)) for side in (left, right)))
            ratio = binary(exp.Div, cast(left, _DOUBLE),
                           exp.Nullif(this=cast(right, _DOUBLE), expression=_zero()))
            return d.fail_when(beyond, "a ratio of durations longer than 285 years", ratio,
                               "DOUBLE")
        divisor = node.right
        if isinstance(divisor, c.Constant) and type(divisor.value) in (int, float):
            if divisor.value == 0:
                return cast(exp.null(), "BIGINT")
            if not math.isfinite(divisor.value):
                raise self._refuse(node, f"dividing a duration by {divisor.value!r}")
            # timedelta / x: the exact quotient by x's ratio, rounded half to even
            numerator, denominator = float(divisor.value).as_integer_ratio()
            if max(abs(numerator), denominator) >= 2 ** 62:
                raise self._refuse(node, f"dividing a duration by {divisor.value!r}")
            return self._divided(left, exp.Literal.number(denominator),
                                 exp.Literal.number(numerator))
        # A number from the data: exact when it is a whole number (a count), else refused
        # at run time.
        d = self.dialect
        whole = _and(binary(exp.EQ, right, d.function("floor", right.copy())),
                     binary(exp.LT, d.function("abs", right.copy()),
                            cast(exp.Literal.number(_EXACT_INTEGERS), _DOUBLE)))
        divided = self._divided(left, exp.Literal.number(1), cast(right.copy(), "BIGINT"))
        nothing = _or(exp.Is(this=wrap(right.copy()), expression=exp.null()),
                      binary(exp.EQ, right.copy(), _zero()))
        return case(nothing, cast(exp.null(), "BIGINT"),
                    d.fail_when(_not(whole), f"dividing a duration by a fraction computed from "
                                f"the data is not supported by the {d.name} engine yet",
                                divided, "BIGINT"))

    def _divided(self, micros: exp.Expr, scale: exp.Expr, divisor: exp.Expr) -> exp.Expr:
        """``micros * scale / divisor`` (whole numbers, divisor not zero) rounded half
        to even, as ``timedelta`` divides: on magnitudes, the sign put back."""
        big = self.dialect.wide_integer()
        top = binary(exp.Mul, cast(self.dialect.function("abs", micros), big),
                     cast(scale, big))
        bottom = cast(self.dialect.function("abs", divisor), big)
        quotient = exp.IntDiv(this=wrap(top), expression=wrap(bottom))
        rest = binary(exp.Sub, top.copy(), binary(exp.Mul, quotient.copy(), bottom.copy()))
        twice = binary(exp.Mul, rest, exp.Literal.number(2))
        odd = binary(exp.EQ, binary(exp.Mod, quotient.copy(), exp.Literal.number(2)),
                     exp.Literal.number(1))
        up = _or(binary(exp.GT, twice, bottom.copy()),
                 _and(binary(exp.EQ, twice.copy(), bottom.copy()), odd))
        size = binary(exp.Add, quotient.copy(), case(up, exp.Literal.number(1),
                                                     exp.Literal.number(0)))
        negative = binary(exp.NEQ, binary(exp.LT, micros.copy(), exp.Literal.number(0)),
                          binary(exp.LT, divisor.copy(), exp.Literal.number(0)))
        return cast(case(negative, exp.Neg(this=wrap(size)), size.copy()), "BIGINT")

    def _scaled(self, micros: exp.Expr, factor: exp.Expr) -> exp.Expr:
        """``micros * factor`` rounded half to even to a whole microsecond, from
        the exact product (Dekker's error-free product of two doubles)."""
        d = self.dialect
        a = cast(micros, _DOUBLE)
        product = binary(exp.Mul, a, factor)

        def split(x: exp.Expr) -> tuple[exp.Expr, exp.Expr]:
            scaled = binary(exp.Mul, cast(exp.Literal.number(134217729), _DOUBLE), x)
            high = binary(exp.Sub, scaled, binary(exp.Sub, scaled.copy(), x.copy()))
            return high, binary(exp.Sub, x.copy(), high.copy())

        (ah, al), (bh, bl) = split(a), split(factor)
        error = binary(exp.Add, binary(exp.Add, binary(exp.Add, binary(
            exp.Sub, binary(exp.Mul, ah, bh), product.copy()),
            binary(exp.Mul, ah.copy(), bl)), binary(exp.Mul, al, bh.copy())),
            binary(exp.Mul, al.copy(), bl.copy()))
        sign = case(binary(exp.LT, product.copy(), _zero()),
                    cast(exp.Literal.number(-1), _DOUBLE),
                    cast(exp.Literal.number(1), _DOUBLE))
        size = binary(exp.Mul, product.copy(), sign)
        size_error = binary(exp.Mul, error, sign.copy())
        whole = d.function("floor", size)
        half = cast(exp.Literal.string("0.5"), _DOUBLE)
        above = binary(exp.Add, binary(exp.Sub, binary(exp.Sub, size.copy(), whole), half),
                       size_error)
        two = cast(exp.Literal.number(2), _DOUBLE)
        odd = binary(exp.Sub, whole.copy(), binary(exp.Mul, two, d.function(
            "floor", binary(exp.Div, whole.copy(), two.copy()))))
        one = cast(exp.Literal.number(1), _DOUBLE)
        rounded = case(binary(exp.GT, above, _zero()), binary(exp.Add, whole.copy(), one),
                       case(binary(exp.LT, above.copy(), _zero()), whole.copy(),
                            binary(exp.Add, whole.copy(), odd)))
        beyond = _or(binary(exp.GTE, d.function("abs", micros.copy()),
                            exp.Literal.number(_EXACT_INTEGERS)),
                     _not(binary(exp.LT, d.function("abs", product.copy()),
                                 cast(exp.Literal.number(2 ** 52), _DOUBLE))))
        return d.fail_when(beyond, "a duration times a number longer than 142 years is not "
                           f"supported by the {d.name} engine yet",
                           cast(binary(exp.Mul, sign.copy(), rounded), "BIGINT"), "BIGINT")

    def _computed_window(self, node: Any, stamp: exp.Expr, dated: bool,
                         scope: Scope) -> exp.Expr:
        """A window computed from the data: null is no window, a negative one
        stops the query (bad data), zero holds nothing."""
        value = node.window.value
        if self.kind(value, scope) != "duration" or any(
                (_duration_of(sub) or Duration(0, "d")).is_calendar for sub in c.walk(value)):
            raise self._refuse(node, "a window computed from the data, other than a fixed "
                               "duration")
        length = self.value(value, scope)
        d = self.dialect
        now = self.now()
        until = binary(exp.LTE, stamp, now)
        unbounded = until if dated else _or(until, exp.Is(this=stamp.copy(),
                                                          expression=exp.null()))
        inside = _and(binary(exp.GT, d.epoch_us(stamp.copy()),
                             binary(exp.Sub, d.epoch_us(now.copy()), length)), until.copy())
        return case(exp.Is(this=wrap(length.copy()), expression=exp.null()), unbounded,
                    d.fail_when(binary(exp.LT, length.copy(), exp.Literal.number(0)),
                                "a window looks back from now: a negative one holds nothing",
                                inside, "BOOLEAN"))

    # ------------------------------------------------------------- correlated conditions

    def _distinct_value(self, value: exp.Expr, kind: str | None) -> exp.Expr:
        """A value as ``count_distinct`` tells it apart: -0.0 is 0.0, as ``==`` says."""
        if kind == "number":
            return binary(exp.Add, value, _zero())
        return value

    def _correlated(self, node: Any, scope: Scope, level: int) -> bool:
        """Whether ``node`` reads an element enclosing it below its list's owner
        (``e.at`` of ``events as e`` in an aggregation over orders)."""
        base = node.depth - len(node.flatten)
        parts = [part for part in (node.where, node.window) if part is not None]
        # Inside a correlated subquery, the rows above the owner are not its ancestors.
        broken = any(e is not None and e.outer for e in scope[:level + 1])
        for part in parts:
            for sub in c.walk(part):
                if isinstance(sub, c.Field) and sub.depth < base and sub.depth < len(scope):
                    entry = scope[sub.depth]
                    if entry is not None and (entry.position > level or (
                            broken and entry.position < level)):
                        return True
        return False

    def _correlated_aggregate(self, node: Any, scope: Scope, owner: _Entry) -> exp.Expr:
        parent = owner.table.path if owner.table is not None else ()
        cuts = (0, *node.flatten)
        paths = [(*parent, *node.source.path)]
        for start, end in itertools.pairwise(cuts):
            paths.append((*paths[-1], *node.value[start:end]))
        chain = tuple(self.layout.list_table(p, self.dialect.name) for p in paths)
        return self._subquery_aggregate(node, scope, owner, chain)

    def _subquery_aggregate(self, node: Any, scope: Scope, owner: _Entry,
                            chain: tuple[ListTable, ...] | None = None) -> exp.Expr:
        """An aggregation computed per enclosing row by a correlated subquery over
        its list's table(s), where the enclosing elements stay readable (a list
        of values is read through a table of its items)."""
        top = max(e.position for e in scope if e is not None)
        base = node.depth - len(node.flatten)
        final = node.value[node.flatten[-1]:] if node.flatten else node.value
        inner: list[_Entry | None] = [
            attrs.evolve(e, outer=True) if e is not None and e.position > owner.position else e
            for e in scope[:base]]
        inner += [None] * max(0, base - len(inner))
        if chain is None:  # a list of plain values
            inner.append(_Entry(top + 1, None, item=True))
            parts = self._item_parts(node, tuple(inner), top)
            source: exp.Expr = alias(self.dialect.list_items(
                self.value(node.source, scope), _ITEM), f"s{top + 1}", table=True)
            query = exp.select(exp.Literal.number(1)).from_(source)
        else:
            if len(final) > 1:
                raise self._refuse(node, f"aggregating the nested field '{'.'.join(final)}'")
            inner += [_Entry(top + 1 + i, table) for i, table in enumerate(chain)]
            parts = self._aggregate_parts(node, tuple(inner), chain, final, top)
            if "stamped" in parts and len(chain) > 1:
                raise self._refuse(node, f"{node.function}() through nested lists in a "
                                   "correlated condition")
            query = _scan_of(exp.select(exp.Literal.number(1)), chain, top)
            owned = exp.column(self.layout.id, table="s0") if owner.table is None else \
                exp.column(_key(owner.table), table=owner.alias)
            query = query.where(binary(exp.EQ, exp.column(chain[0].owner, table=f"s{top + 1}"),
                                       owned), copy=False)
        if "empty" in parts:
            return self._reading(node, _Inline(), parts)  # type: ignore[arg-type]
        reading = self._reading(node, _Inline(), parts)  # type: ignore[arg-type]
        deepest = top + (len(chain) if chain is not None else 1)
        for group in self._joined(_tables_read([reading])):
            if top < group.level <= deepest:  # a group per element of this subquery's lists
                assert chain is not None
                listed = chain[group.level - top - 1]
                query = join(query, named_table(group.name), "left",
                             binary(exp.EQ, exp.column("k", table=group.name),
                                    exp.column(_key(listed), table=f"s{group.level}")))
            elif group.level > deepest:
                raise self._refuse(node, "an aggregation nested this deep in a correlated "
                                   "condition")
        query.set("expressions", [reading])
        return exp.Subquery(this=query)

    def _item_parts(self, node: Any, scope: Scope, top: int) -> dict[str, exp.Expr | None]:
        """The aggregates of ``count``/``exists``/``count_distinct`` over the items of
        a list of values (nulls left out) chosen by a ``where``."""
        if node.function not in ("count", "exists", "count_distinct"):
            raise self._refuse(node, f"{node.function}() over a list of plain values")
        if node.window is not None:
            return {"empty": None}
        item = exp.column(_ITEM, table=f"s{top + 1}")
        conditions: list[exp.Expr] = [_not(exp.Is(this=item, expression=exp.null()))]
        if node.where is not None:
            conditions.append(self._condition(node.where, scope, "the 'where' of an aggregation"))
        where = exp.Where(this=_and(*conditions))
        if node.function == "count_distinct":
            kind = _element_kind(self.type_of(node.source))
            counted = exp.Count(this=exp.Distinct(expressions=[
                self._distinct_value(item.copy(), kind)]))
        else:
            counted = exp.Count(this=exp.Star())
        return {"count": exp.Filter(this=counted, expression=where)}


# ------------------------------------------------------------------ helpers


def _scan_of(query: exp.Select, chain: tuple[ListTable, ...], level: int) -> exp.Select:
    """``query`` over the list's table ``s{level + 1}`` and, joined on their owners, the
    tables of the lists nested in it (``s{level + 2}``, ...)."""
    query = query.from_(alias(exp.to_table(chain[0].table), f"s{level + 1}", table=True),
                        copy=False)
    for offset, listed in enumerate(chain[1:], start=1):
        outer, inner = f"s{level + offset}", f"s{level + offset + 1}"
        query = join(query, alias(exp.to_table(listed.table), inner, table=True), "inner",
                     binary(exp.EQ, exp.column(listed.owner, table=inner),
                            exp.column(_key(chain[offset - 1]), table=outer)))
    return query


def zone_name(zone: dt.tzinfo, dialect: str = "duckdb") -> str:
    """The IANA name of a timezone, as databases know it.

    Raises:
        CheckError: the zone has no name (a fixed offset).
    """
    if zone is UTC or zone is None or type(zone).__name__ == "tzutc":
        return "UTC"
    key = getattr(zone, "key", None)  # zoneinfo
    if isinstance(key, str):
        return key
    filename = getattr(zone, "_filename", None)  # dateutil's tz.gettz
    if isinstance(filename, str):
        name = filename.split("zoneinfo/", 1)[-1]
        return "UTC" if name.upper() in ("UTC", "ETC/UTC", "ZULU") else name
    raise CheckError(f"the timezone {zone!r} has no name the {dialect} engine knows: configure "
                     f"it by name, such as 'Europe/Paris'")


def _period_bounds(period: Period, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime | None]:
    """The first instant of a period's days and the first after them (None: after 9999),
    the Python engine's bounds, in UTC."""
    from segdsl.aggregates import _period_bounds as python_bounds

    first, after = python_bounds(period, zone)
    return _clamped(first), None if after is None else _clamped(after)


def _clamped(moment: dt.datetime) -> dt.datetime:
    try:
        return in_zone(moment, UTC)
    except ValueError:
        return (dt.datetime.min if moment.year == 1 else dt.datetime.max).replace(tzinfo=UTC)


def _at_most(left: tuple[exp.Expr, exp.Expr | None], right: tuple[exp.Expr, exp.Expr | None]
             ) -> exp.Expr:
    """``left <= right``, a datetime meeting a date by its day (see ``_dated``)."""
    def side(this: tuple[exp.Expr, exp.Expr | None], other: tuple[exp.Expr, exp.Expr | None]):
        value, day = this
        dates_on_other_side = other[1] is None
        return (day if day is not None and dates_on_other_side else value).copy()

    return binary(exp.LTE, side(left, right), side(right, left))


def _storable_record(type_: t.Type) -> bool:
    """A record of plain values, held as a struct column."""
    return bool(type_.fields) and all(sub.name in _SCALAR_TYPES
                                      for sub in (type_.fields or {}).values())


def _not(operand: exp.Expr) -> exp.Expr:
    made: exp.Expr = exp.not_(operand, copy=False)
    return made


def _and(*operands: exp.Expr) -> exp.Expr:
    made: exp.Expr = exp.and_(*operands, copy=False)
    return made


def _tables_read(expressions: Iterable[exp.Expr]) -> set[str]:
    """The tables (and CTEs) the columns of ``expressions`` name; a walk of its own,
    several times faster than sqlglot's ``find_all`` (compiling walks every column)."""
    names: set[str] = set()
    pending = list(expressions)
    while pending:
        node = pending.pop()
        if isinstance(node, exp.Column):
            names.add(node.table)
            continue
        for value in node.args.values():
            if isinstance(value, exp.Expr):
                pending.append(value)
            elif isinstance(value, list):
                pending.extend(item for item in value if isinstance(item, exp.Expr))
    return names


def _or(*operands: exp.Expr) -> exp.Expr:
    made: exp.Expr = exp.or_(*operands, copy=False)
    return made


def _rows_kept(columns: list[exp.Expr]) -> exp.Expr | None:
    """When every aggregate of a scan has a FILTER, the rows some FILTER keeps
    (None otherwise).

    A row no FILTER keeps changes no aggregate, so the scan may leave it out:
    the database then reads only the rows in the windows (it pushes the
    condition into the table scan) instead of aggregating every row of the
    table. An owner all of whose rows are left out has no row in the group,
    which its readers already take as the empty list (the LEFT JOIN's NULL
    read as a count of 0, an empty sum, a missing first or last)."""
    kept: dict[exp.Expr, exp.Expr] = {}
    for column in columns:
        aggregate = column.this if isinstance(column, exp.Alias) else column
        if not isinstance(aggregate, exp.Filter):
            return None
        condition = aggregate.expression.this
        kept.setdefault(condition, condition)
    if not kept:
        return None
    conditions = _absorbed(list(kept.values()))
    either = _or(*(exp.paren(condition.copy(), copy=False) for condition in conditions))
    hull = _time_hull(conditions) if len(conditions) > 1 else []
    if not hull:
        return either
    if any(isinstance(part, exp.In) for part in hull) and any(
            isinstance(part, exp.GTE) for part in hull):
        # a time range and a set of values (of events' types) keep few rows more
        # than the disjunction, and the database tests them far faster, on the
        # row groups' statistics; each aggregate's FILTER picks its own rows
        return _and(*hull)
    return _and(*hull, exp.paren(either, copy=False))


def _absorbed(conditions: list[exp.Expr]) -> list[exp.Expr]:
    """``conditions`` but those holding every conjunct of another: ``a or (a and b)``
    keeps the rows of ``a`` (the whole window ``at <= now`` of ``last(orders.at)``
    keeps those of every shorter window)."""
    parts = [set(_conjuncts(condition)) for condition in conditions]
    return [condition for condition, own in zip(conditions, parts)
            if not any(other < own for other in parts)]


def _loosest_instant(limits: list[exp.Expr], side: str) -> list[exp.Expr]:
    """``limits``, or the earliest (``side`` low) or latest of them when all are
    written instants: their UTC texts of one form order as the instants do."""
    found = [_instant_text(limit) for limit in limits]
    texts = [text for text in found if text is not None]
    if len(limits) < 2 or len(texts) < len(limits):
        return limits
    pick = min if side == "low" else max
    return [limits[texts.index(pick(texts))]]


def _instant_text(limit: exp.Expr) -> str | None:
    if isinstance(limit, exp.Cast) and limit.to.is_type("TIMESTAMPTZ") \
            and isinstance(limit.this, exp.Literal) and limit.this.is_string:
        return str(limit.this.this)
    return None


def _conjuncts(condition: exp.Expr) -> list[exp.Expr]:
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.And):
        return _conjuncts(condition.this) + _conjuncts(condition.expression)
    return [condition]


def _time_hull(conditions: list[exp.Expr]) -> list[exp.Expr]:
    """Bounds every one of ``conditions`` implies: for a column each of them
    bounds from below (above) by a constant, the column at least the least
    (at most the greatest) of those bounds; for a column each of them sets
    equal to a literal, the column among those literals.

    The disjunction of the windows of a scan's aggregates implies them, so
    they change no row kept; they are written so that the database, which
    does not factor them out of the disjunction itself, skips the row groups
    outside all the windows when it reads the table."""
    bounds: list[dict[tuple[str, exp.Expr], tuple[exp.Column, list[exp.Expr]]]] = []
    for condition in conditions:
        found: dict[tuple[str, exp.Expr], tuple[exp.Column, list[exp.Expr]]] = {}
        for part in _conjuncts(condition):
            if (isinstance(part, (exp.GT, exp.GTE, exp.LT, exp.LTE))
                    and isinstance(part.this, exp.Column)
                    and part.expression.find(exp.Column) is None):
                side = "low" if isinstance(part, (exp.GT, exp.GTE)) else "high"
                bound = (side, part.this)
                found.setdefault(bound, (part.this, []))[1].append(part.expression)
        bounds.append(found)
    hull: list[exp.Expr] = []
    equal = [{part.this: part for part in _conjuncts(condition)
              if isinstance(part, exp.EQ) and isinstance(part.this, exp.Column)
              and isinstance(part.expression, exp.Literal)} for condition in conditions]
    for name, first in equal[0].items():
        if all(name in found for found in equal):
            values = {found[name].expression: found[name].expression for found in equal}
            hull.append(exp.In(this=first.this.copy(),
                               expressions=[value.copy() for value in values.values()]))
    for key, (column, _) in bounds[0].items():
        if not all(key in found for found in bounds):
            continue
        # each condition's own tightest bound is not known here: any of them will do
        limits = [found[key][1][0].copy() for found in bounds]
        unique = _loosest_instant(list(dict.fromkeys(limits)), key[0])
        if key[0] == "low":
            limit = unique[0] if len(unique) == 1 else exp.Least(
                this=unique[0], expressions=unique[1:])
            hull.append(binary(exp.GTE, column.copy(), limit))
        else:
            limit = unique[0] if len(unique) == 1 else exp.Greatest(
                this=unique[0], expressions=unique[1:])
            hull.append(binary(exp.LTE, column.copy(), limit))
    return hull


def _epoch_micros(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


def _key(table: ListTable) -> str:
    if table.key is None:  # Layout.from_schema refuses nested lists below such a table
        raise UsageError(f"the table {table.table} has no key column for its nested lists")
    return table.key


def _zero() -> exp.Expr:
    return cast(exp.Literal.number(0), _DOUBLE)


def _natural(name: str) -> tuple[int, str]:
    digits = "".join(ch for ch in name if ch.isdigit())
    return (int(digits) if digits else 0, name)


def _duration_of(node: Any) -> Duration | None:
    if isinstance(node, c.Constant) and isinstance(node.value, Duration):
        return node.value
    return None


def _exact_durations(node: Any) -> bool:
    duration = _duration_of(node)
    return duration is None or not duration.is_calendar


def _element_kind(list_type: t.Type) -> str:
    element = list_type.element
    return element.name if element is not None else "any"


def _field_kind(table: ListTable, name: str) -> str | None:
    type_ = table.fields.get(name)
    return type_.name if type_ is not None and type_.name != "any" else None


def _of_kind(value: Any, kind: str) -> bool:
    """Whether a constant can equal a value of ``kind`` (a bool is never a number)."""
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "datetime":
        return isinstance(value, dt.datetime)
    if kind == "date":
        return isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    return kind == "null"


def _without_surrogates(text: str) -> str:
    # A lone surrogate is no character: the Python engine reads it as U+FFFD.
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)


def compile_rules(rules: Any, names: Iterable[str] | None = None, *, dialect: str = "duckdb",
                  now: dt.datetime | None = None, layout: Layout | None = None,
                  own_ranking_scans: bool = False) -> exp.Select:
    """The query computing the segments ``names`` (all by default) of ``rules``;
    with ``own_ranking_scans``, the rankings' measures read scans of their own
    (one query scans a table twice, but the measures need none of the segments'
    scans: see :mod:`segdsl.sql.chunks`).

    Raises:
        CheckError: a construct the dialect cannot compute exactly (yet).
    """
    program = rules._program
    options = program.options
    layout = layout if layout is not None else Layout.of_rules(rules)
    names = list(rules) if names is None else list(names)
    populations = {node.key: node for node in program.population_nodes}
    compiler = QueryCompiler(program.body, layout, options.timezone or UTC, dialect, now,
                             populations, own_ranking_scans)
    try:
        return compiler.query(names)
    except SegdslError as error:
        if error.source is None and rules.source is not None and error.span is not None:
            error = error.located(rules.source, rules.file)
        raise error from None
