"""Membership changes over an interval, on DuckDB: both instants in one query.

``rules.changes(source, since=T0, until=T1)`` on a DuckDB source (a
connection, a ``.duckdb`` file, Parquet or CSV tables, nested records DuckDB
spreads, see :mod:`segdsl.sql.sources`) returns exactly what
:func:`segdsl.dynamics.changes` returns over the same customers read as
records: the same :class:`~segdsl.dynamics.Change` tuples in the same order,
the same start members, total and granularity. It is computed so:

1. One query evaluates every segment at ``since`` and at ``until`` (the rule
   set compiled twice, ``now`` a literal in each, joined on the customer's id;
   two compilations cost milliseconds, and DuckDB runs both scans in one
   query) and flags each customer whose rules *may* change in the interval.
2. Segments of windowed counts compared with constants, combined with
   ``and``/``or``/``not`` and conditions constant in time
   (``visits(30d) >= 10 and not purchased(30d)``), are *decided in SQL*
   (:mod:`segdsl.sql.exits`): a second query computes, for every customer,
   each count's exact flips in the interval (where an element enters at its
   stamp or leaves at its stamp plus the window, and the count crosses the
   constant), and the rule's logic is replayed over them. These customers
   need no Python timeline at all.
3. For the other segments the flag is a sound over-approximation derived
   from :func:`segdsl.dynamics.plan`: every timestamped list the segments
   read (those they use included) can move a value only where one of its
   elements enters its window (its stamp, in ``(since, until]``) or leaves it
   (stamp plus the window, in the interval), so a customer none of whose
   elements is stamped in ``(since - longest window, until]`` keeps every
   value through the interval. A window in calendar months or years is taken
   as 31 days a month, 366 a year, plus a day for the daylight-saving shift.
   A clock compared with one element's stamp ``x`` (``last(orders.at) < now -
   90d``, ``now - last(orders.at) > 30d``, ``days_between(last(orders.at),
   now)`` against constants) changes where ``now`` reaches ``x`` plus a
   known offset, so the customers to follow are also those with an element
   stamped where that instant falls in the interval, widened by a day.
   A customer whose membership of such a segment differs between the two
   instants is flagged too (it cannot happen when the bound holds; it keeps
   the answer exact if it ever did not), and so is one whose replay in 2.
   disagrees with the query at either end.
4. The flags are per segment. The flagged customers are read back from the
   tables as records, once, and each is run through the Python timeline
   exactly as ``changes`` does, for the segments it is flagged for (all of
   them when its replay in 2. disagreed); every other membership comes from
   the query at ``since`` and the changes of step 2.

Where the bound cannot be proved for a segment, every customer is flagged
for it: a segment whose clock use is neither a windowed aggregation nor a
comparison with an element's stamp (``now`` compared with a customer's
field, ``today``'s calendar, ``days_between`` of a field, a threshold that is
no constant), a segment computed day by day (rankings, unrecognized clock
uses), a window that is no constant, a timestamp column that is no
``TIMESTAMP WITH TIME ZONE``.
Rules the DuckDB compiler refuses (a :class:`~segdsl.errors.CheckError`),
and rules of which no segment is decided or bounded, take the general path
(the Python ``changes`` on every record read from the database).

Customers come in the order of the source as the SQL engine names them: by
id for tables, in input order for nested records spread by DuckDB. Elements
of a list read back come in the order of the table's order column, or else
its key (as the SQL engine breaks ties of time).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

from segdsl import checked as c
from segdsl import dynamics
from segdsl.errors import CheckError, DataError, SegdslError, UsageError
from segdsl.sql import exits
from segdsl.sql.layout import Layout, ListTable
from segdsl.timeline import UTC, Duration, Period, iso_text

#: The kinds of source (:func:`segdsl.sql.sources.kind_of`) whose changes DuckDB computes.
DUCKDB_KINDS = ("connection", "database", "files", "frames", "relation", "nested", "frame",
                "jsonl")
_TIMESTAMPTZ = "TIMESTAMP WITH TIME ZONE"
_SLACK = dt.timedelta(days=1)


def wanted(customers: Any, id_field: str, ids: str | None) -> bool:
    """Whether ``rules.changes(customers)`` goes through DuckDB: the sources
    ``rules.evaluate`` sends to an SQL engine (a cheap test)."""
    from segdsl.sql.sources import wants_sql

    return wants_sql(customers, ids is None and id_field == "id")


def changes(rules: Any, source: Any, since: Any, until: Any, segments: Any = None,
            layout: Layout | None = None, id_field: str = "id", ids: str | None = None
            ) -> dynamics.Changes:
    """Every membership change in ``(since, until]`` of the customers in
    ``source`` (see the module docstring).

    Raises:
        UsageError: the interval or the source cannot be used.
        DataError: the data holds what the rules cannot read.
    """
    from segdsl.rules import _now
    from segdsl.sql.sources import kind_of

    names = rules._names(segments)
    zone = rules._program.options.timezone
    if since is None or until is None:
        raise UsageError("changes needs both since= and until= (datetimes, dates or ISO text)")
    start, end = _now(since, zone, "since"), _now(until, zone, "until")
    if end < start:
        raise UsageError(f"until ({iso_text(end)}) is before since ({iso_text(start)})")
    kind = kind_of(source)
    if kind == "records":  # a JSON or CSV file of the Python engine's formats
        from segdsl.data import read_customers

        return dynamics.changes(rules, read_customers(source), start, end, names)
    if kind not in DUCKDB_KINDS:
        raise UsageError(f"changes reads records or DuckDB sources (a connection, a database, "
                         f"tables), not {type(source).__name__}")
    if ids is not None or id_field != "id":
        raise UsageError("changes on the DuckDB engine names customers by the layout's id "
                         "column: give layout= instead of id_field= or ids=")
    layout = layout if layout is not None else Layout.of_rules(rules)
    try:
        with _connected(rules, source, kind, layout) as (connection, order, attached):
            return _changes(rules, connection, names, start, end, attached, order)
    except SegdslError:
        if kind not in ("frame", "jsonl"):
            raise
    # A table in memory or a JSON Lines file the Python engine reads: its answer
    # (on records listed, which dynamics.changes does not send back here).
    from segdsl.customers import listed
    from segdsl.sql.sources import _records

    return dynamics.changes(rules, listed(_records(source, kind), "changes"), start, end,
                            names)


class _connected:
    """The DuckDB connection holding ``source``'s tables, with the customers'
    input order (None: by id) and the layout to compile for."""

    def __init__(self, rules: Any, source: Any, kind: str, layout: Layout) -> None:
        self.rules, self.source, self.kind, self.layout = rules, source, kind, layout
        self.connection: Any = None
        self.owned = False

    def __enter__(self) -> tuple[Any, list[Any] | None, Layout]:
        from segdsl.sql.sources import _duckdb_module, attach

        duckdb = _duckdb_module()
        if self.kind == "connection":
            return self.source, None, self.layout
        if self.kind == "database":
            text = os.fspath(self.source).removeprefix("duckdb:").removeprefix("//")
            try:
                self.connection = duckdb.connect(text, read_only=True)
            except duckdb.Error as error:
                raise UsageError(f"{text}: cannot open the DuckDB database ({error})") from None
            self.owned = True
            return self.connection, None, self.layout
        self.connection = duckdb.connect()
        self.owned = True
        self.connection.execute("SET TimeZone = 'UTC'")
        zone = self.rules._program.options.timezone
        checked = self.kind in ("frame", "jsonl", "relation", "nested")
        order, layout = attach(self.connection, self.source, self.layout, kind=self.kind,
                               zone=zone, checked=checked)
        return self.connection, order, layout

    def __exit__(self, *exc: object) -> None:
        if self.owned:
            self.connection.close()


def _changes(rules: Any, connection: Any, names: list[str], start: dt.datetime,
             end: dt.datetime, layout: Layout, order: list[Any] | None) -> dynamics.Changes:
    from segdsl.sql.engine import DuckDBRunner, refuse_wall_clocks

    described = DuckDBRunner(connection).column_types(layout)
    refuse_wall_clocks(layout, described, rules._program.options.timezone)
    layout = layout.with_column_types(described)
    program = rules._program
    granularity = {name: dynamics.plan(program, name).granularity for name in names}
    decided = exits.decidable(rules, names, layout, described, start) if DECIDE else {}
    try:
        sql = both_instants(rules, names, start, end, layout, described, decided)
    except CheckError:
        sql = None
    if sql is None:
        ids = [row[0] for row in _run(connection, f"SELECT {_quote(layout.id)} FROM "
                                                  f"{_quote(layout.customers)}")]
        records = read_records(connection, layout, _ordered(ids, order))
        found = dynamics.changes(rules, records, start, end, names, id_field=_id_field(layout))
        return dynamics.Changes(found.changes, start, end, found.total, granularity, found.start)
    rows = _rows(connection, sql, order)
    width = len(names)
    index = {row[0]: position for position, row in enumerate(rows)}
    order_of = {name: position for position, name in enumerate(names)}
    undecided = [name for name in names if name not in decided]
    moving = _moving(rows, names, undecided)
    timed: list[tuple[dt.datetime, int, int, dynamics.Change]] = []
    if decided:
        leaves_at = 1 + 2 * width + len(undecided)
        for identity in _replayed(connection, rows, names, decided, start, end, leaves_at,
                                  index, order_of, timed):
            moving[identity] = set(names)
    # Each customer is followed by the timeline for the segments that may move.
    followed = sorted(moving, key=index.__getitem__)
    read = dict(zip(followed, read_records(connection, layout, followed), strict=True))
    groups: dict[frozenset[str], list[Any]] = {}
    for identity in followed:
        groups.setdefault(frozenset(moving[identity]), []).append(identity)
    first: dict[str, set[Any]] = {name: set() for name in names}
    for segments, ids in groups.items():
        chosen = [name for name in names if name in segments]
        found = dynamics.changes(rules, [read[identity] for identity in ids], start, end,
                                 chosen, id_field=_id_field(layout))
        timed += [(ch.at, index[ch.customer_id], order_of[ch.segment], ch)
                  for ch in found.changes]
        for name in chosen:
            first[name].update(found.start[name])
    timed.sort(key=lambda entry: entry[:3])
    members: dict[str, list[Any]] = {name: [] for name in names}
    for row in rows:
        identity = row[0]
        moved = moving.get(identity, ())
        for position, name in enumerate(names):
            if (identity in first[name]) if name in moved else row[1 + position]:
                members[name].append(identity)
    return dynamics.Changes(tuple(entry[3] for entry in timed), start, end, len(rows),
                            granularity, members)


def _moving(rows: list[tuple], names: list[str], undecided: list[str]) -> dict[Any, set[str]]:
    """For each customer whose rules may change, the segments not decided in
    SQL that may: those the query flags, and those whose memberships at the
    two ends differ."""
    width = len(names)
    flags_at = 1 + 2 * width
    positions = [(number, name, names.index(name)) for number, name in enumerate(undecided)]
    moving: dict[Any, set[str]] = {}
    for row in rows:
        found = {name for number, name, position in positions
                 if row[flags_at + number] or row[1 + position] != row[1 + width + position]}
        if found:
            moving[row[0]] = found
    return moving


#: Whether segments of windowed counts are decided in SQL (off: every flagged
#: customer is followed by the Python timeline; the tests compare both).
DECIDE = True


def _id_field(layout: Layout) -> str:
    return {column: name for name, column in layout.columns.items()}.get(layout.id, layout.id)


def _replayed(connection: Any, rows: list[tuple], names: list[str],
              decided: dict[str, exits.Decided], start: dt.datetime, end: dt.datetime,
              leaves_at: int, index: dict, order_of: dict, timed: list) -> set:
    """The changes of the segments decided in SQL, added to ``timed``; returns
    the customers whose replay disagrees with the query (followed by the
    timeline instead, for every segment). The leaves' values at ``start``
    are the rows' columns from ``leaves_at`` on."""
    segments = list(decided.values())
    sql = exits.flips_query(segments, start, end)
    flips: dict[tuple[int, Any], list[tuple[int, int]]] = {}
    if sql is not None:
        for number, leaf, identity, moment in _run(connection, sql):
            flips.setdefault((number, identity), []).append((moment, leaf))
    width = len(names)
    disagreeing = set()
    found = []
    for row in rows:
        identity = row[0]
        column = leaves_at
        for number, segment in enumerate(segments):
            position = names.index(segment.name)
            values = {}
            for leaf, (_, count) in enumerate(segment.leaves):
                values[leaf] = exits.leaf_value(row[column], row[column + 1])
                column += 2
            moves = flips.get((number, identity), [])
            if any(values[leaf] is None for _, leaf in moves):
                disagreeing.add(identity)
                continue
            first, changes, last = exits.replay(segment, values, moves)
            if first != bool(row[1 + position]) or last != bool(row[1 + width + position]):
                disagreeing.add(identity)
                continue
            for moment, member in changes:
                at = exits.instant(moment)
                found.append((at, index[identity], order_of[segment.name], dynamics.Change(
                    identity, segment.name, dynamics.ENTERED if member else dynamics.EXITED,
                    at)))
    timed += [entry for entry in found if entry[3].customer_id not in disagreeing]
    return disagreeing


