-- ingest across sessions: NOTIFY on completion (LISTEN in a second session)
-- and concurrent overlapping uploads for one tenant (no duplicates, no
-- deadlocks). Uses dblink for the other sessions; they commit, so the test
-- cleans up after itself.
SELECT plan(7);
CREATE EXTENSION IF NOT EXISTS dblink;
\getenv pghost PGHOST
\getenv pgport PGPORT
\getenv pguser PGUSER
SELECT format('host=%s port=%s user=%s dbname=%s', :'pghost', :'pgport', :'pguser', current_database()) AS conninfo \gset
SELECT salesflow.create_tenant('tap_notify', 'UTC', 'EUR') IS NOT NULL AS created \gset

SELECT dblink_connect('listener', :'conninfo');
SELECT dblink_exec('listener', 'LISTEN salesflow_uploads');
SELECT dblink_connect('w1', :'conninfo');
SELECT dblink_connect('w2', :'conninfo');
SELECT dblink_exec(c, 'SET salesflow.tenant = ''tap_notify''') FROM unnest(ARRAY['w1', 'w2']) c;

-- two overlapping exports: 2,000 shared lines, 500 own lines each
CREATE TEMP TABLE exports AS
SELECT k, convert_to('invoice,sku,qty,price,date,customer' || E'\n' ||
       string_agg(format('%s,P%s,%s,1.5,2024-03-%s 10:00,C%s', i / 4, i % 97, 1 + i % 5, lpad((1 + i % 28)::text, 2, '0'), i % 50),
                  E'\n' ORDER BY i), 'UTF8') AS content
  FROM (SELECT 1 AS k, generate_series(1, 2500) AS i
        UNION ALL SELECT 2, generate_series(501, 3000)) s
 GROUP BY k;
SELECT dblink_send_query('w' || k, format('SELECT status, inserted, duplicates FROM salesflow.import_csv(%L::bytea)', content))
  FROM exports ORDER BY k;
SELECT * FROM dblink_get_result('w1') AS t(status text, inserted bigint, duplicates bigint) \gset r1_
SELECT * FROM dblink_get_result('w2') AS t(status text, inserted bigint, duplicates bigint) \gset r2_
SELECT is(:'r1_status' || '/' || :'r2_status', 'processed/processed', 'both concurrent uploads processed');
SELECT is(:'r1_inserted'::bigint + :'r2_inserted'::bigint, 3000::bigint, 'together they inserted each distinct line once');
SELECT is(:'r1_duplicates'::bigint + :'r2_duplicates'::bigint, 2000::bigint, 'the overlap counted once as duplicates');
SELECT is((SELECT count(*) FROM salesflow.invoice_items i JOIN salesflow.tenants t USING (tenant_id) WHERE t.name = 'tap_notify'),
          3000::bigint, 'no duplicate rows in invoice_items');
SELECT is((SELECT sum(units) FROM salesflow.sales_daily d JOIN salesflow.tenants t USING (tenant_id) WHERE t.name = 'tap_notify'),
          (SELECT sum(1 + i % 5)::numeric FROM generate_series(1, 3000) i), 'sales_daily units match the distinct lines');

SELECT pg_sleep(0.2);
CREATE TEMP TABLE notes AS SELECT * FROM dblink_get_notify('listener');
SELECT is((SELECT count(*) FROM notes WHERE notify_name = 'salesflow_uploads'), 2::bigint,
          'a second session LISTENing got one notification per upload');
SELECT ok((SELECT bool_and(extra::jsonb = jsonb_build_object('kind', 'upload', 'id', (extra::jsonb ->> 'id')::bigint)
                           AND (extra::jsonb ->> 'id')::bigint IN (SELECT upload_id FROM salesflow.uploads WHERE status = 'processed'))
             FROM notes),
          'payloads carry only {"kind": "upload", "id": <a processed upload>}');

SELECT dblink_disconnect(c) FROM unnest(ARRAY['listener', 'w1', 'w2']) c;
SELECT salesflow.delete_tenant('tap_notify') > 0 AS cleaned \gset
SELECT * FROM finish();
