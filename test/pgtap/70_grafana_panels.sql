-- The Grafana dashboard (dashboards/grafana/salesflow.json) against real
-- data: a tenant loaded through the import path, the whole pipeline and the
-- dashboard refresh, then every panel query of the JSON (rows included),
-- with Grafana's macros expanded as Grafana would, run as salesflow_reader.
-- 1. In a session without a tenant (a login with no fixed tenant) and the
--    dashboard variable naming the tenant, every panel runs, returns rows,
--    and a time series starts with a sorted timestamptz "time" column. Rows
--    can only come back if the query's set_config() took effect before the
--    views were read (a session without a tenant sees nothing).
-- 2. In a session whose own setting names another tenant (a login with a
--    fixed tenant, ALTER ROLE ... SET salesflow.tenant), each query returns
--    exactly what it returns with the variable naming that tenant: the
--    variable cannot move a login off its tenant.
-- refresh_dashboards() commits, so there is no transaction here: the test
-- deletes its tenants at the end.
-- (read by the server: the copy scripts/cluster start puts where it can read it)
\getenv test_files SALESFLOW_TEST_FILES
\set dashboard :test_files '/dashboards/grafana/salesflow.json'
SET client_min_messages = warning;

SELECT salesflow.create_tenant('tap_grafana', 'Europe/London', 'GBP') IS NOT NULL AS created \gset
SELECT salesflow.create_tenant('tap_grafana_fixed', 'UTC', 'EUR') IS NOT NULL AS created \gset
-- the data in two uploads with a forecast between them, as in production:
-- the first snapshot is scored against the second upload's sales
CREATE TEMP TABLE demo_lines AS
SELECT string_to_array(convert_from(salesflow.generate_demo_csv(20000), 'UTF8'), E'\n') AS a;
SELECT (salesflow.import_csv(convert_to(array_to_string(a[1:16001], E'\n'), 'UTF8'), '{"tenant": "tap_grafana"}')).status
       AS imported FROM demo_lines \gset
ANALYZE salesflow.invoices, salesflow.invoice_items, salesflow.sales_daily, salesflow.products, salesflow.customers;
SELECT salesflow.refresh_forecasts('tap_grafana', horizon => 28) AS early_forecasts \gset
SELECT (salesflow.import_csv(convert_to(a[1] || E'\n' || array_to_string(a[16002:], E'\n'), 'UTF8'),
                             '{"tenant": "tap_grafana"}')).status AS imported FROM demo_lines \gset
-- fresh statistics: right after a first upload the planner still sees the
-- tables as they were, and refresh_associations / refresh_predicted_orders
-- take seconds instead of a tenth of one
ANALYZE salesflow.invoices, salesflow.invoice_items, salesflow.sales_daily, salesflow.products, salesflow.customers;
SELECT salesflow.refresh_segments('tap_grafana') AS segments \gset
SELECT salesflow.refresh_associations('tap_grafana') AS associations \gset
SELECT salesflow.refresh_predicted_orders('tap_grafana') AS predicted \gset
SELECT salesflow.refresh_forecasts('tap_grafana', horizon => 28) AS forecasts \gset
-- stock for the 30 best sellers: every third one out of stock
SELECT salesflow.import_inventory(
           (SELECT jsonb_agg(jsonb_build_object('sku', x.sku, 'on_hand', CASE WHEN x.rank % 3 = 0 THEN 0 ELSE x.rank * 5 END))
              FROM (SELECT p.sku, row_number() OVER (ORDER BY sum(d.units) DESC, p.sku) AS rank
                      FROM salesflow.sales_daily d
                      JOIN salesflow.products p ON p.tenant_id = d.tenant_id AND p.product_id = d.product_id
                     WHERE d.tenant_id = salesflow.require_tenant('tap_grafana') AND NOT p.is_non_product
                     GROUP BY p.sku ORDER BY 2 LIMIT 30) x),
           'tap_grafana') ->> 'accepted' AS stocked \gset
SELECT salesflow.refresh_replenishment('tap_grafana') AS replenished \gset
SELECT salesflow.refresh_anomalies('tap_grafana') AS alerts \gset
CALL salesflow.refresh_dashboards();