def _ordered(ids: list[Any], order: list[Any] | None) -> list[Any]:
    """The customers' ids in the source's order: input order, or by id."""
    if order is not None:
        return list(order)
    _unique(ids)
    return sorted(ids)


def _unique(ids: list[Any]) -> None:
    seen: set[Any] = set()
    for identity in ids:
        if identity is None or identity in seen:
            what = "without an id" if identity is None else f"{identity!r} twice"
            raise DataError(f"the customers table holds a customer {what}",
                            customer_id=identity)
        seen.add(identity)


def _rows(connection: Any, sql: str, order: list[Any] | None) -> list[tuple]:
    rows = _run(connection, sql)
    _unique([row[0] for row in rows])
    if order is not None:
        position = {identity: index for index, identity in enumerate(order)}
        rows.sort(key=lambda row: position[row[0]])
    return rows


# ------------------------------------------------------------------ the query


def both_instants(rules: Any, names: list[str], start: dt.datetime, end: dt.datetime,
                  layout: Layout, described: dict | None = None,
                  decided: dict[str, exits.Decided] | None = None) -> str | None:
    """The query of each customer's id, membership of each segment at ``start``,
    then at ``end``, for each segment not ``decided`` in SQL whether its rule
    may change in between, then the values at ``start`` of the decided
    segments' conditions (each, and its negation); None when nothing is
    decided and no bound is proved (every customer may change).

    Raises:
        CheckError: the DuckDB compiler does not cover the rules.
    """
    from segdsl.sql.compiler import QueryCompiler, compile_rules

    decided = decided or {}
    program = rules._program
    undecided = [name for name in names if name not in decided]
    moved: list[str | None] = []
    for name in undecided:
        reads = bounded_reads(program, [name])
        moved.append(None if reads is None else _moved(reads, start, end, layout,
                                                       described or {}))
    if not decided and all(query is None for query in moved):
        return None
    # Segments reading the same lists share one list of the customers to follow.
    shared = list(dict.fromkeys(query for query in moved if query))
    ctes = [f"__segdsl_moved_{number} AS ({query})" for number, query in enumerate(shared)]
    flags = ["TRUE" if query is None else "FALSE" if not query else
             f"s.customer_id IN (SELECT * FROM __segdsl_moved_{shared.index(query)})"
             for query in moved]
    leaves = exits.leaf_segments(decided[name] for name in names if name in decided)
    populations = {node.key: node for node in program.population_nodes}
    compiler = QueryCompiler(lambda name: leaves[name] if name in leaves else program.body(name),
                             layout, program.options.timezone or UTC, "duckdb", start,
                             populations)
    queries = [compiler.query([*names, *leaves]).sql(dialect="duckdb"),
               compile_rules(rules, names, dialect="duckdb", now=end, layout=layout)
               .sql(dialect="duckdb")]
    columns = ", ".join([*(f"s.{_quote(name)}" for name in names),
                         *(f"u.{_quote(name)}" for name in names),
                         *(f"{flag} AS __segdsl_moves_{number}"
                           for number, flag in enumerate(flags)),
                         *(f"s.{_quote(name)}" for name in leaves)])
    with_clause = f"WITH {', '.join(ctes)} " if ctes else ""
    return (f"{with_clause}SELECT s.customer_id, {columns} "
            f"FROM ({queries[0]}) AS s JOIN ({queries[1]}) AS u "
            f"ON s.customer_id IS NOT DISTINCT FROM u.customer_id ORDER BY s.customer_id")


