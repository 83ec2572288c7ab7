#!/usr/bin/env bash
# Excel import benchmark: N generated invoice lines (default 100,000) written
# as a workbook by openpyxl (Debian's python3-openpyxl, write-only mode),
# then, in one run and in fresh tenants, the sheet-to-CSV step alone
# (_xlsx_to_csv), import_csv of the CSV (the baseline) and import_xlsx of
# the workbook. Prints seconds and the ratio to the baseline.
#   bench/ingest_xlsx.sh [lines]
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
cd "$SF_ROOT"
lines=${1:-100000}
db=salesflow_bench

scripts/cluster start >/dev/null
. scripts/lib.sh   # again: the cluster may have moved to another port
sf_psql -d postgres -qc "DROP DATABASE IF EXISTS $db" 2>/dev/null
sf_psql -d postgres -qc "CREATE DATABASE $db"
sf_psql -d $db -qc "CREATE EXTENSION salesflow CASCADE" \
        -c "SELECT salesflow.create_tenant('csv')" -c "SELECT salesflow.create_tenant('xlsx')" >/dev/null

dir=$SF_HOME/bench
mkdir -p "$dir"
csv=$dir/invoices_$lines.csv
xlsx=$dir/invoices_$lines.xlsx
sf_psql -d $db -Atqc "SELECT convert_from(salesflow.generate_demo_csv($lines, 5), 'UTF8')" | sed '${/^$/d}' > "$csv"
/usr/bin/python3 - "$csv" "$xlsx" <<'PY'
import csv, re, sys
import openpyxl
number = re.compile(r'^-?\d+(\.\d+)?$')
wb = openpyxl.Workbook(write_only=True)
ws = wb.create_sheet("Sales")
with open(sys.argv[1], newline='') as f:
    for i, row in enumerate(csv.reader(f)):
        ws.append(row if i == 0 else [float(v) if number.match(v) else v for v in row])
wb.save(sys.argv[2])
PY
chmod a+r "$csv" "$xlsx"
sf_say "$lines lines: CSV $(($(stat -c %s "$csv") / 1024)) KiB, workbook $(($(stat -c %s "$xlsx") / 1024)) KiB"

seconds() {  # tenant, SQL: the statement's wall time in seconds
    sf_psql -d $db -qAt -c "SET salesflow.tenant = '$1'" -c "\\timing on" -c "$2" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' |
        awk '{ printf "%.2f", $1 / 1000 }'
}
convert_s=$(seconds csv "SELECT octet_length(salesflow._xlsx_to_csv(pg_read_binary_file('$xlsx'), NULL, NULL))")
csv_s=$(seconds csv "SELECT status FROM salesflow.import_csv(pg_read_binary_file('$csv'))")
xlsx_s=$(seconds xlsx "SELECT status FROM salesflow.import_xlsx(pg_read_binary_file('$xlsx'))")
echo "sheet to CSV (_xlsx_to_csv): ${convert_s} s"
echo "import_csv (baseline):       ${csv_s} s"
echo "import_xlsx:                 ${xlsx_s} s  ($(awk "BEGIN { printf \"%.2f\", $xlsx_s / $csv_s }") x import_csv)"
sf_psql -d $db -qAt -c "SELECT 'lines loaded (csv, xlsx): ' || string_agg(n::text, ', ' ORDER BY name) FROM (SELECT t.name, count(i.*) AS n FROM salesflow.tenants t LEFT JOIN salesflow.invoice_items i USING (tenant_id) GROUP BY t.name) x"
