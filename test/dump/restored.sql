-- Checks a database restored by pg_restore from a dump of test/dump/source.sql:
-- the extension's user data came back, and ids keep counting from where they were.
BEGIN;
SELECT plan(12);
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'salesflow'),
          (SELECT default_version FROM pg_available_extensions WHERE name = 'salesflow'), 'extension restored');
SELECT results_eq($$SELECT name, timezone, currency FROM salesflow.tenants ORDER BY name$$,
                  $$VALUES ('dump_c', 'Asia/Tokyo', 'JPY'), ('tap_a', 'Europe/London', 'GBP'),
                           ('tap_b', 'America/New_York', 'USD')$$,
                  'tenants restored with their values');
SELECT is((SELECT count(*) FROM salesflow.settings), 7::bigint, 'all settings rows restored');
SELECT is((SELECT count(*) FROM salesflow.invoice_items i JOIN salesflow.tenants t USING (tenant_id) WHERE t.name = 'dump_c'),
          (SELECT inserted FROM salesflow.uploads u JOIN salesflow.tenants t USING (tenant_id) WHERE t.name = 'dump_c'),
          'invoice items restored');
SELECT is((SELECT sum(units) FROM salesflow.sales_daily), (SELECT sum(quantity) FROM salesflow.invoice_items WHERE NOT is_return),
          'sales_daily restored and consistent with the items');
SELECT is((SELECT count(*) FROM salesflow.upload_rejects), 2::bigint, 'rejects restored');
SELECT is((SELECT s.value FROM salesflow.settings s JOIN salesflow.tenants t USING (tenant_id)
            WHERE t.name = 'dump_c' AND s.name = 'segments.clv_months'), '42'::jsonb,
          'a typed setting restored exactly (the settings catalogue checks it again on restore)');
SELECT cmp_ok((salesflow.create_tenant('after_restore')).tenant_id, '>', (SELECT max(tenant_id) FROM salesflow.tenants WHERE name <> 'after_restore'),
              'the tenant id sequence continues after the restore');
SET LOCAL salesflow.tenant = 'dump_c';
SELECT is((salesflow.import_csv(salesflow.generate_demo_csv(3000, 7))).upload_id,
          (SELECT upload_id FROM salesflow.uploads u JOIN salesflow.tenants t USING (tenant_id) WHERE t.name = 'dump_c' AND u.source = 'import_csv'),
          'the same bytes after restore return the restored upload');
SELECT is((salesflow.import_csv(salesflow.generate_demo_csv(3500, 7))).status, 'processed',
          'a new upload after restore works (sequences continue)');
RESET salesflow.tenant;
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'salesflow.settings'::regclass), 'RLS is on after restore');
SET LOCAL ROLE salesflow_reader;
SET LOCAL salesflow.tenant = 'tap_a';
SELECT is((SELECT count(DISTINCT tenant_id) FROM salesflow.settings), 1::bigint, 'isolation holds after restore');
RESET ROLE;
SELECT * FROM finish();
ROLLBACK;
