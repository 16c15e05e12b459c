"""Thirty hand-built customers whose segment memberships were worked out by hand.

Evaluated at ``NOW`` = 2026-07-15T12:00:00Z (UTC), with the example rule files
``examples/summer_sale.seg`` and ``examples/lifecycle.seg``. Timestamps are
written out in full; the comment next to each says how many days before
``NOW`` it is. Periods of the examples (whole UTC days, both ends included):

    summer_sale      = 2026-06-24 .. 2026-07-21   (only up to NOW counts)
    last_summer_sale = 2025-06-25 .. 2025-07-22

Windows back from NOW select ``NOW - w < at <= NOW``:

    30d  -> after 2026-06-15T12:00:00Z     90d  -> after 2026-04-16T12:00:00Z
    365d -> after 2025-07-15T12:00:00Z     12m  -> after 2025-07-15T12:00:00Z

Customers 1-21 have ordered (the RFM population); 22-30 never ordered before
NOW (prospects: null RFM scores, never in an ``rfm.*`` segment). The RFM
tiers of customers 1-21 are worked out in ``test_example_segments.py``.

Each comment names the persona, then the segments the customer is in and why,
then the near misses. A segment not named is out for the plain reason that
the customer has none of the activity it asks for.
"""

from __future__ import annotations

import datetime as dt

NOW = dt.datetime(2026, 7, 15, 12, 0, tzinfo=dt.timezone.utc)
NOW_TEXT = "2026-07-15T12:00:00Z"


def order(at, total, category="home", discounted=False) -> dict:
    """An order of one item costing the whole ``total``."""
    return {"at": at, "total": total,
            "items": [{"sku": category[:3].upper() + "-1", "category": category, "price": total,
                       "discounted": discounted}]}


def event(type_, at) -> dict:
    """One event (visit, cart_abandoned, recommendation_click, email_open, email_click)."""
    return {"type": type_, "at": at}


def visits_on(*days) -> list[dict]:
    """A visit at 09:00 UTC on each ISO day given."""
    return [event("visit", f"{day}T09:00:00Z") for day in days]


def daily_visits(first_day: int, count: int) -> list[dict]:
    """``count`` visits at 09:00 UTC on consecutive days of July 2026 from ``first_day``."""
    return visits_on(*(f"2026-07-{day:02d}" for day in range(first_day, first_day + count)))


