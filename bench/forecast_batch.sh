#!/usr/bin/env bash
# Forecast batch benchmark (issue #6): 10,000 daily series x 730 days, fit +
# select + 28-day forecast through salesflow.refresh_forecasts, end to end.
# Data are generated in SQL (deterministic, setseed): 40% smooth weekly
# seasonal, 30% trending (up or down) with a weekly pattern, 30% intermittent
# (demand on 3-40% of days). Prints the end-to-end time, series/s, the split
# (series gathered and fitted / writes) and, measured in the same run, two baselines:
# a naive SQL forecast (mean of the last 28 days, written to a table) and the
# pure-function fits over the same arrays without writes (one core, and a
# parallel plan).
#   bench/forecast_batch.sh [products] [days]      (default 10000 730)
#   SF_BENCH_REUSE=1 bench/forecast_batch.sh       keep the database of an
#                                                  earlier run (same sizes)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
cd "$SF_ROOT"
products=${1:-10000}
days=${2:-730}
db=sf_bench_fc
as_of=2025-12-31

scripts/cluster start >/dev/null
. scripts/lib.sh   # again: the cluster may have moved to another port
psqlq() { sf_psql -d $db -qAtX "$@"; }

have=0
if [ "${SF_BENCH_REUSE:-0}" = 1 ] &&
   sf_psql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
    have=$(psqlq -c "SELECT count(*) FROM salesflow.products" 2>/dev/null || echo 0)
fi
if [ "$have" != "$products" ]; then
    sf_psql -d postgres -qc "DROP DATABASE IF EXISTS $db" 2>/dev/null
    sf_psql -d postgres -qc "CREATE DATABASE $db"
    psqlq -c "CREATE EXTENSION salesflow CASCADE" -c "SELECT salesflow.create_tenant('bench', 'UTC')" >/dev/null
    sf_say "generating $products products x $days days of sales_daily (seed 0.42)"
    t0=$(date +%s.%N)
    psqlq <<SQL
SET client_min_messages = warning;
SELECT setseed(0.42);
CREATE TABLE bench_kind AS
SELECT g AS n,
       CASE WHEN g % 10 < 4 THEN 'smooth' WHEN g % 10 < 7 THEN 'trend' ELSE 'intermittent' END AS kind,
       2 + 60 * random() ^ 2 AS level,               -- units per day
       (random() - 0.5) * 0.8 AS slope_share,        -- trend over the whole window, share of level
       0.1 + 0.5 * random() AS amp,                  -- weekly amplitude
       floor(7 * random())::int AS phase,
       0.03 + 0.37 * random() AS p,                  -- intermittent: chance of demand per day
       1 + floor(8 * random()) AS size,              -- intermittent: max order size
       round((1 + 99 * random())::numeric, 2) AS price
  FROM generate_series(1, $products) g;
INSERT INTO salesflow.products (tenant_id, sku, name, category, last_price, first_sold_at, last_sold_at)
SELECT t.tenant_id, 'SKU' || lpad(k.n::text, 6, '0'), k.kind || ' product ' || k.n, k.kind, k.price,
       (date '$as_of' - ($days - 1))::timestamp + interval '9 hours', date '$as_of' + interval '17 hours'
  FROM bench_kind k, salesflow.tenants t WHERE t.name = 'bench' ORDER BY k.n;
INSERT INTO salesflow.sales_daily (tenant_id, product_id, day, units, revenue, orders)
SELECT tenant_id, product_id, day, u, u * price, greatest(1, ceil(u / 3))
  FROM (SELECT p.tenant_id, p.product_id, date '$as_of' - ($days - 1) + i AS day, k.price,
               CASE k.kind
                 WHEN 'intermittent' THEN CASE WHEN random() < k.p THEN 1 + floor(k.size * random()) ELSE 0 END
                 ELSE greatest(0, round((k.level * (1 + CASE WHEN k.kind = 'trend' THEN k.slope_share * (i::float8 / $days - 0.5) * 2 ELSE 0 END)
                                         * (1 + k.amp * sin(2 * pi() * ((i + k.phase) % 7) / 7))
                                         + sqrt(k.level) * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))::numeric))
               END::numeric AS u
          FROM bench_kind k
          JOIN salesflow.products p ON p.sku = 'SKU' || lpad(k.n::text, 6, '0')
         CROSS JOIN generate_series(0, $days - 1) i) x
 WHERE u > 0;
VACUUM ANALYZE salesflow.products;
VACUUM ANALYZE salesflow.sales_daily;
SQL
    t1=$(date +%s.%N)
    sf_say "generated in $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s: $(psqlq -c "SELECT count(*) || ' sales_daily rows' FROM salesflow.sales_daily")"
fi

# Runs SQL with \timing and prints the milliseconds of its last statement.
timed() {
    psqlq -c '\timing on' "$@" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
}
calc() { awk "BEGIN { printf \"%.2f\", $* }"; }

