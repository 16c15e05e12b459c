"""Large tables on DuckDB, evaluated a range of customer ids at a time.

A query over every customer at once groups every list by customer in one
hash table; beyond a few million customers that table outgrows DuckDB's memory
budget and spills to disk, and the cost per customer grows with the number of
customers. The same query over the customers of one range of ids (and only
their elements) does not spill, so the cost stays linear:

- the customers are split into ranges of consecutive whole-number ids, each
  holding about :data:`CHUNK_CUSTOMERS` of them;
- for each range, temporary views hold its customers and the elements they own
  (a nested list: at least the elements of the range's elements), and the query,
  reading those views, gives the range's members;
- rankings are of the whole population: each range's measures are gathered
  first into a temporary table, the tiles and percentiles computed once over
  it, and each range's query reads its customers' tiles from there. The query
  is compiled with the measures in scans of their own, so gathering them scans
  only what they read (not, say, the items the segments join to the orders);
- the break points of the tiles need a few order statistics of each measure,
  not its whole order: they are selected (``quantile_disc``), each one proved
  to be at its place by counting the measures below and up to it, and fed to
  :func:`segdsl.population.quantile`, the Python engine's own. Where a proof
  fails, or a measure is not a double, every measure is sorted instead.

The members are those of the single query, in the same order (by id); where
the tables do not allow it (ids other than whole numbers, a null id, owners of
another type than the ids, a query of another shape) the single query runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Generator, Sequence
from typing import Any

from sqlglot import exp

from segdsl.population import quantile
from segdsl.sql.layout import Layout

#: Customers per range of ids (a range holds fewer where ids have gaps).
CHUNK_CUSTOMERS = 1_000_000
#: Tables of at most this many customers are evaluated in one query.
SINGLE_QUERY_UP_TO = 2_000_000

_WHOLE_NUMBERS = frozenset(("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
                            "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"))
_RANKINGS = frozenset(("pm", "pl", "pq", "pb", "pt", "pv"))
#: At most this many order statistics are selected; more are found by sorting.
SELECTED_UP_TO = 64
_PREFIX = "segdsl_chunk_"


def id_ranges(connection: Any, layout: Layout, described: dict[tuple[str, str], str]
              ) -> list[tuple[int, int]] | None:
    """The ranges ``[low, high)`` of ids to evaluate one by one, or None where one
    query must do: few customers, ids other than whole numbers or with nulls
    (whose error the single query gives), lists owned by another type, or
    tables named with their schema."""
    if any("." in table for table in _views(layout)):
        return None  # tables of another schema or database: their views are not written
    id_type = described.get((layout.customers, layout.id), "").upper()
    if id_type not in _WHOLE_NUMBERS:
        return None
    for table in layout.lists.values():
        if len(table.path) == 1 and \
                described.get((table.table, table.owner), "").upper() not in _WHOLE_NUMBERS:
            return None
    customers, column = _quoted(layout.customers), _quoted(layout.id)
    count, known, low, high = connection.execute(
        f"SELECT count(*), count({column}), min({column}), max({column}) "
        f"FROM {customers}").fetchone()
    if count <= SINGLE_QUERY_UP_TO or known != count:
        return None
    pieces = -(-count // CHUNK_CUSTOMERS)
    width = -(-(high - low + 1) // pieces)
    return [(start, min(start + width, high + 1)) for start in range(low, high + 1, width)]


def _views(layout: Layout) -> dict[str, str]:
    """Each table of ``layout`` to the name of its view for one range."""
    tables = [layout.customers, *(table.table for table in layout.lists.values())]
    return {table: f"{_PREFIX}{table}" for table in tables}


def _define_views(execute: Any, layout: Layout, low: int, high: int,
                  read: frozenset[str]) -> None:
    """The views of one range ``[low, high)``: its customers and what they own,
    for the lists whose views are ``read`` (and the lists enclosing them).

    A nested list's view holds at least the elements owned by the range's
    elements: those whose owner lies between the least and the greatest key
    of its parent's view, written as constants so that the database skips
    the row groups outside them (the elements of consecutive orders are often
    stored together). Its other elements change nothing: the query reaches a
    nested element only through its owner's key."""
    views = _views(layout)
    _define_view(execute, views, layout.customers, f"{_quoted(layout.id)} {_between(low, high)}")
    needed = {listed.path[:depth] for listed in layout.lists.values()
              if views[listed.table] in read for depth in range(1, len(listed.path) + 1)}
    for listed in sorted(layout.lists.values(), key=lambda table: len(table.path)):
        if listed.path not in needed:
            continue
        owner = _quoted(listed.owner)
        if len(listed.path) == 1:
            _define_view(execute, views, listed.table, f"{owner} {_between(low, high)}")
            continue
        parent = layout.lists[listed.path[:-1]]
        assert parent.key is not None  # Layout.from_schema refuses nested lists without
        least, greatest = execute(f"SELECT min({_quoted(parent.key)}), max("
                                  f"{_quoted(parent.key)}) FROM {_quoted(views[parent.table])}")[0]
        if least is None:  # the range owns no element of the parent list
            condition = "false"
        elif _plain(least) and _plain(greatest):
            condition = f"{owner} BETWEEN {_constant(least)} AND {_constant(greatest)}"
        else:
            condition = "true"
        _define_view(execute, views, listed.table, condition)


