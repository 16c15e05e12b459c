"""Explanations: every sub-expression of a rule with its value, rendered as a tree."""

from __future__ import annotations

import textwrap

import segdsl

NOW = "2026-07-15T12:00:00Z"

RULES = segdsl.loads("""
period summer_sale = 2026-06-24 .. 2026-07-21
def bought_in(category_name, window) = orders(window, category = category_name)

segment undecided "10+ visits and no order in 30 days" =
    visits(30d) >= 10 and not purchased(30d)
segment undecided_fr = undecided and country == "FR"
segment outside_fr_be = country not in ["FR", "BE"]
segment not_fr = country != "FR" or email_subscribed == true
segment lapsed = last_order_at < now - 90d and aov(365d) > 50.5
segment shoes = bought_in("shoes", 365d) >= 2 or purchased(summer_sale)
segment frequent = rfm.frequency >= 4
segment at_risk = days_since_last_order between 90 and 365
""")


def visits(count: int) -> list[dict]:
    """Visits at 09:00 UTC on July 1, 2, ... 2026."""
    return [{"type": "visit", "at": f"2026-07-{day:02d}T09:00:00Z"} for day in range(1, count + 1)]


# 12 visits in the last 30 days, no order, in Belgium.
VISITOR = {"id": 1, "country": "BE", "events": visits(12), "orders": []}
# No country; a pair of shoes on January 1 and a bag on February 1.
BUYER = {"id": 2, "country": None, "email_subscribed": False, "orders": [
    {"at": "2026-01-01T10:00:00Z", "total": 60.25, "items": [{"category": "shoes"}]},
    {"at": "2026-02-01T10:00:00Z", "total": 40, "items": [{"category": "bags"}]},
]}


def rendered(name: str, customer: dict, **options) -> str:
    """The rendered explanation of segment ``name`` for ``customer`` at NOW."""
    return RULES[name].explain(customer, now=NOW, **options).render()


def tree(text: str) -> str:
    """``text`` without its common indentation and surrounding blank lines."""
    return textwrap.dedent(text).strip("\n")


def test_a_member_and_a_prelude_call_shown_as_written():
    """The prelude's visits(30d) shows as written, with its count."""
    assert rendered("undecided", VISITOR) == tree("""
        undecided -> true
        └── visits(30d) >= 10 and not purchased(30d) -> true
            ├── visits(30d) >= 10 -> true
            │   └── visits(30d) = 12
            └── not purchased(30d) -> true
                └── purchased(30d) -> false
        """)


def test_a_segment_referring_to_another_shows_its_rule():
    """A referenced segment shows its membership, then its own rule below it."""
    assert rendered("undecided_fr", VISITOR) == tree("""
        undecided_fr -> false
        └── undecided and country == "FR" -> false
            ├── undecided -> true
            │   └── visits(30d) >= 10 and not purchased(30d) -> true
            │       ├── visits(30d) >= 10 -> true
            │       │   └── visits(30d) = 12
            │       └── not purchased(30d) -> true
            │           └── purchased(30d) -> false
            └── country == "FR" -> false
                └── country = "BE"
        """)


def test_a_null_makes_the_negation_unknown_and_says_so():
    """`country not in [...]` is unknown for a null country, and the note names it."""
    assert rendered("outside_fr_be", BUYER) == tree("""
        outside_fr_be -> unknown (null)  (country is null)
        └── country not in ["FR", "BE"] -> unknown (null)  (country is null)
            └── country = null
        """)


def test_the_note_follows_the_null_only():
    """In an `or`, only the unknown side carries the note; the false side none."""
    assert rendered("not_fr", BUYER) == tree("""
        not_fr -> unknown (null)  (country is null)
        └── country != "FR" or email_subscribed == true -> unknown (null)  (country is null)
            ├── country != "FR" -> unknown (null)  (country is null)
            │   └── country = null
            └── email_subscribed == true -> false
                └── email_subscribed = false
        """)


