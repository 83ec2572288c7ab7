#!/usr/bin/env bash
# Mixed-load test (issue #10): for DURATION seconds (default 300)
#   - 4 pgbench clients upload overlapping CSV chunks of one master export
#     (salesflow.import_csv(pg_read_binary_file(...)), as a writer login),
#   - 16 pgbench clients read the dashboard views (as a reader login),
#   - pg_cron runs, every minute, in this database: CALL refresh_dashboards(),
#     run_scheduled('segments'), run_scheduled('forecasts'), run_scheduled('anomalies').
# Then prints throughput, latency percentiles (uploads and reads), failed
# transactions, aborted clients, deadlocks (pg_stat_database delta), cron runs
# and failures, pipeline_runs failures, ERROR/FATAL/PANIC lines of the server
# log written during the window, and the exact-count check: invoice_items of
# the tenant must equal an independent count (shell tools) of the distinct
# lines of the chunks that were uploaded. Exits non-zero if any check fails.
#
#   bench/load.sh                          # 5 minutes
#   DURATION=60 bench/load.sh              # a shorter run
#   MASTER_LINES=120000 STEP=3000 RANDOM_CHUNKS=400 bench/load.sh
#
# Uses its own database sf_load (dropped and recreated at the start, kept at
# the end for inspection), logins sf_load_reader / sf_load_writer (created
# when missing), chunk files under /tmp/sf_load (recreated). The cron jobs
# (named sf_load-*) are removed at the end, also on failure.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

DB=sf_load
TENANT=load
DURATION=${DURATION:-300}
MASTER_LINES=${MASTER_LINES:-120000}
SEED=${SEED:-42}
STEP=${STEP:-3000}                 # grid chunk i = data lines [i*STEP, i*STEP + 2*STEP)
RANDOM_CHUNKS=${RANDOM_CHUNKS:-400} # plus chunks at random offsets, 1000..6000 lines
WRITERS=${WRITERS:-4}
READERS=${READERS:-16}
READER=sf_load_reader
WRITER=sf_load_writer
WORK=/tmp/sf_load
LOG=$SF_HOME/log/postgres.log
JOBS="dashboards segments forecasts anomalies"

q()  { sf_psql -d "$DB" -qAt "$@"; }
qc() { sf_psql -d "$SF_DB" -qAt "$@"; }   # the database where pg_cron lives

unschedule_jobs() {
    for j in $JOBS; do
        qc -c "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = 'sf_load-$j'" >/dev/null 2>&1 || true
    done
}
trap unschedule_jobs EXIT

# --- database, tenant, logins --------------------------------------------
sf_say "database $DB, tenant $TENANT, logins $READER / $WRITER"
unschedule_jobs
sf_psql -d postgres -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION salesflow CASCADE"
q <<SQL
SET client_min_messages = warning;
DO \$\$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$READER') THEN CREATE ROLE $READER LOGIN; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$WRITER') THEN CREATE ROLE $WRITER LOGIN; END IF;
END \$\$;
GRANT salesflow_reader TO $READER;
GRANT salesflow_writer TO $WRITER;
GRANT pg_read_server_files TO $WRITER;     -- pg_read_binary_file of the chunk files:
GRANT EXECUTE ON FUNCTION pg_read_binary_file(text) TO $WRITER;   -- (superuser-only until granted)
SELECT salesflow.create_tenant('$TENANT', 'Europe/London', 'GBP') IS NOT NULL;
SQL

# --- master CSV and overlapping chunks -------------------------------------
sf_say "master CSV: generate_demo_csv($MASTER_LINES, $SEED); grid chunks of $((2 * STEP)) lines every $STEP + $RANDOM_CHUNKS random chunks"
rm -rf "$WORK"; mkdir -p "$WORK/chunks" "$WORK/log-up" "$WORK/log-rd"
q -c "COPY (SELECT encode(salesflow.generate_demo_csv($MASTER_LINES, $SEED), 'base64')) TO STDOUT" |
    sed 's/\\n//g' | base64 -d > "$WORK/master.csv"
