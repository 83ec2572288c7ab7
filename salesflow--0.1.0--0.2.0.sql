-- salesflow 0.1.0 -> 0.2.0. Run by ALTER EXTENSION salesflow UPDATE.
--
-- Every schema change made in src/sql/ since 0.1.0 is repeated here, so that an
-- upgraded database ends up exactly like a fresh 0.2.0 install; scripts/upgrade-check
-- proves it (README, "Releases"). Keep user data: ALTER tables, never drop and
-- recreate them; CREATE OR REPLACE functions and views.
\echo Use "ALTER EXTENSION salesflow UPDATE TO '0.2.0'" to load this file. \quit

-- anomalies (#18): the false-alarm budget (detect_anomalies_budget, used by
-- refresh_anomalies), its settings, products only above a revenue share
-- (the settings catalogue of #15 is created earlier in this script once its
-- step is here; until then the definitions wait for it)
DO $upgrade$
BEGIN
    IF to_regclass('salesflow.setting_definitions') IS NOT NULL THEN
        INSERT INTO salesflow.setting_definitions (name, type, default_value, minimum, maximum, choices, description) VALUES
            ('anomalies.alarms_per_quarter', 'number', '1', 0.01, 90, NULL, 'False-alarm budget: about this many alerts per series (tenant revenue, orders, each product) and quarter on ordinary days; raises a noisy series'' threshold above the rule''s min_score.'),
            ('anomalies.product_min_share', 'number', '0.02', 0, 1, NULL, 'Products alert only when they hold at least this share of the tenant''s revenue over the last year.');
    END IF;
END
$upgrade$;

CREATE FUNCTION salesflow.detect_anomalies_budget(y float8[], period int DEFAULT 7, alarms_per_quarter float8 DEFAULT 1,
                                                  min_score float8 DEFAULT 4, direction text DEFAULT 'both',
                                                  min_abs_change float8 DEFAULT 0, from_index int DEFAULT 1,
                                                  method text DEFAULT 'mad')
RETURNS TABLE(idx int, observed float8, expected float8, score float8)
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_detect_anomalies_budget';
COMMENT ON FUNCTION salesflow.detect_anomalies_budget(float8[], int, float8, float8, text, float8, int, text) IS
    'Unusual values of a series under a false-alarm budget: each side''s threshold is the score the series'' own ordinary days exceed alarms_per_quarter times a quarter (extrapolated from the median and 80% quantile of its scores), at least min_score and at most max(6, min_score); a zero on a normally busy day (the same weekday sold >= 3 in each of the previous 8 weeks) is always reported. method mad: robust z of the whole-history additive decomposition (the default); local: each day against its own neighbourhood with the day left out. Returns the 1-based index, observed and expected value and the signed score (> 0 spike) from from_index on; series shorter than 56 values report nothing.';

COMMENT ON COLUMN salesflow.alert_rules.min_score IS 'Minimum |robust z| of a sales anomaly; the false-alarm budget (setting anomalies.alarms_per_quarter) raises a series'' threshold above it where its ordinary days are noisier. Lower = more sensitive.';

