-- anomalies: unusual sales days and stock situations, stored and announced.
--
-- Pure functions over arrays (C++ core src/core/anomaly): detect_anomalies
-- (robust weekday-seasonal decomposition + MAD z-score), seasonal_hybrid_esd
-- (Twitter's S-H-ESD test). The batch:
--   salesflow.refresh_anomalies()  scores the tenant's daily revenue and
--       order count and the units of its top products on the days touched by
--       uploads since the last run (their whole history decides what is
--       normal), adds stock alerts from replenishment, applies alert_rules and
--       the no-storm rule, stores new alerts in anomalies and sends each one
--       with pg_notify on its rule's channel (default salesflow_alerts).
--   salesflow.acknowledge_alert(), salesflow.list_open_alerts(),
--   salesflow.open_alerts  what an app or a person acts on.

-- ---------------------------------------------------------------------------
-- Pure functions
-- ---------------------------------------------------------------------------
CREATE FUNCTION salesflow.detect_anomalies(y float8[], period int DEFAULT 7, threshold float8 DEFAULT 4,
                                           direction text DEFAULT 'both', min_abs_change float8 DEFAULT 0,
                                           from_index int DEFAULT 1)
RETURNS TABLE(idx int, observed float8, expected float8, score float8)
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_detect_anomalies';
COMMENT ON FUNCTION salesflow.detect_anomalies(float8[], int, float8, text, float8, int) IS
    'Unusual values of a series (daily sales: period 7): robust decomposition (rolling-median trend, per-weekday seasonal), residuals scored by a MAD-based robust z; returns the 1-based index, observed and expected value and the signed score (> 0 spike) of every value from from_index on with |score| > threshold (lower = more sensitive) and |observed - expected| >= min_abs_change. direction: both, spike or drop. Series shorter than 56 values report nothing.';

CREATE FUNCTION salesflow.seasonal_hybrid_esd(y float8[], period int DEFAULT 7, max_anoms float8 DEFAULT 0.02,
                                              alpha float8 DEFAULT 0.05, direction text DEFAULT 'both',
                                              longterm boolean DEFAULT false, only_last int DEFAULT 0)
RETURNS TABLE(idx int, observed float8, expected float8, score float8)
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_seasonal_hybrid_esd';
COMMENT ON FUNCTION salesflow.seasonal_hybrid_esd(float8[], int, float8, float8, text, boolean, int) IS
    'Seasonal Hybrid ESD test (Hochenbaum, Vallis & Kejariwal 2017, Twitter AnomalyDetection): at most max_anoms of the values, significance alpha, optionally on two-week windows (longterm) and reporting only the last only_last values; score is the test statistic in MADs (signed).';

CREATE FUNCTION salesflow._suppress_storms(entity bigint[], day bigint[], score float8[], history_entity bigint[],
                                           history_day bigint[], history_score float8[], cooldown_days int,
                                           escalation float8)
RETURNS TABLE(entity bigint, day bigint, score float8)
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_suppress_storms';
COMMENT ON FUNCTION salesflow._suppress_storms(bigint[], bigint[], float8[], bigint[], bigint[], float8[], int, float8) IS
    'Internal: the no-storm rule (one alert per entity and day; within cooldown_days of the last alert in the same direction only a score escalation times larger alerts again); returns the candidates kept.';

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------
CREATE TABLE salesflow.alert_rules (
    tenant_id      bigint  NOT NULL DEFAULT salesflow.current_tenant_id() REFERENCES salesflow.tenants ON DELETE CASCADE,
    metric         text    NOT NULL,
    enabled        boolean NOT NULL DEFAULT true,
    min_score      float8  NOT NULL DEFAULT 4 CHECK (min_score > 0),
    min_abs_change float8  NOT NULL DEFAULT 0 CHECK (min_abs_change >= 0),
    direction      text    NOT NULL DEFAULT 'both' CHECK (direction IN ('both', 'spike', 'drop')),
    cooldown_days  int     NOT NULL DEFAULT 7 CHECK (cooldown_days BETWEEN 0 AND 365),
    channel        text    NOT NULL DEFAULT 'salesflow_alerts' CHECK (channel ~ '^[a-z_][a-z0-9_]{0,62}$'),
    PRIMARY KEY (tenant_id, metric),
    CONSTRAINT alert_rules_metric_check
        CHECK (metric IN ('revenue', 'orders', 'product_units', 'stockout_risk', 'below_safety_stock'))
);
COMMENT ON TABLE salesflow.alert_rules IS
    'Per tenant and metric: whether and how sensitively to alert, and on which NOTIFY channel. A metric without a row uses the defaults of the columns.';
COMMENT ON COLUMN salesflow.alert_rules.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.alert_rules.metric IS 'revenue, orders (tenant per day), product_units (top products per day), stockout_risk, below_safety_stock (from replenishment).';
COMMENT ON COLUMN salesflow.alert_rules.enabled IS 'false: never alert on this metric.';
COMMENT ON COLUMN salesflow.alert_rules.min_score IS 'Minimum |robust z| of a sales anomaly (4: about 0.4 false alarms per series-year; lower = more sensitive).';
COMMENT ON COLUMN salesflow.alert_rules.min_abs_change IS 'Minimum |observed - expected| in the metric''s units (currency, orders, units).';
COMMENT ON COLUMN salesflow.alert_rules.direction IS 'both, spike or drop.';
COMMENT ON COLUMN salesflow.alert_rules.cooldown_days IS 'After an alert, days in which the same entity and direction alert again only when 1.5 times as unusual (stock: only after the open alert is acknowledged).';
COMMENT ON COLUMN salesflow.alert_rules.channel IS 'NOTIFY channel the alert is sent on.';
SELECT salesflow._tenant_table('salesflow.alert_rules');

CREATE SEQUENCE salesflow.anomalies_anomaly_id_seq AS bigint;
CREATE TABLE salesflow.anomalies (
    tenant_id       bigint      NOT NULL REFERENCES salesflow.tenants ON DELETE CASCADE,
    anomaly_id      bigint      NOT NULL DEFAULT nextval('salesflow.anomalies_anomaly_id_seq'),
    kind            text        NOT NULL CHECK (kind IN ('sales', 'stock')),
    metric          text        NOT NULL,
    entity_type     text        NOT NULL CHECK (entity_type IN ('tenant', 'product')),
    entity_id       bigint      NOT NULL,
    entity          text        NOT NULL,
    day             date        NOT NULL,
    observed        float8      NOT NULL,
    expected        float8,
    score           float8,
    direction       text        NOT NULL,
    message         text        NOT NULL,
    channel         text        NOT NULL,
    detected_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    acknowledged_by text,
    acknowledged_at timestamptz,
    PRIMARY KEY (tenant_id, anomaly_id),
    UNIQUE (tenant_id, metric, entity_id, day)
);
ALTER SEQUENCE salesflow.anomalies_anomaly_id_seq OWNED BY salesflow.anomalies.anomaly_id;
CREATE INDEX anomalies_open_idx ON salesflow.anomalies (tenant_id, detected_at) WHERE acknowledged_at IS NULL;
COMMENT ON TABLE salesflow.anomalies IS
    'Alerts: unusual sales days (spikes and drops) and stock situations, one per entity, metric and day, until acknowledged.';
COMMENT ON COLUMN salesflow.anomalies.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.anomalies.anomaly_id IS 'Alert id (for acknowledge_alert).';
COMMENT ON COLUMN salesflow.anomalies.kind IS 'sales or stock.';
COMMENT ON COLUMN salesflow.anomalies.metric IS 'revenue, orders, product_units, stockout_risk or below_safety_stock.';
COMMENT ON COLUMN salesflow.anomalies.entity_type IS 'tenant (whole-shop metrics) or product.';
COMMENT ON COLUMN salesflow.anomalies.entity_id IS 'Product id, 0 for the tenant.';
COMMENT ON COLUMN salesflow.anomalies.entity IS 'Readable entity: the tenant name, or SKU and product name.';
COMMENT ON COLUMN salesflow.anomalies.day IS 'Day of the unusual value (stock: the day of the replenishment run).';
COMMENT ON COLUMN salesflow.anomalies.observed IS 'Observed value (stock: units available).';
COMMENT ON COLUMN salesflow.anomalies.expected IS 'What was expected (sales: trend + weekday pattern; stock: safety stock, or units needed until the stockout date).';
COMMENT ON COLUMN salesflow.anomalies.score IS 'Signed robust z (> 0 spike); NULL for stock alerts.';
COMMENT ON COLUMN salesflow.anomalies.direction IS 'spike, drop, or for stock alerts the metric.';
COMMENT ON COLUMN salesflow.anomalies.message IS 'One sentence a person can read.';
COMMENT ON COLUMN salesflow.anomalies.channel IS 'NOTIFY channel it was sent on.';
COMMENT ON COLUMN salesflow.anomalies.detected_at IS 'When it was detected.';
COMMENT ON COLUMN salesflow.anomalies.acknowledged_by IS 'Role that acknowledged it.';
COMMENT ON COLUMN salesflow.anomalies.acknowledged_at IS 'When it was acknowledged (NULL: open).';
SELECT salesflow._tenant_table('salesflow.anomalies');
SELECT pg_catalog.pg_extension_config_dump('salesflow.anomalies_anomaly_id_seq', '');
GRANT USAGE ON SEQUENCE salesflow.anomalies_anomaly_id_seq TO salesflow_writer;

CREATE TABLE salesflow.anomaly_scans (
    tenant_id      bigint      NOT NULL REFERENCES salesflow.tenants ON DELETE CASCADE,
    last_upload_id bigint      NOT NULL,
    scanned_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id)
);
COMMENT ON TABLE salesflow.anomaly_scans IS 'Where refresh_anomalies stopped per tenant: uploads up to last_upload_id are scored.';
COMMENT ON COLUMN salesflow.anomaly_scans.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.anomaly_scans.last_upload_id IS 'Newest upload whose days were scored.';
COMMENT ON COLUMN salesflow.anomaly_scans.scanned_at IS 'When the last scan ran.';
SELECT salesflow._tenant_table('salesflow.anomaly_scans');

