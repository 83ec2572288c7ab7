#!/usr/bin/env bash
# Scale test (issue #10): one generated tenant of LINES invoice lines.
# Measures the import (LINES/CHUNK uploads, lines/s of each, to see whether
# the speed falls as the tenant grows), the pipeline step by step
# (pipeline_runs), the dashboard refresh view by view (refresh_log), a few
# dashboard reads as a reader (EXPLAIN ANALYZE) and the table sizes.
#
#   bench/scale.sh                             # 10,000,000 lines in 10 uploads
#   LINES=5000000 bench/scale.sh               # 5 uploads of 1,000,000
#   LINES=2000000 CHUNK=500000 KEEP=1 bench/scale.sh   # keep sf_scale afterwards
#
# The lines. generate_demo_csv(n, seed) numbers its invoices 536365, 536366,
# ... and its customers 12346, 12347, ... whatever the seed, and its product
# codes follow the popularity rank, so uploads generated with different seeds
# would share invoice numbers (and customers and SKUs): the import identifies
# an invoice by its number, so the second upload's lines would be added to
# the first upload's invoices of the same number (another customer, another
# day) instead of making new ones, and the tenant would have the customer
# and product counts of a 1M-line file. Instead the tenant's whole file is
# generated once, generate_demo_csv(LINES, SEED), as a LINES-line tenant
# really looks (LINES/80 customers, LINES/300 products, distinct invoice
# numbers), and cut into LINES/CHUNK pieces at invoice boundaries (no invoice
# is split over two uploads), each with the header. The file is sorted by
# invoice date, so upload k holds the k-th slice of 2023-2024: like monthly
# exports of a growing tenant. Each piece is imported with
# import_csv(pg_read_binary_file(piece), '{"tenant": "big"}'). The whole file
# must stay under PostgreSQL's 1 GB value limit: LINES <= 11,000,000.
#
# Uses its own database sf_scale (dropped and recreated at the start, dropped
# at the end unless KEEP=1) and the pieces under WORK (default /tmp/sf_scale,
# removed at the end). Needs the private cluster running and the extension
# installed. The generation holds the whole file in one backend and in psql:
# about 3 x 0.9 GB at 10M lines.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

DB=sf_scale
TENANT=big
LINES=${LINES:-10000000}
CHUNK=${CHUNK:-1000000}
SEED=${SEED:-42}
KEEP=${KEEP:-0}
WORK=${WORK:-/tmp/sf_scale}
UPLOADS=$(( (LINES + CHUNK - 1) / CHUNK ))

[ "$LINES" -le 11000000 ] || sf_die "LINES > 11000000: the generated file would pass the 1 GB value limit"
[ "$CHUNK" -gt 0 ] || sf_die "CHUNK must be positive"