def test_times_and_decimals():
    """Datetimes show in UTC with Z, `now - 90d` shows its instant, decimals stay exact."""
    assert rendered("lapsed", BUYER) == tree("""
        lapsed -> false
        └── last_order_at < now - 90d and aov(365d) > 50.5 -> false
            ├── last_order_at < now - 90d -> true
            │   ├── last_order_at = 2026-02-01T10:00:00Z
            │   └── now - 90d = 2026-04-16T12:00:00Z
            └── aov(365d) > 50.5 -> false
                └── aov(365d) = 50.125
        """)


def test_a_def_of_the_file_and_a_period_shown_as_written():
    """A def call and a period name show as written, not expanded."""
    assert rendered("shoes", BUYER) == tree("""
        shoes -> false
        └── bought_in("shoes", 365d) >= 2 or purchased(summer_sale) -> false
            ├── bought_in("shoes", 365d) >= 2 -> false
            │   └── bought_in("shoes", 365d) = 1
            └── purchased(summer_sale) -> false
        """)


def test_a_customer_without_orders_is_unknown_for_days_since_last_order():
    """The note names the aggregation that had nothing to return, not the missing list."""
    assert rendered("at_risk", VISITOR) == tree("""
        at_risk -> unknown (null)  (last(orders.at) is null)
        └── days_since_last_order between 90 and 365 -> unknown (null)  (last(orders.at) is null)
            └── days_since_last_order = null
                └── last(orders.at) = null
        """)


def test_rfm_scores_in_an_explanation():
    """A population score shows its value; a prospect's null score is named in the note."""
    population = [VISITOR, BUYER]
    assert rendered("frequent", BUYER, population=population) == tree("""
        frequent -> false
        └── rfm.frequency >= 4 -> false
            └── rfm.frequency = 1
        """)
    assert rendered("frequent", VISITOR, population=population) == tree("""
        frequent -> unknown (null)  (rfm.frequency is null)
        └── rfm.frequency >= 4 -> unknown (null)  (rfm.frequency is null)
            └── rfm.frequency = null
        """)


def test_a_standalone_rule_starts_at_the_rule():
    """An explanation of a rule compiled alone has the rule itself at its root."""
    rule = segdsl.compile('country in ["FR", null]')
    assert rule.explain({"country": "DE"}, now=NOW).render() == tree("""
        country in ["FR", null] -> unknown (null)
        └── country = "DE"
        """)


def test_explanation_attributes():
    """The root carries the text, value and match of the segment; str() renders it."""
    explanation = RULES["undecided"].explain(VISITOR, now=NOW)
    assert (explanation.text, explanation.value, explanation.matched) == ("undecided", True, True)
    assert str(explanation) == explanation.render()
    unknown = RULES["outside_fr_be"].explain(BUYER, now=NOW)
    assert (unknown.value, unknown.matched, unknown.note) == (None, False, "country is null")


def test_explanation_agrees_with_matches():
    """A customer matches exactly when the explanation's root value is true."""
    for name in RULES:
        for customer in (VISITOR, BUYER):
            options = {"population": [VISITOR, BUYER]} if name == "frequent" else {}
            explanation = RULES[name].explain(customer, now=NOW, **options)
            assert explanation.matched is RULES[name].matches(customer, now=NOW, **options)


def test_to_dict():
    """to_dict gives plain data: text, the value as shown, the note and the children."""
    assert RULES["outside_fr_be"].explain(BUYER, now=NOW).to_dict() == {
        "text": "outside_fr_be", "value": "unknown (null)", "note": "country is null",
        "children": [{
            "text": 'country not in ["FR", "BE"]', "value": "unknown (null)",
            "note": "country is null",
            "children": [{"text": "country", "value": "null", "note": None, "children": []}],
        }],
    }


def test_an_explanation_shows_a_ranking_as_written_and_its_tile():
    rules = segdsl.loads("segment top = ntile(spent, 4) >= 3", schema={"spent": "number"})
    customers = [{"id": i, "spent": i} for i in range(8)]
    explained = rules["top"].explain(customers[7], now=NOW, population=customers)
    assert str(explained) == ("top -> true\n"
                              "└── ntile(spent, 4) >= 3 -> true\n"
                              "    └── ntile(spent, 4) = 4")