sf_say "baseline 1: naive SQL forecast (mean of the last 28 days per product, written to a table)"
psqlq -c "DROP TABLE IF EXISTS bench_naive"
naive_ms=$(timed -c "CREATE TABLE bench_naive AS
    SELECT p.product_id, coalesce(sum(d.units), 0) / 28.0 AS point
      FROM salesflow.products p
      LEFT JOIN salesflow.sales_daily d ON d.tenant_id = p.tenant_id AND d.product_id = p.product_id
                                       AND d.day > date '$as_of' - 28
     GROUP BY p.product_id")

# The series as a full refresh_forecasts gathers them: one parallel
# aggregation over sales_daily (_daily_series, gap-filled float8[]), with the
# settings refresh_forecasts uses for it.
series_sql="SELECT d.product_id, salesflow._daily_series(d.day, d.units::float8, date '$as_of' - ($days - 1), $days) AS y
      FROM salesflow.sales_daily d
     WHERE d.day > date '$as_of' - $days
     GROUP BY d.product_id"
par="SET parallel_setup_cost = 0; SET min_parallel_table_scan_size = 0; SET enable_sort = off; SET parallel_leader_participation = off"
sf_say "split 1: building the series (gap-filled arrays) into a table"
psqlq -c "DROP TABLE IF EXISTS bench_series"
build_ms=$(timed -c "$par" -c "CREATE TABLE bench_series AS $series_sql")
psqlq -c "VACUUM ANALYZE bench_series"

fit_sql="SELECT count(*), sum(cardinality(f.point)) FROM bench_series s, salesflow._forecast_series(s.y, 28, 7, 'auto') f"
sf_say "baseline 2: pure function over the same arrays, no writes, one core"
fit1_ms=$(timed -c "SET max_parallel_workers_per_gather = 0" -c "$fit_sql")
sf_say "baseline 2: pure function over the same arrays, no writes, parallel plan"
fitp_plan=$(psqlq -c "SET parallel_setup_cost = 100" -c "SET min_parallel_table_scan_size = 0" -c "EXPLAIN (COSTS OFF) $fit_sql")
fitp_ms=$(timed -c "SET parallel_setup_cost = 100" -c "SET min_parallel_table_scan_size = 0" -c "$fit_sql")
echo "$fitp_plan" | sed 's/^/    /'

sf_say "refresh_forecasts('bench', horizon => 28): first run of this origin (models and forecasts inserted)"
psqlq -c "DELETE FROM salesflow.forecasts" -c "DELETE FROM salesflow.forecast_models" -c "VACUUM salesflow.forecasts, salesflow.forecast_models"
refresh_out=$(psqlq -c '\timing on' -c "SET client_min_messages = debug1" \
    -c "SELECT salesflow.refresh_forecasts('bench', horizon => 28)" 2>&1)
echo "$refresh_out" | grep 'refresh_forecasts:' | sed 's/^/    /'
refresh_ms=$(echo "$refresh_out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)
n=$(echo "$refresh_out" | sed -n '/^[0-9][0-9]*$/p' | tail -1)
split=$(echo "$refresh_out" | sed -n 's/.*refresh_forecasts: .*series and fit \([0-9.]*\) ms ([^)]*), models \([0-9.]*\) ms, forecasts \([0-9.]*\) ms.*/\1 \2 \3/p')

sf_say "refresh_forecasts again on the same origin (models and forecasts updated)"
again_ms=$(timed -c "SELECT salesflow.refresh_forecasts('bench', horizon => 28)")
sf_say "the plan of the fit step (auto_explain, ANALYZE without timing, a third run)"
psqlq -c "LOAD 'auto_explain'" -c "SET auto_explain.log_min_duration = 1000" -c "SET auto_explain.log_nested_statements = on" \
      -c "SET auto_explain.log_analyze = on" -c "SET auto_explain.log_timing = off" \
      -c "SET client_min_messages = log" -c "SELECT salesflow.refresh_forecasts('bench', horizon => 28)" 2>&1 |
    grep -E 'Gather|Workers (Planned|Launched)|Seq Scan on products p|Function Scan on _forecast_series' | sed 's/^/    /' || true
rows=$(psqlq -c "SELECT count(*) FROM salesflow.forecasts")
methods=$(psqlq -c "SELECT string_agg(method || ' ' || c, ', ' ORDER BY c DESC) FROM (SELECT method, count(*) c FROM salesflow.forecast_models GROUP BY 1) x")

echo
printf '%-62s %10s %10s\n' "what ($products series x $days days, horizon 28)" "seconds" "series/s"
row() { printf '%-62s %10.2f %10.0f\n' "$1" "$(calc "$2 / 1000")" "$(calc "$products / ($2 / 1000)")"; }
row "baseline: naive SQL (last-28-day mean, written)" "$naive_ms"
row "series build alone (gap-filled arrays, parallel, written)" "$build_ms"
row "baseline: _forecast_series on the arrays, 1 core, no writes" "$fit1_ms"
row "baseline: _forecast_series on the arrays, parallel, no writes" "$fitp_ms"
row "refresh_forecasts end to end (first run of the origin)" "$refresh_ms"
row "refresh_forecasts end to end (same origin again, updates)" "$again_ms"
if [ -n "$split" ]; then
    read -r s_fit s_models s_fc <<<"$split"
    printf 'split of the first run: series gathered and fitted (parallel) %.2f s, forecast_models %.2f s, forecasts %.2f s\n' \
        "$(calc "$s_fit / 1000")" "$(calc "$s_models / 1000")" "$(calc "$s_fc / 1000")"
fi
echo "products forecast: $n; forecast rows: $rows; methods: $methods"
printf 'refresh_forecasts: %.1f x the time of the naive SQL forecast; goal < 10 s: %s\n' \
    "$(calc "$refresh_ms / $naive_ms")" "$(awk "BEGIN { print ($refresh_ms < 10000) ? \"met\" : \"not met\" }")"
