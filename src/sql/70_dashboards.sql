-- dashboards: materialized views for Grafana / Metabase / apps, the tenant
-- views readers use, customer list / profile / search, CSV reports, the
-- refresh procedure with its log and freshness view.
--
-- Materialized views cannot carry row-level security, so they hold every
-- tenant's rows, are owned by salesflow_admin (who refreshes them) and are
-- not readable by anyone else. Readers reach them only through the views
-- below, which run with their owner's rights and return nothing but the rows
-- of salesflow.current_tenant_id() (the salesflow.tenant setting). Each
-- materialized view has a unique index on plain columns, so REFRESH ...
-- CONCURRENTLY works and readers are never blocked by a refresh.

-- ---------------------------------------------------------------------------
-- Materialized views (refresh order = creation order)
-- ---------------------------------------------------------------------------
CREATE MATERIALIZED VIEW salesflow.mv_sales_daily AS
SELECT t.tenant_id, g.day::date AS day, (g.day::date::timestamp AT TIME ZONE t.timezone) AS "time",
       round(coalesce(s.revenue, 0), 2) AS revenue, coalesce(o.orders, 0)::int AS orders,
       round(coalesce(s.units, 0), 3) AS units, coalesce(o.customers, 0)::int AS customers
  FROM salesflow.tenants t
  JOIN (SELECT d.tenant_id, min(d.day) AS first_day, max(d.day) AS last_day
          FROM salesflow.sales_daily d GROUP BY d.tenant_id) r ON r.tenant_id = t.tenant_id
 CROSS JOIN LATERAL generate_series(r.first_day, r.last_day, interval '1 day') g(day)
  LEFT JOIN (SELECT d.tenant_id, d.day, sum(d.revenue) AS revenue, sum(d.units) AS units
               FROM salesflow.sales_daily d GROUP BY d.tenant_id, d.day) s
    ON s.tenant_id = t.tenant_id AND s.day = g.day::date
  LEFT JOIN (SELECT i.tenant_id, i.day, count(*) AS orders, count(DISTINCT i.customer_id) AS customers
               FROM salesflow.invoices i WHERE NOT i.is_return GROUP BY i.tenant_id, i.day) o
    ON o.tenant_id = t.tenant_id AND o.day = g.day::date;
CREATE UNIQUE INDEX mv_sales_daily_key ON salesflow.mv_sales_daily (tenant_id, day);
COMMENT ON MATERIALIZED VIEW salesflow.mv_sales_daily IS
    'Internal (read through salesflow.sales_by_day): revenue, orders, units and customers per tenant and day, gap-filled with zeros.';

CREATE MATERIALIZED VIEW salesflow.mv_sales_monthly AS
SELECT d.tenant_id, date_trunc('month', d.day)::date AS month,
       (date_trunc('month', d.day)::date::timestamp AT TIME ZONE t.timezone) AS "time",
       round(sum(d.revenue), 2) AS revenue, sum(d.orders)::bigint AS orders, round(sum(d.units), 3) AS units,
       coalesce(max(c.customers), 0)::int AS customers
  FROM salesflow.mv_sales_daily d
  JOIN salesflow.tenants t ON t.tenant_id = d.tenant_id
  LEFT JOIN (SELECT i.tenant_id, date_trunc('month', i.day)::date AS month, count(DISTINCT i.customer_id) AS customers
               FROM salesflow.invoices i WHERE NOT i.is_return GROUP BY 1, 2) c
    ON c.tenant_id = d.tenant_id AND c.month = date_trunc('month', d.day)::date
 GROUP BY d.tenant_id, date_trunc('month', d.day)::date, t.timezone;
CREATE UNIQUE INDEX mv_sales_monthly_key ON salesflow.mv_sales_monthly (tenant_id, month);
COMMENT ON MATERIALIZED VIEW salesflow.mv_sales_monthly IS
    'Internal (read through salesflow.sales_by_month): revenue, orders, units and distinct customers per tenant and month.';

CREATE MATERIALIZED VIEW salesflow.mv_top_products AS
SELECT x.tenant_id, x.rank, x.product_id, p.sku, p.name, p.category, x.revenue, x.units, x.orders,
       (x.revenue / nullif(sum(x.revenue) OVER (PARTITION BY x.tenant_id), 0))::float8 AS revenue_share
  FROM (SELECT d.tenant_id, d.product_id, round(sum(d.revenue), 2) AS revenue,
               round(sum(d.units), 3) AS units, sum(d.orders)::bigint AS orders,
               row_number() OVER (PARTITION BY d.tenant_id ORDER BY sum(d.revenue) DESC, d.product_id)::int AS rank
          FROM salesflow.sales_daily d
          JOIN (SELECT l.tenant_id, max(l.day) AS last_day FROM salesflow.sales_daily l GROUP BY l.tenant_id) l
            ON l.tenant_id = d.tenant_id AND d.day > l.last_day - 365
          JOIN salesflow.products pp ON pp.tenant_id = d.tenant_id AND pp.product_id = d.product_id AND NOT pp.is_non_product
         GROUP BY d.tenant_id, d.product_id) x
  JOIN salesflow.products p ON p.tenant_id = x.tenant_id AND p.product_id = x.product_id
 WHERE x.rank <= 100;
CREATE UNIQUE INDEX mv_top_products_key ON salesflow.mv_top_products (tenant_id, product_id);
COMMENT ON MATERIALIZED VIEW salesflow.mv_top_products IS
    'Internal (read through salesflow.top_products): the 100 products with the most revenue over the tenant''s last 365 days of sales.';

CREATE MATERIALIZED VIEW salesflow.mv_top_customers AS
SELECT x.tenant_id, x.rank, x.customer_id, c.ref, c.name, c.country, x.revenue, x.orders, x.last_order_day,
       s.segment, s.value_tier, s.clv, s.churn_label
  FROM (SELECT i.tenant_id, i.customer_id, round(sum(i.total), 2) AS revenue, count(*)::int AS orders,
               max(i.day) AS last_order_day,
               row_number() OVER (PARTITION BY i.tenant_id ORDER BY sum(i.total) DESC, i.customer_id)::int AS rank
          FROM salesflow.invoices i
          JOIN salesflow.customers cc ON cc.tenant_id = i.tenant_id AND cc.customer_id = i.customer_id AND NOT cc.is_anonymous
         WHERE NOT i.is_return
         GROUP BY i.tenant_id, i.customer_id) x
  JOIN salesflow.customers c ON c.tenant_id = x.tenant_id AND c.customer_id = x.customer_id
  LEFT JOIN salesflow.customer_segments s ON s.tenant_id = x.tenant_id AND s.customer_id = x.customer_id
 WHERE x.rank <= 100;
CREATE UNIQUE INDEX mv_top_customers_key ON salesflow.mv_top_customers (tenant_id, customer_id);
COMMENT ON MATERIALIZED VIEW salesflow.mv_top_customers IS
    'Internal (read through salesflow.top_customers): the 100 customers with the most revenue, with segment, tier, CLV and churn label.';

CREATE MATERIALIZED VIEW salesflow.mv_segment_summary AS
SELECT s.tenant_id, s.segment, count(*)::int AS customers,
       (count(*)::float8 / sum(count(*)) OVER (PARTITION BY s.tenant_id)) AS customer_share,
       round(sum(s.monetary::numeric), 2) AS revenue, round(avg(s.clv::numeric), 2) AS avg_clv,
       avg(s.p_alive::numeric)::float8 AS avg_p_alive, avg(s.recency_days::numeric)::float8 AS avg_recency_days
  FROM salesflow.customer_segments s
 GROUP BY s.tenant_id, s.segment;
CREATE UNIQUE INDEX mv_segment_summary_key ON salesflow.mv_segment_summary (tenant_id, segment);
COMMENT ON MATERIALIZED VIEW salesflow.mv_segment_summary IS
    'Internal (read through salesflow.segment_summary): customers, revenue, average CLV and P(alive) per RFM segment.';

