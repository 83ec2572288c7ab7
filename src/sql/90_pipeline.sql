-- pipeline: one procedure that brings every analytics module up to date
-- after uploads, for pg_cron or for a DBA by hand:
--     CALL salesflow.run_pipeline();            -- every tenant the caller can see
--     CALL salesflow.run_pipeline('acme');      -- one tenant
-- Each tenant's steps run in their own transaction (committed one by one), a
-- failing step is logged in pipeline_runs and does not stop the others, and
-- only what changed since the last run is recomputed.

CREATE SEQUENCE salesflow.pipeline_runs_run_id_seq AS bigint;
CREATE TABLE salesflow.pipeline_runs (
    tenant_id   bigint      NOT NULL REFERENCES salesflow.tenants ON DELETE CASCADE,
    run_id      bigint      NOT NULL DEFAULT nextval('salesflow.pipeline_runs_run_id_seq'),
    step        text        NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    rows        bigint,
    status      text        NOT NULL,
    error       text,
    PRIMARY KEY (tenant_id, run_id),
    CONSTRAINT pipeline_runs_status_check CHECK (status IN ('ok', 'failed'))
);
ALTER SEQUENCE salesflow.pipeline_runs_run_id_seq OWNED BY salesflow.pipeline_runs.run_id;
COMMENT ON TABLE salesflow.pipeline_runs IS 'One row per pipeline step run for a tenant: what ran, how long, rows written, and the error if it failed.';
COMMENT ON COLUMN salesflow.pipeline_runs.step IS 'segments, forecasts, predicted_orders, replenishment or anomalies.';
COMMENT ON COLUMN salesflow.pipeline_runs.started_at IS 'Start of the step.';
COMMENT ON COLUMN salesflow.pipeline_runs.finished_at IS 'End of the step.';
COMMENT ON COLUMN salesflow.pipeline_runs.rows IS 'Rows the step wrote (customers scored, products forecast).';
COMMENT ON COLUMN salesflow.pipeline_runs.status IS 'ok or failed.';
COMMENT ON COLUMN salesflow.pipeline_runs.error IS 'SQLSTATE and message of a failed step.';
SELECT salesflow._tenant_table('salesflow.pipeline_runs');
SELECT pg_catalog.pg_extension_config_dump('salesflow.pipeline_runs_run_id_seq', '');
GRANT USAGE ON SEQUENCE salesflow.pipeline_runs_run_id_seq TO salesflow_writer;

-- One step for one tenant, as that tenant (_act_as_tenant), in a
-- subtransaction, logged in pipeline_runs: what run_pipeline and the
-- scheduled jobs run. A failure is logged and reported
-- as a warning (NULL is returned); a cancel or shutdown propagates.
CREATE FUNCTION salesflow._run_step(tenant bigint, step text) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    started timestamptz := clock_timestamp();
    n bigint;
    caller text[];
BEGIN
    BEGIN
        caller := salesflow._act_as_tenant(tenant);   -- the step sees and writes this tenant only
        n := CASE step
            WHEN 'segments' THEN salesflow.refresh_segments(tenant::text, only_changed => true)
            -- per product, and per product and location when the tenant's
            -- setting forecast.by_location is true
            WHEN 'forecasts' THEN salesflow.refresh_forecasts(tenant::text, only_changed => true)
                + CASE WHEN salesflow._tenant_setting(tenant, 'forecast.by_location', 'false') = 'true'::jsonb
                       THEN salesflow.refresh_forecasts(tenant::text, only_changed => true, by_location => true)
                       ELSE 0 END
            WHEN 'predicted_orders' THEN salesflow.refresh_predicted_orders(tenant::text, only_changed => true)
            WHEN 'associations' THEN salesflow.refresh_associations(tenant::text)
            WHEN 'replenishment' THEN salesflow.refresh_replenishment(tenant::text)
            WHEN 'anomalies' THEN salesflow.refresh_anomalies(tenant::text)
        END;
        INSERT INTO salesflow.pipeline_runs (tenant_id, step, started_at, finished_at, rows, status)
        VALUES (tenant, step, started, clock_timestamp(), n, 'ok');
        PERFORM salesflow._act_as_caller(caller);
        RETURN n;
    EXCEPTION WHEN query_canceled OR admin_shutdown THEN
        RAISE;
    WHEN OTHERS THEN
        INSERT INTO salesflow.pipeline_runs (tenant_id, step, started_at, finished_at, status, error)
        VALUES (tenant, step, started, clock_timestamp(), 'failed', SQLSTATE || ' ' || SQLERRM);
        RAISE WARNING 'salesflow pipeline: % for tenant % failed: %', step,
            (SELECT tn.name FROM salesflow.tenants tn WHERE tn.tenant_id = _run_step.tenant), SQLERRM;
        RETURN NULL;
    END;
