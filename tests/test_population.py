"""Population functions: RFM scores, ntile and percentile, worked out by hand.

The method (``segdsl/population.py``): break points of ``k`` tiles are the
type-7 quantiles at ``1/k .. (k-1)/k`` of the non-null values, i.e. with ``n``
sorted values ``v[0..n-1]`` the quantile ``q`` is at position ``p = (n-1) q``,
``v[floor p] + (p - floor p) * (v[floor p + 1] - v[floor p])``. A value's tile
is 1 + the number of break points strictly below it; recency is reversed.

The RFM population below, at NOW = 2026-07-15T12:00Z (window 365 days):

    id  orders (days ago: total)                       F   M    days  R F M  group
     1  3 40 80 120 160 200 240 280 : 100 each         8   800    3   5 5 5  champions
     2  10 50 100 150 300 : 20 each                    5   100   10   5 5 4  champions
     3  10 90 180 : 100 each                           3   300   10   5 4 4  champions
     4  30 330 : 25 each                               2    50   30   4 4 3  need_attention
     5  60 : 500                                       1   500   60   3 2 5  need_attention
     6  100 : 20                                       1    20  100   3 2 2  hibernating
     7  200 : 20                                       1    20  200   2 2 2  hibernating
     8  200 : 60                                       1    60  200   2 2 3  hibernating
     9  400 : 999 (outside the window)                 0     0  400   1 1 1  lost
    10  700 : 50 (outside the window)                  0     0  700   1 1 1  lost
    11  no orders (prospect)                            -     -    -   null
    12  an empty orders list (prospect)                 -     -    -   null

Frequency, 10 values 0 0 1 1 1 1 2 3 5 8; positions 1.8 3.6 5.4 7.2:
    0 + .8(1-0) = 0.8;  1 + .6(1-1) = 1;  1 + .4(2-1) = 1.4;  3 + .2(5-3) = 3.4
    -> 0 scores 1; the four single orders tie at 2 (only 0.8 is below 1);
       2 and 3 score 4 (nothing scores 3); 5 and 8 score 5.
Monetary, 0 0 20 20 50 60 100 300 500 800:
    0 + .8(20) = 16;  20 + .6(30) = 38;  60 + .4(40) = 76;  300 + .2(200) = 340
    -> 0: 1;  20: 2;  50, 60: 3;  100, 300: 4;  500, 800: 5.
Recency (days), 3 10 10 30 60 100 200 200 400 700:
    10 + .8(0) = 10;  30 + .6(30) = 48;  100 + .4(100) = 140;  200 + .2(200) = 240
    -> tiles 3, 10: 1 (10 equals a break point);  30: 2;  60, 100: 3;  200: 4;
       400, 700: 5;  reversed R = 6 - tile: 5 5 5 4 3 3 2 2 1 1.
"""

from __future__ import annotations

import datetime as dt

import pytest

import segdsl
from segdsl.population import GROUP_OF_CODE, RFM_GROUPS

NOW = dt.datetime(2026, 7, 15, 12, tzinfo=dt.timezone.utc)
SCORED = list(range(1, 11))
PROSPECTS = [11, 12]


def days_ago(days: int) -> str:
    """ISO text of the instant ``days`` whole days before NOW."""
    return (NOW - dt.timedelta(days=days)).isoformat()


def buyer(id_: int, *orders: tuple[int, float], **fields) -> dict:
    """A customer with ``(days ago, total)`` orders."""
    return {"id": id_, "orders": [{"at": days_ago(d), "total": t} for d, t in orders], **fields}


CUSTOMERS = [
    buyer(1, *((d, 100) for d in (3, 40, 80, 120, 160, 200, 240, 280)), country="FR"),
    buyer(2, *((d, 20) for d in (10, 50, 100, 150, 300))),
    buyer(3, (10, 100), (90, 100), (180, 100), country="FR"),
    buyer(4, (30, 25), (330, 25)),
    buyer(5, (60, 500)),
    buyer(6, (100, 20)),
    buyer(7, (200, 20)),
    buyer(8, (200, 60)),
    buyer(9, (400, 999)),
    buyer(10, (700, 50)),
    {"id": 11},
    {"id": 12, "orders": []},
]

