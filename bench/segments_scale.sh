#!/usr/bin/env bash
# Segments and predicted orders at scale (issue #17): a tenant generated with
# generate_demo_csv(lines) in a fresh database, then refresh_segments (three
# model fits at the as-of day and three on the holdout, recalibration,
# scoring) and refresh_predicted_orders, each timed. Prints customers and
# seconds, and the BG/NBD-only fit (_bgnbd_fit on the same arrays) as the
# baseline measured in the same run.
#   bench/segments_scale.sh [lines]       (default 1000000)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
cd "$SF_ROOT"
lines=${1:-1000000}
db=sf_bench_segments_scale
scripts/cluster start >/dev/null
sf_psql -d postgres -qc "DROP DATABASE IF EXISTS $db" 2>/dev/null
sf_psql -d postgres -qc "CREATE DATABASE $db"
sf_say "importing generate_demo_csv($lines, 42)"
sf_psql -d $db -qAtX -c "SET client_min_messages = warning" -c "CREATE EXTENSION salesflow CASCADE" \
    -c "SELECT salesflow.create_tenant('scale', 'UTC', 'GBP')" \
    -c "SELECT (salesflow.import_csv(salesflow.generate_demo_csv($lines, 42), '{\"tenant\": \"scale\"}')).status" >/dev/null
sf_psql -d $db -qAtX <<'SQL'
SET salesflow.tenant = 'scale';
SET client_min_messages = warning;
\timing on
SELECT 'customers: ' || count(*) FROM salesflow.customers WHERE NOT is_anonymous;
SELECT 'baseline _bgnbd_fit only: ' || f.iterations FROM (SELECT array_agg(x) x, array_agg(t_x) tx, array_agg(t) t
   FROM salesflow._customer_summary(salesflow.current_tenant_id(), salesflow._segments_as_of(salesflow.current_tenant_id()))) a,
   salesflow._bgnbd_fit(a.x, a.tx, a.t) f;
SELECT 'refresh_segments: ' || salesflow.refresh_segments(refit => true);
SELECT 'chosen: ' || model || ', candidates fit_ms: ' || (SELECT string_agg((c->>'model') || ' ' || round((c->>'fit_ms')::numeric), ', ')
          FROM jsonb_array_elements(candidates) c) FROM salesflow.clv_models WHERE is_current;
SELECT 'refresh_predicted_orders: ' || salesflow.refresh_predicted_orders();
SQL
sf_psql -d postgres -qc "DROP DATABASE $db"
