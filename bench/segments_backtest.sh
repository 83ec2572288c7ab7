#!/usr/bin/env bash
# Customer predictions on real data with a holdout (issue #17): loads CDNOW
# (the BG/NBD paper's cohort, 78 weeks) and the 400-customer sample of UCI
# Online Retail from ../shared/data into a fresh database, then runs
# salesflow.backtest_segments:
#   CDNOW  as of 1997-09-30 (39 weeks of calibration), next 13 and 39 weeks;
#   UCI    as of 2011-09-09, next 90 days.
# Each backtest fits BG/NBD, MBG/NBD and Pareto/NBD with data up to as_of
# only, chooses one on a holdout inside that window, recalibrates churn risk,
# and scores the horizon after as_of against baselines measured in the same run.
#   bench/segments_backtest.sh            (SF_BENCH_REUSE=1 keeps a loaded database)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
cd "$SF_ROOT"
db=sf_bench_segments
data=$(cd ../shared/data && pwd)

scripts/cluster start >/dev/null
psqlq() { sf_psql -d $db -qAtX "$@"; }

if [ "${SF_BENCH_REUSE:-0}" != 1 ] ||
   ! sf_psql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
    sf_psql -d postgres -qc "DROP DATABASE IF EXISTS $db" 2>/dev/null
    sf_psql -d postgres -qc "CREATE DATABASE $db"
    psqlq -c "SET client_min_messages = warning" -c "CREATE EXTENSION salesflow CASCADE" \
          -c "SELECT salesflow.create_tenant('cdnow', 'UTC', 'USD')" \
          -c "SELECT salesflow.create_tenant('uci', 'UTC', 'GBP')" >/dev/null
    sf_say "loading CDNOW (6,919 purchases) and the UCI sample (33,734 lines)"
    psqlq -v cdnow="$data/cdnow/CDNOW_sample.txt" -v retail="$data/online_retail/online_retail_400customers.csv" <<'SQL' >/dev/null
SET client_min_messages = warning;
SET salesflow.tenant = 'cdnow';
SELECT salesflow.import_csv(convert_to('invoice,customer,sku,quantity,line_total,date' || E'\n' ||
   string_agg(format('%s-%s,%s,CD,%s,%s,%s', f[2], n, f[2], greatest(f[4]::int, 1), f[5], f[3]), E'\n' ORDER BY n), 'UTF8'))
  FROM (SELECT regexp_split_to_array(trim(l), '\s+') AS f, n
          FROM regexp_split_to_table(convert_from(pg_read_binary_file(:'cdnow'), 'UTF8'), E'\n') WITH ORDINALITY t(l, n)
         WHERE trim(l) <> '') s;
SET salesflow.tenant = 'uci';
SELECT salesflow.import_file(:'retail', '{"preset": "online_retail"}');
SQL
fi

run() {  # tenant as_of horizon_days
    sf_say "backtest_segments('$2', $3) on $1"
    local t0 t1
    t0=$(date +%s.%N)
    sf_psql -d $db -qX -c "SET salesflow.tenant = '$1'" -c "SET client_min_messages = warning" \
        -c "SELECT metric, bucket, round(model::numeric, 4) AS model, round(baseline::numeric, 4) AS baseline,
                   round(observed::numeric, 4) AS observed, n
              FROM salesflow.backtest_segments('$2', $3)"
    t1=$(date +%s.%N)
    echo "time: $(echo "$t1 - $t0" | bc) s"
}
run cdnow 1997-09-30 91
run cdnow 1997-09-30 273
run uci 2011-09-09 90
