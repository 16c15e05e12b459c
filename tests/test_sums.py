"""The order-independent sum (segdsl.sums), as the Python engine's sum and avg use it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import segdsl
from segdsl.sums import exact_sum, units

NOW = "2026-07-15T12:00:00Z"
RULES = segdsl.loads("segment big = sum(orders.total) > 86.44\n"
                     "segment average = avg(orders.total) == 0.3\n")

money = st.integers(-10**8, 10**8).map(lambda cents: cents / 100)


def test_money_adds_up_as_its_decimals():
    """0.1 + 0.2 is 0.3, and a sum of whole numbers stays a whole number."""
    assert exact_sum([0.1, 0.2]) == 0.3
    assert exact_sum([1, 2, 3]) == 6 and type(exact_sum([1, 2, 3])) is int
    assert exact_sum([]) == 0
    assert exact_sum([10**20, 1]) == 10**20 + 1


def test_halves_of_the_last_decimal_go_away_from_zero():
    """round(v * 1e9) takes halves away from zero, on the double product."""
    assert units(0.5e-9) == 1 and units(-0.5e-9) == -1
    assert units(2.5) == 2_500_000_000


@settings(max_examples=200, deadline=None)
@given(st.lists(money, max_size=12), st.randoms(use_true_random=False))
def test_the_sum_does_not_depend_on_the_order(amounts, random):
    """Any order of the same amounts gives the same sum, which is the decimal sum."""
    shuffled = list(amounts)
    random.shuffle(shuffled)
    assert exact_sum(amounts) == exact_sum(shuffled)
    assert exact_sum(amounts) == sum(round(a * 100) for a in amounts) / 100


def test_the_python_engine_sums_in_no_order():
    """Amounts whose double sum is 86.44000000000001 in one order and 86.44 in another
    are 86.44 in every order, so no customer is above 86.44; the average of 0.1, 0.2
    and 0.6 is 0.3."""
    amounts = [49.77, 36.49, 0.18]
    assert {sum(amounts), sum(amounts[::-1])} == {86.44000000000001, 86.44}
    customers = [{"id": i, "orders": [{"at": "2026-07-01T00:00:00Z", "total": a}
                                      for a in order]}
                 for i, order in enumerate([amounts, amounts[::-1], [0.1, 0.2, 0.6]])]
    result = RULES.evaluate(customers, now=NOW)
    assert result["big"] == []
    assert result["average"] == [2]
