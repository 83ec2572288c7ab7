-- The tenant boundary under attack (issue #15). Five actors try to read or
-- break tenant B (tap_b): the reader, the writer and a bound login of tenant
-- A (tap_a), a login with no salesflow grants, and an admin running the
-- background work. Every attack asserts its exact outcome (a SQLSTATE or the
-- rows). Where it can, the suite walks the catalog (every function, every
-- relation, every pg_notify, every advisory lock in the sources, every
-- setting read by the code), so new objects are covered without editing it.
BEGIN;
SELECT * FROM no_plan();
\i test/fixtures/two_tenants.sql
SELECT tenant_id AS a_id FROM salesflow.tenants WHERE name = 'tap_a' \gset
SELECT tenant_id AS b_id FROM salesflow.tenants WHERE name = 'tap_b' \gset

CREATE ROLE atk_reader NOLOGIN IN ROLE salesflow_reader;
CREATE ROLE atk_writer NOLOGIN IN ROLE salesflow_writer;
CREATE ROLE atk_bound NOLOGIN IN ROLE salesflow_writer;
CREATE ROLE atk_nobody NOLOGIN;
CREATE ROLE atk_admin NOLOGIN IN ROLE salesflow_admin;
INSERT INTO salesflow.tenant_logins (tenant_id, login) VALUES (:a_id, 'atk_bound');

-- the SQLSTATE a statement raises, or 'ok'
CREATE FUNCTION pg_temp.outcome(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.outcome(text) TO PUBLIC;
-- The actors take turns inside one test transaction; the scratch tables
-- (sf_*, ON COMMIT DROP) one role made would not be another's to reuse. A
-- real job runs in its own transaction: drop them as the superuser here.
CREATE FUNCTION pg_temp.new_transaction() RETURNS void LANGUAGE plpgsql AS $$
DECLARE t regclass;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_class c
              WHERE c.relnamespace = pg_my_temp_schema() AND c.relname LIKE 'sf\_%' AND c.relkind = 'r' LOOP
        EXECUTE format('DROP TABLE %s', t);
    END LOOP;
END $$;
SELECT pg_temp.new_transaction();

-- ===========================================================================
-- 1. NOTIFY carries ids only (any role can LISTEN; PostgreSQL has no channel
--    privileges). Walk: every salesflow function that notifies does it
--    through salesflow._notify, whose payload is {"kind", "id"}.
-- ===========================================================================
SELECT is((SELECT string_agg(p.oid::regprocedure::text, ', ') FROM pg_proc p
            WHERE p.pronamespace = 'salesflow'::regnamespace AND p.prosrc ~* 'pg_notify' AND p.proname <> '_notify'),
          NULL, 'attack 1: no salesflow function calls pg_notify except _notify (payloads are ids only)');
SELECT is((SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'salesflow'::regnamespace AND p.prosrc ~ '_notify\('
              AND p.proname <> '_notify'),
          (SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'salesflow'::regnamespace
              AND p.prosrc ~ '_notify\(''salesflow_uploads'', ''upload''|_notify\(a\.channel, ''alert'''
              AND p.proname <> '_notify'),
          'attack 1: every _notify call sends kind upload on salesflow_uploads or kind alert on the alert channel');
SET LOCAL ROLE atk_nobody;
SELECT is(pg_temp.outcome('LISTEN salesflow_uploads'), 'ok', 'attack 1: a login with no grants can LISTEN (documented: payloads are public)');
SELECT is(pg_temp.outcome($$NOTIFY salesflow_alerts, '{"kind": "alert", "id": 1}'$$), 'ok',
          'attack 1: a login with no grants can NOTIFY a fake alert (documented: receivers re-read the row)');
RESET ROLE;
UNLISTEN *;
-- a spoofed id naming B's alert reads as nothing for A's receiver
SELECT anomaly_id AS b_alert FROM salesflow.anomalies WHERE tenant_id = :b_id LIMIT 1 \gset
SET LOCAL ROLE atk_reader;
SET LOCAL salesflow.tenant = 'tap_a';
SELECT is((SELECT count(*) FROM salesflow.open_alerts WHERE anomaly_id = :b_alert), 0::bigint,
          'attack 1: A''s receiver re-reading a (spoofed) id of B''s alert gets no row');
RESET ROLE;

-- ===========================================================================
-- A login with no grants, over the whole catalog: every relation and every
-- function or procedure of schema salesflow gives 42501.
-- ===========================================================================
CREATE TEMP TABLE catalog_calls AS
SELECT p.oid::regprocedure::text AS object,
       format('%s %s(%s)', CASE WHEN p.prokind = 'p' THEN 'CALL' ELSE 'SELECT' END, p.oid::regproc,
              (SELECT string_agg('NULL::' || format_type(t, NULL), ', ') FROM unnest(p.proargtypes::oid[]) t)) AS stmt
  FROM pg_proc p
 WHERE p.pronamespace = 'salesflow'::regnamespace
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proargtypes::oid[]) t JOIN pg_type y ON y.oid = t WHERE y.typtype = 'p')
UNION ALL
SELECT c.oid::regclass::text, format('SELECT * FROM %s LIMIT 1', c.oid::regclass)
  FROM pg_class c WHERE c.relnamespace = 'salesflow'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm');