CREATE MATERIALIZED VIEW salesflow.mv_churn_clv_summary AS
SELECT s.tenant_id, s.value_tier, coalesce(s.churn_label, 'unknown') AS churn_label, count(*)::int AS customers,
       round(sum(s.clv::numeric), 2) AS clv, avg(s.p_alive::numeric)::float8 AS avg_p_alive,
       sum(s.expected_purchases_90d::numeric) AS expected_purchases_90d
  FROM salesflow.customer_segments s
 GROUP BY s.tenant_id, s.value_tier, coalesce(s.churn_label, 'unknown');
CREATE UNIQUE INDEX mv_churn_clv_summary_key ON salesflow.mv_churn_clv_summary (tenant_id, value_tier, churn_label);
COMMENT ON MATERIALIZED VIEW salesflow.mv_churn_clv_summary IS
    'Internal (read through salesflow.churn_clv_summary): customers, CLV and P(alive) per value tier and churn risk.';

CREATE MATERIALIZED VIEW salesflow.mv_stock_overview AS
SELECT r.tenant_id, r.product_id, p.sku, p.name, p.category, r.category AS buying_category, r.reasons,
       CASE WHEN r.on_hand - r.backorders <= 0 THEN 'out_of_stock'
            WHEN r.on_hand - r.backorders < r.safety_stock THEN 'below_safety_stock'
            WHEN r.on_hand - r.backorders <= r.reorder_point THEN 'below_reorder_point'
            WHEN r.reorder_point IS NULL THEN 'unknown'
            ELSE 'in_stock' END AS stock_status,
       r.on_hand, r.on_order, r.safety_stock, r.reorder_point, r.recommended_qty, r.order_value, r.runway_days,
       r.stockout_date, r.as_of
  FROM salesflow.replenishment r
  JOIN salesflow.products p ON p.tenant_id = r.tenant_id AND p.product_id = r.product_id;
CREATE UNIQUE INDEX mv_stock_overview_key ON salesflow.mv_stock_overview (tenant_id, product_id);
COMMENT ON MATERIALIZED VIEW salesflow.mv_stock_overview IS
    'Internal (read through salesflow.stock_overview): stock status and buying category per stocked product.';

CREATE MATERIALIZED VIEW salesflow.mv_forecast_vs_actual AS
SELECT f.tenant_id, f.day, (f.day::timestamp AT TIME ZONE t.timezone) AS "time",
       sum(f.point::numeric) AS forecast, sum(f.lo80::numeric) AS forecast_lo80, sum(f.hi80::numeric) AS forecast_hi80,
       CASE WHEN f.day <= l.last_day THEN coalesce(sum(d.units), 0) END AS actual
  FROM (SELECT DISTINCT ON (x.tenant_id, x.product_id, x.day) x.tenant_id, x.product_id, x.day, x.point, x.lo80, x.hi80
          FROM salesflow.forecasts x
         WHERE x.location = ''
         ORDER BY x.tenant_id, x.product_id, x.day, x.origin DESC) f
  JOIN salesflow.tenants t ON t.tenant_id = f.tenant_id
  JOIN (SELECT s.tenant_id, max(s.day) AS last_day FROM salesflow.sales_daily s GROUP BY s.tenant_id) l
    ON l.tenant_id = f.tenant_id
  LEFT JOIN salesflow.sales_daily d ON d.tenant_id = f.tenant_id AND d.product_id = f.product_id AND d.day = f.day
 GROUP BY f.tenant_id, f.day, t.timezone, l.last_day;
CREATE UNIQUE INDEX mv_forecast_vs_actual_key ON salesflow.mv_forecast_vs_actual (tenant_id, day);
COMMENT ON MATERIALIZED VIEW salesflow.mv_forecast_vs_actual IS
    'Internal (read through salesflow.forecast_vs_actual): units forecast (the latest snapshot made before each day, summed over products) against units sold.';

CREATE MATERIALIZED VIEW salesflow.mv_dashboard_summary AS
SELECT t.tenant_id, t.name AS tenant, t.currency,
       coalesce(c.customers, 0)::int AS customers, coalesce(p.products, 0)::int AS products,
       coalesce(o.orders, 0)::int AS orders, round(coalesce(o.revenue, 0), 2) AS revenue,
       round(o.revenue / nullif(o.orders, 0), 2) AS average_order_value,
       coalesce(po.pending, 0)::int AS pending_predicted_orders,
       coalesce(sg.high_value, 0)::int AS high_value_customers,
       coalesce(al.open_alerts, 0)::int AS open_alerts,
       coalesce(rp.order_today, 0)::int AS products_to_order,
       coalesce((SELECT jsonb_agg(jsonb_build_object('customer_id', x.customer_id, 'ref', x.ref, 'name', x.name,
                                                     'revenue', x.revenue, 'orders', x.orders) ORDER BY x.rank)
                   FROM salesflow.mv_top_customers x WHERE x.tenant_id = t.tenant_id AND x.rank <= 5), '[]') AS top_customers,
       coalesce((SELECT jsonb_agg(jsonb_build_object('product_id', x.product_id, 'sku', x.sku, 'name', x.name,
                                                     'revenue', x.revenue, 'units', x.units) ORDER BY x.rank)
                   FROM salesflow.mv_top_products x WHERE x.tenant_id = t.tenant_id AND x.rank <= 5), '[]') AS top_products,
       o.first_day, o.last_day, clock_timestamp() AS refreshed_at
  FROM salesflow.tenants t
  LEFT JOIN (SELECT x.tenant_id, count(*) AS customers FROM salesflow.customers x WHERE NOT x.is_anonymous GROUP BY 1) c
    ON c.tenant_id = t.tenant_id
  LEFT JOIN (SELECT x.tenant_id, count(*) AS products FROM salesflow.products x WHERE NOT x.is_non_product GROUP BY 1) p
    ON p.tenant_id = t.tenant_id
  LEFT JOIN (SELECT x.tenant_id, count(*) AS orders, sum(x.total) AS revenue, min(x.day) AS first_day, max(x.day) AS last_day
               FROM salesflow.invoices x WHERE NOT x.is_return GROUP BY 1) o ON o.tenant_id = t.tenant_id
  LEFT JOIN (SELECT x.tenant_id, count(*) AS pending FROM salesflow.predicted_orders x WHERE x.status = 'pending' GROUP BY 1) po
    ON po.tenant_id = t.tenant_id
  LEFT JOIN (SELECT x.tenant_id, count(*) AS high_value FROM salesflow.customer_segments x WHERE x.value_tier = 'high' GROUP BY 1) sg
    ON sg.tenant_id = t.tenant_id
  LEFT JOIN (SELECT x.tenant_id, count(*) AS open_alerts FROM salesflow.anomalies x WHERE x.acknowledged_at IS NULL GROUP BY 1) al
    ON al.tenant_id = t.tenant_id
  LEFT JOIN (SELECT x.tenant_id, count(*) AS order_today FROM salesflow.replenishment x WHERE x.category = 'ORDER_TODAY' GROUP BY 1) rp
    ON rp.tenant_id = t.tenant_id;
CREATE UNIQUE INDEX mv_dashboard_summary_key ON salesflow.mv_dashboard_summary (tenant_id);
COMMENT ON MATERIALIZED VIEW salesflow.mv_dashboard_summary IS
    'Internal (read through salesflow.dashboard_summary and dashboard_json()): the headline figures per tenant.';