CUSTOMERS = [
    # 1 Alice, the champion: 10 orders of 150 in the year (F 10, M 1500), last 2 days ago.
    # In: loyal_buyers (R5 F5), repeat_shoe_buyers (shoes 2 and 120 days ago), sale_buyers
    # (07-13, 06-25), active (4 orders in 90d, e-mail opened 3 days ago), champions (555).
    # Out: recommendation_clickers (clicked one yesterday, but bought within 30 days);
    # discount_buyers (nothing discounted); last_sale_buyers (first order 2025-08-29).
    {"id": 1, "country": "FR", "orders": [
        order("2026-07-13T12:00:00Z", 150, "shoes"),       # 2 days
        order("2026-06-25T12:00:00Z", 150, "clothing"),    # 20 days
        order("2026-05-31T12:00:00Z", 150, "clothing"),    # 45 days
        order("2026-04-26T12:00:00Z", 150, "clothing"),    # 80 days
        order("2026-03-17T12:00:00Z", 150, "shoes"),       # 120 days
        order("2026-02-05T12:00:00Z", 150, "clothing"),    # 160 days
        order("2025-12-27T12:00:00Z", 150, "clothing"),    # 200 days
        order("2025-11-17T12:00:00Z", 150, "clothing"),    # 240 days
        order("2025-10-08T12:00:00Z", 150, "clothing"),    # 280 days
        order("2025-08-29T12:00:00Z", 150, "clothing"),    # 320 days
    ], "events": [
        event("recommendation_click", "2026-07-14T10:00:00Z"),
        event("email_open", "2026-07-12T08:00:00Z"),
        *visits_on("2026-07-14", "2026-07-11", "2026-07-03"),
    ]},
    # 2 Bruno, loyal and regular: 8 orders of 80 in the year (F 8, M 640), last 5 days ago;
    # an older order 500 days ago is outside every window but is his first order.
    # In: loyal_buyers (R5 F5), sale_buyers (07-10), active (4 orders in 90d, 2 visits in
    # 30d, no e-mail needed), champions (555).
    # Out: new_customers (first order 500 days ago).
    {"id": 2, "country": "BE", "orders": [
        order("2026-07-10T12:00:00Z", 80),                 # 5 days
        order("2026-06-20T12:00:00Z", 80),                 # 25 days: before the sale
        order("2026-05-26T12:00:00Z", 80),                 # 50 days
        order("2026-05-06T12:00:00Z", 80),                 # 70 days
        order("2026-03-27T12:00:00Z", 80),                 # 110 days
        order("2026-02-15T12:00:00Z", 80),                 # 150 days
        order("2026-01-06T12:00:00Z", 80),                 # 190 days
        order("2025-11-27T12:00:00Z", 80),                 # 230 days
        order("2025-03-02T12:00:00Z", 80),                 # 500 days: outside 365d
    ], "events": visits_on("2026-07-09", "2026-06-19")},
    # 3 Chloé, the bargain hunter: 6 discounted orders of 5 (F 6, M 30), last yesterday.
    # In: loyal_buyers (R5 F5), bargain_hunters (M1 F5), discount_buyers, sale_buyers
    # (07-14, 07-07); RFM 551 is potential_loyalist, in no lifecycle RFM segment.
    # Out: active (4 orders in 90d but no events at all: no engagement).
    {"id": 3, "country": "FR", "orders": [
        order("2026-07-14T12:00:00Z", 5, "beauty", discounted=True),   # 1 day
        order("2026-07-07T12:00:00Z", 5, "beauty", discounted=True),   # 8 days
        order("2026-06-10T12:00:00Z", 5, "beauty", discounted=True),   # 35 days
        order("2026-05-16T12:00:00Z", 5, "beauty", discounted=True),   # 60 days
        order("2026-04-06T12:00:00Z", 5, "beauty", discounted=True),   # 100 days
        order("2026-02-25T12:00:00Z", 5, "beauty", discounted=True),   # 140 days
    ]},
    # 4 Damien, a second bargain hunter: 5 orders of 10 (F 5, M 50), last 9 days ago.
    # In: loyal_buyers (R5 F4), bargain_hunters (M2 F4), discount_buyers (discounted item
    # 40 days ago), sale_buyers (07-06), active (3 orders in 90d, e-mail click 20 days ago).
    # RFM 542: potential_loyalist.
    {"id": 4, "country": "DE", "orders": [
        order("2026-07-06T12:00:00Z", 10, "sports"),                   # 9 days
        order("2026-06-05T12:00:00Z", 10, "sports", discounted=True),  # 40 days
        order("2026-05-01T12:00:00Z", 10, "sports"),                   # 75 days
        order("2026-02-15T12:00:00Z", 10, "sports"),                   # 150 days
        order("2025-11-07T12:00:00Z", 10, "sports"),                   # 250 days
    ], "events": [event("email_click", "2026-06-25T08:00:00Z")]},
    # 5 Emma, the newcomer: her first and only order 10 days ago (F 1, M 25); the order's
    # time is naive, read as UTC.
    # In: new_customers (first order after NOW - 30d), sale_buyers (07-05). RFM 511:
    # new_customers group (no lifecycle segment for it).
    # Out: active (one order in 90d).
    {"id": 5, "country": "FR", "orders": [
        order("2026-07-05T12:00:00", 25, "clothing"),                  # 10 days (naive: UTC)
    ], "events": visits_on("2026-07-05", "2026-07-04")},
    # 6 Farid: his only order is exactly 30 days before NOW (F 1, M 40), which is outside
    # `30d`; 10 visits on 07-01..07-10 and a recommendation click on 07-09.
    # In: recommendation_clickers and undecided (no order *within* 30 days).
    # Out: new_customers (first order not after NOW - 30d), sale_buyers (06-15).
    # RFM 412: new_customers group.
    {"id": 6, "country": "BE", "orders": [
        order("2026-06-15T12:00:00Z", 40),                             # exactly 30 days
    ], "events": [*daily_visits(1, 10), event("recommendation_click", "2026-07-09T09:05:00Z")]},
    # 7 Gaëlle, the big rare spender: one order of 950 40 days ago (F 1, M 950).
    # In: big_rare_spenders (M5 F1), recommendation_clickers (click 5 days ago, no order
    # in 30d), sale_cart_abandoners (cart abandoned 07-01, no order in the sale).
    # RFM 415: promising.
    {"id": 7, "country": "CH", "orders": [
        order("2026-06-05T12:00:00Z", 950, "bags"),                    # 40 days
    ], "events": [
        event("recommendation_click", "2026-07-10T15:00:00Z"),
        event("cart_abandoned", "2026-07-01T10:00:00Z"),
    ]},
    # 8 Hugo: one order of 600 200 days ago (F 1, M 600, exactly the top monetary break
    # point, so M4); an older order 400 days ago is outside the RFM window.
    # In: big_rare_spenders (M4 F1), at_risk (200 days), cant_lose_them (214).
    {"id": 8, "country": "FR", "orders": [
        order("2025-12-27T12:00:00Z", 600, "electronics"),             # 200 days
        order("2025-06-10T12:00:00Z", 300, "electronics"),             # 400 days
    ]},
    # 9 Inès: orders of 60 exactly 90 and 150 days ago (F 2, M 120).
    # In: at_risk (days_since_last_order = 90, the lower bound, included). RFM 333:
    # potential_loyalist.
    # Out: active (the order exactly 90 days ago is outside `90d`: no order in 90d).
    {"id": 9, "country": "FR", "orders": [
        order("2026-04-16T12:00:00Z", 60),                             # exactly 90 days
        order("2026-02-15T12:00:00Z", 60),                             # 150 days
    ], "events": [event("email_open", "2026-07-01T08:00:00Z")]},
    # 10 Jules: one order of 40 89 days and 23 hours ago (whole days: 89); 15 visits on
    # 07-01..07-15 (09:00, all before NOW).
    # In: undecided (15 visits, no order in 30d). RFM 312: about_to_sleep.
    # Out: at_risk (89 days, below 90).
    {"id": 10, "country": "ES", "orders": [
        order("2026-04-16T13:00:00Z", 40),                             # 89 days 23 hours
    ], "events": daily_visits(1, 15)},
    # 11 Karim: one discounted order of 70 exactly 365 days ago (2025-07-15T12:00Z).
    # It is outside `365d` and `12m` (F 0, M 0), but inside last year's sale.
    # In: at_risk (365 days, the upper bound, included), last_sale_buyers, hibernating
    # (RFM 111: lost).
    # Out: discount_buyers (the discounted order is not after NOW - 12m), churned (365).
    {"id": 11, "country": "IT", "orders": [
        order("2025-07-15T12:00:00Z", 70, "clothing", discounted=True),  # exactly 365 days
    ]},
    # 12 Léa: one order of 55 366 days ago (2025-07-14, in last year's sale; F 0, M 0).
    # In: churned (366 > 365), last_sale_buyers, hibernating (RFM 111: lost).
    {"id": 12, "country": "FR", "orders": [
        order("2025-07-14T12:00:00Z", 55),                             # 366 days
    ]},
    # 13 Marc: a big spender gone for two years: orders 700 and 800 days ago (F 0, M 0).
    # In: churned, hibernating (RFM 111: lost; the old spending is outside the window).
    {"id": 13, "country": "FR", "orders": [
        order("2024-08-14T12:00:00Z", 900, "electronics"),             # 700 days
        order("2024-05-06T12:00:00Z", 800, "electronics"),             # 800 days
    ]},
    # 14 Nora, a top customer gone quiet: 6 orders of 150 200 to 340 days ago (F 6, M 900).
    # In: repeat_shoe_buyers (shoes 200 and 290 days ago), at_risk (200 days).
    # RFM 255: the at_risk group (not a lifecycle segment); R2 keeps her out of loyal_buyers.
    {"id": 14, "country": "BE", "orders": [
        order("2025-12-27T12:00:00Z", 150, "shoes"),                   # 200 days
        order("2025-11-27T12:00:00Z", 150, "clothing"),                # 230 days
        order("2025-10-28T12:00:00Z", 150, "clothing"),                # 260 days
        order("2025-09-28T12:00:00Z", 150, "shoes"),                   # 290 days
        order("2025-08-29T12:00:00Z", 150, "clothing"),                # 320 days
        order("2025-08-09T12:00:00Z", 150, "clothing"),                # 340 days
    ]},
    # 15 Oscar: shoes 364 days ago (2025-07-16, in last year's sale) and 100 days ago,
    # 90 each (F 2, M 180).
    # In: repeat_shoe_buyers (364 days is inside 365d), last_sale_buyers, at_risk (100).
    # RFM 234: at_risk group.
    {"id": 15, "country": "NL", "orders": [
        order("2025-07-16T12:00:00Z", 90, "shoes"),                    # 364 days
        order("2026-04-06T12:00:00Z", 90, "shoes"),                    # 100 days
    ]},
    # 16 Pauline: one order with two pairs of shoes 50 days ago (total 80), and shoes
    # 400 days ago; a cart abandoned on 07-10, in the sale.
    # In: sale_cart_abandoners (no order during the sale). RFM 313: promising.
    # Out: repeat_shoe_buyers (one order in 365d, however many shoe items it holds).
    {"id": 16, "country": "FR", "orders": [
        {"at": "2026-05-26T12:00:00Z", "total": 80, "items": [      # 50 days
            {"sku": "SHO-7", "category": "shoes", "price": 40, "discounted": False},
            {"sku": "SHO-8", "category": "shoes", "price": 40, "discounted": False}]},
        order("2025-06-10T12:00:00Z", 70, "shoes"),                    # 400 days
    ], "events": [event("cart_abandoned", "2026-07-10T18:00:00Z")]},
    # 17 Quentin: orders at the first instant and the last second of last year's sale:
    # 2025-06-25T00:00:00Z (30, outside 365d) and 2025-07-22T23:59:59Z (90; F 1, M 90),
    # 357 days 12 hours before NOW.
    # In: last_sale_buyers, at_risk (357). RFM 213: about_to_sleep.
    {"id": 17, "country": "FR", "orders": [
        order("2025-06-25T00:00:00Z", 30),
        order("2025-07-22T23:59:59Z", 90),
    ]},
    # 18 Romain: orders one second before and just after last year's sale:
    # 2025-06-24T23:59:59Z (20, outside 365d) and 2025-07-23T00:00:00Z (45; F 1, M 45),
    # also 357 days before NOW (a recency tie with Quentin).
    # In: at_risk (357), hibernating (RFM 212).
    # Out: last_sale_buyers (neither order is on a day of the sale).
    {"id": 18, "country": "FR", "orders": [
        order("2025-06-24T23:59:59Z", 20),
        order("2025-07-23T00:00:00Z", 45),
    ]},
    # 19 Sofia: a discounted order of 100 on 2025-08-15 and a full-price order of 50 on
    # 06-30 (F 2, M 150); 11 visits 07-01..07-11. Her timestamps are datetime objects.
    # In: discount_buyers, sale_buyers (06-30). RFM 434: need_attention.
    # Out: undecided (11 visits, but an order within 30 days).
    {"id": 19, "country": "FR", "orders": [
        order(dt.datetime(2025, 8, 15, 12, tzinfo=dt.timezone.utc), 100, "clothing",
              discounted=True),                                        # 334 days
        order(dt.datetime(2026, 6, 30, 12, tzinfo=dt.timezone.utc), 50, "clothing"),  # 15 days
    ], "events": daily_visits(1, 11)},
    # 20 Théo: a discounted order on 2025-07-15T11:00Z, one hour before NOW - 12m (outside
    # 12m and 365d, inside last year's sale); a full-price order of 60 60 days ago (F 1,
    # M 60); a discounted order of 500 on 07-16, after NOW, which nothing counts.
    # In: last_sale_buyers. RFM 313: promising.
    # Out: discount_buyers, sale_buyers (the 07-16 order is in the sale but after NOW).
    {"id": 20, "country": "FR", "orders": [
        order("2025-07-15T11:00:00Z", 35, "clothing", discounted=True),
        order("2026-05-16T12:00:00Z", 60, "clothing"),                 # 60 days
        order("2026-07-16T09:00:00Z", 500, "clothing", discounted=True),  # after NOW
    ]},
    # 21 Ugo: orders of 120 at 2026-06-24T00:00:00Z (the sale's first instant), 40 on
    # 2026-03-10 and 40 on 2025-12-01 (F 3, M 200); last order 21 days 12 hours ago.
    # Carts abandoned the evening before the sale and during it.
    # In: loyal_buyers (R4 F4), sale_buyers. RFM 444: loyal.
    # Out: sale_cart_abandoners (bought during the sale), active (one order in 90d).
    {"id": 21, "country": "FR", "orders": [
        order("2026-06-24T00:00:00Z", 120),
        order("2026-03-10T12:00:00Z", 40),
        order("2025-12-01T12:00:00Z", 40),
    ], "events": [
        event("cart_abandoned", "2026-06-23T22:00:00Z"),
        event("cart_abandoned", "2026-06-25T10:00:00Z"),
    ]},
    # 22 Vera, undecided prospect: 12 visits 07-01..07-12, `orders` is an empty list.
    # In: undecided, new_customers (no order, visited in 30d), prospects.
    {"id": 22, "country": "FR", "orders": [], "events": daily_visits(1, 12)},
    # 23 Wassim: visits exactly at NOW (counted), exactly 30 days before (not counted) and
    # on 07-06..07-14: 10 visits in 30d.
    # In: undecided (exactly 10), new_customers, prospects.
    {"id": 23, "country": "BE", "orders": [], "events": [
        event("visit", NOW_TEXT),
        event("visit", "2026-06-15T12:00:00Z"),
        *daily_visits(6, 9),
    ]},
    # 24 Xavier: 9 visits 07-01..07-09, 5 more on 06-01..06-05 and one after NOW.
    # In: new_customers, prospects.
    # Out: undecided (9 visits in 30d; the older ones and the one after NOW do not count).
    {"id": 24, "country": "FR", "orders": [], "events": [
        *daily_visits(1, 9),
        *visits_on("2026-06-01", "2026-06-02", "2026-06-03", "2026-06-04", "2026-06-05"),
        event("visit", "2026-07-15T13:00:00Z"),
    ]},
    # 25 Yasmine: a visit and a recommendation click on 07-12, a cart abandoned on 07-10.
    # In: recommendation_clickers, sale_cart_abandoners, new_customers, prospects.
    {"id": 25, "country": "ES", "orders": [], "events": [
        event("visit", "2026-07-12T09:00:00Z"),
        event("recommendation_click", "2026-07-12T09:03:00Z"),
        event("cart_abandoned", "2026-07-10T21:00:00Z"),
    ]},
    # 26 Zoé: no `orders` field at all (a missing list is an empty list); one visit 40
    # days ago.
    # In: prospects. Out: new_customers (no visit in 30d).
    {"id": 26, "country": "FR", "events": visits_on("2026-06-05")},
    # 27 Adam: an empty `orders` list and no `events` field.
    # In: prospects only.
    {"id": 27, "country": None, "orders": []},
    # 28 Bianca: her only order is on 2026-07-20, after NOW (inside the sale period); a
    # visit and an abandoned cart on 07-13.
    # In: prospects (as of NOW she never ordered), new_customers, sale_cart_abandoners
    # (the future order is not a purchase during the sale yet).
    # Out: sale_buyers, every rfm.* segment (no RFM score).
    {"id": 28, "country": "FR", "orders": [
        order("2026-07-20T10:00:00Z", 75, "shoes"),                    # after NOW
    ], "events": [
        event("visit", "2026-07-13T20:00:00Z"),
        event("cart_abandoned", "2026-07-13T20:10:00Z"),
    ]},
    # 29 Cyril: a recommendation click exactly 30 days before NOW, a visit 31 days before,
    # a cart abandoned on 2026-06-23T23:59:59Z, one second before the sale.
    # In: prospects. Out: recommendation_clickers, new_customers, sale_cart_abandoners.
    {"id": 29, "country": "FR", "orders": [], "events": [
        event("recommendation_click", "2026-06-15T12:00:00Z"),
        event("visit", "2026-06-14T12:00:00Z"),
        event("cart_abandoned", "2026-06-23T23:59:59Z"),
    ]},
    # 30 Dora: one visit 29 days ago and an e-mail opened on 07-07.
    # In: new_customers, prospects. Out: active (no orders).
    {"id": 30, "country": "FR", "orders": [], "events": [
        event("visit", "2026-06-16T12:00:00Z"),
        event("email_open", "2026-07-07T08:00:00Z"),
    ]},
]

#: The customers by id.
BY_ID = {customer["id"]: customer for customer in CUSTOMERS}
