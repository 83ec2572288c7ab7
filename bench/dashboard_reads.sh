#!/usr/bin/env bash
# Dashboard read latency under load. First a 1-client baseline (the floor:
# no queueing, nothing else running). Then 32 pgbench clients read the dashboard
# views of one tenant (as a salesflow_reader login, so row-level security is
# paid) for 30 s while, in the background, another upload of the same tenant
# is imported and CALL salesflow.refresh_dashboards() runs; then the same
# reads computed live from the base tables (sales_daily, invoices, ...) with
# the same filters, under the same background load. Prints p50/p95/p99 per
# query and overall, and the live/materialized ratio. Goal: p95 < 5 ms.
#
#   bench/dashboard_reads.sh                      # 200k lines, 32 clients, 30 s
#   LINES=50000 CLIENTS=8 DURATION=10 bench/dashboard_reads.sh
#   RATE=500 bench/dashboard_reads.sh             # open loop: 500 reads/s spread over the clients
#
# Latency is that of one pgbench transaction: SET salesflow.tenant and the
# SELECT, two round trips. With closed-loop clients it is bounded below by
# clients / throughput (Little's law): on a machine with few cores 32 busy
# clients mostly measure the wait for a CPU; RATE shows the latency at a
# given load instead.
#
# Uses its own database (SF_BENCH_DB, default sf_bench_dash), dropped and
# recreated at the start and kept at the end for inspection, and a login
# role sf_bench_reader (created when missing). Needs the private cluster
# running (scripts/cluster start) and the extension installed.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

DB=${SF_BENCH_DB:-sf_bench_dash}
LINES=${LINES:-200000}
UPLOAD_LINES=${UPLOAD_LINES:-20000}
CLIENTS=${CLIENTS:-32}
BASELINE_SECONDS=${BASELINE_SECONDS:-5}   # the 1-client run without background load first
RATE=${RATE:-}            # e.g. RATE=500: a fixed arrival rate (tx/s) instead of closed-loop clients
THREADS=${THREADS:-$(nproc)}
DURATION=${DURATION:-30}
TENANT=bench
READER=sf_bench_reader
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sf_bench_dash.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

q() { sf_psql -d "$DB" -qAt "$@"; }

sf_say "database $DB: $LINES demo lines for tenant $TENANT (+ 20000 for another tenant)"
sf_psql -d postgres -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
q -c "CREATE EXTENSION salesflow CASCADE" 2>/dev/null
q <<SQL
SET client_min_messages = warning;
DO \$\$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$READER') THEN
        CREATE ROLE $READER LOGIN;
    END IF;
END \$\$;
GRANT salesflow_reader TO $READER;
SELECT salesflow.create_tenant('$TENANT', 'Europe/London', 'GBP') IS NOT NULL;
SELECT salesflow.create_tenant('bench_other', 'UTC', 'EUR') IS NOT NULL;
\timing on
SELECT (salesflow.import_csv(salesflow.generate_demo_csv($LINES, 42), '{"tenant": "$TENANT"}')).status;
SELECT (salesflow.import_csv(salesflow.generate_demo_csv(20000, 7), '{"tenant": "bench_other"}')).status;
\timing off
-- the planner needs statistics of the new rows before the pipeline
ANALYZE salesflow.invoices, salesflow.invoice_items, salesflow.sales_daily, salesflow.products, salesflow.customers;
-- stock for the 40 best sellers of the tenant: every third one out of stock
SELECT salesflow.import_inventory(
           (SELECT jsonb_agg(jsonb_build_object('sku', x.sku, 'on_hand', CASE WHEN x.rank % 3 = 0 THEN 0 ELSE x.rank * 5 END))
              FROM (SELECT p.sku, row_number() OVER (ORDER BY sum(d.units) DESC, p.sku) AS rank
                      FROM salesflow.sales_daily d
                      JOIN salesflow.products p ON p.tenant_id = d.tenant_id AND p.product_id = d.product_id
                     WHERE d.tenant_id = salesflow.require_tenant('$TENANT') AND NOT p.is_non_product
                     GROUP BY p.sku ORDER BY 2 LIMIT 40) x),
           '$TENANT') ->> 'accepted';