RECENCY = {1: 5, 2: 5, 3: 5, 4: 4, 5: 3, 6: 3, 7: 2, 8: 2, 9: 1, 10: 1}
FREQUENCY = {1: 5, 2: 5, 3: 4, 4: 4, 5: 2, 6: 2, 7: 2, 8: 2, 9: 1, 10: 1}
MONETARY = {1: 5, 2: 4, 3: 4, 4: 3, 5: 5, 6: 2, 7: 2, 8: 3, 9: 1, 10: 1}
GROUPS = {1: "champions", 2: "champions", 3: "champions", 4: "need_attention",
          5: "need_attention", 6: "hibernating", 7: "hibernating", 8: "hibernating",
          9: "lost", 10: "lost"}


def members(text: str, customers=CUSTOMERS, **options) -> dict[str, list]:
    """Segment name to member ids for the rule file ``text``."""
    return segdsl.loads(text, **options).evaluate(customers, now=NOW).members


def by_score(measure: str, scores=range(1, 6), customers=CUSTOMERS, **options) -> dict[int, list]:
    """Score to the ids of the customers with that ``measure`` score."""
    text = "\n".join(f"segment s{s} = {measure} == {s}" for s in scores)
    found = members(text, customers, **options)
    return {s: found[f"s{s}"] for s in scores}


def grouped(table: dict[int, int], scores=range(1, 6)) -> dict[int, list]:
    """The ids of ``table`` grouped by score, in id order."""
    return {s: [i for i, score in table.items() if score == s] for s in scores}


# ------------------------------------------------------------------------------ RFM


def test_frequency_ties_share_a_score():
    """The four one-order customers all score 2; 2 and 3 orders both score 4; none scores 3."""
    assert by_score("rfm.frequency") == grouped(FREQUENCY)


def test_monetary_quintiles_by_interpolated_break_points():
    """Monetary break points 16, 38, 76, 340 give the scores worked out by hand."""
    assert by_score("rfm.monetary") == grouped(MONETARY)


def test_recency_is_reversed():
    """The most recent buyers score 5 and the oldest 1; 10 days equals a break point and
    stays with the most recent fifth."""
    assert by_score("rfm.recency") == grouped(RECENCY)


def test_score_is_the_three_digit_code():
    """rfm.score is R*100 + F*10 + M."""
    codes = {i: RECENCY[i] * 100 + FREQUENCY[i] * 10 + MONETARY[i] for i in SCORED}
    assert codes == {1: 555, 2: 554, 3: 544, 4: 443, 5: 325, 6: 322, 7: 222, 8: 223,
                     9: 111, 10: 111}
    found = by_score("rfm.score", sorted(set(codes.values())))
    assert found == {code: [i for i in SCORED if codes[i] == code] for code in found}


def test_group_names():
    """rfm.group names the code's group from the standard table."""
    names = sorted(set(GROUPS.values()))
    text = "\n".join(f'segment {name} = rfm.group == "{name}"' for name in names)
    assert members(text) == {name: [i for i in SCORED if GROUPS[i] == name] for name in names}


def test_group_table_names_every_code_once():
    """The group table covers the 125 codes from 111 to 555, each in exactly one group."""
    listed = [int(code) for codes in RFM_GROUPS.values() for code in codes.split()]
    every = {100 * r + 10 * f + m for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)}
    assert len(listed) == 125
    assert set(listed) == every
    assert GROUP_OF_CODE[545] == "champions" and GROUP_OF_CODE[111] == "lost"


def test_prospects_have_null_scores():
    """Customers who never ordered have null R, F, M, score and group."""
    text = "\n".join(f"segment {m} = rfm.{m} is null"
                     for m in ("recency", "frequency", "monetary", "score", "group"))
    assert members(text) == {m: PROSPECTS for m in
                             ("recency", "frequency", "monetary", "score", "group")}


def test_prospects_are_never_in_rfm_segments():
    """A negation or a disjunction covering every score still leaves prospects out."""
    text = ('segment not_champions = rfm.group != "champions"\n'
            "segment any_recency = rfm.recency <= 3 or rfm.recency > 3\n"
            "segment negated = not (rfm.frequency >= 4)\n"
            'segment outside = rfm.group not in ["champions"]\n')
    assert members(text) == {
        "not_champions": [4, 5, 6, 7, 8, 9, 10],
        "any_recency": SCORED,
        "negated": [5, 6, 7, 8, 9, 10],
        "outside": [4, 5, 6, 7, 8, 9, 10],
    }


def test_prospects_do_not_shift_the_break_points():
    """Adding more prospects leaves every score unchanged."""
    more = CUSTOMERS + [{"id": 100 + i, "orders": []} for i in range(20)]
    assert by_score("rfm.frequency", customers=more) == grouped(FREQUENCY)
    assert by_score("rfm.recency", customers=more) == grouped(RECENCY)


