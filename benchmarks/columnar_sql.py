"""Workload 5's baseline: the example files' segments in DuckDB SQL, written by hand.

The queries a good analyst would write over the normalized tables for the segments of
``examples/summer_sale.seg`` and ``examples/lifecycle.seg``, evaluated at the benchmarks'
``now`` (2026-07-15T12:00:00Z) in UTC: one aggregation per table, the windows as plain
timestamp bounds, money summed as DECIMAL (exact, so the RFM tiles cannot depend on the order
of the rows), the RFM quintiles from ``quantile_cont`` (type-7 break points; equal measures
share a tile) and the RFM groups from a table. Each query returns ``customer_id`` and one
boolean per segment, like segdsl's.
"""

from __future__ import annotations

from segdsl.population import GROUP_OF_CODE

NOW = "TIMESTAMPTZ '2026-07-15 12:00:00+00'"

# Each customer's RFM measures and the population's break points.
_RFM = """
rfm_measures AS (
    SELECT c.id,
           floor(epoch(now_at - o.last_at) / 86400) AS recency,
           CASE WHEN o.last_at IS NOT NULL THEN coalesce(o.orders_365d, 0) END AS frequency,
           CASE WHEN o.last_at IS NOT NULL THEN coalesce(o.spent_365d, 0) END AS monetary
    FROM customers c LEFT JOIN per_customer_orders o ON o.customer_id = c.id
),
rfm_breaks AS (
    SELECT quantile_cont(recency, [0.2, 0.4, 0.6, 0.8]) AS r,
           quantile_cont(frequency, [0.2, 0.4, 0.6, 0.8]) AS f,
           quantile_cont(monetary, [0.2, 0.4, 0.6, 0.8]) AS m
    FROM rfm_measures
),
rfm AS (
    SELECT id,
           5 - ((recency > b.r[1])::INT + (recency > b.r[2])::INT + (recency > b.r[3])::INT
                + (recency > b.r[4])::INT) AS r,
           1 + (frequency > b.f[1])::INT + (frequency > b.f[2])::INT
             + (frequency > b.f[3])::INT + (frequency > b.f[4])::INT AS f,
           1 + (monetary > b.m[1])::INT + (monetary > b.m[2])::INT
             + (monetary > b.m[3])::INT + (monetary > b.m[4])::INT AS m
    FROM rfm_measures, rfm_breaks b
    WHERE recency IS NOT NULL
)"""

SUMMER_SALE = f"""
WITH items_per_order AS (
    SELECT order_id,
           bool_or(category = 'shoes') AS has_shoes,
           bool_or(discounted) AS has_discount
    FROM order_items
    WHERE category = 'shoes' OR discounted
    GROUP BY order_id
),
per_customer_orders AS (
    SELECT o.customer_id,
           max(o.at) AS last_at,
           count(*) FILTER (o.at > now_at - INTERVAL 365 DAY) AS orders_365d,
           sum(o.total::DECIMAL(18, 2)) FILTER (o.at > now_at - INTERVAL 365 DAY)::DOUBLE
               AS spent_365d,
           count(*) FILTER (o.at > now_at - INTERVAL 365 DAY AND i.has_shoes) AS shoes_365d,
           bool_or(o.at > now_at - INTERVAL 12 MONTH AND i.has_discount) AS discount_12m,
           bool_or(o.at >= TIMESTAMPTZ '2025-06-25 00:00:00+00'
                   AND o.at < TIMESTAMPTZ '2025-07-23 00:00:00+00') AS last_sale,
           bool_or(o.at >= TIMESTAMPTZ '2026-06-24 00:00:00+00'
                   AND o.at < TIMESTAMPTZ '2026-07-22 00:00:00+00') AS this_sale,
           bool_or(o.at > now_at - INTERVAL 30 DAY) AS ordered_30d
    FROM orders o LEFT JOIN items_per_order i ON i.order_id = o.id
    WHERE o.at <= now_at
    GROUP BY o.customer_id
),
per_customer_events AS (
    SELECT customer_id,
           count(*) FILTER (type = 'visit' AND "at" > now_at - INTERVAL 30 DAY) AS visits_30d,
           bool_or(type = 'recommendation_click' AND "at" > now_at - INTERVAL 30 DAY)
               AS clicked_30d,
           bool_or(type = 'cart_abandoned' AND "at" >= TIMESTAMPTZ '2026-06-24 00:00:00+00'
                   AND "at" < TIMESTAMPTZ '2026-07-22 00:00:00+00') AS abandoned_sale
    FROM events
    -- the earliest window starts 30 days back (the sale on 2026-06-24)
    WHERE "at" > now_at - INTERVAL 30 DAY AND "at" <= now_at
      AND type IN ('visit', 'recommendation_click', 'cart_abandoned')
    GROUP BY customer_id
), {_RFM}
SELECT c.id AS customer_id,
       coalesce(rfm.r >= 4 AND rfm.f >= 4, false) AS loyal_buyers,
       coalesce(rfm.m <= 2 AND rfm.f >= 4, false) AS bargain_hunters,
       coalesce(o.shoes_365d >= 2, false) AS repeat_shoe_buyers,
       coalesce(o.last_sale, false) AS last_sale_buyers,
       coalesce(o.discount_12m, false) AS discount_buyers,
       coalesce(rfm.m >= 4 AND rfm.f <= 2, false) AS big_rare_spenders,
       coalesce(e.clicked_30d, false) AND NOT coalesce(o.ordered_30d, false)
           AS recommendation_clickers,
       coalesce(e.visits_30d >= 10, false) AND NOT coalesce(o.ordered_30d, false) AS undecided,
       coalesce(e.abandoned_sale, false) AND NOT coalesce(o.this_sale, false)
           AS sale_cart_abandoners,
       coalesce(o.this_sale, false) AS sale_buyers
FROM customers c
LEFT JOIN per_customer_orders o ON o.customer_id = c.id
LEFT JOIN per_customer_events e ON e.customer_id = c.id
LEFT JOIN rfm ON rfm.id = c.id
ORDER BY c.id
"""