CREATE OR REPLACE FUNCTION salesflow.refresh_anomalies(tenant text DEFAULT NULL, only_changed boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid bigint := salesflow.require_tenant(tenant);
    tenant_name text := (SELECT tn.name FROM salesflow.tenants tn WHERE tn.tenant_id = tid);
    lookback int := (salesflow._tenant_setting(tid, 'anomalies.lookback_days', '30') #>> '{}')::int;
    history int := (salesflow._tenant_setting(tid, 'anomalies.history_days', '730') #>> '{}')::int;
    top_n int := (salesflow._tenant_setting(tid, 'anomalies.top_products', '20') #>> '{}')::int;
    escalation float8 := (salesflow._tenant_setting(tid, 'anomalies.escalation', '1.5') #>> '{}')::float8;
    -- products alert only when they matter: this share of the tenant's
    -- revenue over the last year at least; and each series (tenant revenue,
    -- orders, each product) may raise about this many false alarms a quarter
    -- (the threshold of detect_anomalies_budget, never below the rule's min_score)
    min_share float8 := (salesflow._tenant_setting(tid, 'anomalies.product_min_share', '0.02') #>> '{}')::float8;
    budget float8 := (salesflow._tenant_setting(tid, 'anomalies.alarms_per_quarter', '1') #>> '{}')::float8;
    as_of date;
    first_day date;
    from_day date;
    last_upload bigint;
    newest_upload bigint;
    m text;
    n bigint := 0;
    a record;
BEGIN
    SELECT max(d.day) INTO as_of FROM salesflow.sales_daily d WHERE d.tenant_id = tid;
    SELECT s.last_upload_id INTO last_upload FROM salesflow.anomaly_scans s WHERE s.tenant_id = tid;
    SELECT max(u.upload_id) INTO newest_upload FROM salesflow.uploads u WHERE u.tenant_id = tid;

    IF to_regclass('pg_temp.sf_an_rules') IS NOT NULL THEN
        DROP TABLE sf_an_rules, sf_an_candidates;
    END IF;
    CREATE TEMP TABLE sf_an_rules ON COMMIT DROP AS
    SELECT mt.metric, coalesce(r.enabled, true) AS enabled, coalesce(r.min_score, 4) AS min_score,
           coalesce(r.min_abs_change, 0) AS min_abs_change, coalesce(r.direction, 'both') AS direction,
           coalesce(r.cooldown_days, 7) AS cooldown_days, coalesce(r.channel, 'salesflow_alerts') AS channel
      FROM unnest(ARRAY['revenue', 'orders', 'product_units', 'stockout_risk', 'below_safety_stock']) mt(metric)
      LEFT JOIN salesflow.alert_rules r ON r.tenant_id = tid AND r.metric = mt.metric;
    CREATE TEMP TABLE sf_an_candidates (metric text, entity_type text, entity_id bigint, entity text, day date,
                                        observed float8, expected float8, score float8) ON COMMIT DROP;

    IF as_of IS NOT NULL THEN
        first_day := as_of - (history - 1);
        -- the days to score: those of invoices uploaded since the last scan
        -- (all of the lookback window on the first scan or with only_changed
        -- false), never older than the lookback window
        IF only_changed AND last_upload IS NOT NULL THEN
            SELECT min(i.day) INTO from_day FROM salesflow.invoices i
             WHERE i.tenant_id = tid AND i.upload_id > last_upload;
        ELSE
            from_day := as_of - (lookback - 1);
        END IF;
        from_day := greatest(from_day, as_of - (lookback - 1));
    END IF;

    IF from_day IS NOT NULL THEN
        -- tenant revenue and order count per day, gap-filled
        INSERT INTO sf_an_candidates
        SELECT s.metric, 'tenant', 0, tenant_name, s.start + (f.idx - 1), f.observed, f.expected, f.score
          FROM (SELECT 'revenue' AS metric, min(g.day)::date AS start,
                       array_agg(coalesce(v.revenue, 0)::float8 ORDER BY g.day) AS y
                  FROM generate_series(greatest(first_day, (SELECT min(d.day) FROM salesflow.sales_daily d WHERE d.tenant_id = tid)),
                                       as_of, interval '1 day') g(day)
                  LEFT JOIN (SELECT d.day, sum(d.revenue) AS revenue FROM salesflow.sales_daily d
                              WHERE d.tenant_id = tid AND d.day >= first_day GROUP BY d.day) v ON v.day = g.day::date
                UNION ALL
                SELECT 'orders', min(g.day)::date, array_agg(coalesce(v.orders, 0)::float8 ORDER BY g.day)
                  FROM generate_series(greatest(first_day, (SELECT min(d.day) FROM salesflow.sales_daily d WHERE d.tenant_id = tid)),
                                       as_of, interval '1 day') g(day)
                  LEFT JOIN (SELECT i.day, count(*) AS orders FROM salesflow.invoices i
                              WHERE i.tenant_id = tid AND NOT i.is_return AND i.day >= first_day GROUP BY i.day) v
                    ON v.day = g.day::date) s
          JOIN sf_an_rules r ON r.metric = s.metric AND r.enabled
         CROSS JOIN LATERAL salesflow.detect_anomalies_budget(s.y, 7, budget, r.min_score, r.direction, r.min_abs_change,
                                                              greatest(1, from_day - s.start + 1)) f;

        -- units of the top products by revenue over the last year that hold
        -- at least min_share of it (only those touched by new uploads when
        -- only_changed)
        INSERT INTO sf_an_candidates
        SELECT 'product_units', 'product', s.product_id, s.label, s.start + (f.idx - 1), f.observed, f.expected, f.score
          FROM (SELECT t.product_id, t.label, t.start,
                       array_agg(coalesce(d.units, 0)::float8 ORDER BY g.day) AS y
                  FROM (SELECT p.product_id, left(p.sku || coalesce(' ' || p.name, ''), 200) AS label,
                               greatest(first_day, (p.first_sold_at AT TIME ZONE tn.timezone)::date) AS start
                          FROM salesflow.products p
                          JOIN salesflow.tenants tn ON tn.tenant_id = p.tenant_id
                          JOIN (SELECT d.product_id, sum(d.revenue) AS revenue,
                                       sum(d.revenue) / nullif(sum(sum(d.revenue)) OVER (), 0) AS share
                                  FROM salesflow.sales_daily d
                                 WHERE d.tenant_id = tid AND d.day > as_of - 365 GROUP BY d.product_id
                                 ORDER BY 2 DESC, 1 LIMIT top_n) top ON top.product_id = p.product_id
                                                                   AND top.share >= min_share
                         WHERE p.tenant_id = tid AND NOT p.is_non_product
                           AND (NOT only_changed OR last_upload IS NULL OR p.changed_by_upload > last_upload)) t
                 CROSS JOIN LATERAL generate_series(t.start, as_of, interval '1 day') g(day)
                  LEFT JOIN salesflow.sales_daily d ON d.tenant_id = tid AND d.product_id = t.product_id AND d.day = g.day::date
                 GROUP BY t.product_id, t.label, t.start) s
          JOIN sf_an_rules r ON r.metric = 'product_units' AND r.enabled
         CROSS JOIN LATERAL salesflow.detect_anomalies_budget(s.y, 7, budget, r.min_score, r.direction, r.min_abs_change,
                                                              greatest(1, from_day - s.start + 1)) f;
    END IF;

    -- the no-storm rule per sales metric, against the alerts already sent
    FOREACH m IN ARRAY ARRAY['revenue', 'orders', 'product_units'] LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM sf_an_candidates c WHERE c.metric = m);
        DELETE FROM sf_an_candidates c
         WHERE c.metric = m
           AND (c.entity_id, c.day - date '2000-01-01') NOT IN (
               SELECT k.entity, k.day
                 FROM salesflow._suppress_storms(
                          (SELECT array_agg(x.entity_id) FROM sf_an_candidates x WHERE x.metric = m),
                          (SELECT array_agg((x.day - date '2000-01-01')::bigint) FROM sf_an_candidates x WHERE x.metric = m),
                          (SELECT array_agg(x.score) FROM sf_an_candidates x WHERE x.metric = m),
                          (SELECT coalesce(array_agg(h.entity_id), '{}') FROM salesflow.anomalies h
                            WHERE h.tenant_id = tid AND h.metric = m AND h.score IS NOT NULL),
                          (SELECT coalesce(array_agg((h.day - date '2000-01-01')::bigint), '{}') FROM salesflow.anomalies h
                            WHERE h.tenant_id = tid AND h.metric = m AND h.score IS NOT NULL),
                          (SELECT coalesce(array_agg(h.score), '{}') FROM salesflow.anomalies h
                            WHERE h.tenant_id = tid AND h.metric = m AND h.score IS NOT NULL),
                          (SELECT r.cooldown_days FROM sf_an_rules r WHERE r.metric = m), escalation) k);
    END LOOP;

    -- stock alerts from the last replenishment run: one open alert per
    -- product and metric until acknowledged or the cool-down has passed
    INSERT INTO sf_an_candidates
    SELECT x.metric, 'product', x.product_id, left(p.sku || coalesce(' ' || p.name, ''), 200), x.as_of, x.observed,
           x.expected, NULL
      FROM (SELECT 'stockout_risk' AS metric, r.product_id, r.as_of, r.on_hand - r.backorders AS observed,
                   r.daily_demand * (r.stockout_date - r.as_of + 1) AS expected
              FROM salesflow.replenishment r
             WHERE r.tenant_id = tid AND r.stockout_date IS NOT NULL
               AND r.stockout_date < r.as_of + ceil(r.lead_time_days)::int
               AND (r.next_receipt IS NULL OR r.next_receipt > r.stockout_date)
            UNION ALL
            SELECT 'below_safety_stock', r.product_id, r.as_of, r.on_hand - r.backorders, r.safety_stock
              FROM salesflow.replenishment r
             WHERE r.tenant_id = tid AND r.safety_stock > 0 AND r.on_hand - r.backorders < r.safety_stock) x
      JOIN salesflow.products p ON p.tenant_id = tid AND p.product_id = x.product_id
      JOIN sf_an_rules ru ON ru.metric = x.metric AND ru.enabled
     WHERE NOT EXISTS (SELECT 1 FROM salesflow.anomalies h
                        WHERE h.tenant_id = tid AND h.metric = x.metric AND h.entity_id = x.product_id
                          AND h.acknowledged_at IS NULL AND h.day > x.as_of - ru.cooldown_days);

    FOR a IN
        INSERT INTO salesflow.anomalies AS t (tenant_id, kind, metric, entity_type, entity_id, entity, day, observed,
                                              expected, score, direction, message, channel, detected_at)
        SELECT tid, CASE WHEN c.score IS NULL THEN 'stock' ELSE 'sales' END, c.metric, c.entity_type, c.entity_id,
               c.entity, c.day, c.observed, c.expected, c.score,
               CASE WHEN c.score IS NULL THEN c.metric WHEN c.score > 0 THEN 'spike' ELSE 'drop' END,
               salesflow._alert_message(c.metric, c.entity, c.day, c.observed, c.expected, c.score), r.channel,
               clock_timestamp()
          FROM sf_an_candidates c JOIN sf_an_rules r ON r.metric = c.metric
         ORDER BY c.day, c.metric, c.entity_id
        ON CONFLICT (tenant_id, metric, entity_id, day) DO NOTHING
        RETURNING t.*
    LOOP
        PERFORM salesflow._notify(a.channel, 'alert', a.anomaly_id);
        n := n + 1;
    END LOOP;

    IF newest_upload IS NOT NULL THEN
        INSERT INTO salesflow.anomaly_scans AS s (tenant_id, last_upload_id, scanned_at)
        VALUES (tid, newest_upload, clock_timestamp())
        ON CONFLICT (tenant_id) DO UPDATE SET last_upload_id = excluded.last_upload_id, scanned_at = excluded.scanned_at;
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION salesflow.refresh_anomalies(text, boolean) IS
    'Detects unusual sales days (tenant revenue and orders, units of the top products) on the days touched since the last scan (at most anomalies.lookback_days back) and stock alerts from replenishment; stores new alerts in anomalies after the alert rules and the no-storm rule, and sends each alert''s id with pg_notify (the receiver reads the alert through RLS). Returns the number of new alerts.';