def test_scores_do_not_depend_on_input_order():
    """Ties are resolved by value, never by position: reversing the input changes nothing."""
    reverse = list(reversed(CUSTOMERS))
    found = by_score("rfm.frequency", customers=reverse)
    assert {s: sorted(ids) for s, ids in found.items()} == grouped(FREQUENCY)


@pytest.mark.parametrize("window", ["2y", "730d", "24m"])
def test_rfm_window_changes_frequency_and_monetary(window):
    """With a 2-year window, customers 9 and 10 ordered once: frequencies 1 1 1 1 1 1 2 3 5 8
    give break points 1, 1, 1.4, 3.4, so every single order now scores 1."""
    assert by_score("rfm.frequency", rfm_window=window) == {
        1: [5, 6, 7, 8, 9, 10], 2: [], 3: [], 4: [3, 4], 5: [1, 2]}
    # Monetary 20 20 50 50 60 100 300 500 800 999: 20 + .8(30) = 44, 50 + .6(10) = 56,
    # 100 + .4(200) = 180, 500 + .2(300) = 560.
    assert by_score("rfm.monetary", rfm_window=window) == {
        1: [6, 7], 2: [4, 10], 3: [2, 8], 4: [3, 5], 5: [1, 9]}
    assert by_score("rfm.recency", rfm_window=window) == grouped(RECENCY)


def test_rfm_window_must_be_a_duration():
    """An rfm_window that is not a duration is refused before any data is read."""
    with pytest.raises(segdsl.UsageError, match="RFM window must be a duration"):
        segdsl.compile("rfm.frequency >= 4", rfm_window="often")


def test_everyone_tied_scores_one():
    """When every customer ordered once, all break points equal 1 and everyone scores F1."""
    same = [buyer(i, (10 * i, 10)) for i in range(1, 6)]
    assert by_score("rfm.frequency", customers=same) == {1: [1, 2, 3, 4, 5], 2: [], 3: [],
                                                         4: [], 5: []}


def test_a_population_of_one():
    """A single buyer is every break point: R5 (reversed tile 1), F1, M1."""
    alone = [buyer(1, (5, 50))]
    assert members("segment s = rfm.score == 511", alone) == {"s": [1]}


# -------------------------------------------------------------- ntile and percentile

# loyalty_points of 10 customers: 10 20 20 20 30 40 50 60 and two nulls (one missing).
POINTS = [{"id": i, "loyalty_points": p} for i, p in
          enumerate([10, 20, 20, 20, 30, 40, 50, 60, None], start=1)] + [{"id": 10}]


def test_ntile_quartiles_with_ties_and_nulls():
    """8 non-null values, positions 1.75 3.5 5.25: break points 20, 25, 42.5; the three 20s
    equal the first break point and stay in tile 1; nulls have no tile."""
    found = by_score("ntile(loyalty_points, 4)", range(1, 5), customers=POINTS)
    assert found == {1: [1, 2, 3, 4], 2: [], 3: [5, 6], 4: [7, 8]}
    assert members("segment s = ntile(loyalty_points, 4) is null", POINTS) == {"s": [9, 10]}


def test_ntile_halves():
    """The median of 10 20 20 20 30 40 50 60 is 25: four values below, four above."""
    found = by_score("ntile(loyalty_points, 2)", range(1, 3), customers=POINTS)
    assert found == {1: [1, 2, 3, 4], 2: [5, 6, 7, 8]}


def test_percentile_is_the_share_at_or_below():
    """percentile is 100 * (values <= mine) / non-null values: ties share the highest rank."""
    text = ("segment p50 = percentile(loyalty_points) == 50\n"
            "segment p12 = percentile(loyalty_points) == 12.5\n"
            "segment top = percentile(loyalty_points) >= 75\n"
            "segment p100 = percentile(loyalty_points) == 100\n"
            "segment unknown = percentile(loyalty_points) is null\n")
    assert members(text, POINTS) == {"p50": [2, 3, 4], "p12": [1], "top": [6, 7, 8],
                                     "p100": [8], "unknown": [9, 10]}


def test_ntile_of_an_aggregate_includes_prospects():
    """spent(365d) is 0, not null, for prospects, so they are ranked too: 12 values
    0 0 0 0 20 20 50 60 100 300 500 800, positions 2.2 4.4 6.6 8.8, break points
    0, 20, 56, 260."""
    found = by_score("ntile(spent(365d), 5)")
    assert found == {1: [9, 10, 11, 12], 2: [6, 7], 3: [4], 4: [2, 8], 5: [1, 3, 5]}