GRANT SELECT ON catalog_calls TO PUBLIC;
SELECT cmp_ok((SELECT count(*) FROM catalog_calls), '>=', 150::bigint, 'the catalog lists at least 150 functions and relations');
SET LOCAL ROLE atk_nobody;
SELECT is(pg_temp.outcome(stmt), '42501', 'a login with no grants gets 42501 from ' || object) FROM catalog_calls;
RESET ROLE;

-- ===========================================================================
-- 2. Queued reports are made as their tenant: an admin's make_reports()
--    gives exactly what A's writer gets from export_csv.
-- ===========================================================================
SET LOCAL ROLE atk_writer;
SET LOCAL salesflow.tenant = 'tap_a';
INSERT INTO salesflow.reports (report) VALUES ('customers'), ('open_alerts'), ('buying_queue'), ('no_such_report');
CREATE TEMP TABLE own_exports AS
SELECT r, salesflow.export_csv(r) AS csv FROM unnest(ARRAY['customers', 'open_alerts', 'buying_queue']) r;
RESET ROLE;
RESET salesflow.tenant;
SELECT pg_temp.new_transaction();
SET LOCAL ROLE atk_admin;
SELECT cmp_ok(salesflow.make_reports(), '>=', 4::bigint, 'attack 2: the admin''s make_reports() makes A''s four reports');
RESET ROLE;
SELECT is((SELECT p.content FROM salesflow.reports p WHERE p.tenant_id = :a_id AND p.report = o.r),
          o.csv, 'attack 2: report ' || o.r || ' made by the admin equals export_csv by A''s writer')
  FROM own_exports o;
SELECT is((SELECT count(*) FROM salesflow.reports p, regexp_split_to_table(p.content, E'\n') l
            WHERE p.tenant_id = :a_id AND p.report = 'customers' AND l LIKE '%tap_b-%'), 0::bigint,
          'attack 2: A''s customers report holds no customer of B');
SELECT is((SELECT status || ' ' || left(error, 5) FROM salesflow.reports WHERE tenant_id = :a_id AND report = 'no_such_report'),
          'failed 22023', 'attack 2: a bad report fails on its own with its SQLSTATE, the others are done');