#: Stamps that may move a value: those in ``(since - low, until - high]``.
Reach = tuple[dt.timedelta, dt.timedelta]

_ZERO = dt.timedelta(0)
_DAY = dt.timedelta(days=1)
#: The aggregations whose value is one element's stamp (of ``list.at``).
_STAMPS = frozenset({"first", "last", "min", "max"})


def bounded_reads(program: Any, names: list[str]) -> dict[tuple[str, str], set[Reach]] | None:
    """``(list, timestamp field)`` to the ranges of stamps whose elements may
    change a value of the segments (and those they use) in ``(since, until]``:
    ``(since - longest window, until]`` for the elements entering or leaving a
    window, and, for a clock compared with an element's stamp (``last(orders.at)
    < now - 90d``, ``days_between``), the stamps whose crossing instant may lie in
    the interval. None when some change is not bounded so."""
    reads: dict[tuple[str, str], set[Reach]] = {}
    pending, seen = list(names), set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        found = dynamics.plan(program, name)
        if found.granularity != dynamics.EXACT:
            return None
        read: list[tuple[c.Checked, str | None, c.Checked | None]] = [
            (listed.source, listed.timestamp, listed.window) for listed in found.lists]
        for site in found.sites:
            if isinstance(site, dynamics._Counted):
                node = site.aggregate
                read.append((node.source, node.timestamp,
                             node.window.value if node.window is not None else None))
                continue
            crossed = _clock_reaches(site)
            if crossed is None:
                return None
            key, reaches = crossed
            reads.setdefault(key, set()).update(reaches)
        for source, timestamp, window in read:
            reach = _reach(window)
            if reach is None or timestamp is None or not isinstance(source, c.Field) \
                    or len(source.path) != 1:
                return None
            reads.setdefault((source.path[0], timestamp), set()).add((reach, _ZERO))
        pending.extend(found.refs)
    return reads