SQL
sf_say "pipeline and dashboard refresh"
q <<SQL
\timing on
SELECT salesflow.refresh_associations('$TENANT');
CALL salesflow.run_pipeline('$TENANT');
CALL salesflow.refresh_dashboards();
ANALYZE;
SQL

# the last 90 days of the tenant's data (the demo data ends in the past)
FROM_DAY=$(q -c "SELECT max(day) - 89 FROM salesflow.sales_daily WHERE tenant_id = salesflow.require_tenant('$TENANT')")
YEAR_DAY=$(q -c "SELECT max(day) - 364 FROM salesflow.sales_daily WHERE tenant_id = salesflow.require_tenant('$TENANT')")
FROM_TS=$(q -c "SELECT (date '$FROM_DAY'::timestamp AT TIME ZONE 'Europe/London')")
echo "tenant $TENANT: $(q -c "SET salesflow.tenant = '$TENANT'; SELECT format('%s orders, %s customers, %s products, %s to %s', orders, customers, products, first_day, last_day) FROM salesflow.dashboard_summary")"
echo "reads: the last 90 days from $FROM_DAY"

# --- the read workload: four scripts, each SET tenant + one SELECT --------
S="SET salesflow.tenant = '$TENANT';"
mkdir -p "$WORK/mv" "$WORK/live"
cat > "$WORK/mv/summary.sql" <<SQL
$S
SELECT * FROM salesflow.dashboard_summary;
SQL
cat > "$WORK/mv/days.sql" <<SQL
$S
SELECT "time", revenue, orders, units, customers FROM salesflow.sales_by_day WHERE "time" >= '$FROM_TS' ORDER BY "time";
SQL
cat > "$WORK/mv/products.sql" <<SQL
$S
SELECT rank, sku, name, revenue, units, orders, revenue_share FROM salesflow.top_products ORDER BY rank LIMIT 20;
SQL
cat > "$WORK/mv/queue.sql" <<SQL
$S
SELECT priority, sku, name, category, recommended_qty, order_value, stockout_date FROM salesflow.buying_queue ORDER BY priority, stockout_date, sku;
SQL

# the same answers from the base tables (RLS limits them to the tenant; the
# explicit tenant_id filters let the indexes work, as the MV queries do)
cat > "$WORK/live/summary.sql" <<SQL
$S
SELECT t.tenant_id, t.name, t.currency,
       (SELECT count(*) FROM salesflow.customers x WHERE x.tenant_id = t.tenant_id AND NOT x.is_anonymous) AS customers,
       (SELECT count(*) FROM salesflow.products x WHERE x.tenant_id = t.tenant_id AND NOT x.is_non_product) AS products,
       o.orders, o.revenue, (o.revenue / nullif(o.orders, 0))::numeric(18,2) AS average_order_value,
       (SELECT count(*) FROM salesflow.predicted_orders x WHERE x.tenant_id = t.tenant_id AND x.status = 'pending') AS pending,
       (SELECT count(*) FROM salesflow.customer_segments x WHERE x.tenant_id = t.tenant_id AND x.value_tier = 'high') AS high_value,
       (SELECT count(*) FROM salesflow.anomalies x WHERE x.tenant_id = t.tenant_id AND x.acknowledged_at IS NULL) AS open_alerts,
       (SELECT count(*) FROM salesflow.replenishment x WHERE x.tenant_id = t.tenant_id AND x.category = 'ORDER_TODAY') AS to_order,
       (SELECT jsonb_agg(c ORDER BY c.revenue DESC) FROM (
            SELECT i.customer_id, sum(i.total) AS revenue, count(*) AS orders FROM salesflow.invoices i
              JOIN salesflow.customers cc ON cc.tenant_id = i.tenant_id AND cc.customer_id = i.customer_id AND NOT cc.is_anonymous
             WHERE i.tenant_id = t.tenant_id AND NOT i.is_return GROUP BY i.customer_id ORDER BY 2 DESC LIMIT 5) c) AS top_customers,
       (SELECT jsonb_agg(p ORDER BY p.revenue DESC) FROM (
            SELECT d.product_id, sum(d.revenue) AS revenue, sum(d.units) AS units FROM salesflow.sales_daily d
              JOIN salesflow.products pp ON pp.tenant_id = d.tenant_id AND pp.product_id = d.product_id AND NOT pp.is_non_product
             WHERE d.tenant_id = t.tenant_id AND d.day >= date '$YEAR_DAY'
             GROUP BY d.product_id ORDER BY 2 DESC LIMIT 5) p) AS top_products,
       o.first_day, o.last_day
  FROM salesflow.tenants t
  CROSS JOIN LATERAL (SELECT count(*) AS orders, sum(x.total) AS revenue, min(x.day) AS first_day, max(x.day) AS last_day
                        FROM salesflow.invoices x WHERE x.tenant_id = t.tenant_id AND NOT x.is_return) o
 WHERE t.tenant_id = salesflow.current_tenant_id();
