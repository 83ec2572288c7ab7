#!/usr/bin/env bash
# Ingest benchmark: import + normalise N generated invoice lines (default
# 1,000,000) end to end, against plain COPY of the same file into an
# unindexed table in the same run. Prints lines/s and the ratio.
#   bench/ingest_vs_copy.sh [lines]
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
cd "$SF_ROOT"
lines=${1:-1000000}
db=salesflow_bench

scripts/cluster start >/dev/null
. scripts/lib.sh   # again: the cluster may have moved to another port
sf_psql -d postgres -qc "DROP DATABASE IF EXISTS $db" 2>/dev/null
sf_psql -d postgres -qc "CREATE DATABASE $db"
sf_psql -d $db -qc "CREATE EXTENSION salesflow CASCADE" -c "SELECT salesflow.create_tenant('bench')" >/dev/null

dir=$SF_HOME/bench
mkdir -p "$dir"
file=$dir/invoices_$lines.csv
if [ ! -s "$file" ]; then
    sf_say "generating $lines lines (deterministic, seed 42)"
    sf_psql -d $db -Atqc "SELECT convert_from(salesflow.generate_demo_csv($lines, 42), 'UTF8')" | sed '${/^$/d}' > "$file"
fi
chmod a+r "$file"
bytes=$(stat -c %s "$file")
sf_say "file: $file ($((bytes / 1048576)) MiB)"

now() { date +%s.%N; }
calc() { awk "BEGIN { print $* }"; }

sf_say "baseline: plain COPY into an unindexed table"
sf_psql -d $db -qc "CREATE TABLE copy_baseline (invoice text, sku text, description text, quantity text,
                    invoiced_at text, unit_price text, customer text, country text)"
t0=$(now)
sf_psql -d $db -qc "\\copy copy_baseline FROM '$file' (FORMAT csv, HEADER)"
t1=$(now)
copy_s=$(calc "$t1 - $t0")

sf_say "salesflow.import_file: parse + validate + normalise + sales_daily"
t0=$(now)
sf_psql -d $db -qAt -c "SET salesflow.tenant = 'bench'" \
    -c "SELECT status, lines, inserted, rejected, timings FROM salesflow.import_file('$file')" > "$dir/import_result.txt"
t1=$(now)
import_s=$(calc "$t1 - $t0")
cat "$dir/import_result.txt"

sf_say "re-import of the same export under another name (all duplicates)"
cp "$file" "$file.again" && echo >> "$file.again" && chmod a+r "$file.again"
t0=$(now)
sf_psql -d $db -qAt -c "SET salesflow.tenant = 'bench'" \
    -c "SELECT status, inserted, duplicates FROM salesflow.import_file('$file.again')"
t1=$(now)
again_s=$(calc "$t1 - $t0")

printf '\n%-36s %10s %14s\n' "what" "seconds" "lines/s"
printf '%-36s %10.2f %14.0f\n' "plain COPY (unindexed, text)" "$copy_s" "$(calc "$lines / $copy_s")"
printf '%-36s %10.2f %14.0f\n' "salesflow import (end to end)" "$import_s" "$(calc "$lines / $import_s")"
printf '%-36s %10.2f %14.0f\n' "salesflow re-import (duplicates)" "$again_s" "$(calc "$lines / $again_s")"
printf 'import rate / COPY rate: %.1f%%\n' "$(calc "100 * $copy_s / $import_s")"
sf_psql -d postgres -qc "DROP DATABASE $db"