-- Business health, 0-100: the weighted mean of four components in [0, 1]
-- (docs/dashboards.md): growth 0.3 (revenue of the last 90 days against the
-- 90 before: 0.5 + change / 2, clamped), retention 0.3 (share of the
-- customers who bought in the previous 90 days and bought again in the last
-- 90), churn 0.2 (1 - share of scored customers at high churn risk), stock
-- 0.2 (share of stocked products neither out of stock nor below safety
-- stock). A component without data is left out and the weights rescaled.
CREATE MATERIALIZED VIEW salesflow.mv_business_health AS
SELECT h.tenant_id, h.growth, h.retention, h.churn, h.stock,
       round((100 * (0.3 * coalesce(h.growth, 0) + 0.3 * coalesce(h.retention, 0) + 0.2 * coalesce(h.churn, 0)
                     + 0.2 * coalesce(h.stock, 0))
              / nullif(0.3 * (h.growth IS NOT NULL)::int + 0.3 * (h.retention IS NOT NULL)::int
                       + 0.2 * (h.churn IS NOT NULL)::int + 0.2 * (h.stock IS NOT NULL)::int, 0))::numeric, 1) AS score,
       h.revenue_90d, h.revenue_prev_90d, h.as_of
  FROM (SELECT t.tenant_id, l.last_day AS as_of, rv.last90 AS revenue_90d, rv.prev90 AS revenue_prev_90d,
               CASE WHEN rv.prev90 > 0 THEN least(1, greatest(0, 0.5 + (rv.last90 - rv.prev90) / rv.prev90 / 2)) END AS growth,
               rt.retention, ch.churn, st.stock
          FROM salesflow.tenants t
          JOIN (SELECT s.tenant_id, max(s.day) AS last_day FROM salesflow.sales_daily s GROUP BY 1) l ON l.tenant_id = t.tenant_id
          LEFT JOIN LATERAL (
              SELECT sum(d.revenue) FILTER (WHERE d.day > l.last_day - 90)::float8 AS last90,
                     sum(d.revenue) FILTER (WHERE d.day <= l.last_day - 90 AND d.day > l.last_day - 180)::float8 AS prev90
                FROM salesflow.sales_daily d WHERE d.tenant_id = t.tenant_id AND d.day > l.last_day - 180) rv ON true
          LEFT JOIN LATERAL (
              SELECT avg(CASE WHEN bool_or(i.day > l.last_day - 90) THEN 1.0 ELSE 0.0 END) OVER ()::float8 AS retention
                FROM salesflow.invoices i
               WHERE i.tenant_id = t.tenant_id AND NOT i.is_return AND i.day > l.last_day - 180
               GROUP BY i.customer_id
              HAVING bool_or(i.day <= l.last_day - 90)
               LIMIT 1) rt ON true
          LEFT JOIN LATERAL (
              SELECT 1 - avg(CASE WHEN s.churn_label = 'high' THEN 1.0 ELSE 0.0 END)::float8 AS churn
                FROM salesflow.customer_segments s WHERE s.tenant_id = t.tenant_id AND s.churn_label IS NOT NULL
              HAVING count(*) > 0) ch ON true
          LEFT JOIN LATERAL (
              SELECT avg(CASE WHEN r.on_hand - r.backorders <= 0 OR r.on_hand - r.backorders < r.safety_stock
                              THEN 0.0 ELSE 1.0 END)::float8 AS stock
                FROM salesflow.replenishment r WHERE r.tenant_id = t.tenant_id
              HAVING count(*) > 0) st ON true) h;
CREATE UNIQUE INDEX mv_business_health_key ON salesflow.mv_business_health (tenant_id);
COMMENT ON MATERIALIZED VIEW salesflow.mv_business_health IS
    'Internal (read through salesflow.business_health): the 0-100 health score and its components per tenant.';

-- Forecast accuracy per snapshot (pooled forecasts): forecast_accuracy_by_origin
-- materialized, with Grafana's time column.
CREATE MATERIALIZED VIEW salesflow.mv_forecast_accuracy AS
SELECT a.tenant_id, a.origin, (a.origin::timestamp AT TIME ZONE t.timezone) AS "time", a.step,
       a.products::int AS products, a.days, a.wape, a.bias, a.mase, a.coverage80
  FROM salesflow.forecast_accuracy_by_origin a
  JOIN salesflow.tenants t ON t.tenant_id = a.tenant_id;
CREATE UNIQUE INDEX mv_forecast_accuracy_key ON salesflow.mv_forecast_accuracy (tenant_id, origin, step);
COMMENT ON MATERIALIZED VIEW salesflow.mv_forecast_accuracy IS
    'Internal (read through salesflow.forecast_accuracy_trend): forecast accuracy per tenant, snapshot (origin) and days ahead.';

DO $mv$
DECLARE
    m regclass;
BEGIN
    FOR m IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
              WHERE c.relnamespace = 'salesflow'::regnamespace AND c.relkind = 'm'
    LOOP
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', m);
        EXECUTE format('ALTER MATERIALIZED VIEW %s OWNER TO salesflow_admin', m);
    END LOOP;
END
$mv$;

-- ---------------------------------------------------------------------------
-- Tenant views (the only way readers reach the materialized views)
-- ---------------------------------------------------------------------------
CREATE VIEW salesflow.dashboard_summary WITH (security_barrier = true) AS
SELECT m.* FROM salesflow.mv_dashboard_summary m WHERE m.tenant_id = salesflow.current_tenant_id();
COMMENT ON VIEW salesflow.dashboard_summary IS
    'Headline figures of the session''s tenant: customers, products, orders, revenue, average order value, pending predicted orders, high-value customers, open alerts, products to order, top 5 customers and products (as of the last refresh).';

CREATE VIEW salesflow.sales_by_day WITH (security_barrier = true) AS
SELECT m."time", m.day, m.revenue, m.orders, m.units, m.customers
  FROM salesflow.mv_sales_daily m WHERE m.tenant_id = salesflow.current_tenant_id()
 ORDER BY m.day;
COMMENT ON VIEW salesflow.sales_by_day IS
    'Revenue, orders, units and customers per day of the session''s tenant (days in its time zone, gap-filled with zeros); "time" is midnight of the day as timestamptz, for Grafana.';

CREATE VIEW salesflow.sales_by_month WITH (security_barrier = true) AS
SELECT m."time", m.month, m.revenue, m.orders, m.units, m.customers
  FROM salesflow.mv_sales_monthly m WHERE m.tenant_id = salesflow.current_tenant_id()
 ORDER BY m.month;
COMMENT ON VIEW salesflow.sales_by_month IS 'Revenue, orders, units and distinct customers per month of the session''s tenant.';

CREATE VIEW salesflow.sales_metrics WITH (security_barrier = true) AS
SELECT m."time", v.metric, v.value
  FROM salesflow.mv_sales_daily m
 CROSS JOIN LATERAL (VALUES ('revenue', m.revenue::float8), ('orders', m.orders::float8), ('units', m.units::float8),
                            ('customers', m.customers::float8)) v(metric, value)
 WHERE m.tenant_id = salesflow.current_tenant_id()
 ORDER BY m.day, v.metric;
COMMENT ON VIEW salesflow.sales_metrics IS 'The daily sales figures in long format (time, metric, value) for Grafana time-series panels.';

CREATE VIEW salesflow.top_products WITH (security_barrier = true) AS
SELECT m.rank, m.product_id, m.sku, m.name, m.category, m.revenue, m.units, m.orders, m.revenue_share
  FROM salesflow.mv_top_products m WHERE m.tenant_id = salesflow.current_tenant_id()
 ORDER BY m.rank;
COMMENT ON VIEW salesflow.top_products IS 'The session''s tenant''s 100 best-selling products by revenue over its last 365 days, with rank and revenue share.';

CREATE VIEW salesflow.top_customers WITH (security_barrier = true) AS
SELECT m.rank, m.customer_id, m.ref, m.name, m.country, m.revenue, m.orders, m.last_order_day, m.segment,
       m.value_tier, m.clv, m.churn_label
  FROM salesflow.mv_top_customers m WHERE m.tenant_id = salesflow.current_tenant_id()
 ORDER BY m.rank;
COMMENT ON VIEW salesflow.top_customers IS 'The session''s tenant''s 100 customers with the most revenue, with segment, value tier, CLV and churn risk.';

CREATE VIEW salesflow.segment_summary WITH (security_barrier = true) AS
SELECT m.segment, m.customers, m.customer_share, m.revenue, m.avg_clv, m.avg_p_alive, m.avg_recency_days
  FROM salesflow.mv_segment_summary m WHERE m.tenant_id = salesflow.current_tenant_id()
 ORDER BY m.customers DESC, m.segment;
COMMENT ON VIEW salesflow.segment_summary IS 'Customers, revenue, average CLV, P(alive) and recency per RFM segment of the session''s tenant.';

CREATE VIEW salesflow.churn_clv_summary WITH (security_barrier = true) AS
SELECT m.value_tier, m.churn_label, m.customers, m.clv, m.avg_p_alive, m.expected_purchases_90d
  FROM salesflow.mv_churn_clv_summary m WHERE m.tenant_id = salesflow.current_tenant_id()
 ORDER BY m.value_tier, m.churn_label;
