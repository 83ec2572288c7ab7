#!/usr/bin/env bash
# Backend memory (issue #10): peak resident memory of the backend that runs
#   1. import_csv of 1,000,000 demo lines (generate_demo_csv(1000000, 42),
#      84 MiB, read with pg_read_binary_file) into a fresh tenant,
#   1b. import_csv of a file of BAD_LINES (default 5,000,000) one-character
#      lines under a valid header, every one of them rejected (issue #15):
#      peak private memory must stay within BAD_FACTOR x the file size +
#      BAD_FIXED_MB,
#   2. refresh_forecasts over 10,000 series x 730 days (database sf_bench_fc,
#      tenant bench, made by bench/forecast_batch.sh; created when missing),
#   3. repeated calls in one session: salesflow.forecast on a 730-value array
#      REPEAT_FORECAST times (default 20,000) and import_csv of a small file
#      REPEAT_IMPORT times (default 200), sampling memory after each block, and
#      asserting no growth beyond a tolerance after the warm-up blocks.
#
# How: each measurement runs in its own psql session kept open on a FIFO; the
# shell reads /proc/<backend pid>/status every 100 ms while the statement runs
# (VmRSS, RssAnon; the same for the parallel workers of that backend) and
# VmHWM (the kernel's peak RSS of the process) at the end, before the session
# closes. RSS includes the shared_buffers pages the backend touched (RssShmem);
# RssAnon is the backend's private memory (palloc + C++ heap), the figure the
# bounds are about. pg_backend_memory_contexts gives the palloc part.
#
#   bench/memory.sh
#   REPEAT_FORECAST=2000 REPEAT_IMPORT=50 SKIP_BIG=1 bench/memory.sh   # quick: only part 3
#   SKIP_BIG=1 SKIP_REPEAT=1 bench/memory.sh                           # only part 1b (bad lines)
#
# Uses its own database sf_mem (dropped and recreated at the start, kept at
# the end), and sf_bench_fc (refresh_forecasts rewrites its forecasts, as the
# benchmark does). Exits non-zero if a bound or the no-growth check fails.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"

DB=sf_mem
FCDB=sf_bench_fc
LINES=${LINES:-1000000}
REPEAT_FORECAST=${REPEAT_FORECAST:-20000}
REPEAT_IMPORT=${REPEAT_IMPORT:-200}
SMALL_LINES=${SMALL_LINES:-1000}
SKIP_BIG=${SKIP_BIG:-0}
SKIP_BAD=${SKIP_BAD:-0}
SKIP_REPEAT=${SKIP_REPEAT:-0}
BAD_LINES=${BAD_LINES:-5000000}
BAD_FACTOR=${BAD_FACTOR:-16}     # documented bound for the bad-line import:
BAD_FIXED_MB=${BAD_FIXED_MB:-64} # BAD_FACTOR x file size + BAD_FIXED_MB
# documented bounds (private memory, RssAnon, MiB) and growth tolerance
IMPORT_BOUND_MB=${IMPORT_BOUND_MB:-1024}
FORECAST_BOUND_MB=${FORECAST_BOUND_MB:-512}
GROWTH_TOL_MB=${GROWTH_TOL_MB:-4}
WORK=/tmp/sf_mem
rm -rf "$WORK"; mkdir -p "$WORK"; chmod a+rx "$WORK"

