-- Builds the source database of the pg_dump / pg_restore round trip.
CREATE EXTENSION salesflow CASCADE;
\i test/fixtures/two_tenants.sql
-- Rows created through the API, with values checked after the restore.
SELECT salesflow.create_tenant('dump_c', 'Asia/Tokyo', 'JPY') \gset
INSERT INTO salesflow.settings (tenant_id, name, value)
SELECT tenant_id, 'segments.clv_months', '42' FROM salesflow.tenants WHERE name = 'dump_c';
SET salesflow.tenant = 'dump_c';
SELECT status FROM salesflow.import_csv(salesflow.generate_demo_csv(3000, 7)) \gset