def _reach(window: c.Checked | None) -> dt.timedelta | None:
    """How long an element stays in ``window`` (an upper bound), None when unknown."""
    if window is None:
        return dt.timedelta(0)
    if not isinstance(window, c.Constant):
        return None
    value = window.value
    if isinstance(value, Period):
        return dt.timedelta(0)
    if not isinstance(value, Duration):
        return None
    low, high = _length(value)
    return max(abs(low), abs(high)) + (_SLACK if value.unit in ("m", "y") else _ZERO)


def _clock_reaches(site: Any) -> tuple[tuple[str, str], list[Reach]] | None:
    """The list whose element's stamp ``x`` a clock site compares with, and the
    stamps that may make it change in the interval; None for any other site.

    The site changes where the clock, ``now`` shifted by ``S``, reaches ``x``
    plus a target offset ``c`` (0 for a comparison, a whole number of days
    for ``days_between``, the duration for ``now - x > d``): at ``x + c - S``
    (and a microsecond after). That lies in ``(since, until]`` only if ``x``
    lies in ``(since - c + S, until - c + S]``, widened by a day for the
    microsecond, the daylight-saving shift and the calendar's month lengths.
    """
    clock = site.clock
    shift = _span(clock.steps)
    if clock.day or clock.day_steps or shift is None:
        return None
    if isinstance(site, dynamics._Crossing) and not site.items:
        stamp, targets = site.other, [(_ZERO, _ZERO)]
    elif isinstance(site, dynamics._Steps) and site.thresholds is not None:
        stamp = site.other
        targets = [(days * _DAY, days * _DAY)
                   for days in sorted(dynamics.threshold_days(site.thresholds))]
    elif isinstance(site, dynamics._Difference):
        offset = _span(((site.sign, site.other),))
        if offset is None:
            return None
        stamp, targets = site.base, [offset]
    else:
        return None
    found = _element_stamp(stamp)
    if found is None:
        return None
    key, reach = found
    # The stamp itself moves only as elements enter or leave the aggregation's window.
    return key, [(reach, _ZERO), *((high - shift[0] + _SLACK, low - shift[1] - _SLACK)
                                   for low, high in targets)]