_GROUPS = ", ".join(f"({code}, '{group}')" for code, group in sorted(GROUP_OF_CODE.items()))

LIFECYCLE = f"""
WITH per_customer_orders AS (
    SELECT customer_id,
           min("at") AS first_at,
           max("at") AS last_at,
           count(*) FILTER ("at" > now_at - INTERVAL 90 DAY) AS orders_90d,
           count(*) FILTER ("at" > now_at - INTERVAL 365 DAY) AS orders_365d,
           sum(total::DECIMAL(18, 2)) FILTER ("at" > now_at - INTERVAL 365 DAY)::DOUBLE
               AS spent_365d
    FROM orders
    WHERE "at" <= now_at
    GROUP BY customer_id
),
per_customer_events AS (
    SELECT customer_id,
           count(*) FILTER (type = 'visit') AS visits_30d,
           bool_or(type = 'email_open') AS opened_30d,
           bool_or(type = 'email_click') AS clicked_30d
    FROM events
    WHERE "at" > now_at - INTERVAL 30 DAY AND "at" <= now_at
      AND type IN ('visit', 'email_open', 'email_click')
    GROUP BY customer_id
),
rfm_groups(code, name) AS (VALUES {_GROUPS}),
{_RFM},
joined AS (
    SELECT c.id, o.*, coalesce(e.visits_30d, 0) AS visits_30d,
           coalesce(e.opened_30d, false) AS opened_30d,
           coalesce(e.clicked_30d, false) AS clicked_30d,
           floor(epoch(now_at - o.last_at) / 86400) AS days_since_last,
           g.name AS rfm_group
    FROM customers c
    LEFT JOIN per_customer_orders o ON o.customer_id = c.id
    LEFT JOIN per_customer_events e ON e.customer_id = c.id
    LEFT JOIN rfm ON rfm.id = c.id
    LEFT JOIN rfm_groups g ON g.code = rfm.r * 100 + rfm.f * 10 + rfm.m
)
SELECT id AS customer_id,
       coalesce(first_at > now_at - INTERVAL 30 DAY, false)
           OR (first_at IS NULL AND visits_30d >= 1) AS new_customers,
       coalesce(orders_90d >= 2, false) AND (opened_30d OR clicked_30d OR visits_30d >= 2)
           AS active,
       coalesce(days_since_last BETWEEN 90 AND 365, false) AS at_risk,
       coalesce(days_since_last > 365, false) AS churned,
       first_at IS NULL AS prospects,
       coalesce(rfm_group = 'champions', false) AS champions,
       coalesce(rfm_group = 'cant_lose_them', false) AS cant_lose_them,
       coalesce(rfm_group IN ('hibernating', 'lost'), false) AS hibernating
FROM joined
ORDER BY id
"""

# now_at: the evaluation time, written into the queries as a literal.
QUERIES = {"summer_sale.seg": SUMMER_SALE.replace("now_at", NOW),
           "lifecycle.seg": LIFECYCLE.replace("now_at", NOW)}