def _define_view(execute: Any, views: dict[str, str], table: str, condition: str) -> None:
    execute(f"CREATE OR REPLACE TEMP VIEW {_quoted(views[table])} AS "
            f"SELECT * FROM {_quoted(table)} WHERE {condition}")


def _plain(value: Any) -> bool:
    return type(value) is int or type(value) is str


def _constant(value: int | str) -> str:
    literal = exp.Literal.number(value) if type(value) is int else exp.Literal.string(value)
    return literal.sql("duckdb")


def _between(low: int, high: int) -> str:
    return f"BETWEEN {int(low)} AND {int(high) - 1}"


def _quoted(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def reading_views(query: exp.Select, layout: Layout) -> exp.Select:
    """``query`` reading each table of ``layout`` from its range's view."""
    views = _views(layout)

    def renamed(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and not node.args.get("db") and node.name in views:
            node = node.copy()
            node.set("this", exp.to_identifier(views[node.name]))
        return node

    renamed_query = query.transform(renamed)
    assert isinstance(renamed_query, exp.Select)
    return renamed_query


class Plan:
    """The queries of an evaluation by ranges.

    Attributes:
        measures: per range, the customers' measures (``pm``), or None
            without rankings.
        tiles: once, every customer's tiles (``pv``) from the gathered
            measures, or None without rankings.
        tiled: the number of tiles of each tiled measure ``v{j}``, by ``j``.
        members: per range, the memberships.
        read: the tables and views the queries read.
    """

    def __init__(self, query: exp.Select) -> None:
        self.read = frozenset(table.name for table in query.find_all(exp.Table))
        ctes = list(query.ctes)
        names = [cte.alias for cte in ctes]
        ranked = [name for name in names if name in _RANKINGS]
        self.measures: str | None = None
        self.tiles: str | None = None
        self.tiled: dict[int, int] = {}
        if not ranked:
            self.members = query.sql(dialect="duckdb")
            return
        before = list(itertools.takewhile(lambda cte: cte.alias != "pm", ctes))
        rankings = [cte for cte in ctes if cte.alias in _RANKINGS]
        after = [cte for cte in ctes[len(before):] if cte.alias not in _RANKINGS]
        self.measures = _with(before + rankings[:1], exp.select("*").from_("pm"))
        gathered = exp.CTE(this=exp.select("*").from_(_MEASURES),
                           alias=exp.to_identifier("pm"))
        self._tile_ctes = [gathered, *rankings[1:]]
        self.tiles = _with(self._tile_ctes, exp.select("*").from_("pv"))
        self.tiled = _tiled(rankings)
        body = query.copy()
        body.set("with_", None)
        tiles = exp.CTE(this=exp.select("*").from_(_RANGE_TILES),
                        alias=exp.to_identifier("pv"))
        self.members = _with([*before, tiles, *after], body)

    def tiles_between(self, points: dict[str, float | None]) -> str:
        """:attr:`tiles` with break points ``points`` (``b{j}_{i}`` to a value, None
        where the measure has no values) instead of those of the sorted measures."""
        given = exp.CTE(this=exp.select(*(exp.alias_(_double(point), name)
                                          for name, point in points.items())),
                        alias=exp.to_identifier("pb"))
        ctes = [given if cte.alias == "pb" else cte for cte in self._tile_ctes]
        return _with(ctes, exp.select("*").from_("pv"))

    @staticmethod
    def shaped(query: exp.Select) -> bool:
        """Whether the query's rankings are where a plan expects them: after the
        scans of the lists, ``pm`` first and ``pv`` last, and nothing but the
        rankings reading any of them but ``pv``."""
        ctes = list(query.ctes)
        names = [cte.alias for cte in ctes]
        ranked = [index for index, name in enumerate(names) if name in _RANKINGS]
        if not ranked:
            return True
        if names[ranked[0]] != "pm" or names[ranked[-1]] != "pv" \
                or ranked != list(range(ranked[0], ranked[-1] + 1)):
            return False
        body = query.copy()
        body.set("with_", None)
        readers = [body, *(cte.this for cte in ctes if cte.alias not in _RANKINGS)]
        read = {table.name for reader in readers for table in reader.find_all(exp.Table)}
        return not read & (_RANKINGS - {"pv"})


def _tiled(rankings: list[exp.CTE]) -> dict[int, int]:
    """The number of tiles of each measure ``v{j}`` whose break points ``pb`` holds
    (as ``b{j}_{i}``, ``i`` from 1 to the number of tiles less one), by ``j``."""
    tiled: dict[int, int] = {}
    for cte in rankings:
        if cte.alias == "pb":
            for name in cte.this.named_selects:
                j, i = (int(part) for part in name[1:].split("_"))
                tiled[j] = max(tiled.get(j, 0), i + 1)
    return tiled


def _double(value: float | None) -> exp.Expr:
    if value is None:
        return exp.cast(exp.null(), "DOUBLE")
    return exp.cast(exp.Literal.string(repr(value)), "DOUBLE")  # repr round-trips


_MEASURES = f"{_PREFIX}measures"
_TILES = f"{_PREFIX}tiles"
_RANGE_TILES = f"{_PREFIX}range_tiles"


def _with(ctes: list[exp.CTE], body: exp.Select) -> str:
    """``body`` with those of ``ctes`` it reads, directly or through another."""
    by_name = {cte.alias: cte for cte in ctes}
    read: set[str] = set()
    pending: list[exp.Expr] = [body]
    while pending:
        for table in pending.pop().find_all(exp.Table):
            if table.name in by_name and table.name not in read:
                read.add(table.name)
                pending.append(by_name[table.name].this)
    query = body.copy()
    query.set("with_", exp.With(expressions=[cte.copy() for cte in ctes if cte.alias in read]))
    return query.sql(dialect="duckdb")


def run(plan: Plan, layout: Layout, ranges: list[tuple[int, int]], execute: Any,
        read: Any) -> Generator[Any, None, None]:
    """``read(sql)`` of each range's members, ranges in order; ``execute(sql)``
    runs the statements around them."""
    try:
        if plan.measures is not None:
            for index, (low, high) in enumerate(ranges):
                _define_views(execute, layout, low, high, plan.read)
                into = "CREATE OR REPLACE TEMP TABLE {} AS " if index == 0 else "INSERT INTO {} "
                execute(into.format(_quoted(_MEASURES)) + plan.measures)
            points = selected_break_points(plan.tiled, execute)
            tiles = plan.tiles if points is None else plan.tiles_between(points)
            execute(f"CREATE OR REPLACE TEMP TABLE {_quoted(_TILES)} AS {tiles}")
        for low, high in ranges:
            _define_views(execute, layout, low, high, plan.read)
            if plan.measures is not None:
                execute(f"CREATE OR REPLACE TEMP VIEW {_quoted(_RANGE_TILES)} AS SELECT * FROM "
                        f"{_quoted(_TILES)} WHERE customer_id {_between(low, high)}")
            yield read(plan.members)
    finally:
        for view in (*_views(layout).values(), _RANGE_TILES):
            execute(f"DROP VIEW IF EXISTS {_quoted(view)}")
        for table in (_MEASURES, _TILES):
            execute(f"DROP TABLE IF EXISTS {_quoted(table)}")


def selected_break_points(tiled: dict[int, int], execute: Any
                          ) -> dict[str, float | None] | None:
    """The break points ``b{j}_{i}`` of the gathered measures ``v{j}`` (``tiled``:
    their numbers of tiles), from order statistics selected and proved in place,
    or None where the measures must be sorted: a measure not a double, too many
    order statistics, or a proof that fails."""
    if not tiled:
        return None
    types = dict(execute(f"SELECT column_name, column_type FROM (DESCRIBE {_quoted(_MEASURES)})"))
    if any(types.get(f"v{j}") != "DOUBLE" for j in tiled):
        return None
    columns = sorted(tiled)
    sizes = dict(zip(columns, execute(
        "SELECT " + ", ".join(f"count(v{j})" for j in columns) + f" FROM {_quoted(_MEASURES)}")[0]))
    wanted = {j: sorted(_Sorted(sizes[j]).read_by(tiled[j])) for j in columns if sizes[j]}
    if sum(map(len, wanted.values())) > SELECTED_UP_TO:
        return None
    selected = {j: _select(execute, j, sizes[j], places) for j, places in wanted.items()}
    points: dict[str, float | None] = {}
    for j in columns:
        known = selected.get(j)
        if sizes[j] and known is None:
            return None
        values = _Sorted(sizes[j], known)
        for i in range(1, tiled[j]):
            points[f"b{j}_{i}"] = quantile(values, i / tiled[j]) if sizes[j] else None
    return points


def _select(execute: Any, j: int, size: int, places: list[int]) -> dict[int, float] | None:
    """The values at ``places`` in the sorted non-null measures ``v{j}``, or None where
    one cannot be proved to be there.

    ``quantile_disc(v, q)`` is the value at place ``ceil(size * q) - 1``; asking for
    ``(place + 0.5) / size`` keeps far from the edges of that rounding. Whatever it
    gives, a value is at ``place`` exactly when fewer than ``place + 1`` measures lie
    below it and more than ``place`` up to it, in the database's order (the order of
    its sort)."""
    fractions = ", ".join(repr(_fraction(place, size)) for place in places)
    measures, v = _quoted(_MEASURES), f"m.v{j}"
    counts = ", ".join(f"count_if({v} < c.s[{k}]), count_if({v} <= c.s[{k}])"
                       for k in range(1, len(places) + 1))
    row = execute(f"WITH c AS (SELECT quantile_disc(v{j}, [{fractions}]) AS s FROM {measures}) "
                  f"SELECT any_value(c.s), {counts} FROM {measures} AS m CROSS JOIN c")[0]
    values, counted = row[0], row[1:]
    for k, place in enumerate(places):
        below, up_to = counted[2 * k], counted[2 * k + 1]
        if not below <= place < up_to:
            return None
    return dict(zip(places, values))


def _fraction(place: int, size: int) -> float:
    return (place + 0.5) / size


class _Sorted(Sequence[float]):
    """The ``size`` sorted measures as :func:`segdsl.population.quantile` reads them:
    the values of the places ``known``, or without them, zeros, to learn which
    places it reads (so that the formula lives in one place)."""

    def __init__(self, size: int, known: dict[int, float] | None = None) -> None:
        self._size = size
        self._known = known
        self._read: set[int] = set()

    def read_by(self, tiles: int) -> set[int]:
        """The places the break points of ``tiles`` tiles read."""
        for i in range(1, tiles):
            quantile(self, i / tiles)
        return self._read

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, place: Any) -> Any:
        self._read.add(place)
        return 0.0 if self._known is None else self._known[place]