def _element_stamp(node: c.Checked) -> tuple[tuple[str, str], dt.timedelta] | None:
    """``(list, timestamp field)`` when ``node``'s value is always the stamp of
    one of the customer's list's elements (or null), as ``last(orders.at)``,
    with how long an element stays in its window."""
    if not isinstance(node, c.Aggregate) or node.function not in _STAMPS \
            or node.timestamp is None or node.value != (node.timestamp,) or node.flatten:
        return None
    source = node.source
    if not isinstance(source, c.Field) or source.depth != 0 or len(source.path) != 1:
        return None
    reach = _reach(node.window.value if node.window is not None else None)
    return None if reach is None else ((source.path[0], node.timestamp), reach)


def _span(steps: Any) -> Reach | None:
    """The least and greatest sum of signed constant durations, None for any other step."""
    low = high = _ZERO
    for sign, node in steps:
        if not isinstance(node, c.Constant) or not isinstance(node.value, Duration):
            return None
        least, most = _length(node.value)
        if sign < 0:
            least, most = -most, -least
        low, high = low + least, high + most
    return low, high


def _length(value: Duration) -> Reach:
    """The shortest and longest a duration can be (a month 28 to 31 days, a year 365 or 366)."""
    days = {"m": (28, 31), "y": (365, 366)}.get(value.unit)
    if days is None:
        step = value.step()
        assert isinstance(step, dt.timedelta)
        return step, step
    least, most = sorted((days[0] * value.amount, days[1] * value.amount))
    return dt.timedelta(days=least), dt.timedelta(days=most)


