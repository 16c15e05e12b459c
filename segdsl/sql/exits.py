"""The exact instants of time-driven exits of windowed counts, computed by DuckDB.

A segment is *decided in SQL* when its rule is ``and``/``or``/``not`` over
conditions each of which is either

- a count of a customer's timestamped list in a window of fixed length (hours,
  days, weeks), compared with a constant number, or an ``exists`` of one
  (``visits(30d) >= 10``, ``not purchased(30d)``), its ``where`` reading only
  the element's own fields; or
- a condition that reads neither the clock nor a timestamped list
  (``country == "FR"``), constant in time.

With the data fixed, such a count changes only where an element enters its
window (at its stamp ``t``) or leaves it (at ``t + w``, exactly: the window is
``(now - w, now]``). DuckDB computes, for each customer, the count at
``since`` (the elements meeting the ``where`` stamped in the window then),
and at each instant of ``(since, until]`` where elements enter or leave, the
count then (the count at ``since`` plus the entries minus the exits up to
it, a running sum by instant); the condition flips exactly where the count
crosses the constant: for ``visits(30d) >= 10`` with no new visit, where the
10th most recent visit leaves, its stamp plus 30 days. The query returns only
those flips. The conditions' values at ``since`` (three-valued) come from the query
evaluating the segments at ``since``; the rule's ``and``/``or``/``not`` (Kleene
logic, as the engines) is then replayed over the flips in time order.

A customer whose replayed membership differs from the query's at ``since``
or at ``until`` (which would be a bug) is followed by the Python timeline
instead.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

import attrs

from segdsl import checked as c
from segdsl import dynamics
from segdsl import types as t
from segdsl.errors import CheckError
from segdsl.sql.layout import Layout, ListTable
from segdsl.timeline import UTC, Duration

_TIMESTAMPTZ = "TIMESTAMP WITH TIME ZONE"
_OPERATORS = {"EQ": "=", "NE": "<>", "LT": "<", "LE": "<=", "GT": ">", "GE": ">="}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


@attrs.frozen
class Count:
    """A count (or ``exists``) of a list in a fixed window, compared with a constant."""

    site: Any  # dynamics._Counted
    table: ListTable
    stamp: str
    length_us: int
    where: str | None  # the element condition, in SQL over the alias s1

    def truth(self, count: str) -> str:
        """The SQL condition of the comparison, for the count ``count``."""
        site = self.site
        if site.op is None:
            return f"({count} > 0)"
        constant = repr(float(site.constant))
        operator = _OPERATORS[site.op]
        return f"({constant} {operator} {count})" if site.constant_first \
            else f"({count} {operator} {constant})"


@attrs.frozen
class Decided:
    """A segment whose changes DuckDB decides: its rule's tree and conditions."""

    name: str
    tree: tuple
    #: each condition of the tree: its checked node, and its Count (None: constant in time)
    leaves: tuple[tuple[c.Checked, Count | None], ...]


def decidable(rules: Any, names: Iterable[str], layout: Layout, described: dict,
              at: dt.datetime) -> dict[str, Decided]:
    """The segments among ``names`` whose changes DuckDB decides (see the module docstring)."""
    found = {}
    for name in names:
        try:
            decided = _decided(rules, name, layout, described, at)
        except CheckError:
            decided = None
        if decided is not None:
            found[name] = decided
    return found


def _decided(rules: Any, name: str, layout: Layout, described: dict,
             at: dt.datetime) -> Decided | None:
    program = rules._program
    plan = dynamics.plan(program, name)
    if plan.granularity != dynamics.EXACT or plan.lists or plan.refs or not plan.tree:
        return None
    leaves: list[tuple[c.Checked, Count | None]] = []
    for _, node, atom in _leaves(plan.tree):
        if atom.lists or atom.refs:
            return None
        if not atom.sites:
            leaves.append((node, None))
            continue
        site = dynamics._counted(node)
        if atom.sites != (site,) or site is None:
            return None
        count = _count(rules, site, layout, described, at)
        if count is None:
            return None
        leaves.append((node, count))
    return Decided(name, plan.tree, tuple(leaves))


def _leaves(tree: tuple) -> list[tuple]:
    kind, _, parts = tree
    if kind == "atom":
        return [tree]
    return [leaf for part in parts for leaf in _leaves(part)]