# ------------------------------------------------------------- matches on one record

RULES = segdsl.loads(
    "segment loyal = rfm.recency >= 4 and rfm.frequency >= 4\n"
    'segment loyal_fr = loyal and country == "FR"\n'
    "segment top_points = percentile(spent(365d)) > 70\n"
    "segment recent = purchased(30d)\n")


def test_matches_without_population_is_a_clear_error():
    """A ranking segment needs the population; the message says how to give it."""
    with pytest.raises(segdsl.EvaluationError) as caught:
        RULES["loyal"].matches(CUSTOMERS[0], now=NOW)
    assert str(caught.value) == (
        "segment 'loyal' ranks customers (rfm.recency): give the population to rank against, "
        "e.g. matches(customer, now=..., population=customers)")


def test_matches_through_a_segment_reference_needs_the_population():
    """A segment that uses a ranking segment needs the population too."""
    with pytest.raises(segdsl.EvaluationError, match="segment 'loyal_fr' ranks customers"):
        RULES["loyal_fr"].matches(CUSTOMERS[0], now=NOW)


def test_standalone_rule_without_population():
    """A rule compiled alone is called 'the rule' in the message."""
    with pytest.raises(segdsl.EvaluationError, match=r"^the rule ranks customers \(ntile\)"):
        segdsl.compile("ntile(spent(365d), 4) == 4").matches(CUSTOMERS[0], now=NOW)


def test_explain_without_population_is_the_same_error():
    """explain also asks for the population of a ranking rule."""
    with pytest.raises(segdsl.EvaluationError, match="give the population"):
        RULES["loyal"].explain(CUSTOMERS[0], now=NOW)


def test_matches_without_ranking_needs_no_population():
    """A segment without ranking evaluates on one record alone."""
    assert RULES["recent"].matches(CUSTOMERS[0], now=NOW)
    assert not RULES["recent"].matches(CUSTOMERS[4], now=NOW)


def evaluated() -> dict[str, set]:
    """Member ids of every segment of RULES over the RFM population."""
    return {name: set(ids) for name, ids in RULES.evaluate(CUSTOMERS, now=NOW).members.items()}


def test_evaluate_ranks_the_whole_population():
    """evaluate gives the members worked out by hand: loyal R4-5 F4-5 is 1-4; the French
    ones 1 and 3; spent(365d) above the 70th percentile of 12 values is 100 (9/12 = 75)
    and more; customer 4's order exactly 30 days ago is not within 30d."""
    assert evaluated() == {"loyal": {1, 2, 3, 4}, "loyal_fr": {1, 3},
                           "top_points": {1, 2, 3, 5}, "recent": {1, 2, 3}}


def test_matches_with_population_agrees_with_evaluate():
    """matches(population=customers) gives every customer the membership evaluate gives."""
    expected = evaluated()
    for name in RULES:
        found = {c["id"] for c in CUSTOMERS
                 if RULES[name].matches(c, now=NOW, population=CUSTOMERS)}
        assert found == expected[name], name


def test_matches_with_precomputed_statistics_agrees_with_evaluate():
    """Statistics computed once with rules.population() score single customers alike."""
    stats = RULES.population(CUSTOMERS, now=NOW)
    assert stats.size == 12
    expected = evaluated()
    for name in RULES:
        found = {c["id"] for c in CUSTOMERS if RULES[name].matches(c, now=NOW, population=stats)}
        assert found == expected[name], name


def test_statistics_score_a_customer_outside_the_population():
    """A new customer is scored against the population's break points: 4 orders in the last
    month is F5 (above 3.4) and 2 days is R5."""
    stats = RULES.population(CUSTOMERS, now=NOW)
    newcomer = buyer(99, (2, 10), (5, 10), (9, 10), (20, 10), country="FR")
    assert RULES["loyal_fr"].matches(newcomer, now=NOW, population=stats)


def test_statistics_of_other_rules_are_refused():
    """Statistics lacking a ranking the segment needs are a clear error, not a wrong answer."""
    stats = segdsl.loads("segment s = rfm.recency >= 4").population(CUSTOMERS, now=NOW)
    with pytest.raises(segdsl.EvaluationError,
                       match="the population statistics given have no percentile"):
        RULES["top_points"].matches(CUSTOMERS[0], now=NOW, population=stats)


def test_filter_ranks_against_the_customers_given():
    """Segment.filter uses its input as the population."""
    assert [c["id"] for c in RULES["loyal"].filter(CUSTOMERS, now=NOW)] == [1, 2, 3, 4]
