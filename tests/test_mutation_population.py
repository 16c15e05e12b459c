"""Population functions on hand-worked data: the cases the mutation run of
``segdsl/population.py`` showed no test was looking at.

Break points of ``k`` tiles are the type-7 quantiles of the population's
non-null values (see ``tests/test_population.py`` for the method); a customer
scored with precomputed statistics (``RuleSet.population``) is placed among
the population's break points, which is where values strictly between two
order statistics meet interpolated break points.
"""

from __future__ import annotations

import datetime as dt

import pytest

import segdsl

NOW = dt.datetime(2026, 7, 15, 12, tzinfo=dt.UTC)

# points 10 20 30 40: quartile positions 0.75 1.5 2.25, break points
# 10 + .75(10) = 17.5;  20 + .5(10) = 25;  30 + .25(10) = 32.5.
FOUR = [{"id": i, "points": p} for i, p in enumerate([10, 20, 30, 40], start=1)]

RANKED = segdsl.loads(
    "segment q3 = ntile(points, 4) == 3\n"
    "segment q4 = ntile(points, 4) == 4\n"
    "segment p75 = percentile(points) == 75\n"
    "segment unranked = ntile(points, 4) is null\n")


def scored(rules, population, customer) -> set[str]:
    """The segments of ``rules`` holding ``customer``, ranked against ``population``."""
    stats = rules.population(population, now=NOW)
    return {name for name in rules if rules[name].matches(customer, now=NOW, population=stats)}


def test_the_last_break_point_interpolates_up_to_the_largest_value():
    """31 and 33 fall either side of the last break point 32.5 (between the two largest
    values): quartile 3 and quartile 4; both have 3 of 4 values at or below them."""
    assert RANKED.evaluate(FOUR, now=NOW).members == {"q3": [3], "q4": [4], "p75": [3],
                                                     "unranked": []}
    assert scored(RANKED, FOUR, {"id": 8, "points": 31}) == {"q3", "p75"}
    assert scored(RANKED, FOUR, {"id": 9, "points": 33}) == {"q4", "p75"}


def test_a_population_without_values_puts_a_newcomer_in_the_first_tile():
    """With no break points every value is in tile 1; with no values there is no percentile."""
    rules = segdsl.loads("segment first = ntile(points, 4) == 1\n"
                         "segment second = ntile(points, 4) == 2\n"
                         "segment no_rank = percentile(points) is null\n")
    nobody = [{"id": 1}, {"id": 2, "points": None}]
    assert rules.evaluate(nobody, now=NOW).members == {"first": [], "second": [],
                                                       "no_rank": [1, 2]}
    assert scored(rules, nobody, {"id": 8, "points": 31}) == {"first", "no_rank"}


def test_the_largest_rankable_integer_is_ranked():
    """2**1023 still has a float, so it is ranked (the median of -2**1023, 0, 2**1023 is 0)."""
    customers = [{"id": 1, "points": 2 ** 1023}, {"id": 2, "points": -2 ** 1023},
                 {"id": 3, "points": 0}]
    rules = segdsl.loads("segment low = ntile(points, 2) == 1\n"
                         "segment high = ntile(points, 2) == 2\n")
    assert rules.evaluate(customers, now=NOW).members == {"low": [2, 3], "high": [1]}


LONG_TEXT = "x" * 100
BAD_VALUES = [
    ("many", "ranks numbers, not str 'many'"),
    (True, "ranks numbers, not bool True"),
    ([1], "ranks numbers, not list [1]"),
    (LONG_TEXT, "ranks numbers, not str '" + "x" * 56 + "..."),  # 60 characters
    (2 ** 1100, ("ranks numbers, and 1358298529049385849277351428359266778... is too large "
                "for one")),
]


@pytest.mark.parametrize("kind, rule", [("ntile", "ntile(points, 4) == 1"),
                                        ("percentile", "percentile(points) > 1")])
@pytest.mark.parametrize("value, message", BAD_VALUES, ids=["text", "bool", "list", "long", "huge"])
def test_ranking_bad_data_names_the_customer_and_the_field(kind, rule, value, message):
    """A value that is no rankable number stops evaluate with a DataError naming it."""
    customers = [{"id": 1, "points": 5}, {"id": 2, "points": value}]
    with pytest.raises(segdsl.DataError) as caught:
        segdsl.loads(f"segment s = {rule}").evaluate(customers, now=NOW)
    assert str(caught.value) == f"customer 2, field points: {kind} {message}"


@pytest.mark.parametrize("kind, rule", [("ntile", "ntile(points, 4) == 1"),
                                        ("percentile", "percentile(points) > 1")])
@pytest.mark.parametrize("value, message", BAD_VALUES[:1] + BAD_VALUES[-1:], ids=["text", "huge"])
def test_a_newcomer_with_bad_data_is_named_too(kind, rule, value, message):
    """Scored against precomputed statistics, a newcomer's bad value is a DataError naming it."""
    rules = segdsl.loads(f"segment s = {rule}")
    stats = rules.population(FOUR, now=NOW)
    with pytest.raises(segdsl.DataError) as caught:
        rules["s"].matches({"id": 7, "points": value}, now=NOW, population=stats)
    assert str(caught.value) == f"customer 7, field points: {kind} {message}"