-- ---------------------------------------------------------------------------
-- The batch
-- ---------------------------------------------------------------------------
CREATE FUNCTION salesflow._alert_message(metric text, entity text, day date, observed float8, expected float8,
                                         score float8)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE metric
        WHEN 'stockout_risk' THEN
            CASE WHEN observed <= 0
                 THEN format('%s is out of stock (%s units available) and no order arrives in time.',
                             entity, round(observed::numeric, 1))
                 ELSE format('%s: %s units available will run out before a new order can arrive (about %s units needed until then).',
                             entity, round(observed::numeric, 1), round(expected::numeric, 1)) END
        WHEN 'below_safety_stock' THEN
            format('%s: %s units available, below the safety stock of %s.', entity, round(observed::numeric, 1),
                   round(expected::numeric, 1))
        ELSE
            format('%s of %s on %s: %s, usually about %s on this weekday (%san unusual %s, score %s).',
                   CASE metric WHEN 'revenue' THEN 'Revenue' WHEN 'orders' THEN 'Orders' ELSE 'Units sold' END,
                   entity, to_char(day, 'YYYY-MM-DD'), round(observed::numeric, 2), round(expected::numeric, 2),
                   CASE WHEN expected > 0
                        THEN CASE WHEN observed >= expected THEN '+' ELSE '' END
                             || round((100 * (observed - expected) / expected)::numeric)::text || '%, '
                        ELSE '' END,
                   CASE WHEN score > 0 THEN 'spike' ELSE 'drop' END, round(score::numeric, 1))
    END
