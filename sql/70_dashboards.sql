-- dashboards: the tenant views against figures computed independently from
-- the base tables, gap filling, Grafana shapes, JSON, customer list and
-- search, CSV export, reports, the refresh log and freshness, scheduling
-- without pg_cron in this database, and the errors. Isolation of the views
-- is tested catalog-wide in test/pgtap/01_tenant_isolation.sql, the pg_cron
-- jobs in test/pgtap/80_schedule.sql.
\set SHOW_CONTEXT never
-- every column of the views BI tools read is described (Metabase shows it)
SELECT c.relname, a.attname AS column_without_comment
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 WHERE c.relnamespace = 'salesflow'::regnamespace AND c.relkind = 'v' AND a.attnum > 0
   AND (NOT coalesce(c.reloptions @> ARRAY['security_invoker=true'], false) OR c.relname = 'customer_profile')
   AND col_description(c.oid, a.attnum) IS NULL;
SELECT salesflow.create_tenant('dash', 'Europe/Berlin', 'EUR') IS NOT NULL AS created;
SET salesflow.tenant = 'dash';
-- as a writer of the tenant, so that row-level security applies to the
-- base-table figures the views are checked against
SET ROLE salesflow_writer;
SELECT (salesflow.import_csv(salesflow.generate_demo_csv(3000, 7))).status;
SELECT salesflow.refresh_segments() > 0 AS segments, salesflow.refresh_associations() >= 0 AS associations,
       salesflow.refresh_predicted_orders() >= 0 AS predicted, salesflow.refresh_forecasts(horizon => 14) > 0 AS forecasts;
SELECT (salesflow.import_inventory((SELECT jsonb_agg(jsonb_build_object('sku', sku, 'on_hand', 3)) FROM salesflow.products))
        ->> 'rejected')::int AS stock_rejected;
SELECT salesflow.refresh_replenishment() > 0 AS replenished;
-- before the first refresh the views are empty for this tenant, and stale
SELECT count(*) AS summary_rows FROM salesflow.dashboard_summary;
SELECT bool_and(stale) AS all_stale FROM salesflow.freshness;
RESET ROLE;
CALL salesflow.refresh_dashboards();
SELECT count(*) AS views, bool_and(status = 'ok') AS all_ok, bool_and(mode = 'concurrently') AS concurrently
  FROM salesflow.refresh_log WHERE started_at > now() - interval '1 hour';
-- the accuracy trend holds what the live view computes, for every tenant
SELECT count(*) > 0 AS has_rows,
       count(*) = (SELECT count(*) FROM salesflow.forecast_accuracy_by_origin) AS same_rows,
       bool_and(a.days = m.days AND a.wape IS NOT DISTINCT FROM m.wape AND a.bias IS NOT DISTINCT FROM m.bias
                AND a.coverage80 = m.coverage80) AS same_values
  FROM salesflow.mv_forecast_accuracy m
  JOIN salesflow.forecast_accuracy_by_origin a USING (tenant_id, origin, step);
SET ROLE salesflow_writer;
SELECT count(*) AS writer_reads_log FROM salesflow.refresh_log;
SELECT bool_or(stale) AS any_stale FROM salesflow.freshness;

-- the summary equals the base tables
SELECT d.customers = (SELECT count(*) FROM salesflow.customers WHERE NOT is_anonymous) AS customers_ok,
       d.orders = (SELECT count(*) FROM salesflow.invoices WHERE NOT is_return) AS orders_ok,
       d.revenue = (SELECT sum(total)::numeric(18,2) FROM salesflow.invoices WHERE NOT is_return) AS revenue_ok,
       d.average_order_value = round(d.revenue / d.orders, 2) AS aov_ok,
       d.pending_predicted_orders = (SELECT count(*) FROM salesflow.predicted_orders WHERE status = 'pending') AS pending_ok,
       jsonb_array_length(d.top_products) = 5 AND jsonb_array_length(d.top_customers) = 5 AS top5
  FROM salesflow.dashboard_summary d;
-- days: gap-filled from the first to the last sales day, zeros included,
-- midnight in Berlin as timestamptz, sorted
SELECT count(*) = max(day) - min(day) + 1 AS gap_filled, bool_and(revenue >= 0) AS non_negative,
       sum(revenue) = (SELECT sum(revenue) FROM salesflow.sales_daily) AS revenue_ok,
       sum(orders) = (SELECT count(*) FROM salesflow.invoices WHERE NOT is_return) AS orders_ok,
       bool_and("time" = day::timestamp AT TIME ZONE 'Europe/Berlin') AS midnight_berlin
  FROM salesflow.sales_by_day;
SELECT pg_typeof("time") AS time_type FROM salesflow.sales_by_day LIMIT 1;
SELECT sum(revenue) = (SELECT sum(revenue) FROM salesflow.sales_by_day) AS months_add_up FROM salesflow.sales_by_month;
SELECT array_agg(DISTINCT metric ORDER BY metric) AS long_metrics FROM salesflow.sales_metrics;
SELECT (SELECT array_agg(rank ORDER BY rank) FROM (SELECT rank FROM salesflow.top_products LIMIT 3) x) AS first_ranks;
SELECT sum(customers) = (SELECT count(*) FROM salesflow.customer_segments) AS segments_add_up FROM salesflow.segment_summary;
SELECT score BETWEEN 0 AND 100 AS score_in_range, growth BETWEEN 0 AND 1 AS growth_ok, stock BETWEEN 0 AND 1 AS stock_ok
  FROM salesflow.business_health;
