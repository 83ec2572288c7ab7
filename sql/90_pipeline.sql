-- pipeline: run_pipeline() brings segments and forecasts up to date, step by
-- step, logs each step, recomputes only what changed, and survives a
-- failing tenant.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT name FROM salesflow.create_tenant('pipe_a', 'UTC', 'EUR');
SELECT name FROM salesflow.create_tenant('pipe_b', 'UTC', 'EUR');
SET salesflow.tenant = 'pipe_a';
SELECT status, inserted FROM salesflow.import_csv(convert_to('invoice,sku,qty,price,date,customer' || E'\n' ||
    (SELECT string_agg(format('P%s,S%s,%s,2.0,%s,K%s', g, g % 3, 1 + g % 4, to_char(date '2024-01-01' + g % 40, 'YYYY-MM-DD'), g % 7), E'\n')
       FROM generate_series(1, 300) g), 'UTF8'));
RESET salesflow.tenant;
-- tenant pipe_b has no data yet: its steps run and write nothing
INSERT INTO salesflow.settings (tenant_id, name, value)
SELECT tenant_id, 'forecast.method', '"theta"' FROM salesflow.tenants WHERE name IN ('pipe_a', 'pipe_b');
CALL salesflow.run_pipeline();
SELECT t.name, r.step, r.status, r.rows FROM salesflow.pipeline_runs r JOIN salesflow.tenants t USING (tenant_id)
 WHERE t.name LIKE 'pipe%' ORDER BY t.name, r.run_id;
-- nothing changed: the second run recomputes nothing
CALL salesflow.run_pipeline('pipe_a');
SELECT r.step, r.rows FROM salesflow.pipeline_runs r JOIN salesflow.tenants t USING (tenant_id)
 WHERE t.name = 'pipe_a' ORDER BY r.run_id DESC LIMIT 5;
-- a failing step is logged with its error and the run goes on (settings are
-- checked when written, so the bad value goes in behind the check's back)
UPDATE salesflow.settings s SET value = '"nonsense"' FROM salesflow.tenants t
 WHERE t.tenant_id = s.tenant_id AND t.name = 'pipe_a' AND s.name = 'forecast.method';
ALTER TABLE salesflow.settings DISABLE TRIGGER settings_check;
UPDATE salesflow.settings s SET value = '"nonsense"' FROM salesflow.tenants t
 WHERE t.tenant_id = s.tenant_id AND t.name = 'pipe_a' AND s.name = 'forecast.method';
ALTER TABLE salesflow.settings ENABLE TRIGGER settings_check;
SET salesflow.tenant = 'pipe_a';
SELECT status, inserted FROM salesflow.import_csv(convert_to(E'invoice,sku,qty,price,date,customer\nP999,S1,5,2.0,2024-02-15,K1\n', 'UTF8'));
RESET salesflow.tenant;
CALL salesflow.run_pipeline('pipe_a');
SELECT r.step, r.status, r.rows, r.error FROM salesflow.pipeline_runs r JOIN salesflow.tenants t USING (tenant_id)
 WHERE t.name = 'pipe_a' ORDER BY r.run_id DESC LIMIT 5;
-- inside a transaction block the procedure cannot commit: a clear error
BEGIN;
CALL salesflow.run_pipeline('pipe_a');
ROLLBACK;
