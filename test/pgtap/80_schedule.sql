-- Scheduling with pg_cron living in another database (the cluster's
-- cron.database_name; this test database has no pg_cron): schedule() returns
-- the cron.schedule_in_database calls, which are run in the pg_cron database
-- through dblink; the jobs are checked there, re-running is idempotent, and a
-- scheduled job actually runs here: the every-minute upload job processes an
-- upload left in status received. Everything commits; the jobs are removed
-- at the end.
SELECT plan(9);
CREATE EXTENSION IF NOT EXISTS dblink;
\getenv pghost PGHOST
\getenv pgport PGPORT
\getenv pguser PGUSER
SELECT format('host=%s port=%s user=%s dbname=%s', :'pghost', :'pgport', :'pguser',
              current_setting('cron.database_name')) AS cron_conninfo \gset
SELECT dblink_connect('cron', :'cron_conninfo');
SELECT dblink_exec('cron', 'CREATE EXTENSION IF NOT EXISTS pg_cron');
CREATE FUNCTION pg_temp.cron_jobs() RETURNS bigint LANGUAGE sql AS $$
    SELECT n FROM dblink('cron', format('SELECT count(*) FROM cron.job WHERE jobname LIKE %L AND database IN (%L, %L)',
                                        'salesflow-%', current_database(), current_setting('cron.database_name'))) t(n bigint)
$$;
SELECT count(*) >= 0 AS cleared FROM dblink('cron', 'SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname LIKE ''salesflow-%''') t(ok boolean);

CREATE TEMP TABLE jobs AS SELECT * FROM salesflow.schedule('{"timezone": "UTC"}');
SELECT is((SELECT count(*) FROM jobs WHERE NOT installed), 9::bigint,
          'without pg_cron here schedule() installs nothing and returns the 9 job commands');
SELECT ok((SELECT bool_and(command LIKE 'SELECT cron.schedule_in_database(%' OR job_name = 'salesflow-prune-cron-history') FROM jobs),
          'the commands target this database with cron.schedule_in_database');
SELECT count(*) AS scheduled FROM jobs, dblink('cron', jobs.command) t(jobid bigint);
SELECT is(pg_temp.cron_jobs(), 9::bigint, 'the pg_cron database holds the 9 jobs');
SELECT is((SELECT n FROM dblink('cron', format('SELECT count(*) FROM cron.job WHERE jobname LIKE ''salesflow-%%'' AND database = %L',
                                               current_database())) t(n bigint)), 8::bigint,
          '8 of them run in this database (pruning pg_cron''s history runs where pg_cron is)');
SELECT is((SELECT command FROM dblink('cron', 'SELECT command FROM cron.job WHERE jobname = ''salesflow-forecasts''') t(command text)),
          'SET statement_timeout = ''30min''; SELECT salesflow.run_scheduled(''forecasts'')',
          'each job carries its statement_timeout');
-- idempotent: scheduling again updates the jobs, never duplicates them
SELECT count(*) AS scheduled FROM salesflow.schedule('{"timezone": "UTC"}') j, dblink('cron', j.command) t(jobid bigint);
SELECT is(pg_temp.cron_jobs(), 9::bigint, 'scheduling twice still gives 9 jobs');

-- a job actually runs: an upload stored but not processed is picked up by
-- the every-minute job
SELECT salesflow.create_tenant('tap_cron', 'UTC', 'EUR') IS NOT NULL AS created \gset
SELECT (salesflow._receive_upload((SELECT tenant_id FROM salesflow.tenants WHERE name = 'tap_cron'),
        convert_to(E'invoice,sku,qty,price,date,customer\nCR-1,C1,2,3.00,2024-01-02,K1', 'UTF8'), '{}', 'import_file', 'cron.csv')).upload_id
       AS pending_upload \gset
SELECT is((SELECT status FROM salesflow.uploads WHERE upload_id = :pending_upload), 'received', 'the upload waits');
DO $$
BEGIN
    FOR i IN 1..50 LOOP   -- pg_cron 1.4 runs every-minute jobs at the top of the minute
        EXIT WHEN EXISTS (SELECT 1 FROM salesflow.uploads WHERE status = 'processed'
                             AND tenant_id = (SELECT tenant_id FROM salesflow.tenants WHERE name = 'tap_cron'));
        PERFORM pg_sleep(2);
    END LOOP;
END $$;
SELECT is((SELECT status FROM salesflow.uploads WHERE upload_id = :pending_upload), 'processed',
          'the scheduled job processed it within two minutes');
-- pg_cron writes the run's status after the command's transaction commits:
-- wait for it too
CREATE FUNCTION pg_temp.cron_succeeded() RETURNS bigint LANGUAGE sql AS $$
    SELECT n FROM dblink('cron', 'SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
                                   WHERE j.jobname = ''salesflow-uploads'' AND d.status = ''succeeded''') t(n bigint)
$$;
DO $$
BEGIN
    FOR i IN 1..30 LOOP
        EXIT WHEN pg_temp.cron_succeeded() > 0;
        PERFORM pg_sleep(1);
    END LOOP;
END $$;
SELECT ok(pg_temp.cron_succeeded() > 0, 'pg_cron recorded the run as succeeded');

SELECT count(*) >= 0 AS cleared FROM dblink('cron', 'SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname LIKE ''salesflow-%''') t(ok boolean);
SELECT dblink_disconnect('cron');
SELECT salesflow.delete_tenant('tap_cron') > 0 AS cleaned \gset
SELECT * FROM finish();