SELECT count(*) = (SELECT count(*) FROM salesflow.replenishment) AS stock_rows FROM salesflow.stock_overview;
SELECT count(*) > 0 AS has_days, bool_and(actual IS NULL OR actual >= 0) AS actuals_ok FROM salesflow.forecast_vs_actual;
SELECT salesflow.dashboard_json() ->> 'tenant' AS json_tenant,
       (salesflow.dashboard_json() ->> 'orders')::bigint = (SELECT orders FROM salesflow.dashboard_summary) AS json_orders;

-- customers: profile, pages, search
SELECT count(*) = (SELECT count(*) FROM salesflow.customers WHERE NOT is_anonymous) AS one_profile_per_customer
  FROM salesflow.customer_profile;
SELECT count(*) AS page_rows FROM salesflow.list_customers(page => 1, page_size => 7);
SELECT (SELECT array_agg(customer_id) FROM salesflow.list_customers(page => 2, page_size => 5))
       = (SELECT array_agg(customer_id) FROM (SELECT customer_id FROM salesflow.list_customers(page => 1, page_size => 10) OFFSET 5) x)
       AS pages_are_consecutive;
SELECT bool_and(segment = 'Champions') AS only_champions FROM salesflow.list_customers(segment => 'Champions');
SELECT ref = (SELECT ref FROM salesflow.customers WHERE NOT is_anonymous ORDER BY customer_id LIMIT 1) AS best_match_is_exact
  FROM salesflow.search_customers((SELECT ref FROM salesflow.customers WHERE NOT is_anonymous ORDER BY customer_id LIMIT 1), 1);
SELECT * FROM salesflow.list_customers(order_by => 'age; DROP TABLE x');
SELECT * FROM salesflow.search_customers('a');

-- reports as CSV
SELECT split_part(salesflow.export_csv('top_products', '{"limit": 2}'), E'\n', 1) AS header;
SELECT array_length(string_to_array(rtrim(salesflow.export_csv('sales_by_month'), E'\n'), E'\n'), 1) - 1
       = (SELECT count(*) FROM salesflow.sales_by_month) AS one_line_per_month;
SELECT split_part(salesflow.export_csv('segment_summary', '{"order_by": "customers", "descending": true, "delimiter": ";", "limit": 1}'), E'\n', 2)
       LIKE '"' || (SELECT segment FROM salesflow.segment_summary ORDER BY customers DESC LIMIT 1) || '";%' AS ordered;
-- the same reports as Excel workbooks (read back by openpyxl in test/python/test_export_xlsx.py)
SELECT substring(salesflow.export_xlsx('top_products', '{"limit": 2}') FROM 1 FOR 4) = '\x504b0304'::bytea AS is_zip;
SELECT salesflow.export_xlsx('top_products', '{"delimiter": ";"}');
SELECT salesflow.export_xlsx('pg_authid');
SELECT salesflow.export_csv('pg_authid');
SELECT salesflow.export_csv('top_products', '{"order_by": "rank; DROP TABLE x"}');
SELECT salesflow.export_csv('top_products', '{"delimiter": "x"}');
INSERT INTO salesflow.reports (report) VALUES ('segment_summary'), ('nonsense');
SELECT salesflow.make_reports() AS made;
SELECT report, status, content IS NOT NULL AS has_content, error FROM salesflow.reports ORDER BY report_id;

-- a new upload makes the views stale until the next refresh
SELECT (salesflow.import_csv(convert_to(E'invoice,sku,qty,price,date,customer\nNEW-1,NEW,1,1.00,2030-01-01,NEWC', 'UTF8'))).status;
SELECT bool_and(stale) AS stale_after_upload FROM salesflow.freshness;

RESET ROLE;
-- scheduling: pg_cron is not in this database, so nothing is installed and
-- the commands to run where it lives are returned
SELECT job_name, schedule, installed FROM salesflow.schedule('{"timezone": "Asia/Tokyo"}') ORDER BY job_name;
SELECT command FROM salesflow.schedule('{"timeouts": {"forecasts": "45min"}}') WHERE job_name = 'salesflow-forecasts';
SELECT * FROM salesflow.schedule('{"timezone": "Mars/Olympus"}');
SELECT * FROM salesflow.schedule('{"schedules": {"forecasts": "0 7 * * *; DROP TABLE x"}}');
SELECT * FROM salesflow.schedule('{"timeouts": {"uploads": "1 minute; DROP"}}');
SELECT salesflow.unschedule();
-- only admins schedule or refresh
SET ROLE salesflow_writer;
SELECT * FROM salesflow.schedule();
CALL salesflow.refresh_dashboards();
RESET ROLE;
RESET salesflow.tenant;
