-- Function-level security, over the catalog so new functions are covered:
--  * every function or procedure that takes a tenant by name (an argument
--    named "tenant" of type text) refuses another tenant for a reader and a
--    writer of tenant A (42704 from require_tenant, or 42501 when the role
--    may not call it at all), and does not touch B's rows;
--  * the admin-only API (tenants, scheduling, refresh, pruning, diagnostics)
--    is not executable by readers and writers;
--  * SECURITY DEFINER is limited to the reviewed functions (also pinned in
--    sql/00_install.sql) and every one of them pins its search_path.
BEGIN;
SELECT * FROM no_plan();
\i test/fixtures/two_tenants.sql

CREATE TEMP TABLE tenant_api ON COMMIT DROP AS
SELECT p.oid::regprocedure AS f, p.proname::text AS name, p.prokind AS kind,
       (SELECT string_agg(format('%I => NULL::%s', a.n, format_type(a.t, NULL)), ', ' ORDER BY a.i)
          FROM unnest(p.proargnames[1:p.pronargs], p.proargtypes::oid[]) WITH ORDINALITY a(n, t, i)
         WHERE a.i <= p.pronargs - p.pronargdefaults AND a.n <> 'tenant') AS required_args
  FROM pg_proc p
 WHERE p.pronamespace = 'salesflow'::regnamespace
   AND p.proargnames[1:p.pronargs] @> ARRAY['tenant']
   AND p.proargtypes[array_position(p.proargnames[1:p.pronargs], 'tenant') - 1] = 'text'::regtype;
GRANT SELECT ON tenant_api TO PUBLIC;
SELECT cmp_ok((SELECT count(*) FROM tenant_api), '>=', 10::bigint, 'the catalog lists the functions that take a tenant name');

-- the SQLSTATE a call raises, or 'ok'
CREATE FUNCTION pg_temp.call_state(f regprocedure, kind "char", required_args text, tenant text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('%s salesflow.%I(%s%stenant => %L)', CASE WHEN kind = 'p' THEN 'CALL' ELSE 'SELECT' END,
                   (SELECT proname FROM pg_proc WHERE oid = f), coalesce(required_args, ''),
                   CASE WHEN required_args IS NULL THEN '' ELSE ', ' END, tenant);
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;

CREATE TEMP TABLE b_before ON COMMIT DROP AS
SELECT 'settings' AS t, count(*) AS n FROM salesflow.settings s JOIN salesflow.tenants x USING (tenant_id) WHERE x.name = 'tap_b'
UNION ALL SELECT 'customer_segments', count(*) FROM salesflow.customer_segments s JOIN salesflow.tenants x USING (tenant_id) WHERE x.name = 'tap_b'
UNION ALL SELECT 'forecasts', count(*) FROM salesflow.forecasts s JOIN salesflow.tenants x USING (tenant_id) WHERE x.name = 'tap_b'
UNION ALL SELECT 'replenishment', count(*) FROM salesflow.replenishment s JOIN salesflow.tenants x USING (tenant_id) WHERE x.name = 'tap_b'
UNION ALL SELECT 'uploads', count(*) FROM salesflow.uploads s JOIN salesflow.tenants x USING (tenant_id) WHERE x.name = 'tap_b';

SET LOCAL ROLE salesflow_reader;
SET LOCAL salesflow.tenant = 'tap_a';
SELECT ok(pg_temp.call_state(f, kind, required_args, 'tap_b') IN ('42704', '42501'),
          'a reader of A cannot name tenant B in ' || f::text)
  FROM tenant_api;
RESET ROLE;
SET LOCAL ROLE salesflow_writer;
SET LOCAL salesflow.tenant = 'tap_a';
SELECT ok(pg_temp.call_state(f, kind, required_args, 'tap_b') IN ('42704', '42501'),
          'a writer of A cannot name tenant B in ' || f::text)
  FROM tenant_api;
RESET ROLE;
SELECT is((SELECT count(*) FROM salesflow.settings s JOIN salesflow.tenants x USING (tenant_id) WHERE x.name = 'tap_b'),
          (SELECT n FROM b_before WHERE t = 'settings'), 'B''s settings are untouched');
SELECT is((SELECT count(*) FROM salesflow.customer_segments s JOIN salesflow.tenants x USING (tenant_id) WHERE x.name = 'tap_b'),
          (SELECT n FROM b_before WHERE t = 'customer_segments'), 'B''s segments are untouched');
SELECT is((SELECT count(*) FROM salesflow.forecasts s JOIN salesflow.tenants x USING (tenant_id) WHERE x.name = 'tap_b'),
          (SELECT n FROM b_before WHERE t = 'forecasts'), 'B''s forecasts are untouched');
SELECT is((SELECT count(*) FROM salesflow.replenishment s JOIN salesflow.tenants x USING (tenant_id) WHERE x.name = 'tap_b'),
          (SELECT n FROM b_before WHERE t = 'replenishment'), 'B''s replenishment is untouched');
SELECT is((SELECT count(*) FROM salesflow.uploads s JOIN salesflow.tenants x USING (tenant_id) WHERE x.name = 'tap_b'),
          (SELECT n FROM b_before WHERE t = 'uploads'), 'B''s uploads are untouched');

-- admin-only API
SELECT ok(NOT has_function_privilege(r, p.oid, 'EXECUTE'), p.oid::regprocedure || ' is not executable by ' || r)
  FROM pg_proc p, unnest(ARRAY['salesflow_reader', 'salesflow_writer']) r
 WHERE p.pronamespace = 'salesflow'::regnamespace
   AND (p.proname IN ('create_tenant', 'delete_tenant', 'schedule', 'unschedule', 'prune', 'refresh_dashboards',
                      '_tenant_table', '_dashboard_freshness_admin') OR p.proname LIKE '\_debug\_%');
SELECT ok(has_function_privilege('salesflow_admin', p.oid, 'EXECUTE'), p.oid::regprocedure || ' is executable by admins')
  FROM pg_proc p
 WHERE p.pronamespace = 'salesflow'::regnamespace
   AND p.proname IN ('create_tenant', 'delete_tenant', 'schedule', 'unschedule', 'prune', 'refresh_dashboards');

-- SECURITY DEFINER: the reviewed few, each with a pinned search_path
SELECT set_eq($$SELECT p.proname::text FROM pg_proc p WHERE p.pronamespace = 'salesflow'::regnamespace AND p.prosecdef$$,
              ARRAY['current_tenant_id', '_dashboard_freshness', '_analyze_if_stale', '_analyze_forecast_work', '_staging_discard'], 'SECURITY DEFINER only where reviewed');
SELECT ok(EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c = 'search_path=pg_catalog, pg_temp'),
          p.oid::regprocedure || ' (SECURITY DEFINER) pins search_path to pg_catalog, pg_temp')
  FROM pg_proc p WHERE p.pronamespace = 'salesflow'::regnamespace AND p.prosecdef;

SELECT * FROM finish();
ROLLBACK;