fail=0
check() { if eval "$2"; then echo "PASS  $1"; else echo "FAIL  $1"; fail=1; fi; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# --- a psql session on a FIFO ----------------------------------------------
session_open() {  # db
    rm -f "$WORK/in" "$WORK/out"; mkfifo "$WORK/in"; : > "$WORK/out"
    sf_psql -d "$1" -qAt -v ON_ERROR_STOP=0 < "$WORK/in" > "$WORK/out" 2>&1 &
    S_PSQL=$!
    exec 3> "$WORK/in"
    session_run "SELECT 'PID ' || pg_backend_pid();"
    S_PID=$(sed -n 's/^PID //p' "$WORK/out" | tail -1)
    [ -n "$S_PID" ] || sf_die "no backend pid: $(cat "$WORK/out")"
}
session_run() {  # sql: sends it and waits until it has run (a unique mark: also safe inside $(...))
    local mark
    mark="$(date +%s%N).$BASHPID.$RANDOM"
    printf '%s\n\\echo @@MARK %s\n' "$1" "$mark" >&3
    until grep -qF "@@MARK $mark" "$WORK/out"; do
        kill -0 "$S_PSQL" 2>/dev/null || sf_die "psql ended: $(tail -5 "$WORK/out")"
        sleep 0.05
    done
    if grep -q 'ERROR' "$WORK/out"; then sf_die "error in the session: $(grep ERROR "$WORK/out" | tail -3)"; fi
}
session_close() { exec 3>&-; wait "$S_PSQL" || true; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }   # pid field
palloc_kb() {
    local tag="CTX$(date +%s%N)$RANDOM"
    session_run "SELECT '$tag ' || sum(total_bytes) / 1024 FROM pg_backend_memory_contexts;"
    sed -n "s/^$tag //p" "$WORK/out" | tail -1
}

# samples every 100 ms: leader VmRSS, leader RssAnon, workers' RssAnon (sum), workers
sampler_start() {
    : > "$WORK/samples"; touch "$WORK/sampling"
    ( while [ -e "$WORK/sampling" ]; do
          r=$(status_kb "$S_PID" VmRSS 2>/dev/null || echo 0); a=$(status_kb "$S_PID" RssAnon 2>/dev/null || echo 0)
          wa=0; wn=0
          for w in $(pgrep -f "parallel worker for PID $S_PID( |\$)" || true); do
              x=$(status_kb "$w" RssAnon 2>/dev/null || echo 0); wa=$((wa + ${x:-0})); wn=$((wn + 1))
          done
          echo "${r:-0} ${a:-0} $wa $wn" >> "$WORK/samples"
          sleep 0.1
      done ) &
    S_SAMPLER=$!
}
sampler_stop() {  # prints: max VmRSS, max RssAnon, max workers' RssAnon, max leader+workers RssAnon, max workers, samples
    rm -f "$WORK/sampling"; wait "$S_SAMPLER" || true
    awk '{ if ($1 > r) r = $1; if ($2 > a) a = $2; if ($3 > w) w = $3; if ($2 + $3 > t) t = $2 + $3; if ($4 > n) n = $4 }
         END { print r + 0, a + 0, w + 0, t + 0, n + 0, NR }' "$WORK/samples"
}
measure() {  # label, db, setup sql, measured sql -> one report line; sets M_ANON (peak leader RssAnon, kB)
    local label=$1 db=$2 setup=$3 sql=$4 t0 t1
    session_open "$db"
    [ -n "$setup" ] && session_run "$setup"
    local base_rss base_anon base_ctx
    base_rss=$(status_kb "$S_PID" VmRSS); base_anon=$(status_kb "$S_PID" RssAnon); base_ctx=$(palloc_kb)
    sampler_start; t0=$(date +%s.%N)
    session_run "$sql"
    t1=$(date +%s.%N)
    read -r p_rss p_anon p_wanon p_total p_workers n_samples <<<"$(sampler_stop)"
    local hwm end_anon end_ctx
    hwm=$(status_kb "$S_PID" VmHWM); end_anon=$(status_kb "$S_PID" RssAnon); end_ctx=$(palloc_kb)
    session_close
    M_ANON=$p_anon
    printf '%s (%.1f s, %d samples)\n' "$label" "$(awk "BEGIN { print $t1 - $t0 }")" "$n_samples"
    printf '    before: VmRSS %s MiB, RssAnon %s MiB, memory contexts %s MiB\n' "$(mb "$base_rss")" "$(mb "$base_anon")" "$(mb "$base_ctx")"
    printf '    peak:   VmHWM %s MiB (kernel peak RSS, includes shared_buffers pages touched), sampled VmRSS %s MiB\n' "$(mb "$hwm")" "$(mb "$p_rss")"
    printf '    peak private memory (RssAnon) of the backend (leader): %s MiB\n' "$(mb "$p_anon")"
    printf '    parallel workers: up to %s at once, their RssAnon up to %s MiB together; leader + workers up to %s MiB\n' "$p_workers" "$(mb "$p_wanon")" "$(mb "$p_total")"
    printf '    after:  RssAnon %s MiB, memory contexts %s MiB\n' "$(mb "$end_anon")" "$(mb "$end_ctx")"
}

csv_to_file() {  # db, sql producing bytea, file
    sf_psql -d "$1" -qAt -c "COPY (SELECT encode($2, 'base64')) TO STDOUT" | sed 's/\\n//g' | base64 -d > "$3"
    chmod a+r "$3"
}

sf_say "database $DB"
sf_psql -d postgres -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
sf_psql -d "$DB" -qAt -c "SET client_min_messages = warning" -c "CREATE EXTENSION salesflow CASCADE" \
    -c "SELECT salesflow.create_tenant('mem_big', 'UTC', 'GBP') IS NOT NULL" \
    -c "SELECT salesflow.create_tenant('mem_small', 'UTC', 'GBP') IS NOT NULL" >/dev/null
sf_psql -d "$DB" -qAt -c "SELECT 'shared_buffers ' || current_setting('shared_buffers') || ', work_mem ' || current_setting('work_mem') || ', maintenance_work_mem ' || current_setting('maintenance_work_mem') || ', max_parallel_workers_per_gather ' || current_setting('max_parallel_workers_per_gather')"

echo
if [ "$SKIP_BIG" != 1 ]; then
    # --- 1. import of 1M lines ---------------------------------------------
    sf_say "1. import_csv of $LINES lines"
    csv_to_file "$DB" "salesflow.generate_demo_csv($LINES, 42)" "$WORK/big.csv"
    echo "file: $(wc -l < "$WORK/big.csv") lines, $(du -m "$WORK/big.csv" | cut -f1) MiB"
    measure "import_csv($LINES lines)" "$DB" "SELECT salesflow.version();" \
        "SELECT 'IMPORT ' || status || ' ' || inserted FROM salesflow.import_csv(pg_read_binary_file('$WORK/big.csv'), '{\"tenant\": \"mem_big\"}');"
    grep '^IMPORT' "$WORK/out" | sed 's/^/    /'
    import_anon=$M_ANON
    check "import of $LINES lines: peak private memory $(mb "$import_anon") MiB <= $IMPORT_BOUND_MB MiB" "[ $import_anon -le $((IMPORT_BOUND_MB * 1024)) ]"
    rm -f "$WORK/big.csv"

    # --- 2. refresh_forecasts over 10,000 series -----------------------------
    echo
    sf_say "2. refresh_forecasts over 10,000 series x 730 days ($FCDB)"
    have=$(sf_psql -d "$FCDB" -qAt -c "SELECT count(*) FROM salesflow.products" 2>/dev/null || echo 0)
    if [ "$have" != 10000 ]; then
        sf_say "$FCDB missing or not 10,000 products: making it with bench/forecast_batch.sh"
        SF_BENCH_REUSE=1 "$SF_ROOT/bench/forecast_batch.sh" >/dev/null
    fi
    measure "refresh_forecasts('bench', horizon => 28), 10,000 series" "$FCDB" "SELECT salesflow.version();" \
        "SELECT 'FORECASTS ' || salesflow.refresh_forecasts('bench', horizon => 28);"
    grep '^FORECASTS' "$WORK/out" | sed 's/^/    /'
    fc_anon=$M_ANON
    check "refresh_forecasts over 10,000 series: peak private memory of the leader $(mb "$fc_anon") MiB <= $FORECAST_BOUND_MB MiB" "[ $fc_anon -le $((FORECAST_BOUND_MB * 1024)) ]"
fi

# --- 1b. a file of bad lines --------------------------------------------------
if [ "$SKIP_BAD" != 1 ]; then
    echo
    sf_say "1b. import_csv of $BAD_LINES one-character lines, all rejected"
    awk -v n="$BAD_LINES" 'BEGIN { print "invoice,sku,qty,price,date"; for (i = 0; i < n; i++) print "x" }' > "$WORK/bad.csv"
    chmod a+r "$WORK/bad.csv"
    bad_kb=$(( $(stat -c %s "$WORK/bad.csv") / 1024 ))
    echo "file: $BAD_LINES bad lines, $(mb "$bad_kb") MiB"
    sf_psql -d "$DB" -qAt -c "SELECT salesflow.create_tenant('mem_bad', 'UTC', 'GBP') IS NOT NULL" >/dev/null 2>&1 || true
    measure "import_csv($BAD_LINES bad lines)" "$DB" "SELECT salesflow.version();" \
        "SELECT 'IMPORT ' || status || ' ' || lines || ' lines, ' || rejected || ' rejected' FROM salesflow.import_csv(pg_read_binary_file('$WORK/bad.csv'), '{\"tenant\": \"mem_bad\"}');"
    grep '^IMPORT' "$WORK/out" | sed 's/^/    /'
    bad_anon=$M_ANON
    bad_bound_kb=$((BAD_FACTOR * bad_kb + BAD_FIXED_MB * 1024))
    echo "    peak private memory / file size: $(awk -v a="$bad_anon" -v f="$bad_kb" 'BEGIN { printf "%.1f", a / f }')"
    check "import of $BAD_LINES bad lines: peak private memory $(mb "$bad_anon") MiB <= $BAD_FACTOR x $(mb "$bad_kb") MiB + $BAD_FIXED_MB MiB" "[ $bad_anon -le $bad_bound_kb ]"
    rm -f "$WORK/bad.csv"
fi

# --- 3. repeated calls ---------------------------------------------------------
if [ "$SKIP_REPEAT" = 1 ]; then
    echo
    [ "$fail" = 0 ] && echo "all memory checks passed" || echo "some memory checks FAILED"
    exit $fail
fi
ctx_snapshot() {  # file: memory contexts by name (kB)
    local tag="CTXN$(date +%s%N)$RANDOM"
    session_run "SELECT '$tag ' || name || '|' || sum(total_bytes) / 1024 FROM pg_backend_memory_contexts GROUP BY name;"
    sed -n "s/^$tag //p" "$WORK/out" > "$1"
}
WARM_BLOCKS=${WARM_BLOCKS:-5}   # of 20: the first quarter is warm-up
growth() {  # label, blocks, calls per block, sql of one block (may use BLOCK)
    local label=$1 blocks=$2 per=$3 sql=$4 b anon ctx
    echo
    sf_say "3. $label: $((blocks * per)) calls in one session, $blocks blocks of $per"
    : > "$WORK/growth"
    for ((b = 1; b <= blocks; b++)); do
        session_run "${sql//BLOCK/$b}"
        anon=$(status_kb "$S_PID" RssAnon); ctx=$(palloc_kb)
        echo "$b $anon $ctx" >> "$WORK/growth"
        [ "$b" = "$WARM_BLOCKS" ] && ctx_snapshot "$WORK/ctx_warm"
    done
    ctx_snapshot "$WORK/ctx_end"
    awk -v per="$per" '{ printf "    after %6d calls: RssAnon %7.1f MiB, memory contexts %6.2f MiB\n", $1 * per, $2 / 1024, $3 / 1024 }' "$WORK/growth" |
        awk -v n="$blocks" -v w="$WARM_BLOCKS" 'NR <= 3 || NR == w || NR > n - 3 || NR % 5 == 0'
    # warm-up: the first WARM_BLOCKS blocks (library, catalog and plan caches,
    # malloc arenas); afterwards RssAnon must stay within GROWTH_TOL_MB of its
    # value at the end of the warm-up
    read -r warm last mx ctxw ctxl <<<"$(awk -v w="$WARM_BLOCKS" 'NR == w { wv = $2; cw = $3 } NR > w { if ($2 > m) m = $2 } { l = $2; cl = $3 } END { print wv, l, m, cw, cl }' "$WORK/growth")"
    echo "    RssAnon at the end of the warm-up ($((WARM_BLOCKS * per)) calls) $(mb "$warm") MiB, at the end $(mb "$last") MiB, highest after warm-up $(mb "$mx") MiB; memory contexts $(mb "$ctxw") -> $(mb "$ctxl") MiB"
    echo "    memory contexts that changed most from the end of the warm-up to the end (kB):"
    awk -F'|' 'NR == FNR { w[$1] = $2; next } { d = $2 - w[$1]; if (d != 0) printf "%d\t        %-40s %8d -> %8d  (%+d)\n", (d < 0 ? -d : d), $1, w[$1], $2, d }' "$WORK/ctx_warm" "$WORK/ctx_end" |
        sort -rn | cut -f2- | head -5
    check "$label: no growth after warm-up (highest $(mb "$mx") MiB <= $(mb "$warm") + $GROWTH_TOL_MB MiB)" "[ $mx -le $((warm + GROWTH_TOL_MB * 1024)) ]"
}

FB=$((REPEAT_FORECAST / 20))
session_open "$DB"
# a 730-value daily series (weekly pattern + noise); each call changes y[1]
session_run "CREATE TEMP TABLE y730 AS SELECT array_agg((20 + 8 * sin(2 * pi() * i / 7) + (i * 7919 % 13))::float8 ORDER BY i) AS y FROM generate_series(1, 730) i;"
session_run "SELECT count(*) FROM y730, salesflow.forecast(y730.y, 28, 7, 'auto');"
t0=$(date +%s.%N)
growth "salesflow.forecast(730 values, 28, 7, 'auto')" 20 "$FB" \
    "DO \$\$ DECLARE y float8[] := (SELECT y FROM y730); BEGIN FOR i IN 1..$FB LOOP y[1] := (BLOCK * $FB + i) % 17; PERFORM count(*) FROM salesflow.forecast(y, 28, 7, 'auto'); END LOOP; END \$\$;"
t1=$(date +%s.%N)
echo "    $REPEAT_FORECAST forecasts in $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s"
session_close

IB=$((REPEAT_IMPORT / 20))
sf_say "small files: 1 + $REPEAT_IMPORT x generate_demo_csv($SMALL_LINES, seed) written to $WORK/small/"
mkdir -p "$WORK/small"; chmod a+rx "$WORK/small"
sf_psql -d "$DB" -qAt -c "COPY (SELECT encode(salesflow.generate_demo_csv($SMALL_LINES, s), 'base64') FROM generate_series(0, $REPEAT_IMPORT) s ORDER BY s) TO STDOUT" |
    awk -v d="$WORK/small" '{ n = NR - 1; gsub(/\\n/, ""); f = d "/s" n ".b64"; print > f; close(f) }'
for ((i = 0; i <= REPEAT_IMPORT; i++)); do base64 -d "$WORK/small/s$i.b64" > "$WORK/small/s$i.csv"; rm "$WORK/small/s$i.b64"; done
chmod a+r "$WORK"/small/*.csv
session_open "$DB"
session_run "SET salesflow.tenant = 'mem_small';"
session_run "SELECT status FROM salesflow.import_csv(pg_read_binary_file('$WORK/small/s0.csv'), '{\"tenant\": \"mem_small\"}');"
t0=$(date +%s.%N)
growth "import_csv($SMALL_LINES lines, a different file each time)" 20 "$IB" \
    "DO \$\$ BEGIN FOR i IN 1..$IB LOOP PERFORM status FROM salesflow.import_csv(pg_read_binary_file('$WORK/small/s' || ((BLOCK - 1) * $IB + i) || '.csv'), '{\"tenant\": \"mem_small\"}'); END LOOP; END \$\$;"
t1=$(date +%s.%N)
echo "    $REPEAT_IMPORT imports in $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s; tenant mem_small: $(sf_psql -d "$DB" -qAt -c "SELECT count(*) || ' uploads, ' || sum(inserted) || ' lines' FROM salesflow.uploads WHERE tenant_id = salesflow.require_tenant('mem_small')")"
session_close

echo
[ "$fail" = 0 ] && echo "all memory checks passed" || echo "some memory checks FAILED"
exit $fail