END
$$;
COMMENT ON FUNCTION salesflow._run_step(bigint, text) IS
    'Internal: runs one pipeline step (segments, forecasts, predicted_orders, associations, replenishment, anomalies) for one tenant, as that tenant, in a subtransaction and logs it in pipeline_runs; NULL when it failed.';

-- Runs one step for every tenant the caller sees, each tenant in a
-- subtransaction (a failure is logged and the others go on), without
-- committing: what the pg_cron jobs call, with a statement_timeout set in the
-- same command.
CREATE FUNCTION salesflow.run_scheduled(step text, tenant text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    total bigint := 0;
BEGIN
    IF step NOT IN ('segments', 'forecasts', 'predicted_orders', 'associations', 'replenishment', 'anomalies') THEN
        RAISE EXCEPTION 'unknown pipeline step "%"', step USING ERRCODE = '22023',
              HINT = 'Steps: segments, forecasts, predicted_orders, associations, replenishment, anomalies.';
    END IF;
    IF run_scheduled.tenant IS NOT NULL THEN
        PERFORM salesflow.require_tenant(run_scheduled.tenant);   -- 42704 for a tenant the caller cannot see
    END IF;
    FOR t IN SELECT tn.tenant_id FROM salesflow.tenants tn
              WHERE run_scheduled.tenant IS NULL OR tn.name = run_scheduled.tenant OR tn.tenant_id::text = run_scheduled.tenant
              ORDER BY tn.tenant_id
    LOOP
        total := total + coalesce(salesflow._run_step(t.tenant_id, step), 0);
    END LOOP;
    RETURN total;
END
$$;
COMMENT ON FUNCTION salesflow.run_scheduled(text, text) IS
    'Runs one pipeline step for every tenant the caller sees (or one), logging each in pipeline_runs; a failing tenant does not stop the others. Does not commit, so a statement_timeout in the same command bounds it. Returns the rows written.';

-- One queued upload, processed as its tenant; any failure (bad options,
-- content the parser or the database refuses) is stored on the upload, so
-- one tenant's broken upload never stops another's. Only a cancel or a
-- shutdown propagates.
CREATE FUNCTION salesflow._process_queued_upload(tenant bigint, upload bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    up salesflow.uploads;
    caller text[];
BEGIN
    BEGIN
        caller := salesflow._act_as_tenant(tenant);
        up := salesflow._process_upload(tenant, upload);
        PERFORM salesflow._act_as_caller(caller);
        RETURN up.status = 'processed';
    EXCEPTION WHEN query_canceled OR admin_shutdown THEN
        RAISE;
    WHEN OTHERS THEN
        UPDATE salesflow.uploads u
           SET status = 'failed', error = SQLERRM, error_sqlstate = SQLSTATE, processed_at = clock_timestamp()
         WHERE u.tenant_id = tenant AND u.upload_id = upload;
        RAISE WARNING 'salesflow: queued upload % failed: %', upload, SQLERRM;
        PERFORM salesflow._notify('salesflow_uploads', 'upload', upload);
        RETURN false;
    END;
END
$$;
COMMENT ON FUNCTION salesflow._process_queued_upload(bigint, bigint) IS
    'Internal: processes one queued upload as its tenant; a failure marks the upload failed with its error and SQLSTATE. True when processed.';

CREATE FUNCTION salesflow.process_pending_uploads() RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    u record;
    n bigint := 0;
BEGIN
    FOR u IN SELECT x.tenant_id, x.upload_id FROM salesflow.uploads x
              WHERE x.status = 'received' ORDER BY x.upload_id
    LOOP
        PERFORM salesflow._process_queued_upload(u.tenant_id, u.upload_id);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION salesflow.process_pending_uploads() IS
    'Processes every upload still in status received that the caller can see (stored but not processed, e.g. after a crash or by a loader that only stores), each as its own tenant; returns how many. A failing upload is marked failed with its error and the others go on.';

-- A procedure that commits cannot carry a SET clause, so it pins its
-- search_path itself at the start of every transaction (set_config(..., true)
-- lasts until that transaction ends; the caller's setting comes back after).
CREATE PROCEDURE salesflow.run_pipeline(tenant text DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
    t record;
    step text;
BEGIN
    IF run_pipeline.tenant IS NOT NULL THEN
        PERFORM salesflow.require_tenant(run_pipeline.tenant);   -- 42704 for a tenant the caller cannot see
    END IF;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    FOR t IN SELECT tn.tenant_id, tn.name FROM salesflow.tenants tn
              WHERE run_pipeline.tenant IS NULL OR tn.name = run_pipeline.tenant OR tn.tenant_id::text = run_pipeline.tenant
              ORDER BY tn.tenant_id
    LOOP
        FOREACH step IN ARRAY ARRAY['segments', 'forecasts', 'predicted_orders', 'replenishment', 'anomalies'] LOOP
            PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
            PERFORM salesflow._run_step(t.tenant_id, step);
            COMMIT;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON PROCEDURE salesflow.run_pipeline(text) IS
    'Brings segments, forecasts, predicted orders, replenishment and anomaly alerts up to date for one tenant or every tenant the caller sees, committing after each step; failures are logged in pipeline_runs and do not stop the others.';

-- ---------------------------------------------------------------------------
-- Scheduling with pg_cron
-- ---------------------------------------------------------------------------
CREATE FUNCTION salesflow._cron_jobs(options jsonb)
RETURNS TABLE(job_name text, schedule text, command text, timeout text, in_cron_database boolean)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tz text := coalesce(options ->> 'timezone', 'UTC');
    prefix text := coalesce(options ->> 'prefix', 'salesflow');
    j record;
    local_at timestamp;
    utc_at timestamp;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names z WHERE z.name = tz) THEN
        RAISE EXCEPTION 'unknown time zone "%"', tz USING ERRCODE = '22023';
    END IF;
    IF prefix !~ '^[a-z][a-z0-9_-]{0,30}$' THEN
        RAISE EXCEPTION 'prefix must be lower-case letters, digits, - or _' USING ERRCODE = '22023';
    END IF;
    FOR j IN SELECT * FROM (VALUES
        ('uploads',          '* * * * *',  NULL::text, '50s',   'SELECT salesflow.process_pending_uploads()'),
        ('dashboards',       '*/5 * * * *', NULL,       '4min',  'CALL salesflow.refresh_dashboards(time_budget => %L)'),
        ('segments',         NULL,          '02:00',    '60min', 'SELECT salesflow.run_scheduled(''segments''); SELECT salesflow.run_scheduled(''associations''); SELECT salesflow.run_scheduled(''predicted_orders'')'),
        ('forecasts',        NULL,          '07:00',    '30min', 'SELECT salesflow.run_scheduled(''forecasts'')'),
        ('procurement',      NULL,          '07:30',    '15min', 'SELECT salesflow.run_scheduled(''replenishment'')'),
        ('anomalies',        '15 * * * *',  NULL,       '15min', 'SELECT salesflow.run_scheduled(''anomalies'')'),
        ('reports',          '*/10 * * * *', NULL,      '5min',  'SELECT salesflow.make_reports()'),
        ('prune',            NULL,          'sun 03:00', '15min', 'SELECT salesflow.prune(%L::interval)')
        ) v(name, cron, local_time, default_timeout, cmd)
    LOOP
        job_name := prefix || '-' || j.name;
        timeout := coalesce(options -> 'timeouts' ->> j.name, j.default_timeout);
        IF timeout !~ '^[0-9]+ ?(ms|s|min|h)$' THEN
            RAISE EXCEPTION 'timeout of job % must look like 30s, 15min or 2h, not "%"', j.name, timeout USING ERRCODE = '22023';
        END IF;
        schedule := options -> 'schedules' ->> j.name;
        IF schedule IS NULL AND j.local_time IS NOT NULL THEN
            -- pg_cron 1.4 runs schedules in UTC: the local time today, in UTC
            local_at := current_date + split_part(j.local_time, ' ', -1)::time;
            utc_at := (local_at AT TIME ZONE tz) AT TIME ZONE 'UTC';
            schedule := format('%s %s * * %s', extract(minute FROM utc_at)::int, extract(hour FROM utc_at)::int,
                               CASE WHEN j.local_time LIKE 'sun %' THEN
                                    ((extract(dow FROM utc_at)::int - extract(dow FROM local_at)::int + 7) % 7)::text
                                    ELSE '*' END);
        END IF;
        schedule := coalesce(schedule, j.cron);
        IF schedule !~ '^[0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+$' THEN
            RAISE EXCEPTION 'schedule of job % is not a 5-field cron expression: "%"', j.name, schedule USING ERRCODE = '22023';
        END IF;
        command := CASE j.name
            WHEN 'dashboards' THEN format(j.cmd, timeout)
            WHEN 'prune' THEN format('SET statement_timeout = %L; ', timeout) || format(j.cmd, coalesce(options ->> 'keep', '30 days'))
            ELSE format('SET statement_timeout = %L; ', timeout) || j.cmd END;
        in_cron_database := false;
        RETURN NEXT;
    END LOOP;
    -- pg_cron's own run history, pruned where pg_cron lives
    job_name := prefix || '-prune-cron-history';
    schedule := '45 3 * * *';
    timeout := '5min';
    command := format('DELETE FROM cron.job_run_details WHERE end_time < now() - %L::interval',
                      coalesce(options ->> 'keep', '30 days'));
    in_cron_database := true;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION salesflow._cron_jobs(jsonb) IS 'Internal: the jobs schedule() installs, with their cron schedules (UTC) and commands.';

CREATE FUNCTION salesflow.schedule(options jsonb DEFAULT '{}')
RETURNS TABLE(job_name text, schedule text, command text, installed boolean)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    db text := coalesce(options ->> 'database', current_database());
    username text := coalesce(options ->> 'username', current_user);
    here boolean := to_regnamespace('cron') IS NOT NULL AND to_regproc('cron.schedule_in_database') IS NOT NULL;
    j record;
BEGIN
    IF NOT pg_has_role(current_user, 'salesflow_admin', 'MEMBER') THEN
        RAISE EXCEPTION 'only salesflow_admin can schedule jobs' USING ERRCODE = '42501';
    END IF;
    IF NOT here THEN
        RAISE NOTICE 'pg_cron is not installed in this database: nothing was scheduled. Run the returned commands in the database where pg_cron is installed (cron.database_name), or run CALL salesflow.run_pipeline() and CALL salesflow.refresh_dashboards() by hand.';
    END IF;
    FOR j IN SELECT * FROM salesflow._cron_jobs(options) LOOP
        job_name := j.job_name;
        schedule := j.schedule;
        IF j.in_cron_database THEN
            command := format('SELECT cron.schedule(%L, %L, %L)', j.job_name, j.schedule, j.command);
            IF here THEN
                PERFORM cron.schedule(j.job_name, j.schedule, j.command);
            END IF;
        ELSE
            command := format('SELECT cron.schedule_in_database(%L, %L, %L, %L, %L)', j.job_name, j.schedule, j.command,
                              db, username);
            IF here THEN
                PERFORM cron.schedule_in_database(j.job_name, j.schedule, j.command, db, username);
            END IF;
        END IF;
        installed := here;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION salesflow.schedule(jsonb) IS
    'Installs (or updates: idempotent) the named pg_cron jobs: uploads every minute, dashboards every 5 minutes, segments/associations/predicted orders nightly 02:00, forecasts 07:00, procurement 07:30, anomalies hourly, reports every 10 minutes, pruning weekly; each with a statement_timeout (dashboards: a time budget). Options: timezone (the local times above, converted to pg_cron''s UTC), schedules {job: cron}, timeouts {job: 30min}, database, username, prefix, keep. Without pg_cron in this database it installs nothing and returns the commands to run where pg_cron is. Admins only.';
REVOKE EXECUTE ON FUNCTION salesflow.schedule(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION salesflow.schedule(jsonb) TO salesflow_admin;

CREATE FUNCTION salesflow.unschedule(prefix text DEFAULT 'salesflow') RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint := 0;
    j text;
BEGIN
    IF NOT pg_has_role(current_user, 'salesflow_admin', 'MEMBER') THEN
        RAISE EXCEPTION 'only salesflow_admin can unschedule jobs' USING ERRCODE = '42501';
    END IF;
    IF to_regclass('cron.job') IS NULL THEN
        RAISE NOTICE 'pg_cron is not installed in this database: no job to remove here';
        RETURN 0;
    END IF;
    FOR j IN EXECUTE 'SELECT jobname FROM cron.job WHERE jobname LIKE $1' USING replace(replace(prefix, '_', '\_'), '%', '\%') || '-%' LOOP
        PERFORM cron.unschedule(j);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION salesflow.unschedule(text) IS 'Removes the pg_cron jobs schedule() installed (names starting with prefix-); returns how many. Admins only.';
REVOKE EXECUTE ON FUNCTION salesflow.unschedule(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION salesflow.unschedule(text) TO salesflow_admin;
