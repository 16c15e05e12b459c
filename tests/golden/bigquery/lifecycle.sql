WITH g1 AS (
  SELECT
    s1.customer_id AS k,
    MIN(IF(s1.`at` <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP), s1.`at`, NULL)) AS a1,
    COUNTIF(
      s1.`at` > CAST('2026-04-16 12:00:00+00:00' AS TIMESTAMP)
      AND s1.`at` <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP)
    ) AS a2,
    MAX(IF(s1.`at` <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP), s1.`at`, NULL)) AS a3,
    COUNTIF(
      s1.`at` > CAST('2025-07-15 12:00:00+00:00' AS TIMESTAMP)
      AND s1.`at` <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP)
    ) AS a4,
    SUM(
      IF(
        s1.`at` > CAST('2025-07-15 12:00:00+00:00' AS TIMESTAMP)
        AND s1.`at` <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP),
        CAST(ROUND(s1.total * CAST(1000000000 AS FLOAT64)) AS BIGNUMERIC),
        NULL
      )
    ) AS a5
  FROM orders AS s1
  GROUP BY
    s1.customer_id
), g2 AS (
  SELECT
    s1.customer_id AS k,
    COUNTIF(
      (
        s1.`at` > CAST('2026-06-15 12:00:00+00:00' AS TIMESTAMP)
        AND s1.`at` <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP)
      )
      AND s1.type = 'visit'
    ) AS a1,
    COUNTIF(
      (
        s1.`at` > CAST('2026-06-15 12:00:00+00:00' AS TIMESTAMP)
        AND s1.`at` <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP)
      )
      AND s1.type = 'email_open'
    ) AS a2,
    COUNTIF(
      (
        s1.`at` > CAST('2026-06-15 12:00:00+00:00' AS TIMESTAMP)
        AND s1.`at` <= CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP)
      )
      AND s1.type = 'email_click'
    ) AS a3
  FROM events AS s1
  GROUP BY
    s1.customer_id
), pm AS (
  SELECT
    s0.id AS customer_id,
    CASE
      WHEN ABS(1784116800000000 - UNIX_MICROS(g1.a3)) >= 9007199254740992
      THEN ERROR('days_between() of instants more than 285 years apart')
      ELSE FLOOR(
        (
          CAST(1784116800000000 - UNIX_MICROS(g1.a3) AS FLOAT64) / CAST(1000000 AS FLOAT64)
        ) / CAST(86400 AS FLOAT64)
      )
    END AS v0,
    CASE
      WHEN CASE
        WHEN ABS(1784116800000000 - UNIX_MICROS(g1.a3)) >= 9007199254740992
        THEN ERROR('days_between() of instants more than 285 years apart')
        ELSE FLOOR(
          (
            CAST(1784116800000000 - UNIX_MICROS(g1.a3) AS FLOAT64) / CAST(1000000 AS FLOAT64)
          ) / CAST(86400 AS FLOAT64)
        )
      END IS NULL
      THEN CAST(NULL AS FLOAT64)
      ELSE CAST(COALESCE(g1.a4, 0) AS FLOAT64)
    END AS v1,
    CASE
      WHEN CASE
        WHEN ABS(1784116800000000 - UNIX_MICROS(g1.a3)) >= 9007199254740992
        THEN ERROR('days_between() of instants more than 285 years apart')
        ELSE FLOOR(
          (
            CAST(1784116800000000 - UNIX_MICROS(g1.a3) AS FLOAT64) / CAST(1000000 AS FLOAT64)
          ) / CAST(86400 AS FLOAT64)
        )
      END IS NULL
      THEN CAST(NULL AS FLOAT64)
      ELSE COALESCE(CAST(CAST(g1.a5 AS STRING) || 'e-9' AS FLOAT64), CAST(0 AS FLOAT64))
    END AS v2
  FROM customers AS s0
  LEFT JOIN g1
    ON g1.k = s0.id
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
), pt AS (
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
), pv AS (
  SELECT
    pt.*,
    CASE CAST((
        (
          pt.p0 * CAST(100 AS FLOAT64)
        ) + (
          pt.p1 * CAST(10 AS FLOAT64)
        )
      ) + pt.p2 AS INT64)
      WHEN 111
      THEN 'lost'
      WHEN 112
      THEN 'lost'
      WHEN 113
      THEN 'cant_lose_them'
      WHEN 114
      THEN 'cant_lose_them'
      WHEN 115
      THEN 'cant_lose_them'
      WHEN 121
      THEN 'lost'
      WHEN 122
      THEN 'hibernating'
      WHEN 123
      THEN 'hibernating'
      WHEN 124
      THEN 'at_risk'
      WHEN 125
      THEN 'at_risk'
      WHEN 131
      THEN 'lost'
      WHEN 132
      THEN 'hibernating'
      WHEN 133
      THEN 'at_risk'
      WHEN 134
      THEN 'at_risk'
      WHEN 135
      THEN 'at_risk'
      WHEN 141
      THEN 'lost'
      WHEN 142
      THEN 'at_risk'
      WHEN 143
      THEN 'at_risk'
      WHEN 144
      THEN 'cant_lose_them'
      WHEN 145
      THEN 'at_risk'
      WHEN 151
      THEN 'lost'
      WHEN 152
      THEN 'at_risk'
      WHEN 153
      THEN 'at_risk'
      WHEN 154
      THEN 'cant_lose_them'
      WHEN 155
      THEN 'cant_lose_them'
      WHEN 211
      THEN 'hibernating'
      WHEN 212
      THEN 'hibernating'
      WHEN 213
      THEN 'about_to_sleep'
      WHEN 214
      THEN 'cant_lose_them'
      WHEN 215
      THEN 'cant_lose_them'
      WHEN 221
      THEN 'about_to_sleep'
      WHEN 222
      THEN 'hibernating'
      WHEN 223
      THEN 'hibernating'
      WHEN 224
      THEN 'at_risk'
      WHEN 225
      THEN 'at_risk'
      WHEN 231
      THEN 'about_to_sleep'
      WHEN 232
      THEN 'hibernating'
      WHEN 233
      THEN 'hibernating'
      WHEN 234
      THEN 'at_risk'
      WHEN 235
      THEN 'at_risk'
      WHEN 241
      THEN 'about_to_sleep'
      WHEN 242
      THEN 'at_risk'
      WHEN 243
      THEN 'at_risk'
      WHEN 244
      THEN 'at_risk'
      WHEN 245
      THEN 'at_risk'
      WHEN 251
      THEN 'about_to_sleep'
      WHEN 252
      THEN 'at_risk'
      WHEN 253
      THEN 'at_risk'
      WHEN 254
      THEN 'at_risk'
      WHEN 255
      THEN 'at_risk'
      WHEN 311
      THEN 'new_customers'
      WHEN 312
      THEN 'about_to_sleep'
      WHEN 313
      THEN 'promising'
      WHEN 314
      THEN 'promising'
      WHEN 315
      THEN 'promising'
      WHEN 321
      THEN 'about_to_sleep'
      WHEN 322
      THEN 'hibernating'
      WHEN 323
      THEN 'potential_loyalist'
      WHEN 324
      THEN 'need_attention'
      WHEN 325
      THEN 'need_attention'
      WHEN 331
      THEN 'about_to_sleep'
      WHEN 332
      THEN 'hibernating'
      WHEN 333
      THEN 'potential_loyalist'
      WHEN 334
      THEN 'need_attention'
      WHEN 335
      THEN 'loyal'
      WHEN 341
      THEN 'potential_loyalist'
      WHEN 342
      THEN 'potential_loyalist'
      WHEN 343
      THEN 'need_attention'
      WHEN 344
      THEN 'loyal'
      WHEN 345
      THEN 'loyal'
      WHEN 351
      THEN 'potential_loyalist'
      WHEN 352
      THEN 'potential_loyalist'
      WHEN 353
      THEN 'potential_loyalist'
      WHEN 354
      THEN 'loyal'
      WHEN 355
      THEN 'loyal'
      WHEN 411
      THEN 'new_customers'
      WHEN 412
      THEN 'new_customers'
      WHEN 413
      THEN 'promising'
      WHEN 414
      THEN 'promising'
      WHEN 415
      THEN 'promising'
      WHEN 421
      THEN 'new_customers'
      WHEN 422
      THEN 'new_customers'
      WHEN 423
      THEN 'potential_loyalist'
      WHEN 424
      THEN 'promising'
      WHEN 425
      THEN 'promising'
      WHEN 431
      THEN 'potential_loyalist'
      WHEN 432
      THEN 'potential_loyalist'
      WHEN 433
      THEN 'potential_loyalist'
      WHEN 434
      THEN 'need_attention'
      WHEN 435
      THEN 'loyal'
      WHEN 441
      THEN 'potential_loyalist'
      WHEN 442
      THEN 'potential_loyalist'
      WHEN 443
      THEN 'need_attention'
      WHEN 444
      THEN 'loyal'
      WHEN 445
      THEN 'champions'
      WHEN 451
      THEN 'potential_loyalist'
      WHEN 452
      THEN 'potential_loyalist'
      WHEN 453
      THEN 'potential_loyalist'
      WHEN 454
      THEN 'champions'
      WHEN 455
      THEN 'champions'
      WHEN 511
      THEN 'new_customers'
      WHEN 512
      THEN 'new_customers'
      WHEN 513
      THEN 'promising'
      WHEN 514
      THEN 'promising'
      WHEN 515
      THEN 'promising'
      WHEN 521
      THEN 'promising'
      WHEN 522
      THEN 'promising'
      WHEN 523
      THEN 'promising'
      WHEN 524
      THEN 'promising'
      WHEN 525
      THEN 'promising'
      WHEN 531
      THEN 'potential_loyalist'
      WHEN 532
      THEN 'potential_loyalist'
      WHEN 533
      THEN 'potential_loyalist'
      WHEN 534
      THEN 'need_attention'
      WHEN 535
      THEN 'need_attention'
      WHEN 541
      THEN 'potential_loyalist'
      WHEN 542
      THEN 'potential_loyalist'
      WHEN 543
      THEN 'loyal'
      WHEN 544
      THEN 'champions'
      WHEN 545
      THEN 'champions'
      WHEN 551
      THEN 'potential_loyalist'
      WHEN 552
      THEN 'potential_loyalist'
      WHEN 553
      THEN 'potential_loyalist'
      WHEN 554
      THEN 'champions'
      WHEN 555
      THEN 'champions'
    END AS g
  FROM pt
)
SELECT
  s0.id AS customer_id,
  (
    g1.a1 > CASE
      WHEN NOT TIMESTAMP_MICROS(
        UNIX_MICROS(CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP)) + (
          -2592000000000
        )
      ) BETWEEN CAST('0001-01-01 00:00:00+00:00' AS TIMESTAMP) AND CAST('9999-12-31 23:59:59.999999+00:00' AS TIMESTAMP)
      THEN ERROR('a date-time outside the years 1 to 9999')
      ELSE TIMESTAMP_MICROS(
        UNIX_MICROS(CAST('2026-07-15 12:00:00+00:00' AS TIMESTAMP)) + (
          -2592000000000
        )
      )
    END
    OR (
      g1.a1 IS NULL AND CAST(COALESCE(g2.a1, 0) AS FLOAT64) >= CAST(1 AS FLOAT64)
    )
  ) IS TRUE AS `new_customers`,
  (
    CAST(COALESCE(g1.a2, 0) AS FLOAT64) >= CAST(2 AS FLOAT64)
    AND (
      COALESCE(g2.a2, 0) > 0
      OR COALESCE(g2.a3, 0) > 0
      OR CAST(COALESCE(g2.a1, 0) AS FLOAT64) >= CAST(2 AS FLOAT64)
    )
  ) IS TRUE AS `active`,
  (
    CASE
      WHEN ABS(1784116800000000 - UNIX_MICROS(g1.a3)) >= 9007199254740992
      THEN ERROR('days_between() of instants more than 285 years apart')
      ELSE FLOOR(
        (
          CAST(1784116800000000 - UNIX_MICROS(g1.a3) AS FLOAT64) / CAST(1000000 AS FLOAT64)
        ) / CAST(86400 AS FLOAT64)
      )
    END BETWEEN CAST(90 AS FLOAT64) AND CAST(365 AS FLOAT64)
  ) IS TRUE AS `at_risk`,
  (
    CASE
      WHEN ABS(1784116800000000 - UNIX_MICROS(g1.a3)) >= 9007199254740992
      THEN ERROR('days_between() of instants more than 285 years apart')
      ELSE FLOOR(
        (
          CAST(1784116800000000 - UNIX_MICROS(g1.a3) AS FLOAT64) / CAST(1000000 AS FLOAT64)
        ) / CAST(86400 AS FLOAT64)
      )
    END > CAST(365 AS FLOAT64)
  ) IS TRUE AS `churned`,
  (
    g1.a1 IS NULL
  ) IS TRUE AS `prospects`,
  (
    pv.g = 'champions'
  ) IS TRUE AS `champions`,
  (
    pv.g = 'cant_lose_them'
  ) IS TRUE AS `cant_lose_them`,
  (
    pv.g IN ('hibernating', 'lost')
  ) IS TRUE AS `hibernating`
FROM customers AS s0
LEFT JOIN pv
  ON pv.customer_id = s0.id
LEFT JOIN g1
  ON g1.k = s0.id
LEFT JOIN g2
  ON g2.k = s0.id
ORDER BY
  1
