"""examples/recipes.seg on hand-built customers: exact members of every recipe, near each edge.

Evaluated at ``NOW`` = 2026-07-15T12:00:00Z, a Wednesday, in UTC unless a test
says otherwise; ``today`` is 2026-07-15. Every expected set below was worked
out by hand from the recipes' text (none is computed with segdsl):

    today - 14d = 2026-07-01        today - 30d  = 2026-06-15
    today - 91d = 2026-04-15        today - 180d = 2026-01-16
    today + 30d = 2026-08-14
    within = 30d  -> after 2026-06-15T12:00:00Z
    within = 90d  -> after 2026-04-16T12:00:00Z
    within = 365d -> after 2025-07-15T12:00:00Z   (now - 365d, for unengaged_365 too)

A date compared with a datetime compares the datetime's day. Each customer is
named for the edge it sits on; its comment says where it is in and why.
Customers have, unless said otherwise, no birth date, no coordinates, no tags,
orders or events, are not subscribed, and signed up on 2026-01-01 (so they are
never unengaged for a year, which needs an account older than 365 days).
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest

import segdsl

RECIPES = Path(__file__).resolve().parent.parent / "examples" / "recipes.seg"
NOW = "2026-07-15T12:00:00Z"

SCHEMA = segdsl.Schema({
    "id": "number", "name": "string", "birth_date": "date", "signed_up_at": "datetime",
    "email_subscribed": "bool", "tags": "list[string]", "lat": "number", "lng": "number",
    "orders": segdsl.ListOf({"at": "datetime", "total": "number",
                             "items": [{"category": "string"}]}),
    "events": segdsl.ListOf({"type": "string", "at": "datetime"}),
})


def order(at: str, *categories: str | None) -> dict:
    """An order at ``at`` holding one item of each category (``home`` by default)."""
    return {"at": at, "total": 10, "items": [{"category": c} for c in categories or ("home",)]}


def event(type_: str, at: str) -> dict:
    return {"type": type_, "at": at}


def customer(name: str, **fields) -> dict:
    """A customer named ``name`` (its id is its position in :data:`CUSTOMERS`)."""
    return {"name": name, "birth_date": None, "signed_up_at": "2026-01-01T00:00:00Z",
            "email_subscribed": False, "tags": [], "orders": [], "events": []} | fields


CUSTOMERS = [
    # Birthdays and ages (today 07-15; the 30 days ahead end on 08-14).
    customer("born_today", birth_date="1990-07-15"),  # this month, anniversary today, 36
    customer("born_in_30_days", birth_date="2000-08-14"),  # anniversary 08-14: in; August; 25
    customer("born_in_31_days", birth_date="2000-08-15"),  # 08-15 is a day too late; 25
    customer("born_yesterday", birth_date="2008-07-14"),  # July; next on 2027-07-14; 18 yesterday
    customer("turns_18_tomorrow", birth_date="2008-07-16"),  # July; anniversary tomorrow; 17
    customer("leap_day", birth_date="2008-02-29"),  # next on 2027-02-28; 18 (since 2026-02-28)
    # Win-back: the last order's day from 2026-01-16 to 2026-04-15.
    customer("last_order_91_days", orders=[order("2026-04-15T23:59:59Z")]),  # in (day 04-15)
    customer("last_order_90_days", orders=[order("2026-04-16T00:00:00Z")]),  # out (day 04-16)
    # In win_back (day 01-16); two orders 27 days apart: repeat and monthly buyer.
    customer("last_order_180_days", orders=[order("2025-12-20T00:00:00Z"),
                                            order("2026-01-16T00:00:00Z")]),
    customer("last_order_181_days", orders=[order("2026-01-15T23:59:59Z")]),  # out (day 01-15)
    # Recent buyers: the last order on 2026-07-01 or later.
    customer("ordered_july_1", orders=[order("2026-07-01T00:00:00Z")]),  # in
    customer("ordered_june_30", orders=[order("2026-06-30T23:59:59Z")]),  # out (in Paris: in)
    # New subscribers: signed up on 2026-06-15 or later, and subscribed.
    customer("signed_june_15", signed_up_at="2026-06-15T00:00:00Z", email_subscribed=True),
    customer("signed_june_14", signed_up_at="2026-06-14T23:59:59Z", email_subscribed=True),
    customer("signed_unknown_subscription", signed_up_at="2026-07-10T00:00:00Z",
             email_subscribed=None),  # not known to be subscribed: out
    # Unengaged for a year: signed up before 2025-07-15T12:00:00Z, nothing after it.
    customer("signed_exactly_365_days", signed_up_at="2025-07-15T12:00:00Z"),  # not before: out
    customer("signed_365_days_and_1s", signed_up_at="2025-07-15T11:59:59Z"),  # in
    customer("opened_exactly_365_days", signed_up_at="2024-01-01T00:00:00Z",
             events=[event("email_open", "2025-07-15T12:00:00Z")]),  # outside the window: in
    customer("visited_365_days_less_1s", signed_up_at="2024-01-01T00:00:00Z",
             events=[event("visit", "2025-07-15T12:00:01Z")]),  # a visit in the window: out
    customer("bought_365_days_less_1s", signed_up_at="2024-01-01T00:00:00Z",
             orders=[order("2025-07-15T12:00:01Z")]),  # an order in the window: out
    # Three categories in 365 days (repeat buyers all; none monthly: 351+ days apart).
    customer("three_categories", orders=[  # shoes, bags, hats (a null category is no category)
        order("2026-07-01T10:00:00Z", "shoes", "bags"),
        order("2025-07-15T12:00:01Z", "hats", "shoes", None)]),
    customer("hats_too_old", orders=[  # hats exactly 365 days ago are outside: 2 categories
        order("2026-07-01T10:00:00Z", "shoes", "bags", "bags", None),
        order("2025-07-15T12:00:00Z", "hats")]),
    customer("bags_and_Bags", orders=[  # text is case-sensitive: 3 categories
        order("2026-07-01T10:00:00Z", "shoes", "bags", "Bags")]),
    # Monthly buyers: (last - first) / (orders - 1) <= 30d. 2026-05-16 is a Saturday.
    customer("every_30_days", orders=[  # 60 days over 2 gaps: exactly 30 days; weekend buyer
        order("2026-05-16T12:00:00Z"), order("2026-06-10T00:00:00Z"),
        order("2026-07-15T12:00:00Z")]),
    customer("every_30_days_and_1s", orders=[  # 60 days and 2 s over 2 gaps; weekend buyer
        order("2026-05-16T11:59:58Z"), order("2026-06-10T00:00:00Z"),
        order("2026-07-15T12:00:00Z")]),
    # Carts (the 30 days of the window start after 2026-06-15T12:00:00Z; now - 2d is
    # 2026-07-13T12:00:00Z). All of these ordered on 07-01 or later, or never.
    customer("cart_after_the_order", orders=[order("2026-07-01T10:00:00Z")],
             events=[event("cart_abandoned", "2026-07-10T10:00:00Z")]),  # both cart recipes
    customer("order_with_the_cart", orders=[order("2026-07-10T10:00:00Z")],
             events=[event("cart_abandoned", "2026-07-10T10:00:00Z")]),  # neither
    customer("order_2_days_after_cart", orders=[order("2026-07-12T10:00:00Z")],
             events=[event("cart_abandoned", "2026-07-10T10:00:00Z")]),  # neither
    customer("order_2_days_1s_after_cart", orders=[order("2026-07-12T10:00:01Z")],
             events=[event("cart_abandoned", "2026-07-10T10:00:00Z")]),  # not recovered
    customer("cart_2_days_ago", events=[
        event("cart_abandoned", "2026-07-13T12:00:00Z")]),  # both (never ordered)
    customer("cart_under_2_days_ago", events=[
        event("cart_abandoned", "2026-07-13T12:00:01Z")]),  # after the last order only
    customer("cart_30_days_ago", events=[
        event("cart_abandoned", "2026-06-15T12:00:00Z")]),  # outside the window: neither
    # Opened an e-mail, then ordered within 7 days.
    customer("bought_7_days_after_open", orders=[order("2026-07-08T09:00:00Z")],
             events=[event("email_open", "2026-07-01T09:00:00Z")]),  # in
    customer("bought_7_days_1s_after_open", orders=[order("2026-07-08T09:00:01Z")],
             events=[event("email_open", "2026-07-01T09:00:00Z")]),  # out
    customer("bought_before_open", orders=[order("2026-07-01T08:59:59Z")],
             events=[event("email_open", "2026-07-01T09:00:00Z")]),  # out
    customer("bought_after_click", orders=[order("2026-07-02T09:00:00Z")],
             events=[event("email_click", "2026-07-01T09:00:00Z")]),  # a click is no open: out
    # Weekends (ISO 6 and 7). 2026-07-12 is a Sunday (so the orders of 07-12 above are on a
    # weekend), 2026-07-10 a Friday.
    customer("sunday_late", orders=[order("2026-07-12T23:59:59Z")]),  # in (Paris: Monday)
    customer("friday_late", orders=[order("2026-07-10T22:30:00Z")]),  # out (Paris: Saturday)
    # Tags, ignoring case: a tag equal to "vip" once lowered.
    customer("tag_VIP", tags=["VIP"]),  # in
    customer("tag_Vip", tags=["new", "Vip"]),  # in
    customer("tag_vip_gold", tags=["vip-gold"]),  # a tag holding vip is not vip: out
    customer("tag_null", tags=[None, "new"]),  # out
    customer("no_tags", tags=None),  # out
    # Distance from the Paris store (48.8566, 2.3522), on the sphere of radius 6371.0088 km:
    # one degree of latitude is 111.19508 km, so 49.9 km north is 0.448761 degrees and
    # 50.1 km north 0.450560 degrees.
    customer("at_the_store", lat=48.8566, lng=2.3522),  # 0 km
    customer("49.9_km_north", lat=49.305361, lng=2.3522),  # in
    customer("50.1_km_north", lat=49.307160, lng=2.3522),  # out
    customer("meaux", lat=48.9601, lng=2.8788),  # 40.2 km: in
    customer("beauvais", lat=49.4300, lng=2.0800),  # 66.8 km: out
    customer("no_coordinates", lat=None, lng=2.3522),  # out
]
for identity, record in enumerate(CUSTOMERS):
    record["id"] = identity

EXPECTED = {
    "birthday_this_month": {"born_today", "born_yesterday", "turns_18_tomorrow"},
    "birthday_next_30_days": {"born_today", "born_in_30_days", "turns_18_tomorrow"},
    "adults": {"born_today", "born_in_30_days", "born_in_31_days", "born_yesterday",
               "leap_day"},
    "win_back": {"last_order_91_days", "last_order_180_days"},
    "recent_buyers": {
        "ordered_july_1", "three_categories", "hats_too_old", "bags_and_Bags", "every_30_days",
        "every_30_days_and_1s", "cart_after_the_order", "order_with_the_cart",
        "order_2_days_after_cart", "order_2_days_1s_after_cart", "bought_7_days_after_open",
        "bought_7_days_1s_after_open", "bought_before_open", "bought_after_click",
        "sunday_late", "friday_late"},
    "new_subscribers": {"signed_june_15"},
    "unengaged_365": {"signed_365_days_and_1s", "opened_exactly_365_days"},
    "three_categories": {"three_categories", "bags_and_Bags"},
    "repeat_buyers": {"last_order_180_days", "three_categories", "hats_too_old",
                      "every_30_days", "every_30_days_and_1s"},
    "monthly_buyers": {"last_order_180_days", "every_30_days"},
    "cart_after_last_order": {"cart_after_the_order", "cart_2_days_ago",
                              "cart_under_2_days_ago"},
    "cart_not_recovered": {"cart_after_the_order", "order_2_days_1s_after_cart",
                           "cart_2_days_ago"},
    "opened_then_bought": {"bought_7_days_after_open"},
    "weekend_buyers": {"every_30_days", "every_30_days_and_1s", "order_2_days_after_cart",
                       "order_2_days_1s_after_cart", "sunday_late"},
    "vip": {"tag_VIP", "tag_Vip"},
    "near_store": {"at_the_store", "49.9_km_north", "meaux"},
}

SCHEMAS = {"no schema": None, "schema": SCHEMA}


def _names(ids) -> set[str]:
    return {CUSTOMERS[i]["name"] for i in ids}


def _load(schema, timezone: str = "UTC") -> segdsl.RuleSet:
    return segdsl.load(RECIPES, schema=schema, timezone=timezone)


def test_every_recipe_has_expected_members():
    """The test covers every segment of the file, in file order, each with a description."""
    rules = _load(None)
    assert list(rules) == list(EXPECTED)
    assert all(rules[name].description for name in rules)


@pytest.mark.parametrize("schema", SCHEMAS.values(), ids=SCHEMAS.keys())
def test_evaluate_gives_the_hand_worked_members(schema):
    """RuleSet.evaluate puts exactly the hand-worked customers in each recipe."""
    customers = copy.deepcopy(CUSTOMERS)
    result = _load(schema).evaluate(customers, now=NOW)
    assert {name: _names(result.members[name]) for name in EXPECTED} == EXPECTED
    assert customers == CUSTOMERS


@pytest.mark.parametrize("schema", SCHEMAS.values(), ids=SCHEMAS.keys())
def test_filter_and_matches_agree_with_evaluate(schema):
    """Segment.filter and Segment.matches give each recipe's hand-worked members too."""
    rules = _load(schema)
    for name, expected in EXPECTED.items():
        segment = rules[name]
        assert {c["name"] for c in segment.filter(CUSTOMERS, now=NOW)} == expected, name
        assert {c["name"] for c in CUSTOMERS if segment.matches(c, now=NOW)} == expected, name


