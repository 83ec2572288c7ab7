-- seed names kept as aliases (docs/seeds.md): stores, upselling_recommendations
-- and refresh_dashboard() read and do what their salesflow objects do, per tenant.
BEGIN;
SELECT plan(7);
SELECT salesflow.create_tenant('seed_a', 'UTC', 'EUR') IS NOT NULL;
SELECT salesflow.create_tenant('seed_b', 'UTC', 'EUR') IS NOT NULL;
SET LOCAL salesflow.tenant = 'seed_a';
SELECT (salesflow.import_csv(salesflow.generate_demo_csv(2000, 3))).status;
SELECT salesflow.refresh_associations() >= 0;
SET LOCAL ROLE salesflow_reader;
SELECT is((SELECT count(*) FROM salesflow.stores), (SELECT count(*) FROM salesflow.customers WHERE NOT is_anonymous),
          'stores: one row per named customer');
SELECT is((SELECT count(*) FROM salesflow.upselling_recommendations), (SELECT count(*) FROM salesflow.recommendations),
          'upselling_recommendations: one row per recommendation');
SELECT ok((SELECT count(*) FROM salesflow.upselling_recommendations) > 0, 'there are recommendations to show');
SET LOCAL salesflow.tenant = 'seed_b';
SELECT is((SELECT count(*) FROM salesflow.stores) + (SELECT count(*) FROM salesflow.upselling_recommendations), 0::bigint,
          'another tenant sees none of them');
SELECT throws_ok('SELECT salesflow.refresh_dashboard()', '42501', NULL, 'refresh_dashboard is for admins');
RESET ROLE;
SET LOCAL salesflow.tenant = 'seed_a';
SELECT lives_ok('SELECT salesflow.refresh_dashboard()', 'refresh_dashboard refreshes as an admin');
SELECT ok((SELECT count(*) FROM salesflow.dashboard_summary) = 1, 'the summary is filled for the tenant');
SELECT * FROM finish();
ROLLBACK;
