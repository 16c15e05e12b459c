WITH g1 AS (
  SELECT
    s2.order_id AS k,
    COUNT_IF(s2.category = 'shoes') AS a1,
    COUNT_IF(s2.discounted = TRUE) AS a2
  FROM order_items AS s2
  GROUP BY
    s2.order_id
), g3 AS (
  SELECT
    s1.customer_id AS k,
    COUNT_IF(
      (
        s1.at > CAST('2026-06-15 12:00:00+00:00' AS TIMESTAMPTZ)
        AND s1.at <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMPTZ)
      )
      AND s1.type = 'recommendation_click'
    ) AS a1,
    COUNT_IF(
      (
        s1.at > CAST('2026-06-15 12:00:00+00:00' AS TIMESTAMPTZ)
        AND s1.at <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMPTZ)
      )
      AND s1.type = 'visit'
    ) AS a2,
    COUNT_IF(
      (
        s1.at >= CAST('2026-06-23 22:00:00+00:00' AS TIMESTAMPTZ)
        AND s1.at <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMPTZ)
        AND s1.at < CAST('2026-07-21 22:00:00+00:00' AS TIMESTAMPTZ)
      )
      AND s1.type = 'cart_abandoned'
    ) AS a3
  FROM events AS s1
  GROUP BY
    s1.customer_id
), g2 AS (
  SELECT
    s1.customer_id AS k,
    COUNT_IF(
      (
        s1.at > CAST('2025-07-15 12:00:00+00:00' AS TIMESTAMPTZ)
        AND s1.at <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMPTZ)
      )
      AND COALESCE(g1.a1, 0) > 0
    ) AS a1,
    COUNT_IF(
      s1.at >= CAST('2025-06-24 22:00:00+00:00' AS TIMESTAMPTZ)
      AND s1.at <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMPTZ)
      AND s1.at < CAST('2025-07-22 22:00:00+00:00' AS TIMESTAMPTZ)
    ) AS a2,
    COUNT_IF(
      (
        s1.at > CAST('2025-07-15 12:00:00+00:00' AS TIMESTAMPTZ)
        AND s1.at <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMPTZ)
      )
      AND COALESCE(g1.a2, 0) > 0
    ) AS a3,
    COUNT_IF(
      s1.at > CAST('2026-06-15 12:00:00+00:00' AS TIMESTAMPTZ)
      AND s1.at <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMPTZ)
    ) AS a4,
    COUNT_IF(
      s1.at >= CAST('2026-06-23 22:00:00+00:00' AS TIMESTAMPTZ)
      AND s1.at <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMPTZ)
      AND s1.at < CAST('2026-07-21 22:00:00+00:00' AS TIMESTAMPTZ)
    ) AS a5,
    MAX(IFF(s1.at <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMPTZ), s1.at, NULL)) AS a6,
    COUNT_IF(
      s1.at > CAST('2025-07-15 12:00:00+00:00' AS TIMESTAMPTZ)
      AND s1.at <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMPTZ)
    ) AS a7,
    SUM(
      IFF(
        s1.at > CAST('2025-07-15 12:00:00+00:00' AS TIMESTAMPTZ)
        AND s1.at <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMPTZ),
        (
          CAST(ROUND(s1.total * CAST(1000000000 AS DOUBLE)) - (
            TRUNC(ROUND(s1.total * CAST(1000000000 AS DOUBLE)) / CAST(9007199254740992 AS DOUBLE)) * CAST(9007199254740992 AS DOUBLE)
          ) AS DECIMAL(38, 0)) + (
            CAST(TRUNC(ROUND(s1.total * CAST(1000000000 AS DOUBLE)) / CAST(9007199254740992 AS DOUBLE)) - (
              TRUNC(
                ROUND(s1.total * CAST(1000000000 AS DOUBLE)) / CAST(81129638414606681695789005144064 AS DOUBLE)
              ) * CAST(9007199254740992 AS DOUBLE)
            ) AS DECIMAL(38, 0)) * CAST(9007199254740992 AS DECIMAL(38, 0))
          )
        ) + (
          CAST(TRUNC(
            ROUND(s1.total * CAST(1000000000 AS DOUBLE)) / CAST(81129638414606681695789005144064 AS DOUBLE)
          ) AS DECIMAL(38, 0)) * CAST(81129638414606681695789005144064 AS DECIMAL(38, 0))
        ),
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
    IFF(
      CAST(IFF(
        ABS(1784116800000000 - DATE_PART(epoch_microsecond, g2.a6)) >= 9007199254740992,
        'days_between() of instants more than 285 years apart',
        '0'
      ) AS INT) = 0,
      FLOOR(
        (
          CAST(1784116800000000 - DATE_PART(epoch_microsecond, g2.a6) AS DOUBLE) / CAST(1000000 AS DOUBLE)
        ) / CAST(86400 AS DOUBLE)
      ),
      NULL
    ) AS v0,
    CASE
      WHEN IFF(
        CAST(IFF(
          ABS(1784116800000000 - DATE_PART(epoch_microsecond, g2.a6)) >= 9007199254740992,
          'days_between() of instants more than 285 years apart',
          '0'
        ) AS INT) = 0,
        FLOOR(
          (
            CAST(1784116800000000 - DATE_PART(epoch_microsecond, g2.a6) AS DOUBLE) / CAST(1000000 AS DOUBLE)
          ) / CAST(86400 AS DOUBLE)
        ),
        NULL
      ) IS NULL
      THEN CAST(NULL AS DOUBLE)
      ELSE CAST(COALESCE(g2.a7, 0) AS DOUBLE)
    END AS v1,
    CASE
      WHEN IFF(
        CAST(IFF(
          ABS(1784116800000000 - DATE_PART(epoch_microsecond, g2.a6)) >= 9007199254740992,
          'days_between() of instants more than 285 years apart',
          '0'
        ) AS INT) = 0,
        FLOOR(
          (
            CAST(1784116800000000 - DATE_PART(epoch_microsecond, g2.a6) AS DOUBLE) / CAST(1000000 AS DOUBLE)
          ) / CAST(86400 AS DOUBLE)
        ),
        NULL
      ) IS NULL
      THEN CAST(NULL AS DOUBLE)
      ELSE COALESCE(CAST(CAST(g2.a8 AS VARCHAR) || 'e-9' AS DOUBLE), CAST(0 AS DOUBLE))
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
    CAST(c.n - 1 AS DOUBLE) * (
      CAST(q.i AS DOUBLE) / CAST(5 AS DOUBLE)
    ) AS pos,
    FLOOR(CAST(c.n - 1 AS DOUBLE) * (
      CAST(q.i AS DOUBLE) / CAST(5 AS DOUBLE)
    )) AS lo
  FROM (VALUES
    (1),
    (2),
    (3),
    (4)) AS q(i)
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
    CAST(c.n - 1 AS DOUBLE) * (
      CAST(q.i AS DOUBLE) / CAST(5 AS DOUBLE)
    ) AS pos,
    FLOOR(CAST(c.n - 1 AS DOUBLE) * (
      CAST(q.i AS DOUBLE) / CAST(5 AS DOUBLE)
    )) AS lo
  FROM (VALUES
    (1),
    (2),
    (3),
    (4)) AS q(i)
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
    CAST(c.n - 1 AS DOUBLE) * (
      CAST(q.i AS DOUBLE) / CAST(5 AS DOUBLE)
    ) AS pos,
    FLOOR(CAST(c.n - 1 AS DOUBLE) * (
      CAST(q.i AS DOUBLE) / CAST(5 AS DOUBLE)
    )) AS lo
  FROM (VALUES
    (1),
    (2),
    (3),
    (4)) AS q(i)
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
      THEN CAST(NULL AS DOUBLE)
      ELSE CAST(6 AS DOUBLE) - (
        CAST(1 AS DOUBLE) + CAST(CASE
          WHEN pb.b0_3 < pm.v0
          THEN CASE WHEN pb.b0_4 < pm.v0 THEN 4 ELSE 3 END
          ELSE CASE
            WHEN pb.b0_2 < pm.v0
            THEN 2
            ELSE CASE WHEN pb.b0_1 < pm.v0 THEN 1 ELSE 0 END
          END
        END AS DOUBLE)
      )
    END AS p0,
    CASE
      WHEN pm.v1 IS NULL
      THEN CAST(NULL AS DOUBLE)
      ELSE CAST(1 AS DOUBLE) + CAST(CASE
        WHEN pb.b1_3 < pm.v1
        THEN CASE WHEN pb.b1_4 < pm.v1 THEN 4 ELSE 3 END
        ELSE CASE
          WHEN pb.b1_2 < pm.v1
          THEN 2
          ELSE CASE WHEN pb.b1_1 < pm.v1 THEN 1 ELSE 0 END
        END
      END AS DOUBLE)
    END AS p1,
    CASE
      WHEN pm.v2 IS NULL
      THEN CAST(NULL AS DOUBLE)
      ELSE CAST(1 AS DOUBLE) + CAST(CASE
        WHEN pb.b2_3 < pm.v2
        THEN CASE WHEN pb.b2_4 < pm.v2 THEN 4 ELSE 3 END
        ELSE CASE
          WHEN pb.b2_2 < pm.v2
          THEN 2
          ELSE CASE WHEN pb.b2_1 < pm.v2 THEN 1 ELSE 0 END
        END
      END AS DOUBLE)
    END AS p2
  FROM pm
  CROSS JOIN pb
)
SELECT
  s0.id AS customer_id,
  COALESCE(pv.p0 >= CAST(4 AS DOUBLE) AND pv.p1 >= CAST(4 AS DOUBLE), FALSE) AS "loyal_buyers",
  COALESCE(pv.p2 <= CAST(2 AS DOUBLE) AND pv.p1 >= CAST(4 AS DOUBLE), FALSE) AS "bargain_hunters",
  COALESCE(CAST(COALESCE(g2.a1, 0) AS DOUBLE) >= CAST(2 AS DOUBLE), FALSE) AS "repeat_shoe_buyers",
  COALESCE(COALESCE(g2.a2, 0) > 0, FALSE) AS "last_sale_buyers",
  COALESCE(COALESCE(g2.a3, 0) > 0, FALSE) AS "discount_buyers",
  COALESCE(pv.p2 >= CAST(4 AS DOUBLE) AND pv.p1 <= CAST(2 AS DOUBLE), FALSE) AS "big_rare_spenders",
  COALESCE(COALESCE(g3.a1, 0) > 0 AND NOT COALESCE(g2.a4, 0) > 0, FALSE) AS "recommendation_clickers",
  COALESCE(
    CAST(COALESCE(g3.a2, 0) AS DOUBLE) >= CAST(10 AS DOUBLE)
    AND NOT COALESCE(g2.a4, 0) > 0,
    FALSE
  ) AS "undecided",
  COALESCE(COALESCE(g3.a3, 0) > 0 AND NOT COALESCE(g2.a5, 0) > 0, FALSE) AS "sale_cart_abandoners",
  COALESCE(COALESCE(g2.a5, 0) > 0, FALSE) AS "sale_buyers"
FROM customers AS s0
LEFT JOIN pv
  ON pv.customer_id = s0.id
LEFT JOIN g2
  ON g2.k = s0.id
LEFT JOIN g3
  ON g3.k = s0.id
ORDER BY
  1