head -1 "$WORK/master.csv" > "$WORK/header"
tail -n +2 "$WORK/master.csv" > "$WORK/data"
ndata=$(wc -l < "$WORK/data")
grep -q $'\r' "$WORK/data" && sf_die "master has CR characters; the line-based count below assumes one record per line"
n=0
for ((start = 0; start < ndata; start += STEP)); do
    { cat "$WORK/header"; sed -n "$((start + 1)),$((start + 2 * STEP))p; $((start + 2 * STEP))q" "$WORK/data"; } > "$WORK/chunks/c$n.csv"
    n=$((n + 1))
    [ $((start + 2 * STEP)) -ge "$ndata" ] && break
done
ngrid=$n
# random chunks: deterministic offsets and sizes (awk srand)
awk -v n="$RANDOM_CHUNKS" -v total="$ndata" -v first="$ngrid" 'BEGIN { srand(7);
    for (i = 0; i < n; i++) { size = 1000 + int(5001 * rand()); start = int((total - size) * rand()); print first + i, start, size } }' |
while read -r id start size; do
    { cat "$WORK/header"; sed -n "$((start + 1)),$((start + size))p; $((start + size))q" "$WORK/data"; } > "$WORK/chunks/c$id.csv"
done
NCHUNKS=$((ngrid + RANDOM_CHUNKS))
chmod -R a+rX "$WORK"
echo "master: $ndata data lines; $ngrid grid chunks + $RANDOM_CHUNKS random chunks = $NCHUNKS files, $(du -sh "$WORK/chunks" | cut -f1)"

# a first upload so that the dashboards have data from the start
q -c "SELECT 'first upload: ' || status || ', ' || inserted || ' lines' FROM salesflow.import_csv(pg_read_binary_file('$WORK/chunks/c0.csv'), '{\"tenant\": \"$TENANT\", \"filename\": \"c0.csv\"}')"
q -c "ANALYZE" -c "CALL salesflow.refresh_dashboards()"

# --- pgbench scripts -------------------------------------------------------
cat > "$WORK/upload.sql" <<SQL
\set n random(0, $((NCHUNKS - 1)))
SET salesflow.tenant = '$TENANT';
SELECT status FROM salesflow.import_csv(pg_read_binary_file('$WORK/chunks/c' || :n || '.csv'), jsonb_build_object('tenant', '$TENANT', 'filename', 'c' || :n || '.csv'));
SQL
S="SET salesflow.tenant = '$TENANT';"
READ_NAMES=(dashboard_summary sales_by_day top_products buying_queue open_alerts)
printf '%s\nSELECT * FROM salesflow.dashboard_summary;\n' "$S" > "$WORK/r0.sql"
printf '%s\nSELECT "time", revenue, orders, units, customers FROM salesflow.sales_by_day ORDER BY "time" DESC LIMIT 90;\n' "$S" > "$WORK/r1.sql"
printf '%s\nSELECT rank, sku, name, revenue, units, orders, revenue_share FROM salesflow.top_products ORDER BY rank LIMIT 20;\n' "$S" > "$WORK/r2.sql"
printf '%s\nSELECT * FROM salesflow.buying_queue;\n' "$S" > "$WORK/r3.sql"
printf '%s\nSELECT * FROM salesflow.open_alerts;\n' "$S" > "$WORK/r4.sql"

# --- the window ------------------------------------------------------------
deadlocks0=$(q -c "SELECT deadlocks FROM pg_stat_database WHERE datname = '$DB'")
log_from=$(stat -c %s "$LOG" 2>/dev/null || echo 0)
t_start=$(qc -c "SELECT now()")
for j in $JOBS; do
    case $j in
        dashboards) cmd='CALL salesflow.refresh_dashboards()' ;;
        *) cmd="SELECT salesflow.run_scheduled('$j')" ;;
    esac
    qc -c "SELECT cron.schedule_in_database('sf_load-$j', '* * * * *', \$c\$$cmd\$c\$, '$DB')" >/dev/null