def _moved(reads: dict[tuple[str, str], set[Reach]], start: dt.datetime, end: dt.datetime,
           layout: Layout, described: dict) -> str | None:
    """The ids of the customers with an element stamped where it may change a
    value (a query; empty text: none can), None when a list cannot be bounded."""
    parts = []
    for (name, timestamp), reaches in sorted(reads.items()):
        table = layout.lists.get((name,))
        if table is None:
            return None
        column = table.column(timestamp)
        if described.get((table.table, column), "").upper() != _TIMESTAMPTZ:
            return None
        ranges = " OR ".join(f"({_quote(column)} > {_instant(low)} AND "
                             f"{_quote(column)} <= {_instant(high)})"
                             for low, high in _stamp_ranges(reaches, start, end))
        if ranges:
            parts.append(f"SELECT {_quote(table.owner)} FROM {_quote(table.table)} "
                         f"WHERE {ranges}")
    return " UNION ".join(parts)


def _stamp_ranges(reaches: set[Reach], start: dt.datetime, end: dt.datetime
                  ) -> list[tuple[dt.datetime, dt.datetime]]:
    """The ranges ``(low, high]`` of stamps the reaches give for ``(start, end]``,
    in order, those that overlap merged."""
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for low, high in sorted((_moved_back(start, low), _moved_back(end, high))
                            for low, high in reaches):
        if low >= high:
            continue
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _moved_back(moment: dt.datetime, by: dt.timedelta) -> dt.datetime:
    """``moment - by``, or the calendar's end it would pass."""
    try:
        return moment - by
    except OverflowError:
        return (dt.datetime.min if by > _ZERO else dt.datetime.max).replace(tzinfo=dt.UTC)


def _instant(moment: dt.datetime) -> str:
    return f"TIMESTAMPTZ '{moment.astimezone(dt.UTC).isoformat()}'"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ------------------------------------------------------------------ the records


