-- Checks a database restored by pg_restore from a dump of test/dump/source.sql:
-- the extension's user data came back, and ids keep counting from where they were.
BEGIN;
SELECT plan(7);
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'salesflow'),
          (SELECT default_version FROM pg_available_extensions WHERE name = 'salesflow'), 'extension restored');
SELECT results_eq($$SELECT name, timezone, currency FROM salesflow.tenants ORDER BY name$$,
                  $$VALUES ('dump_c', 'Asia/Tokyo', 'JPY'), ('tap_a', 'Europe/London', 'GBP'),
                           ('tap_b', 'America/New_York', 'USD')$$,
                  'tenants restored with their values');
SELECT is((SELECT count(*) FROM salesflow.settings), 5::bigint, 'all settings rows restored');
SELECT is((SELECT s.value FROM salesflow.settings s JOIN salesflow.tenants t USING (tenant_id)
            WHERE t.name = 'dump_c' AND s.name = 'dump.marker'), '{"kept": true, "n": 42}'::jsonb,
          'a JSON setting restored exactly');
SELECT cmp_ok((salesflow.create_tenant('after_restore')).tenant_id, '>', (SELECT max(tenant_id) FROM salesflow.tenants WHERE name <> 'after_restore'),
              'the tenant id sequence continues after the restore');
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'salesflow.settings'::regclass), 'RLS is on after restore');
SET LOCAL ROLE salesflow_reader;
SET LOCAL salesflow.tenant = 'tap_a';
SELECT is((SELECT count(DISTINCT tenant_id) FROM salesflow.settings), 1::bigint, 'isolation holds after restore');
RESET ROLE;
SELECT * FROM finish();
ROLLBACK;
