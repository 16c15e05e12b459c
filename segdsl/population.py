"""Population functions: values that rank a customer among all customers.

Before records are tested, one pass over the population computes each ranked
measure (RFM recency, frequency and monetary value; the argument of every
``ntile`` and ``percentile``) for every customer, and keeps only what scoring
needs: the break points between tiles, or the sorted values.

Scoring method (the R package ``rfm``'s, and most tools'):

* **Break points** of ``k`` tiles are the quantiles at ``1/k, 2/k, ...,
  (k-1)/k`` of the non-null values, interpolated linearly between order
  statistics (Hyndman and Fan's type 7, the default of R and NumPy).
* A value's **tile** is 1 plus the number of break points strictly below it.
  Equal values therefore always get the same tile, so tiles can be unequal in
  size (when most customers ordered once, most share the lowest frequency).
* **RFM**: recency is the number of whole days since the last order (ever),
  scored in reverse (the most recent fifth scores 5); frequency is the number
  of orders and monetary the amount spent, both within the RFM window
  (default 365 days). Customers who never ordered have no RFM score (null).
  ``rfm.score`` is ``R*100 + F*10 + M``; ``rfm.group`` names it.
* ``percentile(x)`` is the share of the population whose value is at most
  the customer's, from 0 to 100 (SQL's ``cume_dist`` times 100).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from segdsl import checked as c
from segdsl.compiler import data_error
from segdsl.values import safe_repr

RFM_GROUPS = {
    "champions": "555 554 544 545 454 455 445",
    "loyal": "543 444 435 355 354 345 344 335",
    "potential_loyalist": "553 551 552 541 542 533 532 531 452 451 442 441 431 453 433 432 423 "
                          "353 352 351 342 341 333 323",
    "new_customers": "512 511 422 421 412 411 311",
    "promising": "525 524 523 522 521 515 514 513 425 424 413 414 415 315 314 313",
    "need_attention": "535 534 443 434 343 334 325 324",
    "about_to_sleep": "331 321 312 221 213 231 241 251",
    "at_risk": "255 254 245 244 253 252 243 242 235 234 225 224 153 152 145 143 142 135 134 "
               "133 125 124",
    "cant_lose_them": "155 154 144 214 215 115 114 113",
    "hibernating": "332 322 233 232 223 222 132 123 122 212 211",
    "lost": "111 112 121 131 141 151",
}

#: RFM code (e.g. 545) to group name; the table names all 125 codes.
GROUP_OF_CODE = {int(code): group for group, codes in RFM_GROUPS.items() for code in codes.split()}


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The type-7 quantile ``q`` (0..1) of already sorted values."""
    position = (len(sorted_values) - 1) * q
    lower = math.floor(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    fraction = position - lower
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * fraction


def break_points(values: Iterable[float], tiles: int) -> list[float]:
    """The ``tiles - 1`` break points between tiles of the non-null values."""
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return []
    return [quantile(ordered, i / tiles) for i in range(1, tiles)]


def tile(value: float, breaks: Sequence[float]) -> int:
    """1 plus the number of break points strictly below ``value``."""
    return 1 + bisect.bisect_left(breaks, value)


Scorer = Callable[[Any, Callable | None], Any]


def _ranked(node: c.Population) -> Callable[[Any, Any], Any]:
    """Checks a measured value: a number or null; anything else is bad data
    naming the customer (and the field, when the measure is one)."""
    path = node.measure.dotted if isinstance(node.measure, c.Field) else None
    kind = node.kind

    def number(ctx, value):
        # Measures come normalised (fields and function results are, when read):
        # a number, NaN from arithmetic, null, or a value of another kind.
        if type(value) is int or type(value) is float:
            if value != value:  # noqa: PLR0124 - NaN is null
                return None
            if type(value) is int and abs(value) > _LARGEST:
                raise data_error(ctx, f"{kind} ranks numbers, and {safe_repr(value, 40)} is "
                                 f"too large for one", path)
            return value
        if value is None:
            return None
        raise data_error(ctx, f"{kind} ranks numbers, not {type(value).__name__} "
                         f"{safe_repr(value, 60)}", path)

    return number


_LARGEST = 2 ** 1023  # beyond, an integer has no float: quantiles cannot interpolate it


def _tile_scorer(breaks: list[float], tiles: int, reverse: bool,
                 number: Callable[[Any, Any], Any]) -> Scorer:
    def score(ctx, measure):
        value = number(ctx, measure(ctx))
        if value is None:
            return None
        found = tile(value, breaks)
        return tiles + 1 - found if reverse else found

    return score


def _percentile_scorer(ordered: list[float], number: Callable[[Any, Any], Any]) -> Scorer:
    size = len(ordered)

    def score(ctx, measure):
        value = number(ctx, measure(ctx))
        if value is None or not size:
            return None
        return 100.0 * bisect.bisect_right(ordered, value) / size

    return score


def _rfm_combined(kind: str, scorers: dict[str, Scorer], measures: dict[str, Callable]) -> Scorer:
    parts = ("rfm.recency", "rfm.frequency", "rfm.monetary")

    def score(ctx, _measure):
        r, f, m = (scorers[p](ctx, measures[p]) for p in parts)
        if r is None or f is None or m is None:
            return None
        code = r * 100 + f * 10 + m
        if kind == "rfm.score":
            return code
        return GROUP_OF_CODE[code]

    return score


def measure_key(key: str) -> tuple[str, str]:
    """Where a customer's value of the ranked measure ``key`` is kept in its
    evaluation's memo: computed once per customer, however many rankings read it."""
    return ("measure", key)


class Ranking:
    """The population statistics of customers evaluated one by one: each
    customer's measures are added as it is evaluated (its memo shared with the
    segments, so the aggregations are computed once), then :meth:`scorers`
    places them.

    Args:
        nodes: the population nodes of the rules (deduplicated by key).
        compiler: compiles the measures.
    """

    def __init__(self, nodes: Iterable[c.Population], compiler) -> None:
        self.unique = {node.key: node for node in nodes}
        self.measured = {key: node for key, node in self.unique.items()
                         if node.measure is not None}
        self.measures = {key: compiler.measure(node) for key, node in self.measured.items()}
        self.numbers = {key: _ranked(node) for key, node in self.measured.items()}
        self.keys = tuple(measure_key(key) for key in self.measured)
        self.columns: dict[str, list] = {key: [] for key in self.measured}
        self._steps = tuple((self.columns[key].append, self.numbers[key], self.measures[key])
                            for key in self.measured)

    def add(self, ctx) -> tuple:
        """Computes and keeps the measures of the customer of ``ctx``; returns them."""
        values = []
        for keep, number, measure in self._steps:
            value = number(ctx, measure(ctx))
            keep(value)
            values.append(value)
        return tuple(values)

    def scorers(self) -> dict[str, Scorer]:
        """The scorers of every population node, from the measures added."""
        scorers: dict[str, Scorer] = {}
        for key, node in self.measured.items():
            column = self.columns[key]
            if node.kind == "percentile":
                scorers[key] = _percentile_scorer(sorted(v for v in column if v is not None),
                                                  self.numbers[key])
            else:
                breaks = break_points(column, node.buckets)
                scorers[key] = _tile_scorer(breaks, node.buckets, node.kind == "rfm.recency",
                                            self.numbers[key])
        for key, node in self.unique.items():
            if node.kind in ("rfm.score", "rfm.group"):
                scorers[key] = _rfm_combined(node.kind, scorers, self.measures)
        return scorers


def statistics(nodes: Iterable[c.Population], compiler, records: Iterable[Any],
               make_context: Callable[[Any], Any]) -> dict[str, Scorer]:
    """Scorers for the population ``nodes`` computed over ``records``.

    Args:
        nodes: the population nodes of the rules (deduplicated by key).
        compiler: compiles the measures.
        records: the population.
        make_context: a fresh evaluation context for one record.
    """
    ranking = Ranking(nodes, compiler)
    add = ranking.add
    for record in records:
        add(make_context(record))
    return ranking.scorers()