q() { sf_psql -d "$DB" -qAt "$@"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

cleanup() {
    rm -rf "$WORK"
    if [ "$KEEP" != 1 ]; then
        sf_psql -d postgres -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

T_START=$(now)
sf_say "database $DB, tenant $TENANT: $LINES lines in $UPLOADS uploads of ~$CHUNK (seed $SEED)"
sf_psql -d postgres -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION salesflow CASCADE"
q -c "SELECT salesflow.create_tenant('$TENANT', 'Europe/London', 'GBP') IS NOT NULL" >/dev/null

# --- the lines: generated once, cut at invoice boundaries ------------------
rm -rf "$WORK" && mkdir -p "$WORK" && chmod 755 "$WORK"
t0=$(now)
q -c "SELECT convert_from(salesflow.generate_demo_csv($LINES, $SEED), 'UTF8')" > "$WORK/all.csv"
t1=$(now)
awk -F, -v chunk="$CHUNK" -v uploads="$UPLOADS" -v dir="$WORK" '
    NR == 1 { header = $0; k = 1; file = sprintf("%s/part_%03d.csv", dir, k); print header > file; next }
    $0 == "" { next }
    {
        if (n >= k * chunk && $1 != last && k < uploads) {
            close(file); k++; file = sprintf("%s/part_%03d.csv", dir, k); print header > file
        }
        print > file; n++; last = $1
    }' "$WORK/all.csv"
rm -f "$WORK/all.csv"
chmod 644 "$WORK"/part_*.csv
t2=$(now)
echo "generated $LINES lines in $(secs "$t0" "$t1") s, cut into $(ls "$WORK"/part_*.csv | wc -l) pieces in $(secs "$t1" "$t2") s"
echo "distinct invoice numbers per piece / in all pieces (must be equal sums):"
awk -F, 'FNR > 1 && !seen[FILENAME, $1]++ { per[FILENAME]++ } FNR > 1 && !all[$1]++ { total++ }
         END { for (f in per) s += per[f]; printf "  %d / %d\n", s, total }' "$WORK"/part_*.csv

# --- the uploads -----------------------------------------------------------
sf_say "import: $UPLOADS uploads"
printf '%-7s %9s %9s %9s %8s %9s  %s\n' upload lines inserted bytes seconds lines/s "timings (ms)"
IMPORT_START=$(now)
for f in "$WORK"/part_*.csv; do
    k=$(basename "$f" .csv); k=${k#part_}
    t0=$(now)
    r=$(q -F ' ' -c "SELECT status, lines, inserted, timings
                       FROM salesflow.import_csv(pg_read_binary_file('$f'), '{\"tenant\": \"$TENANT\"}')")
    t1=$(now)
    read -r status lines inserted timings <<<"$r"
    [ "$status" = processed ] || sf_die "upload $k: $r"
    printf '%-7s %9s %9s %9s %8s %9s  %s\n' "$k" "$lines" "$inserted" "$(stat -c %s "$f")" "$(secs "$t0" "$t1")" \
        "$(awk -v n="$lines" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')" "$timings"
done
IMPORT_END=$(now)
echo "import total: $(secs "$IMPORT_START" "$IMPORT_END") s"
echo "per-phase timings of the first and the last upload (ms):"
q -c "SELECT upload_id, jsonb_pretty(timings) FROM salesflow.uploads
       WHERE upload_id IN ((SELECT min(upload_id) FROM salesflow.uploads), (SELECT max(upload_id) FROM salesflow.uploads))
       ORDER BY upload_id" | sed 's/^/  /'
q <<SQL
\pset format aligned
\pset tuples_only off
\pset footer off
SET salesflow.tenant = '$TENANT';
SELECT (SELECT count(*) FROM salesflow.invoice_items) AS invoice_items,
       (SELECT count(*) FROM salesflow.invoices) AS invoices,
       (SELECT count(*) FROM salesflow.customers) AS customers,
       (SELECT count(*) FROM salesflow.products) AS products,
       (SELECT count(*) FROM salesflow.sales_daily) AS sales_daily,
       (SELECT sum(rejected) FROM salesflow.uploads) AS rejected;
SQL

# --- statistics, stock, pipeline, associations -----------------------------
sf_say "ANALYZE, stock, pipeline, associations"
t0=$(now)
q -c "ANALYZE"
t1=$(now)
echo "ANALYZE (whole database): $(secs "$t0" "$t1") s"
# stock for every product (every 7th out of stock), so that replenishment has work
t0=$(now)
q -c "SELECT salesflow.import_inventory(
          (SELECT jsonb_agg(jsonb_build_object('sku', p.sku, 'on_hand', CASE WHEN p.product_id % 7 = 0 THEN 0 ELSE p.product_id % 40 * 5 END))
             FROM salesflow.products p WHERE NOT p.is_non_product), '$TENANT') ->> 'accepted'" | sed 's/^/stock rows accepted: /'
echo "import_inventory: $(secs "$t0" "$(now)") s"
PIPE_MARK=$(q -c "SELECT clock_timestamp()")
t0=$(now)
q -c "CALL salesflow.run_pipeline('$TENANT')"
t1=$(now)
echo "CALL run_pipeline('$TENANT'): $(secs "$t0" "$t1") s"
t2=$(now)
q -c "SELECT salesflow.run_scheduled('associations', '$TENANT')" >/dev/null
t3=$(now)
echo "run_scheduled('associations', '$TENANT') (not part of run_pipeline): $(secs "$t2" "$t3") s"
q <<SQL
\pset format aligned
\pset tuples_only off
\pset footer off
SELECT step, status, rows, round(extract(epoch FROM finished_at - started_at)::numeric, 1) AS seconds, error
  FROM salesflow.pipeline_runs WHERE started_at >= '$PIPE_MARK' ORDER BY run_id;
SQL

# --- dashboards ------------------------------------------------------------
sf_say "refresh_dashboards"
REFRESH_MARK=$(q -c "SELECT clock_timestamp()")
t0=$(now)
q -c "CALL salesflow.refresh_dashboards()"
t1=$(now)
echo "CALL refresh_dashboards(): $(secs "$t0" "$t1") s"
q <<SQL
\pset format aligned
\pset tuples_only off
\pset footer off
SELECT view_name, mode, status, rows, round(extract(epoch FROM finished_at - started_at)::numeric, 2) AS seconds
  FROM salesflow.refresh_log WHERE started_at >= '$REFRESH_MARK' ORDER BY refresh_id;
SQL
q -c "ANALYZE" # the views' statistics, as autovacuum would gather them

sf_say "dashboard reads as salesflow_reader (EXPLAIN ANALYZE, 3rd of 3 runs)"
LAST_DAY=$(q -c "SELECT max(day) FROM salesflow.sales_daily")
echo "data ends $LAST_DAY; 'recent' reads use the 90 days up to then (now() - 90 days finds nothing in 2023-2024 data)"
read_plan() {  # label, query
    local out
    out=$(q <<SQL
SET ROLE salesflow_reader;
SET salesflow.tenant = '$TENANT';
$2;
$2;
EXPLAIN (ANALYZE, BUFFERS) $2;
SQL
)
    printf '  %-44s %s\n' "$1" "$(grep -E 'Execution Time' <<<"$out" | sed 's/Execution Time: //')   [$(grep -E '^ *Planning Time' <<<"$out" | sed 's/ *Planning Time: /planning /')]"
}
read_plan "sales_by_day, last 90 days"       "SELECT * FROM salesflow.sales_by_day WHERE \"time\" > timestamptz '$LAST_DAY' - interval '90 days'"
read_plan "sales_by_day, now() - 90 days"    "SELECT * FROM salesflow.sales_by_day WHERE \"time\" > now() - interval '90 days'"
read_plan "sales_by_month (all)"             "SELECT * FROM salesflow.sales_by_month"
read_plan "dashboard_summary"                "SELECT * FROM salesflow.dashboard_summary"
read_plan "top_products, top 20"             "SELECT * FROM salesflow.top_products ORDER BY rank LIMIT 20"
read_plan "top_customers, top 20"            "SELECT * FROM salesflow.top_customers LIMIT 20"
read_plan "business_health"                  "SELECT * FROM salesflow.business_health"
read_plan "invoices of 1 customer (base table)" \
    "SELECT i.invoice_no, i.day, i.total FROM salesflow.invoices i WHERE i.customer_id = (SELECT customer_id FROM salesflow.customers WHERE NOT is_anonymous ORDER BY customer_id LIMIT 1 OFFSET 100) ORDER BY i.day DESC LIMIT 50"
read_plan "sales_daily, 1 day (base table)"  "SELECT sum(revenue) FROM salesflow.sales_daily WHERE day = date '$LAST_DAY' - 30"

# --- sizes -----------------------------------------------------------------
sf_say "sizes"
q <<SQL
\pset format aligned
\pset tuples_only off
\pset footer off
SELECT c.relname AS "table",
       pg_size_pretty(pg_relation_size(c.oid)) AS heap,
       pg_size_pretty(pg_indexes_size(c.oid)) AS indexes,
       pg_size_pretty(pg_total_relation_size(c.oid)) AS total,
       c.reltuples::bigint AS rows_est
  FROM pg_class c
 WHERE c.relnamespace = 'salesflow'::regnamespace AND c.relkind IN ('r', 'm')
   AND pg_total_relation_size(c.oid) > 8 * 1024 * 1024
 ORDER BY pg_total_relation_size(c.oid) DESC;
SELECT pg_size_pretty(pg_database_size(current_database())) AS database;
SQL
echo "total wall time: $(secs "$T_START" "$(now)") s"
[ "$KEEP" = 1 ] && echo "kept database $DB" || echo "dropping database $DB"