done
sf_say "running $DURATION s: $WRITERS upload clients, $READERS read clients, 4 pg_cron jobs every minute (from $t_start)"
(cd "$WORK/log-up" && PGUSER=$WRITER pgbench -n -c "$WRITERS" -j 1 -T "$DURATION" --failures-detailed \
    --log --log-prefix=tx -f "$WORK/upload.sql" "$DB") > "$WORK/pgbench-up.out" 2>&1 &
up_pid=$!
(cd "$WORK/log-rd" && PGUSER=$READER pgbench -n -c "$READERS" -j 2 -T "$DURATION" --failures-detailed \
    --log --log-prefix=tx -f "$WORK/r0.sql" -f "$WORK/r1.sql" -f "$WORK/r2.sql" -f "$WORK/r3.sql" -f "$WORK/r4.sql" "$DB") \
    > "$WORK/pgbench-rd.out" 2>&1 &
rd_pid=$!
up_rc=0; rd_rc=0
wait $up_pid || up_rc=$?
wait $rd_pid || rd_rc=$?
t_end=$(qc -c "SELECT now()")
unschedule_jobs
sf_say "window over ($t_end); cron jobs removed; waiting for running job runs to finish (at most 10 min)"
for _ in $(seq 600); do
    running=$(qc -c "SELECT count(*) FROM cron.job_run_details WHERE database = '$DB' AND start_time >= '$t_start' AND status IN ('starting', 'running')")
    [ "$running" = 0 ] && break
    sleep 1
done
sleep 2   # let the statistics of the last backends reach pg_stat_database
t_done=$(qc -c "SELECT now()")

# --- report ----------------------------------------------------------------
fail=0
check() {  # description, condition (shell test)
    if eval "$2"; then echo "PASS  $1"; else echo "FAIL  $1"; fail=1; fi
}
percentiles() {  # label, script number or "all", log files
    local label=$1 s=$2; shift 2
    local sel='1'; [ "$s" != all ] && sel="\$4 == $s"
    cat "$@" | awk "$sel && \$3 ~ /^[0-9]+\$/ { printf \"%.3f\\n\", \$3 / 1000.0 }" | sort -n | awk -v label="$label" '
        { v[NR] = $1 }
        function at(p,   i) { i = int(NR * p); if (i < NR * p) i++; if (i < 1) i = 1; return v[i] }
        END { if (NR == 0) { printf "%-26s n=0\n", label; exit }
              printf "%-26s n=%-7d p50 %8.2f ms  p95 %8.2f ms  p99 %8.2f ms  max %8.2f ms\n", label, NR, at(.50), at(.95), at(.99), v[NR] }'
}
echo
echo "== pgbench (exit codes: uploads $up_rc, reads $rd_rc)"
for k in up rd; do
    grep -E "^(number of (transactions actually processed|failed transactions)|tps|latency average|number of (serialization|deadlock) failures)" "$WORK/pgbench-$k.out" |
        sed "s/^/$([ $k = up ] && echo uploads || echo reads): /"
done
aborted=$(cat "$WORK"/pgbench-*.out | grep -c 'aborted in command' || true)
grep -E 'aborted in command|ERROR' "$WORK"/pgbench-*.out | head -20 || true
echo
echo "== latency of one transaction (SET salesflow.tenant + the statement)"
percentiles "upload (import_csv)" all "$WORK"/log-up/tx*
for i in 0 1 2 3 4; do percentiles "read ${READ_NAMES[$i]}" $i "$WORK"/log-rd/tx*; done
percentiles "read (all)" all "$WORK"/log-rd/tx*
failed_tx=$(cat "$WORK"/log-up/tx* "$WORK"/log-rd/tx* | awk '$3 !~ /^[0-9]+$/' | wc -l)