SQL
cat > "$WORK/live/days.sql" <<SQL
$S
SELECT (g.day::date::timestamp AT TIME ZONE 'Europe/London') AS "time", coalesce(s.revenue, 0) AS revenue,
       coalesce(o.orders, 0) AS orders, coalesce(s.units, 0) AS units, coalesce(o.customers, 0) AS customers
  FROM generate_series(date '$FROM_DAY', (SELECT max(day) FROM salesflow.sales_daily WHERE tenant_id = salesflow.current_tenant_id()), interval '1 day') g(day)
  LEFT JOIN (SELECT d.day, sum(d.revenue) AS revenue, sum(d.units) AS units FROM salesflow.sales_daily d
              WHERE d.tenant_id = salesflow.current_tenant_id() AND d.day >= date '$FROM_DAY' GROUP BY d.day) s ON s.day = g.day::date
  LEFT JOIN (SELECT i.day, count(*) AS orders, count(DISTINCT i.customer_id) AS customers FROM salesflow.invoices i
              WHERE i.tenant_id = salesflow.current_tenant_id() AND i.day >= date '$FROM_DAY' AND NOT i.is_return GROUP BY i.day) o ON o.day = g.day::date
 ORDER BY 1;
SQL
cat > "$WORK/live/products.sql" <<SQL
$S
SELECT row_number() OVER (ORDER BY x.revenue DESC, x.product_id) AS rank, p.sku, p.name, x.revenue, x.units, x.orders,
       x.revenue / nullif(sum(x.revenue) OVER (), 0) AS revenue_share
  FROM (SELECT d.product_id, sum(d.revenue) AS revenue, sum(d.units) AS units, sum(d.orders) AS orders
          FROM salesflow.sales_daily d
         WHERE d.tenant_id = salesflow.current_tenant_id() AND d.day >= date '$YEAR_DAY'
         GROUP BY d.product_id) x
  JOIN salesflow.products p ON p.tenant_id = salesflow.current_tenant_id() AND p.product_id = x.product_id AND NOT p.is_non_product
 ORDER BY 1 LIMIT 20;
SQL
# buying_queue is already a plain view over the replenishment table
cp "$WORK/mv/queue.sql" "$WORK/live/queue.sql"

# every query must answer the same number of rows both ways
for s in summary days products queue; do
    a=$(PGUSER=$READER q -f "$WORK/mv/$s.sql" | wc -l)
    b=$(PGUSER=$READER q -f "$WORK/live/$s.sql" | wc -l)
    echo "check $s: $a rows from the views, $b from the base tables"
    [ "$a" = "$b" ] && [ "$a" -gt 0 ] || sf_die "$s: the two forms disagree"
done

SEED=100
background() {  # an upload of new lines for the tenant, then a dashboard refresh
    SEED=$((SEED + 1))
    sleep 3
    q -c "SELECT 'upload', (u).status, (u).inserted FROM (SELECT salesflow.import_csv(salesflow.generate_demo_csv($UPLOAD_LINES, $SEED), '{\"tenant\": \"$TENANT\"}') AS u) s"
    q -c "\\timing on" -c "CALL salesflow.refresh_dashboards()" | sed 's/^/refresh_dashboards /'
}

