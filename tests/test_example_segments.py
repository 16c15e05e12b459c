"""The example rule files on the hand-built customers: exact members of every segment.

Every expected set below was worked out by hand from the rule definitions, the
customers' comments in ``handbuilt.py`` and the scoring method of
``segdsl/population.py``; none is computed with segdsl.

RFM over the 21 customers who ordered (ids 1-21; prospects 22-30 have no
score). Break points of 5 tiles are the type-7 quantiles at 0.2, 0.4, 0.6 and
0.8; with 21 values the positions (21 - 1) * q are 4, 8, 12 and 16, so the
break points are exactly the 5th, 9th, 13th and 17th smallest values. A value
scores 1 + the number of break points strictly below it, so a value equal to a
break point stays in the lower tile and ties always score alike.

Frequency (orders after NOW - 365d):
    0: Karim 11 (order exactly 365 days ago), Léa 12, Marc 13
    1: Emma 5, Farid 6, Gaëlle 7, Hugo 8, Jules 10, Pauline 16, Quentin 17,
       Romain 18, Théo 20
    2: Inès 9, Oscar 15, Sofia 19    3: Ugo 21    5: Damien 4
    6: Chloé 3, Nora 14              8: Bruno 2   10: Alice 1
    sorted: 0 0 0 1 [1] 1 1 1 [1] 1 1 1 [2] 2 2 3 [5] 6 6 8 10
    break points 1, 1, 2, 5 -> 0 and 1 score 1 (no break point below them: most
    customers ordered at most once, so F1 holds 12 customers and F2 none);
    2 scores 3; 3 and 5 score 4 (5 equals the last break point); 6+ score 5.

Monetary (sum of order totals after NOW - 365d):
    sorted: 0 0 0 25 [30] 40 40 45 [50] 60 80 90 [120] 150 180 200 [600] 640 900 950 1500
            K L M E   C   F  J  R   D   T  P  Q   I   S   O   U   H   B   N   G   A
    break points 30, 50, 120, 600 -> M1: K L M E C (30 equals the first break point);
    M2: F J R D; M3: T P Q I; M4: S O U H (Hugo's 600 equals the last break point);
    M5: B N G A.

Recency (whole days since the last order ever; fewer days score higher):
    sorted: 1 2 5 9 [10] 15 21 30 [40] 50 60 89 [90] 100 200 200 [357] 357 365 366 700
            C A B D  E   S  U  F   G   P  T  J   I   O   H   N    Q   R   K   L   M
    break points 10, 40, 90, 357 -> tile 1..5, reversed to R = 6 - tile:
    R5: C A B D E; R4: S U F G; R3: P T J I; R2: O H N Q R (357 equals the last
    break point, so Romain ties with Quentin); R1: K L M.

Codes: Alice 555, Bruno 555 (champions); Chloé 551, Damien 542, Inès 333
(potential_loyalist); Emma 511, Farid 412 (new_customers); Gaëlle 415, Pauline 313,
Théo 313 (promising); Hugo 214 (cant_lose_them); Jules 312, Quentin 213
(about_to_sleep); Karim, Léa, Marc 111 (lost); Nora 255, Oscar 234 (at_risk); Romain
212 (hibernating); Sofia 434 (need_attention); Ugo 444 (loyal).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

import segdsl
from handbuilt import CUSTOMERS, NOW

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PROSPECTS = {22, 23, 24, 25, 26, 27, 28, 29, 30}

SUMMER_SALE = {
    # R4-5 and F4-5: Alice 55, Bruno 55, Chloé 55, Damien 54, Ugo 44. Nora is F5 but R2.
    "loyal_buyers": {1, 2, 3, 4, 21},
    # M1-2 and F4-5: Chloé M1 F5, Damien M2 F4.
    "bargain_hunters": {3, 4},
    # Two orders with shoes after NOW - 365d: Alice (2, 120 days), Nora (200, 290), Oscar
    # (364, 100). Pauline has one such order holding two pairs.
    "repeat_shoe_buyers": {1, 14, 15},
    # An order on a day of 2025-06-25 .. 2025-07-22: Karim 07-15, Léa 07-14, Oscar 07-16,
    # Quentin 07-22 23:59:59, Théo 07-15 11:00. Romain ordered one second before and
    # just after.
    "last_sale_buyers": {11, 12, 15, 17, 20},
    # A discounted item after 2025-07-15T12:00Z: Chloé, Damien, Sofia. Karim's is exactly
    # at the bound, Théo's an hour before it, his other one after NOW.
    "discount_buyers": {3, 4, 19},
    # M4-5 and F1-2: Gaëlle M5 F1, Hugo M4 F1.
    "big_rare_spenders": {7, 8},
    # A recommendation click within 30 days and no order within 30 days: Farid (his
    # order is exactly 30 days old), Gaëlle, Yasmine. Alice bought; Cyril's click is
    # exactly 30 days old.
    "recommendation_clickers": {6, 7, 25},
    # 10+ visits within 30 days and no order: Farid 10, Jules 15, Vera 12, Wassim 10.
    # Sofia (11 visits) bought; Xavier has 9.
    "undecided": {6, 10, 22, 23},
    # A cart abandoned during the sale so far and no order during it: Gaëlle, Pauline,
    # Yasmine, Bianca (her order is after NOW). Ugo bought in the sale; Cyril's cart is
    # one second before it.
    "sale_cart_abandoners": {7, 16, 25, 28},
    # An order from 2026-06-24 to NOW: Alice, Bruno, Chloé, Damien, Emma, Sofia, Ugo
    # (at the sale's first instant). Théo's and Bianca's orders are after NOW.
    "sale_buyers": {1, 2, 3, 4, 5, 19, 21},
}

LIFECYCLE = {
    # First order after NOW - 30d (Emma; Farid's is exactly at it), or never ordered and
    # visited within 30 days (Zoé 40 days, Adam never, Cyril 31 days are out).
    "new_customers": {5, 22, 23, 24, 25, 28, 30},
    # 2+ orders within 90 days and engaged: Alice (e-mail open), Bruno (2 visits),
    # Damien (e-mail click). Chloé does not engage; Inès's order is exactly 90 days old.
    "active": {1, 2, 4},
    # 90 <= days since last order <= 365: Hugo 200, Inès 90, Karim 365, Nora 200,
    # Oscar 100, Quentin 357, Romain 357. Jules is at 89 (89 days 23 hours).
    "at_risk": {8, 9, 11, 14, 15, 17, 18},
    # More than 365 days: Léa 366, Marc 700.
    "churned": {12, 13},
    # No order as of NOW, including Bianca whose only order is later.
    "prospects": PROSPECTS,
    # Codes 555: Alice, Bruno.
    "champions": {1, 2},
    # Code 214: Hugo.
    "cant_lose_them": {8},
    # hibernating 212 (Romain) or lost 111 (Karim, Léa, Marc).
    "hibernating": {11, 12, 13, 18},
}

RFM_CODES = {
    1: 555, 2: 555, 3: 551, 4: 542, 5: 511, 6: 412, 7: 415, 8: 214, 9: 333, 10: 312,
    11: 111, 12: 111, 13: 111, 14: 255, 15: 234, 16: 313, 17: 213, 18: 212, 19: 434,
    20: 313, 21: 444,
}


def members(path: str) -> dict[str, set]:
    """Segment name to the set of member ids, for the rule file at ``path``."""
    result = segdsl.load(EXAMPLES / path).evaluate(CUSTOMERS, now=NOW)
    return {name: set(ids) for name, ids in result.members.items()}


@pytest.fixture(scope="module")
def summer_sale() -> dict[str, set]:
    return members("summer_sale.seg")


@pytest.fixture(scope="module")
def lifecycle() -> dict[str, set]:
    return members("lifecycle.seg")


def test_summer_sale_has_the_ten_segments():
    """The summer-sale file defines exactly the ten formulas, in order."""
    assert list(segdsl.load(EXAMPLES / "summer_sale.seg")) == list(SUMMER_SALE)


@pytest.mark.parametrize("name", list(SUMMER_SALE))
def test_summer_sale_members(summer_sale, name):
    """Each summer-sale segment holds exactly the customers worked out by hand."""
    assert summer_sale[name] == SUMMER_SALE[name]


def test_lifecycle_has_its_segments():
    """The lifecycle file defines the expected segments, in order."""
    assert list(segdsl.load(EXAMPLES / "lifecycle.seg")) == list(LIFECYCLE)


@pytest.mark.parametrize("name", list(LIFECYCLE))
def test_lifecycle_members(lifecycle, name):
    """Each lifecycle segment holds exactly the customers worked out by hand."""
    assert lifecycle[name] == LIFECYCLE[name]


def test_members_keep_input_order():
    """Member ids are listed in the order the customers were given."""
    result = segdsl.load(EXAMPLES / "summer_sale.seg").evaluate(list(reversed(CUSTOMERS)),
                                                                 now=NOW)
    assert result["sale_buyers"] == [21, 19, 5, 4, 3, 2, 1]
    assert result.total == 30


def test_rfm_codes_of_every_customer():
    """rfm.score gives each customer the code derived by hand in the module docstring."""
    codes = sorted(set(RFM_CODES.values()))
    text = "\n".join(f"segment code_{code} = rfm.score == {code}" for code in codes)
    result = segdsl.loads(text).evaluate(CUSTOMERS, now=NOW)
    expected = {f"code_{code}": [i for i, c in RFM_CODES.items() if c == code] for code in codes}
    assert result.members == expected


def test_prospects_have_no_rfm_score():
    """Customers who never ordered have a null RFM score, so only `is null` holds."""
    rules = segdsl.loads("segment scored = rfm.score is not null\n"
                         "segment unscored = rfm.score is null\n"
                         "segment lowest = rfm.recency <= 5 or not (rfm.recency <= 5)\n")
    result = rules.evaluate(CUSTOMERS, now=NOW)
    assert set(result["unscored"]) == PROSPECTS
    assert set(result["scored"]) == set(RFM_CODES)
    assert set(result["lowest"]) == set(RFM_CODES)


def test_evaluation_is_repeatable_and_pure():
    """Evaluating twice gives the same members and leaves the records unchanged."""
    before = copy.deepcopy(CUSTOMERS)
    rules = segdsl.load(EXAMPLES / "lifecycle.seg")
    first = rules.evaluate(CUSTOMERS, now=NOW).members
    second = rules.evaluate(CUSTOMERS, now=NOW).members
    assert first == second
    assert CUSTOMERS == before