echo
echo "== uploads of tenant $TENANT"
q -F ' ' -c "SELECT status, count(*) || ' uploads', sum(lines) || ' lines', sum(accepted) || ' accepted', sum(inserted) || ' inserted', sum(duplicates) || ' duplicates', sum(rejected) || ' rejected', sum(returns) || ' returns', sum(non_product) || ' non_product', sum(anonymous) || ' anonymous' FROM salesflow.uploads GROUP BY status"
upload_tx=$(grep -h 'number of transactions actually processed' "$WORK/pgbench-up.out" | awk '{print $NF}' | cut -d/ -f1)
distinct_uploads=$(q -c "SELECT count(*) FROM salesflow.uploads WHERE tenant_id = salesflow.require_tenant('$TENANT')")
echo "upload calls: $((upload_tx + 1)) (pgbench + the first one); distinct files stored: $distinct_uploads (the same bytes again return the earlier upload)"
not_processed=$(q -c "SELECT count(*) FROM salesflow.uploads WHERE status <> 'processed'")
rejected=$(q -c "SELECT coalesce(sum(rejected), 0) FROM salesflow.uploads WHERE tenant_id = salesflow.require_tenant('$TENANT')")
inserted=$(q -c "SELECT coalesce(sum(inserted), 0) FROM salesflow.uploads WHERE tenant_id = salesflow.require_tenant('$TENANT')")
items=$(q -c "SELECT count(*) FROM salesflow.invoice_items WHERE tenant_id = salesflow.require_tenant('$TENANT')")
q -c "SELECT filename FROM salesflow.uploads WHERE tenant_id = salesflow.require_tenant('$TENANT') AND status = 'processed'" | sort -u > "$WORK/uploaded.txt"

echo
echo "== independent count (shell tools over the chunk files that were uploaded: $(wc -l < "$WORK/uploaded.txt") of $NCHUNKS)"
# The importer identifies a line by its content plus its occurrence (the n-th
# identical line of the file): the demo generator repeats identical lines
# inside an invoice (as real exports do), so plain `sort -u` undercounts.
# Each line is tagged with its occurrence within its own file, then the tagged
# lines of all uploaded files are made unique.
while read -r f; do tail -n +2 "$WORK/chunks/$f"; done < "$WORK/uploaded.txt" > "$WORK/all_lines"
plain_distinct=$(sort -u "$WORK/all_lines" | wc -l)
while read -r f; do tail -n +2 "$WORK/chunks/$f" | awk '{ print $0 "\t#" (++seen[$0]) }'; done < "$WORK/uploaded.txt" |
    sort -u > "$WORK/distinct_occ"
independent=$(wc -l < "$WORK/distinct_occ")
covered=$(sed -n "s/^c\([0-9]*\)\.csv$/\1/p" "$WORK/uploaded.txt" | awk -v g="$ngrid" '$1 < g' | wc -l)
echo "data lines in all uploaded files (with repeats across files): $(wc -l < "$WORK/all_lines")"
echo "distinct lines, plain sort -u:                                $plain_distinct"
echo "distinct (line, occurrence in its file), sort -u:             $independent"
echo "master data lines: $ndata, of which distinct by plain sort -u: $(sort -u "$WORK/data" | wc -l); grid chunks uploaded: $covered of $ngrid"
echo "rejected lines reported by the uploads:                       $rejected"
echo "sum of uploads.inserted:                                      $inserted"
echo "invoice_items of tenant $TENANT:                              $items"

echo
echo "== pg_cron runs in $DB from $t_start"
qc -F ' | ' -c "SELECT d.command, d.status, count(*) || ' runs', round(avg(extract(epoch FROM d.end_time - d.start_time))::numeric, 1) || ' s avg', round(max(extract(epoch FROM d.end_time - d.start_time))::numeric, 1) || ' s max'
                  FROM cron.job_run_details d WHERE d.database = '$DB' AND d.start_time >= '$t_start' GROUP BY 1, 2 ORDER BY 1, 2"
