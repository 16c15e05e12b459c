"""Population functions in SQL: ``ntile``, ``percentile`` and ``rfm.*``.

They rank each customer among all the customers of the table, by the method
of :mod:`segdsl.population` (the Python engine's), computed with the same
double operations:

- the break points of ``k`` tiles are the type-7 quantiles at ``i/k`` of the
  non-null measures: ``v[lo] + (v[lo + 1] - v[lo]) * (pos - lo)`` with
  ``pos = (n - 1) * (i / k)`` and ``lo = floor(pos)``;
- a measure's tile is 1 plus the number of break points strictly below it
  (equal measures share a tile; SQL's ``NTILE``, which splits ties, is not
  used), found by Python's ``bisect_left`` itself, unrolled (which differs
  from the count where a break point is NaN); RFM recency is scored in reverse;
- ``percentile`` is ``100 * (number of measures <= this one) / n``;
- ``rfm.score`` is ``R * 100 + F * 10 + M``, ``rfm.group`` its name in the RFM
  group table.

The query gains, after the scans of the lists: ``pm`` (each customer's
measures); where the database sorts a column into a list (DuckDB), ``pl`` (each
tiled measure's sorted values, one row, or for RFM recency and frequency its
break points from the database's own quantiles), ``pq`` (the break points'
positions in the sorted values) and ``pb`` (all break points, one row, read by
every customer), otherwise
for each tiled measure ``j`` the CTEs ``r{j}`` (the sorted measures, numbered
from 0), ``t{j}`` (the quantile positions) and ``b{j}`` (the break points),
then the same ``pb``; then ``pv`` (each customer's tiles and percentiles; with
the RFM group, ``pt`` holds them and ``pv`` adds the group, named once), which
the segments read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlglot
from sqlglot import exp

from segdsl.population import GROUP_OF_CODE
from segdsl.sql.dialects.base import (
    Dialect,
    alias,
    binary,
    case,
    cast,
    join,
    named_table,
)

_DOUBLE = exp.DataType.build("DOUBLE")
_RFM_PARTS = ("rfm.recency", "rfm.frequency", "rfm.monetary")


def _double(value: float) -> exp.Expr:
    return cast(exp.Literal.number(repr(value) if isinstance(value, float) else value),
                    _DOUBLE)


class Rankings:
    """The population statistics a rule set's query computes.

    Args:
        measure: compiles a measure (a checked node) at the customer's level.
        dialect: the database's spellings (the quantile positions).
    """

    def __init__(self, measure: Any, dialect: Dialect) -> None:
        self._measure = measure
        self._dialect = dialect
        self.nodes: dict[str, Any] = {}  # key -> Population node, in order met
        self._group: list[exp.Expr] | None = None  # the RFM scores, when rfm.group is read

    def column(self, node: Any, combine: Any) -> exp.Expr:
        """The value of population node ``node`` for the customer, read from ``pv``."""
        if node.kind in ("rfm.score", "rfm.group"):
            parts = [self.column(combine(part), combine) for part in _RFM_PARTS]
            if node.kind == "rfm.score":
                return _rfm_code(*parts)
            # named once per customer, in pv, however many segments read it
            self._group = [exp.column(part.name, table="pt") for part in parts]
            return exp.column("g", table="pv")
        self.nodes.setdefault(node.key, node)
        index = list(self.nodes).index(node.key)
        return exp.column(f"p{index}", table="pv")

    def ctes(self, customers: exp.Expr, joined: Any) -> list[tuple[str, exp.Expr]]:
        """The CTEs computing every ranking (after the lists' scans).

        Args:
            customers: the customers' table, aliased ``s0``.
            joined: adds to a query over ``s0`` the joins its expressions need.
        """
        measures = [alias(exp.column("id", table="s0"), "customer_id")]
        measures += [alias(self._measure(node.measure), f"v{j}")
                     for j, node in enumerate(self.nodes.values())]
        ctes: list[tuple[str, exp.Expr]] = [("pm", joined(exp.select(*measures).from_(customers, copy=False)))]
        values: list[exp.Expr] = [exp.column("customer_id", table="pm")]
        tiled = [(j, node) for j, node in enumerate(self.nodes.values())
                 if node.kind != "percentile"]
        if tiled:
            listed = self._dialect.sorted_list(exp.column("v0", table="pm")) is not None
            ctes += (_listed_break_points if listed else _ranked_break_points)(
                tiled, self._dialect)
        for j, node in enumerate(self.nodes.values()):
            v = exp.column(f"v{j}", table="pm")
            if node.kind == "percentile":
                values.append(alias(_percentile(v, _nulls_first(self._dialect)),
                                         f"p{j}"))
                continue
            points = [exp.column(f"b{j}_{i}", table="pb") for i in range(1, node.buckets)]
            count = _bisect_left(points, v, 0, len(points))
            tile = binary(exp.Add, _double(1), cast(count, _DOUBLE))
            if node.kind == "rfm.recency":
                tile = binary(exp.Sub, _double(node.buckets + 1), tile)
            values.append(alias(case(exp.Is(this=v.copy(), expression=exp.null()),
                                          cast(exp.null(), _DOUBLE), tile), f"p{j}"))
        tiles = exp.select(*values).from_(named_table("pm"), copy=False)
        if tiled:
            tiles = join(tiles, named_table("pb"), "cross")
        if self._group is None:
            ctes.append(("pv", tiles))
            return ctes
        ctes.append(("pt", tiles))
        group = _rfm_group(self._group, self._dialect)
        ctes.append(("pv", exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("pt")),
                                      alias(group, "g")).from_(named_table("pt"), copy=False)))
        return ctes


def _rfm_code(r: exp.Expr, f: exp.Expr, m: exp.Expr) -> exp.Expr:
    """``rfm.score``: ``R * 100 + F * 10 + M``."""
    return binary(exp.Add, binary(exp.Add, binary(exp.Mul, r, _double(100)),
                                  binary(exp.Mul, f, _double(10))), m)


def _rfm_group(scores: list[exp.Expr], dialect: Dialect) -> exp.Expr:
    """The RFM group named by the recency, frequency and monetary scores: one
    list of the 125 names where the database writes list constants (a ``CASE``
    of 125 branches costs DuckDB more to plan than the rest of a query)."""
    r, f, m = scores
    position = binary(exp.Add, binary(exp.Add, binary(
        exp.Mul, binary(exp.Sub, r, _double(1)), _double(25)), binary(
        exp.Mul, binary(exp.Sub, f, _double(1)), _double(5))), m)
    names = [GROUP_OF_CODE[code] for code in sorted(GROUP_OF_CODE)]
    listed = dialect.text_at(names, position)
    if listed is not None:
        return listed
    return exp.Case(this=cast(_rfm_code(r.copy(), f.copy(), m.copy()), "INTEGER"), ifs=[
        exp.If(this=exp.Literal.number(number), true=exp.Literal.string(name))
        for number, name in sorted(GROUP_OF_CODE.items())])


def _bisect_left(points: Sequence[exp.Expr], value: exp.Expr, lo: int, hi: int) -> exp.Expr:
    """Python's ``bisect.bisect_left(points, value)`` unrolled into nested CASEs, the
    same comparisons in the same order: it differs from counting the points below
    ``value`` where a point is NaN (the quantile of two infinite measures), and
    a null point (no measures) compares false like NaN, giving tile 1."""
    if lo >= hi:
        return exp.Literal.number(lo)
    middle = (lo + hi) // 2
    return case(binary(exp.LT, points[middle].copy(), value.copy()),
                _bisect_left(points, value, middle + 1, hi),
                _bisect_left(points, value, lo, middle))


def _listed_break_points(tiled: list[tuple[int, Any]], dialect: Dialect
                         ) -> list[tuple[str, exp.Expr]]:
    """``pl`` (one row: each tiled measure's sorted non-null values ``l{j}`` and
    their number ``n{j}``, or its break points ``c{j}`` found without sorting, see
    :func:`_interpolated`), ``pq`` (with them, each sorted measure's break point
    positions ``q{j}_{i}`` and their floors ``f{j}_{i}``) and ``pb`` (the break
    points ``b{j}_{i}``, null when there are no values): the same double
    operations as :func:`_break_points`'s."""
    lists: list[exp.Expr] = []
    positions: list[exp.Expr] = [exp.Star()]
    points: list[exp.Expr] = []
    for j, node in tiled:
        v = exp.column(f"v{j}", table="pm")
        fractions = [_double(i / node.buckets) for i in range(1, node.buckets)]
        found = dialect.interpolated_quantiles(v, fractions) if _interpolated(node) else None
        if found is not None:
            lists.append(alias(found, f"c{j}"))
            points += [alias(binary(exp.Add, dialect.list_item(
                exp.column(f"c{j}", table="pq"), exp.Literal.number(i)), _double(_MARGIN)),
                f"b{j}_{i}") for i in range(1, node.buckets)]
            continue
        listed = dialect.sorted_list(v)
        assert listed is not None
        lists += [alias(listed, f"l{j}"), alias(exp.Count(this=v.copy()), f"n{j}")]
        for i in range(1, node.buckets):
            positions += [alias(_position(j, i, node.buckets), f"q{j}_{i}"),
                          alias(exp.Floor(this=_position(j, i, node.buckets)), f"f{j}_{i}")]
            points.append(alias(_listed_break_point(j, i, dialect), f"b{j}_{i}"))
    return [("pl", exp.select(*lists).from_(named_table("pm"), copy=False)),
            ("pq", exp.select(*positions).from_(named_table("pl"), copy=False)),
            ("pb", exp.select(*points).from_(named_table("pq"), copy=False))]


#: Added to the break points of whole-number measures found by the database's own
#: quantiles (see :func:`_interpolated`).
_MARGIN = 0.1


def _interpolated(node: Any) -> bool:
    """Whether measure ``node``'s tiles may come from the database's own type-7
    quantiles (DuckDB's ``quantile_cont``, which selects the two values around each
    position instead of sorting them all), each plus :data:`_MARGIN`.

    Their last bits differ from Python's (in about one break point in ten: DuckDB
    computes the position ``(n - 1) * q`` as Python does, but interpolates with other
    double operations), but not the tiles of whole numbers, as RFM recency
    (days) and frequency (a count) are. A whole number ``v`` is above Python's
    break point exactly when it is above ``lo``: the break point is ``lo`` itself
    where ``lo == hi`` or the position is whole, and otherwise at least a fifth of
    ``hi - lo`` (at least 1) away from both, since the fraction ``d`` of a quintile's
    position ``(n - 1) * (i / 5)`` is 0 exactly when the position is whole and
    within 0.2 +- 2**-7 to 0.8 +- 2**-7 otherwise (for fewer than 2**45 measures).
    The database's break point is within a thousandth of the same value for
    measures under 2**40, so its sum with the margin is above ``v`` exactly when
    Python's is. Sums of money, and ``ntile`` of any measure, are sorted."""
    return node.kind in ("rfm.recency", "rfm.frequency") and node.buckets == 5


# The pieces of a break point are built anew where they are used twice: copying
# sqlglot trees costs more than building them.


def _position(j: int, i: int, buckets: int) -> exp.Expr:
    """Break point ``i``'s position among measure ``j``'s ``n{j}`` sorted values."""
    return binary(exp.Mul, cast(binary(exp.Sub, exp.column(f"n{j}", table="pl"),
                                       exp.Literal.number(1)), _DOUBLE),
                  exp.Paren(this=binary(exp.Div, _double(i), _double(buckets))))


def _listed_break_point(j: int, i: int, dialect: Dialect) -> exp.Expr:
    """Break point ``i`` of measure ``j``: between the values at its position's floor
    and the next, null when there are no values."""
    def item(offset: int) -> exp.Expr:
        index = binary(exp.Add, cast(exp.column(f"f{j}_{i}", table="pq"), "BIGINT"),
                       exp.Literal.number(offset))
        if offset > 1:
            index = exp.Least(this=index, expressions=[exp.column(f"n{j}", table="pq")])
        return dialect.list_item(exp.column(f"l{j}", table="pq"), index)

    fraction = binary(exp.Sub, exp.column(f"q{j}_{i}", table="pq"),
                      exp.column(f"f{j}_{i}", table="pq"))
    point = binary(exp.Add, item(1), binary(exp.Mul, exp.Paren(
        this=binary(exp.Sub, item(2), item(1))), fraction))
    return case(binary(exp.GT, exp.column(f"n{j}", table="pq"), exp.Literal.number(0)),
                point, exp.null())


def _nulls_first(dialect: Any) -> bool:
    """Where the database puts nulls in an ascending order by default: the rankings
    order so that the place of nulls does not matter (they are counted by
    nothing, or left out), and write no ``NULLS FIRST/LAST``, which some
    windows of some databases (BigQuery) do not take."""
    name = getattr(dialect, "name", "duckdb")
    return sqlglot.Dialect.get_or_raise(name).NULL_ORDERING == "nulls_are_small"


def _percentile(v: exp.Expr, nulls_first: bool = False) -> exp.Expr:
    up_to = exp.Window(this=exp.Count(this=v), order=exp.Order(expressions=[
        exp.Ordered(this=v.copy(), nulls_first=nulls_first)]), spec=exp.WindowSpec(
        kind="RANGE", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW"),
        over="OVER")
    everyone = exp.Window(this=exp.Count(this=v.copy()), over="OVER")
    share = binary(exp.Div, binary(exp.Mul, _double(100), cast(up_to, _DOUBLE)),
                   cast(everyone, _DOUBLE))
    return case(exp.Is(this=v.copy(), expression=exp.null()), cast(exp.null(), _DOUBLE),
                share)


def _ranked_break_points(tiled: list[tuple[int, Any]], dialect: Dialect
                         ) -> list[tuple[str, exp.Expr]]:
    """The break points by row numbers (for a dialect without sorted lists): each
    measure's ``r{j}``, ``t{j}``, ``b{j}``, then ``pb`` holding every break point
    ``b{j}_{i}`` in one row (null when there are no values), as
    :func:`_listed_break_points` gives them."""
    ctes: list[tuple[str, exp.Expr]] = []
    points: list[exp.Expr] = []
    for j, node in tiled:
        ctes += _break_points(j, node.buckets, dialect)
        points += [alias(exp.Subquery(this=exp.select(exp.column("b")).from_(named_table(f"b{j}"), copy=False).where(
            binary(exp.EQ, exp.column("i"), exp.Literal.number(i)), copy=False)), f"b{j}_{i}")
            for i in range(1, node.buckets)]
    return [*ctes, ("pb", exp.select(*points))]


def _break_points(j: int, tiles: int, dialect: Dialect) -> list[tuple[str, exp.Expr]]:
    """``r{j}``, ``t{j}``, ``b{j}``: the sorted measures, the positions, the break points
    (``i``: the break point's number)."""
    v = exp.column(f"v{j}", table="pm")
    ranked = exp.select(
        alias(v, "v"),
        alias(binary(exp.Sub, exp.Window(this=exp.RowNumber(), order=exp.Order(
            expressions=[exp.Ordered(this=v.copy(), nulls_first=_nulls_first(dialect))]),
            over="OVER"),
            exp.Literal.number(1)), "r"),
    ).from_(named_table("pm"), copy=False).where(exp.not_(exp.Is(this=v.copy(), expression=exp.null())), copy=False)
    size = exp.column("n", table="c")
    position = binary(exp.Mul, cast(binary(exp.Sub, size, exp.Literal.number(1)), _DOUBLE),
                      exp.Paren(this=binary(exp.Div, cast(exp.column("i", table="q"),
                                                              _DOUBLE), _double(tiles))))
    steps = dialect.positions(tiles)
    counted = exp.Subquery(this=exp.select(alias(exp.Count(this=exp.Star()), "n"))
                           .from_(named_table(f"r{j}"), copy=False), alias=exp.TableAlias(this=exp.to_identifier("c")))
    positions = exp.select(
        exp.column("i", table="q"), alias(size.copy(), "n"),
        alias(position, "pos"),
        alias(exp.Floor(this=position.copy()), "lo"),
    ).from_(steps, copy=False)
    positions = join(positions, counted, "cross").where(
        binary(exp.GT, size.copy(), exp.Literal.number(0)), copy=False)
    lower, upper = exp.column("v", table="a"), exp.column("v", table="z")
    fraction = binary(exp.Sub, exp.column("pos", table="t"), exp.column("lo", table="t"))
    breaks = exp.select(exp.column("i", table="t"), alias(binary(exp.Add, lower, binary(
        exp.Mul, exp.Paren(this=binary(exp.Sub, upper, lower.copy())), fraction)), "b")
    ).from_(alias(named_table(f"t{j}"), "t", table=True), copy=False)
    join(breaks, alias(named_table(f"r{j}"), "a", table=True), "inner",
         binary(exp.EQ, exp.column("r", table="a"), exp.column("lo", table="t")))
    join(breaks, alias(named_table(f"r{j}"), "z", table=True), "inner",
         binary(exp.EQ, exp.column("r", table="z"), exp.Least(
             this=binary(exp.Add, exp.column("lo", table="t"), exp.Literal.number(1)),
             expressions=[binary(exp.Sub, exp.column("n", table="t"),
                                 exp.Literal.number(1))])))
    return [(f"r{j}", ranked), (f"t{j}", positions), (f"b{j}", breaks)]