-- Grafana's macros, expanded as the PostgreSQL data source does, over a
-- fixed range that covers the data ($__timeGroup: epoch buckets, as
-- timestamptz so that the column type is checked)
CREATE FUNCTION pg_temp.expand(sql text, tenant text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    from_ts constant text := '''2010-01-01T00:00:00Z''';
    to_ts   constant text := '''2030-01-01T00:00:00Z''';
    bucket  constant text := 'to_timestamp(floor(extract(epoch FROM \1) / extract(epoch FROM interval ''\2'')) * extract(epoch FROM interval ''\2''))';
BEGIN
    sql := regexp_replace(sql, ';\s*$', '');
    sql := replace(sql, '$__interval_ms', '86400000');
    sql := replace(sql, '$__interval', '1d');
    sql := regexp_replace(sql, '\$__timeFilter\(\s*([^)]*[^)\s])\s*\)', '\1 BETWEEN ' || from_ts || ' AND ' || to_ts, 'g');
    sql := regexp_replace(sql, '\$__timeGroupAlias\(\s*([^,]*[^,\s])\s*,\s*''?([0-9]+[a-z]+)''?\s*(,[^)]*)?\)', bucket || ' AS "time"', 'g');
    sql := regexp_replace(sql, '\$__timeGroup\(\s*([^,]*[^,\s])\s*,\s*''?([0-9]+[a-z]+)''?\s*(,[^)]*)?\)', bucket, 'g');
    sql := replace(sql, '$__timeFrom()', from_ts);
    sql := replace(sql, '$__timeTo()', to_ts);
    sql := replace(sql, '$__unixEpochFrom()', extract(epoch FROM timestamptz '2010-01-01T00:00:00Z')::bigint::text);
    sql := replace(sql, '$__unixEpochTo()', extract(epoch FROM timestamptz '2030-01-01T00:00:00Z')::bigint::text);
    sql := replace(sql, '${tenant:sqlstring}', quote_literal(tenant));
    sql := replace(sql, '${tenant}', tenant);
    sql := regexp_replace(sql, '\$tenant\M', tenant, 'g');
    RETURN sql;
END
$$;

-- runs one expanded query in a session whose own setting names
-- session_tenant (set again for each panel: the set_config() of a panel
-- query lasts until the end of the transaction, here the whole SELECT that
-- runs every panel); the outcome as a row
CREATE FUNCTION pg_temp.run_panel(sql text, session_tenant text, OUT err text, OUT nrows bigint, OUT first_col text, OUT first_type text,
                                  OUT time_sorted boolean, OUT digest text)
LANGUAGE plpgsql AS $$
BEGIN
    IF sql ~ '\$__|\$\{|\$[a-z]' THEN
        err := 'unexpanded Grafana macro or variable: ' || substring(sql FROM '\$[^ ,)]*');
        RETURN;
    END IF;
    DROP TABLE IF EXISTS pg_temp.panel_out;
    PERFORM set_config('salesflow.tenant', session_tenant, true);
    EXECUTE 'CREATE TEMP TABLE panel_out AS ' || sql;
    SELECT count(*), md5(coalesce(string_agg(o::text, E'\n'), '')) INTO nrows, digest FROM pg_temp.panel_out o;
    SELECT a.attname, format_type(a.atttypid, a.atttypmod) INTO first_col, first_type
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = 'pg_temp.panel_out'::regclass AND a.attnum = 1;
    IF first_col = 'time' AND first_type = 'timestamp with time zone' THEN
        -- a fresh temporary table returns its rows in insertion order
        SELECT coalesce(bool_and(x.t >= x.p), true) INTO time_sorted
          FROM (SELECT o."time" AS t, lag(o."time") OVER () AS p FROM pg_temp.panel_out o) x;
    END IF;
EXCEPTION WHEN OTHERS THEN
    err := SQLSTATE || ' ' || SQLERRM;
END
$$;

-- every query target of every panel, panels inside rows included
CREATE TEMP TABLE doc AS SELECT pg_read_file(:'dashboard')::jsonb AS d;
CREATE TEMP TABLE panel_targets AS
SELECT row_number() OVER (ORDER BY p.src, p.ord, t.ord) AS n, p.panel ->> 'title' AS title, p.panel ->> 'type' AS type,
       t.target ->> 'format' AS format, t.target ->> 'rawSql' AS raw_sql, t.target -> 'datasource' AS datasource
  FROM (SELECT 1 AS src, x.ord, x.panel FROM doc, jsonb_array_elements(doc.d -> 'panels') WITH ORDINALITY x(panel, ord)
         WHERE x.panel ->> 'type' <> 'row'
        UNION ALL
        SELECT 2, r.ord * 1000 + x.ord, x.panel
          FROM doc, jsonb_array_elements(doc.d -> 'panels') WITH ORDINALITY r(panel, ord),
               jsonb_array_elements(r.panel -> 'panels') WITH ORDINALITY x(panel, ord)
         WHERE r.panel ->> 'type' = 'row') p
  LEFT JOIN LATERAL jsonb_array_elements(p.panel -> 'targets') WITH ORDINALITY t(target, ord) ON true;
GRANT SELECT ON doc, panel_targets TO salesflow_reader;
-- the same list by JSON path (every rawSql anywhere under panels)
SELECT sum(c) AS n_paths FROM (SELECT count(*) AS c FROM doc, jsonb_path_query(doc.d, 'strict $.panels[*] ? (@.type != "row").targets[*].rawSql')
                               UNION ALL
                               SELECT count(*) FROM doc, jsonb_path_query(doc.d, 'strict $.panels[*] ? (@.type == "row").panels[*].targets[*].rawSql')) s \gset
SELECT count(*) AS n_targets FROM panel_targets \gset

SELECT plan(2 * :n_targets + 5);

SELECT ok((SELECT (d ->> 'schemaVersion')::int BETWEEN 36 AND 39 AND d -> '__inputs' @> '[{"name": "DS_SALESFLOW", "type": "datasource"}]'
             FROM doc),
          'the dashboard is a Grafana 10 export with the DS_SALESFLOW data source input');
SELECT is(:n_targets::bigint, :n_paths::bigint, 'every panel, row panels'' children included, has one query (' || :n_targets || ' panels)');
SELECT ok((SELECT bool_and(raw_sql IS NOT NULL AND datasource ->> 'uid' = '${datasource}') FROM panel_targets),
          'every panel queries through the datasource variable');
SELECT ok((SELECT bool_and(raw_sql LIKE '%WHERE (SELECT set_config(''salesflow.tenant'', coalesce(nullif(current_setting(''salesflow.tenant'', true), ''''), ${tenant:sqlstring}), true)) IS NOT NULL%')
             FROM panel_targets),
          'every panel selects the dashboard''s tenant in its own statement');

SET ROLE salesflow_reader;
SET salesflow.tenant = 'tap_grafana';
-- (a per-tenant login lists its own tenant only)
SELECT set_eq((SELECT d #>> '{templating,list,1,query}' FROM doc), $$VALUES ('tap_grafana')$$,
              'the tenant variable lists the reader''s own tenant');

SELECT ok(r.err IS NULL AND r.nrows > 0
            AND (p.format IS DISTINCT FROM 'time_series'
                 OR (r.first_col = 'time' AND r.first_type = 'timestamp with time zone' AND r.time_sorted)),
          format('panel "%s" (%s, %s) runs as salesflow_reader without a session tenant and returns %s rows%s%s', p.title, p.type, p.format,
                 r.nrows, CASE WHEN p.format = 'time_series'
                      THEN format(', first column %s %s%s', r.first_col, r.first_type,
                                  CASE WHEN r.time_sorted THEN ' in order' ELSE ' NOT IN ORDER' END) ELSE '' END,
                 coalesce(': ' || r.err, '')))
  FROM panel_targets p, pg_temp.run_panel(pg_temp.expand(p.raw_sql, 'tap_grafana'), '') r
 ORDER BY p.n;

-- the session names tap_grafana_fixed (a tenant without data), the
-- dashboard variable tap_grafana: every panel shows exactly what it shows
-- with the variable naming tap_grafana_fixed itself
SELECT ok(a.err IS NULL AND b.err IS NULL AND a.digest = b.digest,
          format('panel "%s" keeps a login fixed to another tenant on that tenant (%s rows%s)',
                 p.title, a.nrows, coalesce(': ' || coalesce(a.err, b.err), '')))
  FROM panel_targets p,
       pg_temp.run_panel(pg_temp.expand(p.raw_sql, 'tap_grafana'), 'tap_grafana_fixed') a,
       pg_temp.run_panel(pg_temp.expand(p.raw_sql, 'tap_grafana_fixed'), 'tap_grafana_fixed') b
 ORDER BY p.n;
RESET salesflow.tenant;
RESET ROLE;

SELECT * FROM finish();
SELECT salesflow.delete_tenant('tap_grafana') AS deleted \gset
SELECT salesflow.delete_tenant('tap_grafana_fixed') AS deleted \gset
CALL salesflow.refresh_dashboards();