COMMENT ON VIEW salesflow.churn_clv_summary IS 'Customers, CLV and P(alive) per value tier and churn risk of the session''s tenant.';

CREATE VIEW salesflow.stock_overview WITH (security_barrier = true) AS
SELECT m.product_id, m.sku, m.name, m.category, m.stock_status, m.buying_category, m.reasons, m.on_hand, m.on_order,
       m.safety_stock, m.reorder_point, m.recommended_qty, m.order_value, m.runway_days, m.stockout_date, m.as_of
  FROM salesflow.mv_stock_overview m WHERE m.tenant_id = salesflow.current_tenant_id()
 ORDER BY m.stockout_date NULLS LAST, m.sku;
COMMENT ON VIEW salesflow.stock_overview IS 'Stock status and buying category per stocked product of the session''s tenant (the buying queue for dashboards).';

CREATE VIEW salesflow.forecast_vs_actual WITH (security_barrier = true) AS
SELECT m."time", m.day, m.forecast, m.forecast_lo80, m.forecast_hi80, m.actual
  FROM salesflow.mv_forecast_vs_actual m WHERE m.tenant_id = salesflow.current_tenant_id()
 ORDER BY m.day;
COMMENT ON VIEW salesflow.forecast_vs_actual IS 'Units forecast (latest snapshot before each day, all products) against units sold, per day of the session''s tenant; actual is NULL for future days.';

CREATE VIEW salesflow.forecast_accuracy_trend WITH (security_barrier = true) AS
SELECT m."time", m.origin, m.step, m.products, m.days, m.wape, m.bias, m.mase, m.coverage80
  FROM salesflow.mv_forecast_accuracy m WHERE m.tenant_id = salesflow.current_tenant_id()
 ORDER BY m.origin, m.step;
COMMENT ON VIEW salesflow.forecast_accuracy_trend IS 'Forecast accuracy of the session''s tenant per snapshot (origin) and days ahead, over all products: whether forecasts get better or worse.';

CREATE VIEW salesflow.business_health WITH (security_barrier = true) AS
SELECT m.score, m.growth, m.retention, m.churn, m.stock, m.revenue_90d, m.revenue_prev_90d, m.as_of
  FROM salesflow.mv_business_health m WHERE m.tenant_id = salesflow.current_tenant_id();
COMMENT ON VIEW salesflow.business_health IS
    'The session''s tenant''s business health score (0-100) and its components in [0, 1]: growth, retention, churn (1 - high-risk share), stock (share of healthy stock); see docs/dashboards.md.';

GRANT SELECT ON salesflow.dashboard_summary, salesflow.sales_by_day, salesflow.sales_by_month, salesflow.sales_metrics,
                salesflow.top_products, salesflow.top_customers, salesflow.segment_summary, salesflow.churn_clv_summary,
                salesflow.stock_overview, salesflow.forecast_vs_actual, salesflow.forecast_accuracy_trend,
                salesflow.business_health
   TO salesflow_reader;

CREATE FUNCTION salesflow.dashboard_json() RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object(
        'tenant', d.tenant, 'currency', d.currency, 'customers', d.customers, 'products', d.products,
        'orders', d.orders, 'revenue', d.revenue, 'average_order_value', d.average_order_value,
        'pending_predicted_orders', d.pending_predicted_orders, 'high_value_customers', d.high_value_customers,
        'open_alerts', d.open_alerts, 'products_to_order', d.products_to_order,
        'top_customers', d.top_customers, 'top_products', d.top_products,
        'first_day', d.first_day, 'last_day', d.last_day,
        'health_score', (SELECT h.score FROM salesflow.business_health h),
        'refreshed_at', d.refreshed_at)
      FROM salesflow.dashboard_summary d
$$;
COMMENT ON FUNCTION salesflow.dashboard_json() IS
    'The session''s tenant''s dashboard summary as one JSON document (NULL when no tenant is set or nothing has been refreshed).';

-- ---------------------------------------------------------------------------
-- Customers: profile, paginated list, fuzzy search (pg_trgm)
-- ---------------------------------------------------------------------------
CREATE INDEX customers_search_idx ON salesflow.customers
    USING gin ((coalesce(name, '') || ' ' || ref) gin_trgm_ops);

CREATE VIEW salesflow.customer_profile WITH (security_invoker = true, security_barrier = true) AS
SELECT c.tenant_id, c.customer_id, c.ref, c.name, c.city, c.country, c.first_order_at, c.last_order_at,
       s.segment, s.value_tier, s.r_score, s.f_score, s.m_score, s.frequency, s.monetary, s.recency_days,
       s.p_alive, s.churn_risk, s.churn_label, s.clv, s.expected_order_value, s.expected_purchases_90d,
       po.prediction_id AS next_order_id, po.predicted_date AS next_order_date, po.window_start AS next_order_window_start,
       po.window_end AS next_order_window_end, po.confidence AS next_order_confidence, po.priority AS next_order_priority,
       po.expected_amount AS next_order_amount,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('product_id', r.product_id, 'sku', p.sku, 'name', p.name,
                                                     'score', r.score) ORDER BY r.rank), '[]')
          FROM salesflow.recommendations r
          JOIN salesflow.products p ON p.tenant_id = r.tenant_id AND p.product_id = r.product_id
         WHERE r.tenant_id = c.tenant_id AND r.customer_id = c.customer_id) AS recommendations
  FROM salesflow.customers c
  LEFT JOIN salesflow.customer_segments s ON s.tenant_id = c.tenant_id AND s.customer_id = c.customer_id
  LEFT JOIN salesflow.predicted_orders po ON po.tenant_id = c.tenant_id AND po.customer_id = c.customer_id
                                         AND po.status IN ('pending', 'approved')
 WHERE NOT c.is_anonymous;
COMMENT ON VIEW salesflow.customer_profile IS
    'One row per customer: details, RFM segment and value tier, P(alive), churn risk, CLV, the next predicted order and upsell recommendations (JSON).';
GRANT SELECT ON salesflow.customer_profile TO salesflow_reader;

CREATE FUNCTION salesflow.list_customers(segment text DEFAULT NULL, value_tier text DEFAULT NULL,
                                         page int DEFAULT 1, page_size int DEFAULT 50, order_by text DEFAULT 'clv')
RETURNS SETOF salesflow.customer_profile
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF page < 1 OR page_size NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'page must be >= 1 and page_size between 1 and 1000' USING ERRCODE = '22023';
    END IF;
    IF order_by NOT IN ('clv', 'monetary', 'recency', 'churn_risk', 'name', 'next_order') THEN
        RAISE EXCEPTION 'order_by must be one of clv, monetary, recency, churn_risk, name, next_order, not "%"', order_by
            USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    SELECT p.* FROM salesflow.customer_profile p
     WHERE p.tenant_id = salesflow.require_tenant()
       AND (list_customers.segment IS NULL OR p.segment = list_customers.segment)
       AND (list_customers.value_tier IS NULL OR p.value_tier = list_customers.value_tier)
     ORDER BY CASE order_by WHEN 'clv' THEN -coalesce(p.clv, 0) WHEN 'monetary' THEN -coalesce(p.monetary, 0)
                            WHEN 'recency' THEN coalesce(p.recency_days, 2147483647)
                            WHEN 'churn_risk' THEN -coalesce(p.churn_risk, 0) END,
              CASE order_by WHEN 'name' THEN coalesce(p.name, p.ref) END,
              CASE order_by WHEN 'next_order' THEN p.next_order_date END,
              p.customer_id
     LIMIT page_size OFFSET (page - 1)::bigint * page_size;
END
$$;
COMMENT ON FUNCTION salesflow.list_customers(text, text, int, int, text) IS
    'A page of customer profiles of the session''s tenant, optionally of one segment and value tier, ordered by clv (default), monetary, recency, churn_risk, name or next_order.';

