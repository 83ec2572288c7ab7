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

-- A procedure that commits cannot carry a SET clause, so it pins its
-- search_path itself at the start of every transaction (set_config(..., true)
-- lasts until that transaction ends; the caller's setting comes back after).
CREATE PROCEDURE salesflow.run_pipeline(tenant text DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
    t record;
    step text;
    started timestamptz;
    n bigint;
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    FOR t IN SELECT tn.tenant_id, tn.name FROM salesflow.tenants tn
              WHERE run_pipeline.tenant IS NULL OR tn.name = run_pipeline.tenant OR tn.tenant_id::text = run_pipeline.tenant
              ORDER BY tn.tenant_id
    LOOP
        FOREACH step IN ARRAY ARRAY['segments', 'forecasts', 'predicted_orders', 'replenishment', 'anomalies'] LOOP
            PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
            started := pg_catalog.clock_timestamp();
            BEGIN
                IF step = 'segments' THEN
                    n := salesflow.refresh_segments(t.tenant_id::text, only_changed => true);
                ELSIF step = 'forecasts' THEN
                    n := salesflow.refresh_forecasts(t.tenant_id::text, only_changed => true);
                ELSIF step = 'predicted_orders' THEN
                    n := salesflow.refresh_predicted_orders(t.tenant_id::text, only_changed => true);
                ELSIF step = 'replenishment' THEN
                    n := salesflow.refresh_replenishment(t.tenant_id::text);
                ELSE
                    n := salesflow.refresh_anomalies(t.tenant_id::text);
                END IF;
                INSERT INTO salesflow.pipeline_runs (tenant_id, step, started_at, finished_at, rows, status)
                VALUES (t.tenant_id, step, started, clock_timestamp(), n, 'ok');
            EXCEPTION WHEN query_canceled OR admin_shutdown THEN
                RAISE;
            WHEN OTHERS THEN
                INSERT INTO salesflow.pipeline_runs (tenant_id, step, started_at, finished_at, status, error)
                VALUES (t.tenant_id, step, started, clock_timestamp(), 'failed', SQLSTATE || ' ' || SQLERRM);
                RAISE WARNING 'salesflow pipeline: % for tenant % failed: %', step, t.name, SQLERRM;
            END;
            COMMIT;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON PROCEDURE salesflow.run_pipeline(text) IS
    'Brings segments, forecasts, predicted orders, replenishment and anomaly alerts up to date for one tenant or every tenant the caller sees, committing after each step; failures are logged in pipeline_runs and do not stop the others.';