percentiles() {  # label, log files -> per-script and overall p50/p95/p99 (ms); mawk-safe (sort does the sorting)
    local label=$1; shift
    local names=(summary "days(90)" top_products buying_queue) s sel
    for s in 0 1 2 3 all; do
        if [ "$s" = all ]; then sel='1'; else sel="\$4 == $s"; fi
        cat "$@" | awk "$sel { printf \"%.3f\\n\", \$3 / 1000.0 }" | sort -n | awk -v label="$label" \
            -v name="$([ "$s" = all ] && echo all || echo "${names[$s]}")" '
            { v[NR] = $1 }
            function at(p,   i) { i = int(NR * p); if (i < NR * p) i++; if (i < 1) i = 1; return v[i] }
            END { printf "%-6s %-13s n=%-7d p50 %7.2f ms  p95 %7.2f ms  p99 %7.2f ms\n", label, name, NR, at(.50), at(.95), at(.99) }'
    done
}

run_phase() {  # mv|live [baseline]
    local phase=$1 base=${2:-} clients=$CLIENTS duration=$DURATION bg=
    if [ -n "$base" ]; then
        clients=1; duration=$BASELINE_SECONDS
        sf_say "$phase baseline: 1 client, $duration s, nothing else running"
    else
        sf_say "$phase: $clients clients, $duration s, upload of $UPLOAD_LINES lines + refresh_dashboards() in the background"
        background > "$WORK/bg-$phase.out" 2>&1 &
        bg=$!
    fi
    phase=$phase$base
    mkdir -p "$WORK/log-$phase"
    (cd "$WORK/log-$phase" && PGUSER=$READER pgbench -n -d "$DB" -c "$clients" -j "$(( THREADS < clients ? THREADS : clients ))" -T "$duration" \
        --log --log-prefix=tx -r ${RATE:+${bg:+--rate=$RATE}} \
        -f "$WORK/${phase%-base}/summary.sql@1" -f "$WORK/${phase%-base}/days.sql@1" \
        -f "$WORK/${phase%-base}/products.sql@1" -f "$WORK/${phase%-base}/queue.sql@1") \
        > "$WORK/pgbench-$phase.out" 2>&1 || { cat "$WORK/pgbench-$phase.out"; sf_die "pgbench failed"; }
    if [ -n "$bg" ]; then wait "$bg" || true; else : > "$WORK/bg-$phase.out"; fi
    grep -E "^(tps|number of (transactions|failed)|latency average|rate limit schedule lag)" "$WORK/pgbench-$phase.out" | sed "s/^/$phase: /"
    # the server side of each statement (pgbench -r: average per command)
    grep -E "^ +[0-9.]+ +[0-9]+ +(SET|SELECT)" "$WORK/pgbench-$phase.out" | awk -v p="$phase" '{ $2 = ""; print p ": avg per command " $0 }' | cut -c1-110
    sed "s/^/$phase background: /" "$WORK/bg-$phase.out" | grep -v '^\s*$' | grep -E "upload|Time|CALL" || true
    percentiles "$phase" "$WORK/log-$phase"/tx.* | tee "$WORK/pct-$phase.txt"
}

run_phase mv -base
run_phase mv
run_phase live

sf_say "result (latency of one transaction: SET salesflow.tenant + the SELECT)"
cat "$WORK/pct-mv-base.txt" "$WORK/pct-mv.txt" "$WORK/pct-live.txt"
paste "$WORK/pct-mv.txt" "$WORK/pct-live.txt" | awk '{
    # fields: phase name n=N p50 X ms p95 X ms p99 X ms, then the same for live
    printf "live/mv %-13s p50 x%-7.1f p95 x%-7.1f p99 x%-7.1f\n", $2, $17/$5, $20/$8, $23/$11 }'
p95=$(awk '$2 == "all" { print $8 }' "$WORK/pct-mv.txt")
awk -v p="$p95" 'BEGIN { printf "goal p95 < 5 ms over the views: %s (%.2f ms)\n", (p < 5 ? "met" : "NOT met"), p }'