CREATE FUNCTION salesflow.search_customers(query text, max_rows int DEFAULT 20)
RETURNS TABLE(customer_id bigint, ref text, name text, segment text, clv numeric, similarity real)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid bigint := salesflow.require_tenant();
    trgm text := (SELECT e.extnamespace::regnamespace::text FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_trgm');
BEGIN
    IF length(btrim(query)) < 2 THEN
        RAISE EXCEPTION 'a search needs at least 2 characters' USING ERRCODE = '22023';
    END IF;
    -- pg_trgm's functions and operators live in its own schema: qualified
    -- here, never found through the caller's search_path
    RETURN QUERY EXECUTE format(
        'SELECT c.customer_id, c.ref, c.name, s.segment, s.clv,
                %1$I.word_similarity($1, coalesce(c.name, '''') || '' '' || c.ref) AS similarity
           FROM salesflow.customers c
           LEFT JOIN salesflow.customer_segments s ON s.tenant_id = c.tenant_id AND s.customer_id = c.customer_id
          WHERE c.tenant_id = $2 AND NOT c.is_anonymous
            AND (coalesce(c.name, '''') || '' '' || c.ref) OPERATOR(%1$I.%%>) $1
          ORDER BY similarity DESC, c.customer_id
          LIMIT $3', trgm)
    USING query, tid, max_rows;
END
$$;
COMMENT ON FUNCTION salesflow.search_customers(text, int) IS
    'Fuzzy search of the session''s tenant''s customers by name or reference (pg_trgm word similarity, GIN index), best matches first.';

-- ---------------------------------------------------------------------------
-- Reports as CSV
-- ---------------------------------------------------------------------------
CREATE FUNCTION salesflow._report_source(report text) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE report
        WHEN 'dashboard_summary' THEN 'SELECT tenant, currency, customers, products, orders, revenue, average_order_value, pending_predicted_orders, high_value_customers, open_alerts, products_to_order, first_day, last_day, refreshed_at FROM salesflow.dashboard_summary'
        WHEN 'sales_by_day' THEN 'SELECT day, revenue, orders, units, customers FROM salesflow.sales_by_day'
        WHEN 'sales_by_month' THEN 'SELECT month, revenue, orders, units, customers FROM salesflow.sales_by_month'
        WHEN 'top_products' THEN 'SELECT rank, sku, name, category, revenue, units, orders, revenue_share FROM salesflow.top_products'
        WHEN 'top_customers' THEN 'SELECT rank, ref, name, country, revenue, orders, last_order_day, segment, value_tier, clv, churn_label FROM salesflow.top_customers'
        WHEN 'segment_summary' THEN 'SELECT segment, customers, customer_share, revenue, avg_clv, avg_p_alive, avg_recency_days FROM salesflow.segment_summary'
        WHEN 'churn_clv_summary' THEN 'SELECT value_tier, churn_label, customers, clv, avg_p_alive, expected_purchases_90d FROM salesflow.churn_clv_summary'
        WHEN 'stock_overview' THEN 'SELECT sku, name, stock_status, buying_category, array_to_string(reasons, ''; '') AS reasons, on_hand, on_order, safety_stock, reorder_point, recommended_qty, order_value, runway_days, stockout_date FROM salesflow.stock_overview'
        WHEN 'buying_queue' THEN 'SELECT priority, sku, name, category, array_to_string(reasons, ''; '') AS reasons, recommended_qty, order_value, stockout_date, on_hand, on_order, next_receipt FROM salesflow.buying_queue'
        WHEN 'forecast_vs_actual' THEN 'SELECT day, forecast, forecast_lo80, forecast_hi80, actual FROM salesflow.forecast_vs_actual'
        WHEN 'customers' THEN 'SELECT ref, name, country, segment, value_tier, monetary, frequency, recency_days, p_alive, churn_label, clv, next_order_date, next_order_amount FROM salesflow.customer_profile'
        WHEN 'open_alerts' THEN 'SELECT day, kind, metric, entity, observed, expected, score, message FROM salesflow.open_alerts'
    END
$$;
COMMENT ON FUNCTION salesflow._report_source(text) IS 'Internal: the fixed query behind each report name of export_csv (user input never becomes SQL).';

-- The rows of a report, in the order and number asked, into the session's
-- temp table sf_report (dropped at commit); returns its column names.
CREATE FUNCTION salesflow._report_rows(report text, options jsonb) RETURNS text[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    src text := salesflow._report_source(report);
    order_col text := options ->> 'order_by';
    descending boolean := coalesce((options ->> 'descending')::boolean, false);
    max_rows bigint := coalesce((options ->> 'limit')::bigint, 1000000);
    cols text[];
BEGIN
    PERFORM salesflow.require_tenant();
    IF src IS NULL THEN
        RAISE EXCEPTION 'unknown report "%"', report USING ERRCODE = '22023',
              HINT = 'Reports: dashboard_summary, sales_by_day, sales_by_month, top_products, top_customers, segment_summary, churn_clv_summary, stock_overview, buying_queue, forecast_vs_actual, customers, open_alerts.';
    END IF;
    IF max_rows < 0 THEN
        RAISE EXCEPTION 'limit must be >= 0' USING ERRCODE = '22023';
    END IF;
    IF to_regclass('pg_temp.sf_report') IS NOT NULL THEN
        DROP TABLE sf_report;
    END IF;
    EXECUTE 'CREATE TEMP TABLE sf_report ON COMMIT DROP AS ' || src || ' WITH NO DATA';
    SELECT array_agg(a.attname::text ORDER BY a.attnum) INTO cols
      FROM pg_catalog.pg_attribute a WHERE a.attrelid = 'pg_temp.sf_report'::regclass AND a.attnum > 0 AND NOT a.attisdropped;
    IF order_col IS NOT NULL AND NOT order_col = ANY (cols) THEN
        RAISE EXCEPTION 'report "%" has no column "%"', report, order_col USING ERRCODE = '42703',
              HINT = 'Columns: ' || array_to_string(cols, ', ');
    END IF;
    -- a fresh temp table is read back in the order it was filled
    EXECUTE format('INSERT INTO sf_report SELECT * FROM (%s) r %s LIMIT %s', src,
                   CASE WHEN order_col IS NULL THEN '' ELSE format('ORDER BY %I %s', order_col, CASE WHEN descending THEN 'DESC' ELSE 'ASC' END) END,
                   max_rows);
    RETURN cols;
END
$$;
COMMENT ON FUNCTION salesflow._report_rows(text, jsonb) IS
    'Internal: the rows of a report of the session''s tenant (options order_by, descending, limit) into the temp table sf_report; returns its columns.';

CREATE FUNCTION salesflow.export_csv(report text, options jsonb DEFAULT '{}') RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    delim text := coalesce(options ->> 'delimiter', ',');
    cols text[];
    header text;
    body text;
BEGIN
    IF delim NOT IN (',', ';', E'\t', '|') THEN
        RAISE EXCEPTION 'delimiter must be one of , ; | or a tab' USING ERRCODE = '22023';
    END IF;
    cols := salesflow._report_rows(report, options);
    SELECT string_agg(salesflow._csv_field(c), delim ORDER BY o) INTO header FROM unnest(cols) WITH ORDINALITY u(c, o);
    SELECT string_agg((SELECT string_agg(salesflow._csv_field(e.v), delim ORDER BY e.o)
                         FROM json_each_text(row_to_json(r)) WITH ORDINALITY e(k, v, o)), E'\n')
      INTO body FROM sf_report r;
    DROP TABLE sf_report;
    RETURN header || E'\n' || coalesce(body || E'\n', '');
END
$$;
COMMENT ON FUNCTION salesflow.export_csv(text, jsonb) IS
    'A dashboard view or list of the session''s tenant as an RFC 4180 CSV document with a header line. Reports: dashboard_summary, sales_by_day, sales_by_month, top_products, top_customers, segment_summary, churn_clv_summary, stock_overview, buying_queue, forecast_vs_actual, customers, open_alerts. Options: order_by (a column), descending, limit, delimiter (, ; | or tab).';

CREATE FUNCTION salesflow._report_xlsx(sheet text) RETURNS bytea
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'sf_report_xlsx';
COMMENT ON FUNCTION salesflow._report_xlsx(text) IS
    'Internal: the rows of the session''s temp table sf_report as a one-sheet Excel workbook (libxlsxwriter): typed cells, bold frozen header, autofilter, column widths.';

CREATE FUNCTION salesflow.export_xlsx(report text, options jsonb DEFAULT '{}') RETURNS bytea
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    workbook bytea;
BEGIN
    IF options ? 'delimiter' THEN
        RAISE EXCEPTION 'option "delimiter" does not apply to a workbook' USING ERRCODE = '22023';
    END IF;
    PERFORM salesflow._report_rows(report, options);
    workbook := salesflow._report_xlsx(report);
    DROP TABLE sf_report;
    RETURN workbook;
END
$$;
COMMENT ON FUNCTION salesflow.export_xlsx(text, jsonb) IS
    'The same reports as export_csv as an Excel workbook (.xlsx): one sheet named after the report, numbers, dates and text as typed cells, a bold frozen header row, an autofilter, column widths from the values. Options: order_by, descending, limit.';

CREATE SEQUENCE salesflow.reports_report_id_seq AS bigint;
CREATE TABLE salesflow.reports (
    tenant_id    bigint      NOT NULL DEFAULT salesflow.current_tenant_id() REFERENCES salesflow.tenants ON DELETE CASCADE,
    report_id    bigint      NOT NULL DEFAULT nextval('salesflow.reports_report_id_seq'),
    report       text        NOT NULL,
    options      jsonb       NOT NULL DEFAULT '{}',
    status       text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    content      text,
    error        text,
    requested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    PRIMARY KEY (tenant_id, report_id)
);
ALTER SEQUENCE salesflow.reports_report_id_seq OWNED BY salesflow.reports.report_id;
COMMENT ON TABLE salesflow.reports IS
    'Stored CSV reports for apps to download: requested (pending), made by make_reports() (done, with content) or failed (with error).';
COMMENT ON COLUMN salesflow.reports.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.reports.report_id IS 'Report id.';
COMMENT ON COLUMN salesflow.reports.report IS 'Report name (see export_csv).';
COMMENT ON COLUMN salesflow.reports.options IS 'export_csv options.';
COMMENT ON COLUMN salesflow.reports.status IS 'pending, done or failed.';
COMMENT ON COLUMN salesflow.reports.content IS 'The CSV document.';
COMMENT ON COLUMN salesflow.reports.error IS 'Why it failed.';
COMMENT ON COLUMN salesflow.reports.requested_at IS 'When it was requested.';
COMMENT ON COLUMN salesflow.reports.finished_at IS 'When it was made.';
SELECT salesflow._tenant_table('salesflow.reports');
SELECT pg_catalog.pg_extension_config_dump('salesflow.reports_report_id_seq', '');
GRANT USAGE ON SEQUENCE salesflow.reports_report_id_seq TO salesflow_writer;

-- One report, made as its tenant (salesflow._act_as_tenant): the views behind
-- export_csv then show that tenant's rows only, whoever runs the queue. A
-- failure is stored on the report and does not stop the others.
CREATE FUNCTION salesflow._make_report(tenant bigint, report_id bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    caller text[];
BEGIN
    SELECT p.report, p.options INTO r FROM salesflow.reports p
     WHERE p.tenant_id = tenant AND p.report_id = _make_report.report_id AND p.status = 'pending';
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    BEGIN
        caller := salesflow._act_as_tenant(tenant);
        UPDATE salesflow.reports p
           SET status = 'done', content = salesflow.export_csv(r.report, r.options), finished_at = clock_timestamp()
         WHERE p.tenant_id = tenant AND p.report_id = _make_report.report_id;
        PERFORM salesflow._act_as_caller(caller);
    EXCEPTION WHEN query_canceled OR admin_shutdown THEN
        RAISE;
    WHEN OTHERS THEN
        UPDATE salesflow.reports p SET status = 'failed', error = SQLSTATE || ' ' || SQLERRM, finished_at = clock_timestamp()
         WHERE p.tenant_id = tenant AND p.report_id = _make_report.report_id;
    END;
    RETURN true;
END
$$;
COMMENT ON FUNCTION salesflow._make_report(bigint, bigint) IS
    'Internal: makes one pending report as its tenant, storing the CSV or the error; false when it was not pending.';

CREATE FUNCTION salesflow.make_reports() RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    n bigint := 0;
BEGIN
    FOR r IN SELECT p.tenant_id, p.report_id FROM salesflow.reports p
              WHERE p.status = 'pending' ORDER BY p.requested_at FOR UPDATE SKIP LOCKED
    LOOP
        IF salesflow._make_report(r.tenant_id, r.report_id) THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION salesflow.make_reports() IS
    'Makes every pending report the caller can see (INSERT INTO salesflow.reports (report, options) requests one; the scheduled job runs this), each as its own tenant, storing the CSV or the error. Returns the number of reports processed.';

-- ---------------------------------------------------------------------------
-- Refresh, log, freshness, pruning
-- ---------------------------------------------------------------------------
CREATE SEQUENCE salesflow.refresh_log_id_seq AS bigint;
CREATE TABLE salesflow.refresh_log (
    refresh_id  bigint      NOT NULL DEFAULT nextval('salesflow.refresh_log_id_seq') PRIMARY KEY,
    view_name   text        NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    rows        bigint,
    mode        text,
    status      text        NOT NULL CHECK (status IN ('ok', 'failed', 'skipped')),
    error       text
);
ALTER SEQUENCE salesflow.refresh_log_id_seq OWNED BY salesflow.refresh_log.refresh_id;
CREATE INDEX refresh_log_view_idx ON salesflow.refresh_log (view_name, started_at DESC);
COMMENT ON TABLE salesflow.refresh_log IS
    'One row per materialized view refreshed by refresh_dashboards() (and one skipped row when a refresh was already running); admins only (it spans tenants).';
COMMENT ON COLUMN salesflow.refresh_log.refresh_id IS 'Log row id.';
COMMENT ON COLUMN salesflow.refresh_log.view_name IS 'Materialized view (or "*" for a skipped run).';
COMMENT ON COLUMN salesflow.refresh_log.started_at IS 'Start of the refresh.';
COMMENT ON COLUMN salesflow.refresh_log.finished_at IS 'End of the refresh.';
COMMENT ON COLUMN salesflow.refresh_log.rows IS 'Rows in the view after the refresh.';
COMMENT ON COLUMN salesflow.refresh_log.mode IS 'concurrently, or plain for a view that was not populated.';
COMMENT ON COLUMN salesflow.refresh_log.status IS 'ok, failed or skipped (another refresh was running).';
COMMENT ON COLUMN salesflow.refresh_log.error IS 'SQLSTATE and message of a failure.';
REVOKE ALL ON salesflow.refresh_log FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON salesflow.refresh_log TO salesflow_admin;
GRANT USAGE ON SEQUENCE salesflow.refresh_log_id_seq TO salesflow_admin;
SELECT pg_catalog.pg_extension_config_dump('salesflow.refresh_log', '');
SELECT pg_catalog.pg_extension_config_dump('salesflow.refresh_log_id_seq', '');

CREATE FUNCTION salesflow.dashboard_views() RETURNS TABLE(refresh_order int, view_name text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- dependency order: creation order, which puts every view after the views it reads
    SELECT row_number() OVER (ORDER BY c.oid)::int, c.relname::text
      FROM pg_catalog.pg_class c
     WHERE c.relnamespace = 'salesflow'::regnamespace AND c.relkind = 'm'
     ORDER BY c.oid
$$;
COMMENT ON FUNCTION salesflow.dashboard_views() IS 'The materialized views refresh_dashboards() refreshes, in dependency order.';

-- Leases: "a job of this name is running", held across the commits of a
-- procedure, on a table only admins can touch (an advisory key could be held
-- by any role). A lease is held while its holder's backend exists and for at
-- most max_hold; the holder's own session may always take it again (after a
-- cancel). Taking it locks the row, so two callers never both win.
CREATE TABLE salesflow.job_leases (
    job        text        NOT NULL PRIMARY KEY,
    holder_pid int,
    taken_at   timestamptz,
    max_hold   interval    NOT NULL DEFAULT '1 hour'
);
COMMENT ON TABLE salesflow.job_leases IS
    'Jobs that must not overlap (refresh_dashboards): which backend holds each and since when; admins only.';
COMMENT ON COLUMN salesflow.job_leases.job IS 'Job name.';
COMMENT ON COLUMN salesflow.job_leases.holder_pid IS 'Backend running the job (NULL: free).';
COMMENT ON COLUMN salesflow.job_leases.taken_at IS 'When the holder took the lease.';
COMMENT ON COLUMN salesflow.job_leases.max_hold IS 'After this long a lease is free even if its holder still exists (a backend id can be reused).';
INSERT INTO salesflow.job_leases (job) VALUES ('refresh_dashboards');
REVOKE ALL ON salesflow.job_leases FROM PUBLIC;
GRANT SELECT, UPDATE ON salesflow.job_leases TO salesflow_admin;

CREATE FUNCTION salesflow._take_lease(job text) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    l salesflow.job_leases;
BEGIN
    SELECT * INTO l FROM salesflow.job_leases x WHERE x.job = _take_lease.job FOR UPDATE SKIP LOCKED;
    IF NOT FOUND OR (l.holder_pid IS DISTINCT FROM pg_backend_pid()
                     AND l.taken_at > clock_timestamp() - l.max_hold
                     AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = l.holder_pid)) THEN
        RETURN false;
    END IF;
    UPDATE salesflow.job_leases x SET holder_pid = pg_backend_pid(), taken_at = clock_timestamp()
     WHERE x.job = _take_lease.job;
    RETURN true;
END
$$;
COMMENT ON FUNCTION salesflow._take_lease(text) IS
    'Internal: takes the lease of a job (true), or finds it held by another running backend or being taken (false).';

CREATE FUNCTION salesflow._release_lease(job text) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE salesflow.job_leases x SET holder_pid = NULL, taken_at = NULL
     WHERE x.job = _release_lease.job AND x.holder_pid = pg_backend_pid()
$$;
COMMENT ON FUNCTION salesflow._release_lease(text) IS 'Internal: gives back a lease this backend holds.';
REVOKE EXECUTE ON FUNCTION salesflow._take_lease(text), salesflow._release_lease(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION salesflow._take_lease(text), salesflow._release_lease(text) TO salesflow_admin;

-- A procedure that commits cannot carry a SET clause: it pins search_path
-- per transaction (see run_pipeline).
CREATE PROCEDURE salesflow.refresh_dashboards(commit_each boolean DEFAULT true, time_budget interval DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
    v record;
    started timestamptz;
    run_started timestamptz := pg_catalog.clock_timestamp();
    populated boolean;
    n bigint;
    caller_path text := pg_catalog.current_setting('search_path');
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    IF NOT salesflow._take_lease('refresh_dashboards') THEN
        INSERT INTO salesflow.refresh_log (view_name, started_at, finished_at, status, error)
        VALUES ('*', run_started, pg_catalog.clock_timestamp(), 'skipped', 'another refresh_dashboards() is running');
        RAISE NOTICE 'salesflow: a dashboard refresh is already running; skipped';
        PERFORM pg_catalog.set_config('search_path', caller_path, true);
        RETURN;
    END IF;
    FOR v IN SELECT d.view_name FROM salesflow.dashboard_views() d ORDER BY d.refresh_order LOOP
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        IF time_budget IS NOT NULL AND pg_catalog.clock_timestamp() - run_started > time_budget THEN
            INSERT INTO salesflow.refresh_log (view_name, started_at, finished_at, status, error)
            VALUES (v.view_name, pg_catalog.clock_timestamp(), pg_catalog.clock_timestamp(), 'skipped', 'time budget used up');
            CONTINUE;
        END IF;
        started := pg_catalog.clock_timestamp();
        SELECT c.relispopulated INTO populated FROM pg_catalog.pg_class c
         WHERE c.oid = ('salesflow.' || pg_catalog.quote_ident(v.view_name))::regclass;
        BEGIN
            IF populated THEN
                EXECUTE pg_catalog.format('REFRESH MATERIALIZED VIEW CONCURRENTLY salesflow.%I', v.view_name);
            ELSE
                EXECUTE pg_catalog.format('REFRESH MATERIALIZED VIEW salesflow.%I', v.view_name);
            END IF;
            EXECUTE pg_catalog.format('SELECT count(*) FROM salesflow.%I', v.view_name) INTO n;
            INSERT INTO salesflow.refresh_log (view_name, started_at, finished_at, rows, mode, status)
            VALUES (v.view_name, started, pg_catalog.clock_timestamp(), n,
                    CASE WHEN populated THEN 'concurrently' ELSE 'plain' END, 'ok');
        EXCEPTION WHEN query_canceled OR admin_shutdown THEN
            RAISE;
        WHEN OTHERS THEN
            INSERT INTO salesflow.refresh_log (view_name, started_at, finished_at, mode, status, error)
            VALUES (v.view_name, started, pg_catalog.clock_timestamp(),
                    CASE WHEN populated THEN 'concurrently' ELSE 'plain' END, 'failed', SQLSTATE || ' ' || SQLERRM);
            RAISE WARNING 'salesflow: refreshing % failed: %', v.view_name, SQLERRM;
        END;
        IF commit_each THEN
            COMMIT;
        END IF;
    END LOOP;
    PERFORM salesflow._release_lease('refresh_dashboards');
    -- inside the caller's transaction (commit_each false) its search_path comes back
    PERFORM pg_catalog.set_config('search_path', caller_path, true);
END
$$;
COMMENT ON PROCEDURE salesflow.refresh_dashboards(boolean, interval) IS
    'Refreshes every dashboard materialized view in dependency order (concurrently when populated, else plain), committing after each (commit_each false: inside the caller''s transaction), logging each in refresh_log; a second refresh while one runs is skipped, not queued; views not started within time_budget are skipped. Admins (owners of the views) only.';
REVOKE EXECUTE ON PROCEDURE salesflow.refresh_dashboards(boolean, interval) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE salesflow.refresh_dashboards(boolean, interval) TO salesflow_admin;

CREATE FUNCTION salesflow._dashboard_freshness()
RETURNS TABLE(view_name text, last_refresh timestamptz, last_status text, newest_data timestamptz, stale boolean)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT d.view_name, l.finished_at, l.status, nd.newest, (l.finished_at IS NULL OR nd.newest > l.finished_at)
      FROM salesflow.dashboard_views() d
      LEFT JOIN LATERAL (SELECT r.finished_at, r.status FROM salesflow.refresh_log r
                          WHERE r.view_name = d.view_name AND r.status = 'ok'
                          ORDER BY r.started_at DESC LIMIT 1) l ON true
      CROSS JOIN (SELECT max(u.processed_at) AS newest FROM salesflow.uploads u
                   WHERE u.tenant_id = salesflow.current_tenant_id() AND u.status = 'processed') nd
     ORDER BY d.refresh_order
$$;
COMMENT ON FUNCTION salesflow._dashboard_freshness() IS
    'Internal (read through salesflow.freshness): last successful refresh per view against the session''s tenant''s newest processed upload.';
REVOKE EXECUTE ON FUNCTION salesflow._dashboard_freshness() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION salesflow._dashboard_freshness() TO salesflow_reader;

CREATE VIEW salesflow.freshness WITH (security_invoker = true) AS
SELECT f.view_name, f.last_refresh, f.newest_data, f.stale FROM salesflow._dashboard_freshness() f;
COMMENT ON VIEW salesflow.freshness IS
    'Per dashboard view: when it was last refreshed successfully, the newest data of the session''s tenant (its last processed upload) and whether the view is stale (older than that data, or never refreshed).';
GRANT SELECT ON salesflow.freshness TO salesflow_reader;

CREATE FUNCTION salesflow.prune(keep interval DEFAULT '30 days') RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n_refresh bigint;
    n_pipeline bigint;
    n_cron bigint := 0;
BEGIN
    DELETE FROM salesflow.refresh_log r WHERE r.started_at < now() - keep;
    GET DIAGNOSTICS n_refresh = ROW_COUNT;
    DELETE FROM salesflow.pipeline_runs r WHERE r.started_at < now() - keep;
    GET DIAGNOSTICS n_pipeline = ROW_COUNT;
    IF to_regclass('cron.job_run_details') IS NOT NULL AND has_table_privilege('cron.job_run_details', 'DELETE') THEN
        EXECUTE 'DELETE FROM cron.job_run_details WHERE end_time < now() - $1' USING keep;
        GET DIAGNOSTICS n_cron = ROW_COUNT;
    END IF;
    RETURN jsonb_build_object('refresh_log', n_refresh, 'pipeline_runs', n_pipeline, 'cron_job_run_details', n_cron);
END
$$;
COMMENT ON FUNCTION salesflow.prune(interval) IS
    'Deletes refresh_log and pipeline_runs rows, and pg_cron''s job_run_details in this database, older than keep; returns the counts. Admins only.';
REVOKE EXECUTE ON FUNCTION salesflow.prune(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION salesflow.prune(interval) TO salesflow_admin;

-- ---------------------------------------------------------------------------
-- Column descriptions of the views BI tools read (Metabase copies them into
-- its data model): one meaning per column name, applied to every view that
-- has the column.
-- ---------------------------------------------------------------------------
DO $comments$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT v.relname, a.attname, d.meaning
          FROM pg_catalog.pg_class v
          JOIN pg_catalog.pg_attribute a ON a.attrelid = v.oid AND a.attnum > 0 AND NOT a.attisdropped
          JOIN (VALUES
            ('time', 'Start of the day (or month) in the tenant''s time zone, as timestamptz (Grafana''s time column).'),
            ('day', 'Day in the tenant''s time zone.'),
            ('month', 'First day of the month.'),
            ('revenue', 'Revenue of sales lines (returns not subtracted), in the tenant''s currency.'),
            ('orders', 'Number of orders (invoices that are not returns).'),
            ('units', 'Units sold.'),
            ('customers', 'Number of distinct customers.'),
            ('metric', 'Name of the figure: revenue, orders, units or customers.'),
            ('value', 'Value of the figure.'),
            ('rank', 'Rank by revenue (1 = most).'),
            ('product_id', 'Product id.'),
            ('customer_id', 'Customer id.'),
            ('tenant_id', 'Tenant id.'),
            ('tenant', 'Tenant name.'),
            ('currency', 'ISO 4217 currency of the amounts.'),
            ('sku', 'Stock code of the product.'),
            ('name', 'Name (product description or customer name).'),
            ('ref', 'Customer reference as in the source data.'),
            ('category', 'Product category.'),
            ('country', 'Customer country.'),
            ('city', 'Customer city.'),
            ('revenue_share', 'Share of the tenant''s revenue over the same period (0-1).'),
            ('last_order_day', 'Day of the customer''s latest order.'),
            ('segment', 'RFM segment (Champions, Loyal Customers, At Risk, ...).'),
            ('value_tier', 'Value tier by monetary value: high, medium or low.'),
            ('clv', 'Customer lifetime value over the model horizon (BG/NBD + Gamma-Gamma, discounted).'),
            ('avg_clv', 'Average customer lifetime value.'),
            ('churn_label', 'Churn risk: low, medium or high (from churn_risk); unknown when not scored.'),
            ('churn_risk', 'Probability the customer buys nothing in the next segments.churn_days days (calibrated).'),
            ('p_alive', 'Probability the customer is still active (BG/NBD).'),
            ('avg_p_alive', 'Average probability that customers are still active.'),
            ('customer_share', 'Share of the tenant''s scored customers (0-1).'),
            ('avg_recency_days', 'Average days since the last order.'),
            ('recency_days', 'Days since the last order.'),
            ('frequency', 'Repeat orders (orders after the first).'),
            ('monetary', 'Revenue of the customer.'),
            ('expected_purchases_90d', 'Orders expected in the next 90 days (BG/NBD).'),
            ('expected_order_value', 'Expected value of an order (Gamma-Gamma).'),
            ('r_score', 'Recency score 1-5.'), ('f_score', 'Frequency score 1-5.'), ('m_score', 'Monetary score 1-5.'),
            ('first_order_at', 'Time of the first order.'), ('last_order_at', 'Time of the latest order.'),
            ('next_order_id', 'Id of the open predicted order.'),
            ('next_order_date', 'Most likely day of the next order.'),
            ('next_order_window_start', 'Start of the window the next order is expected in.'),
            ('next_order_window_end', 'End of the window the next order is expected in.'),
            ('next_order_confidence', 'Probability the next order comes within the window.'),
            ('next_order_priority', 'Priority of the predicted order: high, medium or low.'),
            ('next_order_amount', 'Expected amount of the next order.'),
            ('recommendations', 'Upsell suggestions as JSON: product, SKU, name, score.'),
            ('stock_status', 'out_of_stock, below_safety_stock, below_reorder_point, in_stock or unknown.'),
            ('buying_category', 'ORDER_TODAY, ALREADY_ORDERED, ATTENTION_REQUIRED or NORMAL.'),
            ('reasons', 'Why the product needs attention.'),
            ('on_hand', 'Units on hand.'), ('on_order', 'Units on open purchase orders.'),
            ('safety_stock', 'Safety stock in units.'), ('reorder_point', 'Reorder point in units.'),
            ('recommended_qty', 'Units to order now.'), ('order_value', 'Value of the recommended order.'),
            ('runway_days', 'Days the stock lasts against the forecast.'),
            ('stockout_date', 'Day the forecast demand exceeds the stock (empty: not within the forecast).'),
            ('as_of', 'Day the figures are for.'),
            ('forecast', 'Units forecast for the day (all products).'),
            ('forecast_lo80', 'Lower bound of the 80% interval (sum over products).'),
            ('forecast_hi80', 'Upper bound of the 80% interval (sum over products).'),
            ('actual', 'Units sold that day (empty for future days).'),
            ('origin', 'Last day of data of the forecast snapshot.'),
            ('step', 'Days ahead of the origin.'),
            ('days', 'Product-days compared.'),
            ('wape', 'Weighted absolute percentage error: sum of |forecast - actual| / units sold.'),
            ('bias', 'Sum of (forecast - actual) / units sold: above 0 over-forecasts.'),
            ('mase', 'Mean absolute error scaled by each product''s in-sample seasonal naive error (below 1: better than last week).'),
            ('coverage80', 'Share of actuals inside the 80% interval (near 0.8 when calibrated).'),
            ('score', 'Business health score, 0-100.'),
            ('growth', 'Growth component, 0-1 (0.5 = flat revenue over 90 days).'),
            ('retention', 'Retention component, 0-1: share of the previous 90 days'' customers who bought again.'),
            ('churn', 'Churn component, 0-1: 1 - share of customers at high churn risk.'),
            ('stock', 'Stock component, 0-1: share of stocked products not out of stock or below safety stock.'),
            ('revenue_90d', 'Revenue of the last 90 days.'), ('revenue_prev_90d', 'Revenue of the 90 days before.'),
            ('products', 'Number of products.'),
            ('average_order_value', 'Revenue per order.'),
            ('pending_predicted_orders', 'Predicted orders waiting for review.'),
            ('high_value_customers', 'Customers in the high value tier.'),
            ('open_alerts', 'Alerts not yet acknowledged.'),
            ('products_to_order', 'Products in category ORDER_TODAY.'),
            ('top_customers', 'Top 5 customers by revenue, as JSON.'),
            ('top_products', 'Top 5 products by revenue, as JSON.'),
            ('first_day', 'First day with orders.'), ('last_day', 'Latest day with orders.'),
            ('refreshed_at', 'When the figures were computed.'),
            ('view_name', 'Materialized view.'), ('last_refresh', 'Last successful refresh.'),
            ('newest_data', 'Newest processed upload of the tenant.'),
            ('stale', 'True when the view is older than the newest data or was never refreshed.')
          ) d(col, meaning) ON d.col = a.attname
         WHERE v.relnamespace = 'salesflow'::regnamespace AND v.relkind = 'v'
           AND v.relname IN ('dashboard_summary', 'sales_by_day', 'sales_by_month', 'sales_metrics', 'top_products',
                             'top_customers', 'segment_summary', 'churn_clv_summary', 'stock_overview',
                             'forecast_vs_actual', 'forecast_accuracy_trend', 'business_health', 'freshness',
                             'customer_profile')
    LOOP
        EXECUTE pg_catalog.format('COMMENT ON COLUMN salesflow.%I.%I IS %L', c.relname, c.attname, c.meaning);
    END LOOP;
END
$comments$;