-- ===========================================================================
-- Pipeline steps run as their tenant: each step run by an admin for A gives
-- the rows A's own writer gets from the same step (walks the step names).
-- ===========================================================================
CREATE TEMP TABLE step_outputs (step text, who text, n bigint, fingerprint text);
GRANT ALL ON step_outputs TO PUBLIC;
CREATE FUNCTION pg_temp.fingerprint(step text, tenant bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE q text; r text;
BEGIN
    q := CASE step
        WHEN 'segments' THEN 'SELECT customer_id, segment, value_tier, round(clv::numeric, 4) FROM salesflow.customer_segments'
        WHEN 'forecasts' THEN 'SELECT product_id, day, round(point::numeric, 6) FROM salesflow.forecasts'
        WHEN 'predicted_orders' THEN 'SELECT customer_id, predicted_date, status FROM salesflow.predicted_orders'
        WHEN 'associations' THEN 'SELECT antecedent, consequent FROM salesflow.product_associations'
        WHEN 'replenishment' THEN 'SELECT product_id, category, recommended_qty FROM salesflow.replenishment'
        WHEN 'anomalies' THEN 'SELECT metric, entity_id, day FROM salesflow.anomalies' END;
    EXECUTE format('SELECT md5(coalesce(string_agg(x::text, '';'' ORDER BY x::text), '''')) FROM (%s WHERE tenant_id = %s) x', q, tenant)
       INTO r;
    RETURN r;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.fingerprint(text, bigint) TO PUBLIC;
DO $$
DECLARE s text; a bigint := (SELECT tenant_id FROM salesflow.tenants WHERE name = 'tap_a');
BEGIN
    FOREACH s IN ARRAY ARRAY['segments', 'forecasts', 'predicted_orders', 'associations', 'replenishment', 'anomalies'] LOOP
        PERFORM pg_temp.new_transaction();
        SET LOCAL ROLE atk_admin;
        PERFORM set_config('salesflow.tenant', '', true);
        INSERT INTO step_outputs SELECT s, 'admin', salesflow.run_scheduled(s, 'tap_a'), pg_temp.fingerprint(s, a);
        RESET ROLE;
        PERFORM pg_temp.new_transaction();
        SET LOCAL ROLE atk_writer;
        PERFORM set_config('salesflow.tenant', 'tap_a', true);
        INSERT INTO step_outputs SELECT s, 'writer', salesflow.run_scheduled(s, 'tap_a'), pg_temp.fingerprint(s, a);
        RESET ROLE;
    END LOOP;
END $$;
SELECT is((SELECT w.fingerprint FROM step_outputs w WHERE w.step = a.step AND w.who = 'writer'), a.fingerprint,
          'pipeline step ' || a.step || ' run by an admin for A gives the rows A''s writer gets')
  FROM step_outputs a WHERE a.who = 'admin';
SELECT is((SELECT count(*) FROM salesflow.pipeline_runs WHERE tenant_id = :a_id AND status = 'failed'), 0::bigint,
          'no pipeline step of A failed, whoever ran it');

-- ===========================================================================
-- 3. One tenant's broken queued upload does not stop another's: A queues an
--    upload with bad options and one with a bad content; B's is processed.
-- ===========================================================================
SET LOCAL ROLE atk_writer;
SET LOCAL salesflow.tenant = 'tap_a';
INSERT INTO salesflow.uploads (checksum, size_bytes, options) VALUES ('atk-1', 10, '{"progress": "x"}'), ('atk-2', 10, '{}');
INSERT INTO salesflow.upload_contents (tenant_id, upload_id, content)
SELECT tenant_id, upload_id, convert_to(E'invoice,sku,qty,price,date\natk,A1,1,2.5,2024-02-01\n', 'UTF8')
  FROM salesflow.uploads WHERE checksum IN ('atk-1', 'atk-2');
UPDATE salesflow.uploads SET options = '{"max_field_bytes": 2147483647}' WHERE checksum = 'atk-2';
RESET ROLE;
SELECT (salesflow._receive_upload(:b_id, convert_to(E'invoice,sku,qty,price,date\nb-q,A1,1,2.5,2024-02-01\n', 'UTF8'),
                                  '{}', 'import_csv', 'queued.csv')).upload_id AS b_queued \gset
SELECT pg_temp.new_transaction();
SET LOCAL ROLE atk_admin;
SELECT cmp_ok(salesflow.process_pending_uploads(), '>=', 3::bigint, 'attack 3: the admin''s queue run goes through every queued upload');
RESET ROLE;
SELECT is((SELECT status || ' ' || error_sqlstate FROM salesflow.uploads WHERE tenant_id = :a_id AND checksum = 'atk-1'),
          'failed 22023', 'attack 3: A''s upload with options {"progress":"x"} failed on its own with 22023');
SELECT is((SELECT status || ' ' || error_sqlstate FROM salesflow.uploads WHERE tenant_id = :a_id AND checksum = 'atk-2'),
          'failed 22023', 'attack 3/9: A''s upload asking for max_field_bytes 2147483647 failed on its own with 22023');
SELECT is((SELECT status FROM salesflow.uploads WHERE upload_id = :b_queued), 'processed',
          'attack 3: B''s queued upload was processed');

-- ===========================================================================
-- 5. Locks no outsider can take: no salesflow function takes an advisory
--    lock (walk), the lock rows are out of reach of other tenants and of
--    logins without grants, and the old advisory keys stall nothing.
-- ===========================================================================
SELECT is((SELECT string_agg(p.oid::regprocedure::text, ', ') FROM pg_proc p
            WHERE p.pronamespace = 'salesflow'::regnamespace AND p.prosrc ~* 'pg_(try_)?advisory'),
          NULL, 'attack 5: no salesflow function uses advisory locks');
SELECT salesflow._lock_tenant(:b_id, 'ingest');   -- B's lock row exists
SET LOCAL ROLE atk_nobody;
SELECT is(pg_temp.outcome('SELECT * FROM salesflow.tenant_locks FOR UPDATE'), '42501',
          'attack 5: a login with no grants cannot lock tenant_locks rows');
SELECT is(pg_temp.outcome('LOCK TABLE salesflow.tenant_locks'), '42501', 'attack 5: ... nor lock the table');
SELECT is(pg_temp.outcome('SELECT * FROM salesflow.job_leases FOR UPDATE'), '42501',
          'attack 5: a login with no grants cannot lock the dashboard lease');
RESET ROLE;
SET LOCAL ROLE atk_writer;
SET LOCAL salesflow.tenant = 'tap_a';
SELECT is((SELECT count(*) FROM salesflow.tenant_locks WHERE tenant_id = :b_id), 0::bigint,
          'attack 5: A''s writer cannot see (or lock) B''s lock rows');
SELECT is(pg_temp.outcome(format('SELECT salesflow._lock_tenant(%s, ''ingest'')', :b_id)), '42501',
          'attack 5: A''s writer cannot take B''s ingest lock');
SELECT is(pg_temp.outcome('SELECT * FROM salesflow.job_leases FOR UPDATE'), '42501',
          'attack 5: A''s writer cannot lock the dashboard lease');
RESET ROLE;
SET LOCAL ROLE atk_nobody;
SELECT pg_advisory_lock(1936090215, :b_id::int), pg_advisory_lock(1936090216, :b_id::int), pg_advisory_lock(7311590427401);
RESET ROLE;
SET LOCAL statement_timeout = '20s';
SELECT is((salesflow.import_csv(convert_to(E'invoice,sku,qty,price,date\nb-adv,A1,1,2.5,2024-02-02\n', 'UTF8'),
                                '{"tenant": "tap_b"}')).status, 'processed',
          'attack 5: with the old advisory keys held, B''s import_csv runs');
SELECT cmp_ok(salesflow.refresh_forecasts('tap_b', horizon => 7), '>=', 0::bigint,
              'attack 5: ... and B''s refresh_forecasts');
RESET statement_timeout;
SELECT pg_advisory_unlock_all();

-- ===========================================================================
-- 6. Settings are typed: a value outside its definition is refused on write
--    (22023, the message names the range). Walk: every setting the code
--    reads is defined, with the code's fallback as its default.
-- ===========================================================================
SET LOCAL ROLE atk_writer;
SET LOCAL salesflow.tenant = 'tap_a';
SELECT throws_ok($$INSERT INTO salesflow.settings (name, value) VALUES ('segments.clv_months', '99999')$$, '22023',
                 'setting "segments.clv_months" must be a whole number between 1 and 120, not 99999',
                 'attack 6: segments.clv_months = 99999 is refused with 22023 naming the range');
SELECT throws_ok($$UPDATE salesflow.settings SET value = '"nonsense"' WHERE name = 'forecast.method'$$, '22023', NULL,
                 'attack 6: an UPDATE to a value outside the choices is refused');
SELECT throws_ok($$INSERT INTO salesflow.settings (name, value) VALUES ('segments.clv_month', '12')$$, '22023',
                 'unknown setting "segments.clv_month"', 'attack 6: a misspelt setting is refused');
SELECT is(pg_temp.outcome(format($$INSERT INTO salesflow.settings (name, value) VALUES (%L, %L)$$, d.name, v.value)), '22023',
          'attack 6: ' || d.name || ' = ' || v.value || ' is refused')
  FROM salesflow.setting_definitions d
  CROSS JOIN LATERAL (VALUES ('"x"'), ('null'), ('[1]')) v(value)
 WHERE d.type <> 'text' OR v.value <> '"x"';
SELECT is(pg_temp.outcome(format($$INSERT INTO salesflow.settings (name, value) VALUES (%L, %L)$$, d.name, (d.maximum + 1)::text)),
          '22023', 'attack 6: ' || d.name || ' above its maximum is refused')
  FROM salesflow.setting_definitions d WHERE d.maximum IS NOT NULL;
SELECT is(pg_temp.outcome(format($$INSERT INTO salesflow.settings (name, value) VALUES (%L, %L)
                                     ON CONFLICT (tenant_id, name) DO UPDATE SET value = excluded.value$$, d.name, d.default_value)),
          'ok', 'attack 6: ' || d.name || ' accepts its default')
  FROM salesflow.setting_definitions d WHERE d.default_value IS NOT NULL;
RESET ROLE;
CREATE TEMP TABLE settings_read AS
SELECT m[1] AS name, m[2]::jsonb AS fallback
  FROM pg_proc p, regexp_matches(p.prosrc, '_tenant_setting\(\w+, ''([a-z_.]+)'', ''([^'']*)''\)', 'g') m
 WHERE p.pronamespace = 'salesflow'::regnamespace
UNION
SELECT 'supply.' || m[1], to_jsonb(m[2]::numeric)
  FROM pg_proc p, regexp_matches(p.prosrc, '_supply_default\(\w+, ''([a-z_]+)'', ([0-9.]+)\)', 'g') m
 WHERE p.pronamespace = 'salesflow'::regnamespace
UNION
SELECT m[1], NULL
  FROM pg_proc p, regexp_matches(p.prosrc, '\.name = ''([a-z_]+\.[a-z_.]+)''', 'g') m
 WHERE p.pronamespace = 'salesflow'::regnamespace;
SELECT cmp_ok((SELECT count(DISTINCT name) FROM settings_read), '>=', 25::bigint, 'the sources read at least 25 settings');
SELECT ok(EXISTS (SELECT 1 FROM salesflow.setting_definitions d WHERE d.name = r.name),
          'setting ' || r.name || ' read by the code is in setting_definitions')
  FROM (SELECT DISTINCT name FROM settings_read) r;
SELECT is((SELECT d.default_value FROM salesflow.setting_definitions d WHERE d.name = r.name), r.fallback,
          'setting ' || r.name || ': the code''s fallback is the catalogue''s default')
  FROM settings_read r WHERE r.fallback IS NOT NULL;

-- ===========================================================================
-- 7. COPY into upload_staging works for a writer; the tenant comes from the
--    session and no other tenant can be named; nobody can read staged rows.
-- ===========================================================================
SELECT pg_temp.new_transaction();
SET LOCAL ROLE atk_writer;
SET LOCAL salesflow.tenant = 'tap_a';
COPY salesflow.upload_staging (invoice, customer, sku, quantity, unit_price, invoiced_at) FROM STDIN (FORMAT csv);
atk-copy-1,tap_a-c7,A1,2,3.50,2024-02-03 10:00
atk-copy-1,tap_a-c7,B2,1,9.99,2024-02-03 10:00
\.
SELECT is((SELECT status || ' ' || lines || ' ' || inserted FROM salesflow.uploads
            WHERE source = 'staging' ORDER BY upload_id DESC LIMIT 1), 'processed 2 2',
          'attack 7: COPY into upload_staging works for A''s writer and makes one processed upload');
SELECT is((SELECT count(*) FROM salesflow.invoices WHERE invoice_no = 'atk-copy-1'), 1::bigint,
          'attack 7: ... whose invoice is A''s');
SELECT is(pg_temp.outcome(format($$INSERT INTO salesflow.upload_staging (tenant_id, invoice, sku, quantity, unit_price, invoiced_at)
                                   VALUES (%s, 'atk-copy-2', 'A1', '1', '1', '2024-02-03')$$, :b_id)), '42501',
          'attack 7: A''s writer cannot stage rows for B');
SELECT is(pg_temp.outcome('SELECT * FROM salesflow.upload_staging'), '42501', 'attack 7: A''s writer cannot read staged rows');
SELECT is(pg_temp.outcome('DELETE FROM salesflow.upload_staging'), '42501', 'attack 7: ... nor delete them');
SELECT is(salesflow._staging_discard(:b_id, ARRAY(SELECT generate_series(1, 1000)::bigint)), 0::bigint,
          'attack 7: the discard helper deletes nothing of B for A''s writer');
RESET salesflow.tenant;
SELECT is(pg_temp.outcome($$INSERT INTO salesflow.upload_staging (invoice, sku) VALUES ('x', 'y')$$), '28000',
          'attack 7: a writer with no tenant cannot stage rows');
RESET ROLE;
SET LOCAL ROLE atk_reader;
SET LOCAL salesflow.tenant = 'tap_a';
SELECT is(pg_temp.outcome($$INSERT INTO salesflow.upload_staging (invoice, sku) VALUES ('x', 'y')$$), '42501',
          'attack 7: a reader cannot stage rows');
RESET ROLE;
RESET salesflow.tenant;
SELECT is((SELECT count(*) FROM salesflow.upload_staging), 0::bigint, 'attack 7: upload_staging is empty after every statement');
SELECT pg_temp.new_transaction();
SET LOCAL ROLE atk_admin;
SET LOCAL salesflow.tenant = 'tap_b';
COPY salesflow.upload_staging (invoice, customer, sku, quantity, unit_price, invoiced_at) FROM STDIN (FORMAT csv);
atk-admin-copy,tap_b-c7,A1,2,3.50,2024-02-03 10:00
\.
RESET ROLE;
RESET salesflow.tenant;
SELECT is((SELECT count(*) FROM salesflow.invoices WHERE invoice_no = 'atk-admin-copy' AND tenant_id = :b_id), 1::bigint,
          'attack 7: COPY works for an admin too (for the tenant of the session)');

-- ===========================================================================
-- 8. An incompressible 48 kB SKU, customer or invoice number rejects its
--    line, not the upload. 9. Limits on memory: max_field_bytes and
--    generate_demo_csv have maxima.
-- ===========================================================================
SELECT string_agg(md5(i::text), '') AS big_key FROM generate_series(1, 1500) i \gset
SET LOCAL ROLE atk_writer;
SET LOCAL salesflow.tenant = 'tap_a';
SELECT (u).* FROM (SELECT salesflow.import_csv(convert_to(
    'invoice,sku,qty,price,date,customer' || E'\n' ||
    :'big_key' || ',A1,1,2.5,2024-02-04,tap_a-c1' || E'\n' ||
    'atk-key-2,' || :'big_key' || ',1,2.5,2024-02-04,tap_a-c1' || E'\n' ||
    'atk-key-3,A1,1,2.5,2024-02-04,' || :'big_key' || E'\n' ||
    'atk-key-4,A1,1,2.5,2024-02-04,tap_a-c1' || E'\n', 'UTF8')) AS u) x \gset key_
SELECT is(:'key_status' || ' ' || :'key_inserted' || ' ' || :'key_rejected', 'processed 1 3',
          'attack 8: 48 kB keys reject their three lines; the fourth line loads');
SELECT is((SELECT array_agg(reason ORDER BY line_no) FROM salesflow.upload_rejects WHERE upload_id = :key_upload_id),
          ARRAY['invoice is longer than 256 bytes (48000 bytes)', 'sku is longer than 256 bytes (48000 bytes)',
                'customer is longer than 256 bytes (48000 bytes)'],
          'attack 8: each with its reason');
SELECT throws_ok($$SELECT salesflow.import_csv('invoice,sku,qty,price,date', '{"max_field_bytes": 2147483647}')$$, '22023',
                 'option "max_field_bytes" must be a whole number between 16 and 1048576',
                 'attack 9: max_field_bytes 2147483647 is refused with 22023 naming the range');
RESET ROLE;
SET LOCAL ROLE atk_reader;
SELECT throws_ok($$SELECT salesflow.generate_demo_csv(50000000, 1)$$, '22023', 'lines must be between 0 and 10000000',
                 'attack 9: generate_demo_csv(50000000) is refused before it allocates anything');
RESET ROLE;
RESET salesflow.tenant;

-- ===========================================================================
-- 10. A bound login uses its tenant without any SET.
-- ===========================================================================
SELECT pg_temp.new_transaction();
SET LOCAL SESSION AUTHORIZATION atk_bound;
RESET salesflow.tenant;
SELECT is((SELECT count(*) FROM salesflow.list_customers() c WHERE c.tenant_id <> :a_id), 0::bigint,
          'attack 10: list_customers works for a bound login without SET, A''s customers only');
SELECT cmp_ok((SELECT count(*) FROM salesflow.list_customers()), '>', 0::bigint, '... and it lists them');
SELECT is(pg_temp.outcome($$SELECT salesflow.search_customers('tap')$$), 'ok', 'attack 10: search_customers works without SET');
SELECT is((SELECT count(*) FROM salesflow.search_customers('tap_b') c WHERE c.ref LIKE 'tap_b%'), 0::bigint,
          '... and finds none of B''s customers');
SELECT is(pg_temp.outcome($$SELECT salesflow.export_csv('customers')$$), 'ok', 'attack 10: export_csv works without SET');
SELECT is(pg_temp.outcome($$SELECT salesflow.list_open_alerts()$$), 'ok', 'attack 10: list_open_alerts works without SET');
SELECT is(pg_temp.outcome(format('SELECT salesflow.%s()', f)), 'ok', 'attack 10: ' || f || '() works without SET')
  FROM unnest(ARRAY['refresh_segments', 'refresh_forecasts', 'refresh_associations', 'refresh_predicted_orders',
                    'refresh_replenishment', 'refresh_anomalies']) f;
SET LOCAL salesflow.tenant = 'tap_b';
SELECT is(pg_temp.outcome($$SELECT salesflow.list_customers()$$), '42704',
          'attack 10: a bound login naming B in the setting gets 42704');
SELECT is(pg_temp.outcome($$SELECT salesflow.refresh_segments('tap_b')$$), '42704',
          'attack 10: ... and cannot refresh B');
RESET SESSION AUTHORIZATION;
RESET salesflow.tenant;

-- ===========================================================================
-- 4. One tenant's extreme figures do not break the dashboards (last: the
--    values stay until the end of the transaction).
-- ===========================================================================
SET LOCAL ROLE atk_writer;
SET LOCAL salesflow.tenant = 'tap_a';
UPDATE salesflow.sales_daily SET revenue = 99999999999999.9999, units = 999999999999999.999, orders = 2147483647;
UPDATE salesflow.invoices SET total = 99999999999999.9999;
UPDATE salesflow.customer_segments SET monetary = 9999999999999999.99, clv = 9999999999999999.99, p_alive = 1e308,
       expected_purchases_90d = 1.7e308, recency_days = 2147483647;
UPDATE salesflow.forecasts SET point = 1.7e308, lo80 = 1.7e308, hi80 = 1.7e308;
RESET ROLE;
RESET salesflow.tenant;
SELECT pg_temp.new_transaction();
SELECT max(refresh_id) AS before_refresh FROM salesflow.refresh_log \gset
SET LOCAL ROLE atk_admin;
CALL salesflow.refresh_dashboards(commit_each => false);
RESET ROLE;
SELECT is((SELECT string_agg(view_name || ': ' || error, '; ') FROM salesflow.refresh_log
            WHERE refresh_id > coalesce(:'before_refresh'::bigint, 0) AND status <> 'ok'),
          NULL, 'attack 4: with A''s extreme values every dashboard view refreshes');
SET LOCAL ROLE atk_reader;
SET LOCAL salesflow.tenant = 'tap_b';
SELECT is((SELECT string_agg(view_name, ', ') FROM salesflow.freshness WHERE stale), NULL,
          'attack 4: B''s freshness shows no stale view');
RESET ROLE;
SELECT * FROM finish();
ROLLBACK;