cron_runs=$(qc -c "SELECT count(*) FROM cron.job_run_details WHERE database = '$DB' AND start_time >= '$t_start'")
cron_failed=$(qc -c "SELECT count(*) FROM cron.job_run_details WHERE database = '$DB' AND start_time >= '$t_start' AND status <> 'succeeded'")
qc -c "SELECT '  failed: ' || command || ': ' || return_message FROM cron.job_run_details WHERE database = '$DB' AND start_time >= '$t_start' AND status <> 'succeeded'"
echo "pipeline_runs (run_scheduled logs each tenant's step here):"
q -F ' | ' -c "SELECT step, status, count(*) || ' runs', round(avg(extract(epoch FROM finished_at - started_at))::numeric, 1) || ' s avg', sum(rows) || ' rows' FROM salesflow.pipeline_runs GROUP BY 1, 2 ORDER BY 1, 2"
pipeline_failed=$(q -c "SELECT count(*) FROM salesflow.pipeline_runs WHERE status <> 'ok'")
q -c "SELECT '  failed: ' || step || ': ' || coalesce(error, '') FROM salesflow.pipeline_runs WHERE status <> 'ok'"
echo "refresh_log:"
q -F ' | ' -c "SELECT status, count(*) FROM salesflow.refresh_log GROUP BY 1 ORDER BY 1"
refresh_failed=$(q -c "SELECT count(*) FROM salesflow.refresh_log WHERE status NOT IN ('ok', 'skipped')")

echo
deadlocks1=$(q -c "SELECT deadlocks FROM pg_stat_database WHERE datname = '$DB'")
deadlocks=$((deadlocks1 - deadlocks0))
echo "== deadlocks in $DB (pg_stat_database delta): $deadlocks"

echo
echo "== server log during the window ($LOG from byte $log_from): ERROR / FATAL / PANIC lines of $DB"
tail -c +$((log_from + 1)) "$LOG" > "$WORK/server.log" 2>/dev/null || : > "$WORK/server.log"
grep -E "^[0-9-]+ [0-9:.]+ [A-Z]+ \[[0-9]+\] $DB (ERROR|FATAL|PANIC)" "$WORK/server.log" > "$WORK/server-errors.log" || true
log_errors=$(wc -l < "$WORK/server-errors.log")
sed -E 's/^[0-9-]+ [0-9:.]+ [A-Z]+ \[[0-9]+\] //' "$WORK/server-errors.log" | sort | uniq -c | sort -rn | head -20
panics=$(grep -cE 'PANIC|terminated by signal|server process .* was terminated' "$WORK/server.log" || true)
echo "$log_errors error lines of $DB; crash/PANIC lines (any database): $panics"

echo
echo "== checks"
check "no aborted pgbench client" '[ "$aborted" = 0 ] && [ "$up_rc" = 0 ] && [ "$rd_rc" = 0 ]'
check "no failed transaction (pgbench)" '[ "$failed_tx" = 0 ]'
check "no deadlock" '[ "$deadlocks" = 0 ]'
check "every upload processed" '[ "$not_processed" = 0 ]'
check "no rejected line (the generator emits none)" '[ "$rejected" = 0 ]'
check "invoice_items = sum(uploads.inserted)" '[ "$items" = "$inserted" ]'
check "invoice_items = independent count of distinct lines ($independent)" '[ "$items" = "$independent" ]'
check "every cron run succeeded ($cron_runs runs)" '[ "$cron_failed" = 0 ] && [ "$cron_runs" -gt 0 ]'
check "no failed pipeline step" '[ "$pipeline_failed" = 0 ]'
check "no failed view refresh" '[ "$refresh_failed" = 0 ]'
check "no ERROR/FATAL/PANIC in the server log for $DB" '[ "$log_errors" = 0 ] && [ "$panics" = 0 ]'
echo "window: $t_start .. $t_end (all cron runs finished by $t_done)"
exit $fail