def read_records(connection: Any, layout: Layout, ids: list[Any]) -> list[dict[str, Any]]:
    """The customers ``ids`` read back from the layout's tables as records, in
    the order of ``ids``: each customer's fields, and its lists as lists of
    element records (nested lists through the enclosing table's key)."""
    if not ids:
        return []
    fields = {column: name for name, column in layout.columns.items()}
    customers = _select(connection, layout.customers, layout.id, ids, None)
    by_id: dict[Any, dict[str, Any]] = {}
    for row in customers:
        by_id[row[layout.id]] = {fields.get(k, k): v for k, v in row.items()}
    for path, table in layout.lists.items():
        if len(path) == 1:
            _attach_list(connection, layout, table, by_id, ids)
    return [by_id[identity] for identity in ids if identity in by_id]


def _attach_list(connection: Any, layout: Layout, table: ListTable, owners: dict[Any, dict],
                 keys: list[Any]) -> None:
    """Each owner's list ``table.path[-1]`` read from ``table`` (and the lists
    nested in its elements, through its key)."""
    name = table.path[-1]
    rows = _select(connection, table.table, table.owner, keys, table)
    fields = {column: field for field, column in table.columns.items()}
    dropped = {table.owner} | ({table.order} if table.order and table.order not in
                               table.fields else set())
    elements: dict[Any, dict[str, Any]] = {}
    for record in owners.values():
        record[name] = []
    for row in rows:
        owner = owners.get(row[table.owner])
        if owner is None:
            continue
        element = {fields.get(k, k): v for k, v in row.items() if k not in dropped}
        owner[name].append(element)
        if table.key is not None:
            elements[row[table.key]] = element
    for path, nested in layout.lists.items():
        if len(path) == len(table.path) + 1 and path[:-1] == table.path and elements:
            _attach_list(connection, layout, nested, elements, list(elements))


def _select(connection: Any, table: str, column: str, keys: list[Any],
            listed: ListTable | None) -> Iterator[dict[str, Any]]:
    """The rows of ``table`` whose ``column`` is among ``keys`` (a list's in
    list order), as dicts; instants come as microseconds and are made UTC
    datetimes here (twice as fast as DuckDB's own, and read faster by the
    Python engine)."""
    ordering = ""
    if listed is not None:
        by = [name for name in (listed.owner, listed.order or listed.key) if name]
        ordering = " ORDER BY " + ", ".join(_quote(name) for name in by)
    described = _execute(connection, f"SELECT * FROM {_quote(table)} LIMIT 0").description
    names = [entry[0] for entry in described]
    instants = [str(entry[1]).upper() == _TIMESTAMPTZ for entry in described]
    selected = ", ".join(f"epoch_us({_quote(name)})" if instant else _quote(name)
                         for name, instant in zip(names, instants, strict=True))
    result = _execute(connection, f"SELECT {selected} FROM {_quote(table)} WHERE "
                                  f"{_quote(column)} IN (SELECT unnest(?)){ordering}", [keys])
    if not any(instants):
        return (dict(zip(names, row, strict=True)) for row in _fetched(result))
    return ({name: (_moment(value, table, name) if instant and value is not None else value)
             for name, instant, value in zip(names, instants, row, strict=True)}
            for row in _fetched(result))


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def _moment(micros: int, table: str, column: str) -> dt.datetime:
    try:
        return _EPOCH + dt.timedelta(microseconds=micros)
    except OverflowError:
        raise DataError(f"{table}.{column} holds an instant outside the years 1 to 9999") \
            from None


def _fetched(result: Any) -> list[tuple]:
    import duckdb

    try:
        rows: list[tuple] = result.fetchall()
    except duckdb.Error as error:
        raise DataError(f"the database could not read the customers: {error}") from None
    return rows


def _execute(connection: Any, sql: str, parameters: list | None = None) -> Any:
    import duckdb

    try:
        return connection.execute(sql, parameters)
    except (duckdb.CatalogException, duckdb.BinderException) as error:
        raise UsageError(f"the tables do not have the layout the rules read: "
                         f"{str(error).strip().splitlines()[0]}") from None
    except duckdb.Error as error:
        raise DataError(f"the database could not read the customers: "
                        f"{str(error).strip().splitlines()[0]}") from None


def _run(connection: Any, sql: str) -> list[tuple]:
    from segdsl.sql.engine import _run as run

    return run(connection, sql)


__all__ = ["DUCKDB_KINDS", "both_instants", "bounded_reads", "changes", "read_records",
           "wanted"]
