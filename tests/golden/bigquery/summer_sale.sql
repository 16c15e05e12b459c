WITH g1 AS (
  SELECT
    s2.order_id AS k,
    COUNTIF(s2.category = 'shoes') AS a1,
    COUNTIF(s2.discounted = TRUE) AS a2
  FROM order_items AS s2
  GROUP BY
    s2.order_id
), g3 AS (
  SELECT
    s1.customer_id AS k,
    COUNTIF(
      (
        s1.`at` > CAST('2026-06-15 12:00:00+00:00' AS TIMESTAMP)
        AND s1.`at` <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP)
      )
      AND s1.type = 'recommendation_click'
    ) AS a1,
    COUNTIF(
      (
        s1.`at` > CAST('2026-06-15 12:00:00+00:00' AS TIMESTAMP)
        AND s1.`at` <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP)
      )
      AND s1.type = 'visit'
    ) AS a2,
    COUNTIF(
      (
        s1.`at` >= CAST('2026-06-23 22:00:00+00:00' AS TIMESTAMP)
        AND s1.`at` <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP)
        AND s1.`at` < CAST('2026-07-21 22:00:00+00:00' AS TIMESTAMP)
      )
      AND s1.type = 'cart_abandoned'
    ) AS a3
  FROM events AS s1
  GROUP BY
    s1.customer_id
), g2 AS (
  SELECT
    s1.customer_id AS k,
    COUNTIF(
      (
        s1.`at` > CAST('2025-07-15 12:00:00+00:00' AS TIMESTAMP)
        AND s1.`at` <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP)
      )
      AND COALESCE(g1.a1, 0) > 0
    ) AS a1,
    COUNTIF(
      s1.`at` >= CAST('2025-06-24 22:00:00+00:00' AS TIMESTAMP)
      AND s1.`at` <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP)
      AND s1.`at` < CAST('2025-07-22 22:00:00+00:00' AS TIMESTAMP)
    ) AS a2,
    COUNTIF(
      (
        s1.`at` > CAST('2025-07-15 12:00:00+00:00' AS TIMESTAMP)
        AND s1.`at` <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP)
      )
      AND COALESCE(g1.a2, 0) > 0
    ) AS a3,
    COUNTIF(
      s1.`at` > CAST('2026-06-15 12:00:00+00:00' AS TIMESTAMP)
      AND s1.`at` <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP)
    ) AS a4,
    COUNTIF(
      s1.`at` >= CAST('2026-06-23 22:00:00+00:00' AS TIMESTAMP)
      AND s1.`at` <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP)
      AND s1.`at` < CAST('2026-07-21 22:00:00+00:00' AS TIMESTAMP)
    ) AS a5,
    MAX(IF(s1.`at` <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP), s1.`at`, NULL)) AS a6,
    COUNTIF(
      s1.`at` > CAST('2025-07-15 12:00:00+00:00' AS TIMESTAMP)
      AND s1.`at` <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP)
    ) AS a7,
    SUM(
      IF(
        s1.`at` > CAST('2025-07-15 12:00:00+00:00' AS TIMESTAMP)
        AND s1.`at` <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP),
        CAST(ROUND(s1.total * CAST(1000000000 AS FLOAT64)) AS BIGNUMERIC),
        NULL
      )
    ) AS a8
  FROM orders AS s1
  LEFT JOIN g1
    ON g1.k = s1.id
  GROUP BY
    s1.customer_id
), pm AS (
  SELECT
    s0.id AS customer_id,
    CASE
      WHEN ABS(1784116800000000 - UNIX_MICROS(g2.a6)) >= 9007199254740992
      THEN ERROR('days_between() of instants more than 285 years apart')
      ELSE FLOOR(
        (
          CAST(1784116800000000 - UNIX_MICROS(g2.a6) AS FLOAT64) / CAST(1000000 AS FLOAT64)
        ) / CAST(86400 AS FLOAT64)
      )
    END AS v0,
    CASE
      WHEN CASE
        WHEN ABS(1784116800000000 - UNIX_MICROS(g2.a6)) >= 9007199254740992
        THEN ERROR('days_between() of instants more than 285 years apart')
        ELSE FLOOR(
          (
            CAST(1784116800000000 - UNIX_MICROS(g2.a6) AS FLOAT64) / CAST(1000000 AS FLOAT64)
          ) / CAST(86400 AS FLOAT64)
        )
      END IS NULL
      THEN CAST(NULL AS FLOAT64)
      ELSE CAST(COALESCE(g2.a7, 0) AS FLOAT64)
    END AS v1,
    CASE
      WHEN CASE
        WHEN ABS(1784116800000000 - UNIX_MICROS(g2.a6)) >= 9007199254740992
        THEN ERROR('days_between() of instants more than 285 years apart')
        ELSE FLOOR(
          (
            CAST(1784116800000000 - UNIX_MICROS(g2.a6) AS FLOAT64) / CAST(1000000 AS FLOAT64)
          ) / CAST(86400 AS FLOAT64)
        )
      END IS NULL
      THEN CAST(NULL AS FLOAT64)
      ELSE COALESCE(CAST(CAST(g2.a8 AS STRING) || 'e-9' AS FLOAT64), CAST(0 AS FLOAT64))
    END AS v2
  FROM customers AS s0
  LEFT JOIN g2
    ON g2.k = s0.id
), r0 AS (
  SELECT
    pm.v0 AS v,
    ROW_NUMBER() OVER (ORDER BY pm.v0) - 1 AS r
  FROM pm
  WHERE
    NOT pm.v0 IS NULL
), t0 AS (
  SELECT
    q.i,
    c.n AS n,
    CAST(c.n - 1 AS FLOAT64) * (
      CAST(q.i AS FLOAT64) / CAST(5 AS FLOAT64)
    ) AS pos,
    FLOOR(CAST(c.n - 1 AS FLOAT64) * (
      CAST(q.i AS FLOAT64) / CAST(5 AS FLOAT64)
    )) AS lo
  FROM (
    SELECT
      i
    FROM UNNEST(GENERATE_ARRAY(1, 4)) AS i
  ) AS q
  CROSS JOIN (
    SELECT
      COUNT(*) AS n
    FROM r0
  ) AS c
  WHERE
    c.n > 0
), b0 AS (
  SELECT
    t.i,
    a.v + (
      (
        z.v - a.v
      ) * (
        t.pos - t.lo
      )
    ) AS b
  FROM t0 AS t
  INNER JOIN r0 AS a
    ON a.r = t.lo
  INNER JOIN r0 AS z
    ON z.r = LEAST(t.lo + 1, t.n - 1)
), r1 AS (
  SELECT
    pm.v1 AS v,
    ROW_NUMBER() OVER (ORDER BY pm.v1) - 1 AS r
  FROM pm
  WHERE
    NOT pm.v1 IS NULL
), t1 AS (
  SELECT
    q.i,
    c.n AS n,
    CAST(c.n - 1 AS FLOAT64) * (
      CAST(q.i AS FLOAT64) / CAST(5 AS FLOAT64)
    ) AS pos,
    FLOOR(CAST(c.n - 1 AS FLOAT64) * (
      CAST(q.i AS FLOAT64) / CAST(5 AS FLOAT64)
    )) AS lo
  FROM (
    SELECT
      i
    FROM UNNEST(GENERATE_ARRAY(1, 4)) AS i
  ) AS q
  CROSS JOIN (
    SELECT
      COUNT(*) AS n
    FROM r1
  ) AS c
  WHERE
    c.n > 0
), b1 AS (
  SELECT
    t.i,
    a.v + (
      (
        z.v - a.v
      ) * (
        t.pos - t.lo
      )
    ) AS b
  FROM t1 AS t
  INNER JOIN r1 AS a
    ON a.r = t.lo
  INNER JOIN r1 AS z
    ON z.r = LEAST(t.lo + 1, t.n - 1)
), r2 AS (
  SELECT
    pm.v2 AS v,
    ROW_NUMBER() OVER (ORDER BY pm.v2) - 1 AS r
  FROM pm
  WHERE
    NOT pm.v2 IS NULL
), t2 AS (
  SELECT
    q.i,
    c.n AS n,
    CAST(c.n - 1 AS FLOAT64) * (
      CAST(q.i AS FLOAT64) / CAST(5 AS FLOAT64)
    ) AS pos,
    FLOOR(CAST(c.n - 1 AS FLOAT64) * (
      CAST(q.i AS FLOAT64) / CAST(5 AS FLOAT64)
    )) AS lo
  FROM (
    SELECT
      i
    FROM UNNEST(GENERATE_ARRAY(1, 4)) AS i
  ) AS q
  CROSS JOIN (
    SELECT
      COUNT(*) AS n
    FROM r2
  ) AS c
  WHERE
    c.n > 0
), b2 AS (
  SELECT
    t.i,
    a.v + (
      (
        z.v - a.v
      ) * (
        t.pos - t.lo
      )
    ) AS b
  FROM t2 AS t
  INNER JOIN r2 AS a
    ON a.r = t.lo
  INNER JOIN r2 AS z
    ON z.r = LEAST(t.lo + 1, t.n - 1)
), pb AS (
  SELECT
    (
      SELECT
        b
      FROM b0
      WHERE
        i = 1
    ) AS b0_1,
    (
      SELECT
        b
      FROM b0
      WHERE
        i = 2
    ) AS b0_2,
    (
      SELECT
        b
      FROM b0
      WHERE
        i = 3
    ) AS b0_3,
    (
      SELECT
        b
      FROM b0
      WHERE
        i = 4
    ) AS b0_4,
    (
      SELECT
        b
      FROM b1
      WHERE
        i = 1
    ) AS b1_1,
    (
      SELECT
        b
      FROM b1
      WHERE
        i = 2
    ) AS b1_2,
    (
      SELECT
        b
      FROM b1
      WHERE
        i = 3
    ) AS b1_3,
    (
      SELECT
        b
      FROM b1
      WHERE
        i = 4
    ) AS b1_4,
    (
      SELECT
        b
      FROM b2
      WHERE
        i = 1
    ) AS b2_1,
    (
      SELECT
        b
      FROM b2
      WHERE
        i = 2
    ) AS b2_2,
    (
      SELECT
        b
      FROM b2
      WHERE
        i = 3
    ) AS b2_3,
    (
      SELECT
        b
      FROM b2
      WHERE
        i = 4
    ) AS b2_4
), pv AS (
  SELECT
    pm.customer_id,
    CASE
      WHEN pm.v0 IS NULL
      THEN CAST(NULL AS FLOAT64)
      ELSE CAST(6 AS FLOAT64) - (
        CAST(1 AS FLOAT64) + CAST(CASE
          WHEN pb.b0_3 < pm.v0
          THEN CASE WHEN pb.b0_4 < pm.v0 THEN 4 ELSE 3 END
          ELSE CASE
            WHEN pb.b0_2 < pm.v0
            THEN 2
            ELSE CASE WHEN pb.b0_1 < pm.v0 THEN 1 ELSE 0 END
          END
        END AS FLOAT64)
      )
    END AS p0,
    CASE
      WHEN pm.v1 IS NULL
      THEN CAST(NULL AS FLOAT64)
      ELSE CAST(1 AS FLOAT64) + CAST(CASE
        WHEN pb.b1_3 < pm.v1
        THEN CASE WHEN pb.b1_4 < pm.v1 THEN 4 ELSE 3 END
        ELSE CASE
          WHEN pb.b1_2 < pm.v1
          THEN 2
          ELSE CASE WHEN pb.b1_1 < pm.v1 THEN 1 ELSE 0 END
        END
      END AS FLOAT64)
    END AS p1,
    CASE
      WHEN pm.v2 IS NULL
      THEN CAST(NULL AS FLOAT64)
      ELSE CAST(1 AS FLOAT64) + CAST(CASE
        WHEN pb.b2_3 < pm.v2
        THEN CASE WHEN pb.b2_4 < pm.v2 THEN 4 ELSE 3 END
        ELSE CASE
          WHEN pb.b2_2 < pm.v2
          THEN 2
          ELSE CASE WHEN pb.b2_1 < pm.v2 THEN 1 ELSE 0 END
        END
      END AS FLOAT64)
    END AS p2
  FROM pm
  CROSS JOIN pb
)
SELECT
  s0.id AS customer_id,
  (
    pv.p0 >= CAST(4 AS FLOAT64) AND pv.p1 >= CAST(4 AS FLOAT64)
  ) IS TRUE AS `loyal_buyers`,
  (
    pv.p2 <= CAST(2 AS FLOAT64) AND pv.p1 >= CAST(4 AS FLOAT64)
  ) IS TRUE AS `bargain_hunters`,
  (
    CAST(COALESCE(g2.a1, 0) AS FLOAT64) >= CAST(2 AS FLOAT64)
  ) IS TRUE AS `repeat_shoe_buyers`,
  (
    COALESCE(g2.a2, 0) > 0
  ) IS TRUE AS `last_sale_buyers`,
  (
    COALESCE(g2.a3, 0) > 0
  ) IS TRUE AS `discount_buyers`,
  (
    pv.p2 >= CAST(4 AS FLOAT64) AND pv.p1 <= CAST(2 AS FLOAT64)
  ) IS TRUE AS `big_rare_spenders`,
  (
    COALESCE(g3.a1, 0) > 0 AND NOT COALESCE(g2.a4, 0) > 0
  ) IS TRUE AS `recommendation_clickers`,
  (
    CAST(COALESCE(g3.a2, 0) AS FLOAT64) >= CAST(10 AS FLOAT64)
    AND NOT COALESCE(g2.a4, 0) > 0
  ) IS TRUE AS `undecided`,
  (
    COALESCE(g3.a3, 0) > 0 AND NOT COALESCE(g2.a5, 0) > 0
  ) IS TRUE AS `sale_cart_abandoners`,
  (
    COALESCE(g2.a5, 0) > 0
  ) IS TRUE AS `sale_buyers`
FROM customers AS s0
LEFT JOIN pv
  ON pv.customer_id = s0.id
LEFT JOIN g2
  ON g2.k = s0.id
LEFT JOIN g3
  ON g3.k = s0.id
ORDER BY
  1