def _count(rules: Any, site: Any, layout: Layout, described: dict,
           at: dt.datetime) -> Count | None:
    node = site.aggregate
    if not math.isfinite(site.constant) or node.window is None:
        return None
    window = node.window.value
    if not (isinstance(window, c.Constant) and isinstance(window.value, Duration)
            and window.value.unit in ("h", "d", "w") and window.value.amount > 0):
        return None
    step = window.value.step()
    assert isinstance(step, dt.timedelta)
    table = layout.lists.get(tuple(node.source.path))
    if table is None or len(table.path) != 1 or node.timestamp != table.timestamp:
        return None
    stamp = table.column(node.timestamp)
    if described.get((table.table, stamp), "").upper() != _TIMESTAMPTZ:
        return None
    where = None
    if node.where is not None:
        where = _element_condition(rules, node.where, table, layout, at)
        if where is None:
            return None
    return Count(site, table, stamp, step // dt.timedelta(microseconds=1), where)


def _element_condition(rules: Any, where: c.Checked, table: ListTable, layout: Layout,
                       at: dt.datetime) -> str | None:
    """The ``where`` as SQL over the element's row (alias ``s1``), when it reads
    only the element's own fields and constants (None otherwise)."""
    from segdsl.sql.compiler import QueryCompiler, _Entry

    for sub in c.walk(where):
        if isinstance(sub, (c.Aggregate, c.SegmentRef, c.Population, c.Now, c.Today)):
            return None
        if isinstance(sub, c.Field) and (sub.depth != 1 or len(sub.path) != 1):
            return None
    program = rules._program
    compiler = QueryCompiler(program.body, layout, program.options.timezone or UTC,
                             "duckdb", at)
    scope = (_Entry(0, None), _Entry(1, table))
    condition = compiler._condition(where, scope, "the 'where' of an aggregation")
    if compiler._groups:
        return None
    text: str = compiler.dialect.is_true(condition).sql(dialect="duckdb")
    return text


# ---------------------------------------------------------------- the queries


def leaf_segments(decided: Iterable[Decided]) -> dict[str, c.Checked]:
    """Segments to compile beside the rules': each condition, and its negation,
    so that its three-valued value at ``since`` is read back."""
    found: dict[str, c.Checked] = {}
    for segment in decided:
        for index, (node, _) in enumerate(segment.leaves):
            key = _leaf_key(segment.name, index)
            found[f"{key}t"] = node
            found[f"{key}f"] = c.Not(node, t.BOOL)
    return found


def _leaf_key(name: str, index: int) -> str:
    return f"__segdsl_leaf_{index}_{name}_"


def flips_query(decided: list[Decided], since: dt.datetime, until: dt.datetime) -> str | None:
    """The query of each condition's flips in ``(since, until]``: ``(segment
    index, leaf index, customer id, instant in microseconds since 1970)``.

    The count at ``since`` is that of the elements meeting the ``where`` stamped
    in the window then; each element stamped ``t`` adds one at ``t`` (when it is
    in the interval) and takes it back at ``t + w`` (when that is); at each
    instant where something enters or leaves, the count is the count at
    ``since`` plus the changes up to it, and the condition flips where the
    comparison's value differs before and after."""
    from segdsl.sql.changes import _instant, _quote

    parts = []
    since_us, until_us = _micros(since), _micros(until)
    for number, segment in enumerate(decided):
        for index, (_, count) in enumerate(segment.leaves):
            if count is None:
                continue
            table = _quote(count.table.table)
            stamp = f"s1.{_quote(count.stamp)}"
            low = since - dt.timedelta(microseconds=count.length_us)
            where = f" AND ({count.where})" if count.where else ""
            length = count.length_us
            elements = (f"SELECT s1.{_quote(count.table.owner)} AS id, epoch_us({stamp}) AS t "
                        f"FROM {table} AS s1 WHERE {stamp} > {_instant(low)} AND "
                        f"{stamp} <= {_instant(until)}{where}")
            moves = (f"SELECT id, t AS x, 1 AS d FROM e WHERE t > {since_us} UNION ALL "
                     f"SELECT id, t + {length} AS x, -1 AS d FROM e "
                     f"WHERE t + {length} <= {until_us}")
            grouped = f"SELECT id, x, sum(d) AS d FROM ({moves}) GROUP BY id, x"
            first = (f"SELECT id, count(*) FILTER (WHERE t <= {since_us}) AS c0 FROM e "
                     f"GROUP BY id")
            counted = (f"SELECT g.id, g.x, g.d, c.c0 + sum(g.d) OVER (PARTITION BY g.id "
                       f"ORDER BY g.x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS n "
                       f"FROM ({grouped}) AS g JOIN ({first}) AS c ON g.id = c.id")
            before, after = count.truth("(n - d)"), count.truth("n")
            parts.append(f"(WITH e AS ({elements}) SELECT {number} AS segment, {index} AS leaf, "
                         f"id, x FROM ({counted}) WHERE {before} <> {after})")
    return " UNION ALL ".join(parts) if parts else None


def _micros(moment: dt.datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def instant(micros: int) -> dt.datetime:
    """The instant ``micros`` microseconds after 1970 (UTC)."""
    return _EPOCH + dt.timedelta(microseconds=micros)


# ---------------------------------------------------------------- the replay


def kleene(tree: tuple, values: dict[int, bool | None], counter: list[int]) -> bool | None:
    """The tree's three-valued value, its leaves taking ``values`` in order
    (``counter`` numbers the leaves as they are met)."""
    kind, _, parts = tree
    if kind == "atom":
        index = counter[0]
        counter[0] += 1
        return values[index]
    if kind == "not":
        value = kleene(parts[0], values, counter)
        return None if value is None else not value
    absorbing = kind == "or"
    unknown = False
    results = [kleene(part, values, counter) for part in parts]
    for value in results:
        if value is absorbing:
            return absorbing
        if value is None:
            unknown = True
    return None if unknown else not absorbing


def replay(segment: Decided, values: dict[int, bool | None],
           flips: list[tuple[int, int]]) -> tuple[bool, list[tuple[int, bool]], bool]:
    """Membership at ``since``, the changes ``(instant in microseconds, member)``
    and membership at ``until``, from the leaves' values at ``since`` and their
    flips ``(instant, leaf)``."""
    values = dict(values)
    member = kleene(segment.tree, values, [0]) is True
    first = member
    found = []
    flips = sorted(flips)
    position = 0
    while position < len(flips):
        moment = flips[position][0]
        while position < len(flips) and flips[position][0] == moment:
            leaf = flips[position][1]
            values[leaf] = not values[leaf]
            position += 1
        now_member = kleene(segment.tree, values, [0]) is True
        if now_member != member:
            found.append((moment, now_member))
            member = now_member
    return first, found, member


def leaf_value(true: bool, false: bool) -> bool | None:
    """A condition's three-valued value from the memberships of it and of its negation."""
    return True if true else False if false else None


__all__ = ["Count", "Decided", "decidable", "flips_query", "instant", "kleene",
           "leaf_segments", "leaf_value", "replay"]