@pytest.mark.parametrize("schema", SCHEMAS.values(), ids=SCHEMAS.keys())
def test_explain_agrees_with_matches(schema):
    """Segment.explain's value is true exactly for the members."""
    rules = _load(schema)
    for name, expected in EXPECTED.items():
        explained = {c["name"] for c in CUSTOMERS
                     if rules[name].explain(c, now=NOW).value is True}
        assert explained == expected, name


def test_days_are_those_of_the_configured_timezone():
    """In Paris (UTC+2), 2026-06-30T23:59:59Z is on 07-01, so that order is recent;
    Sunday 23:59:59Z is Monday and Friday 22:30Z is Saturday."""
    rules = _load(None, "Europe/Paris")
    result = rules.evaluate(CUSTOMERS, now=NOW)
    assert "ordered_june_30" in _names(result.members["recent_buyers"])
    weekend = _names(result.members["weekend_buyers"])
    assert {"sunday_late", "friday_late"} & weekend == {"friday_late"}


def test_this_month_and_the_coming_birthdays_follow_the_timezone():
    """At 2026-07-31T22:30:00Z it is already 08-01 in Paris: a birthday on 1 August is
    this month there, and today; in UTC it is next month, and tomorrow."""
    born = [{"id": 1, "birth_date": "1990-08-01"}]
    now = "2026-07-31T22:30:00Z"
    paris = _load(None, "Europe/Paris").evaluate(born, now=now)
    utc = _load(None).evaluate(born, now=now)
    assert (paris.members["birthday_this_month"], utc.members["birthday_this_month"]) == ([1], [])
    assert (paris.members["birthday_next_30_days"], utc.members["birthday_next_30_days"]) == (
        [1], [1])