$$;
COMMENT ON FUNCTION salesflow._alert_message(text, text, date, float8, float8, float8) IS 'Internal: the readable sentence of an alert.';

CREATE FUNCTION salesflow.refresh_anomalies(tenant text DEFAULT NULL, only_changed boolean DEFAULT true)
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
         CROSS JOIN LATERAL salesflow.detect_anomalies(s.y, 7, r.min_score, r.direction, r.min_abs_change,
                                                       greatest(1, from_day - s.start + 1)) f;

        -- units of the top products by revenue over the last year (only those
        -- touched by new uploads when only_changed)
        INSERT INTO sf_an_candidates
        SELECT 'product_units', 'product', s.product_id, s.label, s.start + (f.idx - 1), f.observed, f.expected, f.score
          FROM (SELECT t.product_id, t.label, t.start,
                       array_agg(coalesce(d.units, 0)::float8 ORDER BY g.day) AS y
                  FROM (SELECT p.product_id, left(p.sku || coalesce(' ' || p.name, ''), 200) AS label,
                               greatest(first_day, (p.first_sold_at AT TIME ZONE tn.timezone)::date) AS start
                          FROM salesflow.products p
                          JOIN salesflow.tenants tn ON tn.tenant_id = p.tenant_id
                          JOIN (SELECT d.product_id, sum(d.revenue) AS revenue FROM salesflow.sales_daily d
                                 WHERE d.tenant_id = tid AND d.day > as_of - 365 GROUP BY d.product_id
                                 ORDER BY 2 DESC, 1 LIMIT top_n) top ON top.product_id = p.product_id
                         WHERE p.tenant_id = tid AND NOT p.is_non_product
                           AND (NOT only_changed OR last_upload IS NULL OR p.changed_by_upload > last_upload)) t
                 CROSS JOIN LATERAL generate_series(t.start, as_of, interval '1 day') g(day)
                  LEFT JOIN salesflow.sales_daily d ON d.tenant_id = tid AND d.product_id = t.product_id AND d.day = g.day::date
                 GROUP BY t.product_id, t.label, t.start) s
          JOIN sf_an_rules r ON r.metric = 'product_units' AND r.enabled
         CROSS JOIN LATERAL salesflow.detect_anomalies(s.y, 7, r.min_score, r.direction, r.min_abs_change,
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

CREATE FUNCTION salesflow.acknowledge_alert(anomaly_id bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found boolean;
BEGIN
    UPDATE salesflow.anomalies a
       SET acknowledged_by = session_user, acknowledged_at = clock_timestamp()
     WHERE a.anomaly_id = acknowledge_alert.anomaly_id AND a.acknowledged_at IS NULL
       AND a.tenant_id = salesflow.require_tenant()
    RETURNING true INTO found;
    RETURN coalesce(found, false);
END
$$;
COMMENT ON FUNCTION salesflow.acknowledge_alert(bigint) IS
    'Marks an open alert of the session''s tenant as acknowledged by the session user; false when there is no such open alert.';

CREATE FUNCTION salesflow.list_open_alerts(kind text DEFAULT NULL, max_rows int DEFAULT 100)
RETURNS SETOF salesflow.anomalies
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.* FROM salesflow.anomalies a
     WHERE a.tenant_id = salesflow.require_tenant() AND a.acknowledged_at IS NULL
       AND (list_open_alerts.kind IS NULL OR a.kind = list_open_alerts.kind)
     ORDER BY a.detected_at DESC, a.anomaly_id DESC
     LIMIT max_rows
$$;
COMMENT ON FUNCTION salesflow.list_open_alerts(text, int) IS
    'Open (unacknowledged) alerts of the session''s tenant, newest first; kind sales or stock, or NULL for both.';

CREATE VIEW salesflow.open_alerts WITH (security_invoker = true, security_barrier = true) AS
SELECT a.tenant_id, a.anomaly_id, a.kind, a.metric, a.entity, a.day, a.observed, a.expected, a.score, a.direction,
       a.message, a.detected_at
  FROM salesflow.anomalies a
 WHERE a.acknowledged_at IS NULL;
COMMENT ON VIEW salesflow.open_alerts IS 'Alerts not yet acknowledged.';
GRANT SELECT ON salesflow.open_alerts TO salesflow_reader;
