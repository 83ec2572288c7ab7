-- refresh_dashboards: two refreshes never overlap (the second is skipped and
-- logged, not queued), a failing view is logged and the others go on
-- (commit_each => false inside this transaction), the time budget, and
-- prune() of the logs. A second session (dblink) holds the refresh lease.
SELECT plan(8);
CREATE EXTENSION IF NOT EXISTS dblink;
\getenv pghost PGHOST
\getenv pgport PGPORT
\getenv pguser PGUSER
SELECT format('host=%s port=%s user=%s dbname=%s', :'pghost', :'pgport', :'pguser', current_database()) AS conninfo \gset
SELECT dblink_connect('other', :'conninfo');

-- the other session is "refreshing": it holds the refresh lease
SELECT x AS locked FROM dblink('other', 'SELECT salesflow._take_lease(''refresh_dashboards'')') t(x boolean) \gset
SELECT max(refresh_id) AS before_id FROM salesflow.refresh_log \gset
CALL salesflow.refresh_dashboards();
SELECT is((SELECT count(*) FROM salesflow.refresh_log WHERE refresh_id > coalesce(:'before_id'::bigint, 0)), 1::bigint,
          'a refresh while another runs writes one log row');
SELECT is((SELECT status || ' ' || view_name FROM salesflow.refresh_log WHERE refresh_id > coalesce(:'before_id'::bigint, 0)),
          'skipped *', '... and it says skipped: nothing was queued or refreshed');
SELECT count(*) AS unlocked FROM dblink('other', 'SELECT salesflow._release_lease(''refresh_dashboards'')') t(x text);

-- once the lease is free the refresh runs every view
SELECT max(refresh_id) AS before_id FROM salesflow.refresh_log \gset
CALL salesflow.refresh_dashboards();
SELECT is((SELECT count(*) FROM salesflow.refresh_log WHERE refresh_id > :before_id AND status = 'ok'),
          (SELECT count(*) FROM salesflow.dashboard_views()), 'then every view is refreshed and logged ok');
SELECT ok((SELECT bool_and(finished_at >= started_at AND rows IS NOT NULL) FROM salesflow.refresh_log WHERE refresh_id > :before_id),
          'each log row has its times and row count');

-- a time budget already used up skips every view, logged
SELECT max(refresh_id) AS before_id FROM salesflow.refresh_log \gset
CALL salesflow.refresh_dashboards(time_budget => '-1 second');
SELECT is((SELECT count(*) FROM salesflow.refresh_log WHERE refresh_id > :before_id AND status = 'skipped'
              AND error = 'time budget used up'),
          (SELECT count(*) FROM salesflow.dashboard_views()), 'views past the time budget are skipped and logged');

-- pruning: rows older than keep go, newer stay
INSERT INTO salesflow.refresh_log (view_name, started_at, finished_at, status)
VALUES ('mv_sales_daily', now() - interval '40 days', now() - interval '40 days', 'ok');
SELECT salesflow.create_tenant('tap_prune', 'UTC', 'EUR') IS NOT NULL AS created \gset
INSERT INTO salesflow.pipeline_runs (tenant_id, step, started_at, finished_at, status)
SELECT tenant_id, 'segments', now() - interval '40 days', now() - interval '40 days', 'ok' FROM salesflow.tenants WHERE name = 'tap_prune';
SELECT count(*) AS recent_before FROM salesflow.refresh_log WHERE started_at > now() - interval '30 days' \gset
SELECT salesflow.prune('30 days') AS pruned \gset
SELECT ok((:'pruned'::jsonb ->> 'refresh_log')::int >= 1 AND (:'pruned'::jsonb ->> 'pipeline_runs')::int >= 1,
          'prune deletes old refresh_log and pipeline_runs rows');
SELECT is((SELECT count(*) FROM salesflow.refresh_log WHERE started_at < now() - interval '30 days'), 0::bigint,
          'no refresh_log row older than keep is left');
SELECT is((SELECT count(*) FROM salesflow.refresh_log WHERE started_at > now() - interval '30 days'), :'recent_before'::bigint,
          'newer rows are kept');

SELECT dblink_disconnect('other');
SELECT salesflow.delete_tenant('tap_prune') > 0 AS cleaned \gset
SELECT * FROM finish();