@pytest.mark.parametrize(("now", "coming", "adult"), [
    ("2026-02-27T12:00:00Z", True, False),   # next on 02-28, tomorrow; 17 until then
    ("2026-02-28T12:00:00Z", True, True),    # 28 February of a common year: the birthday
    ("2026-03-01T12:00:00Z", False, True),   # next on 2027-02-28, 364 days ahead
    ("2028-01-31T12:00:00Z", True, True),    # a leap year: next on 2028-02-29, 29 days ahead
    ("2028-01-29T12:00:00Z", False, True),   # 31 days ahead
])
def test_a_29_february_birthday(now, coming, adult):
    """Born on 2008-02-29: the birthday falls on 28 February in common years, and the
    18th birthday is 2026-02-28."""
    rules = _load(SCHEMA)
    born = {"id": 1, "birth_date": dt.date(2008, 2, 29)}
    assert rules["birthday_next_30_days"].matches(born, now=now) is coming
    assert rules["adults"].matches(born, now=now) is adult


def test_a_latitude_out_of_range_is_bad_data():
    """near_store names the customer when a latitude is beyond 90 degrees."""
    with pytest.raises(segdsl.DataError, match="customer 7"):
        _load(None)["near_store"].matches({"id": 7, "lat": 91, "lng": 2.0}, now=NOW)


def test_the_file_is_in_canonical_layout():
    """segdsl fmt leaves recipes.seg unchanged, and its output re-parses to the same tree."""
    text = RECIPES.read_text(encoding="utf-8")
    assert segdsl.format(text) == text
    assert segdsl.parse(segdsl.format(text)) == segdsl.parse(text)


def test_the_file_checks_without_warnings():
    """recipes.seg has no error and no warning, with and without a schema."""
    text = RECIPES.read_text(encoding="utf-8")
    assert segdsl.check(text, file=str(RECIPES)) == ([], [])
    assert segdsl.check(text, file=str(RECIPES), schema=SCHEMA) == ([], [])
