#!/usr/bin/python3
"""export_xlsx read back by another reader: openpyxl (Debian's
python3-openpyxl). Prints TAP ("ok N - ..."); scripts/test counts it.

It loads a tenant with the demo generator (3,000 lines), refreshes the
dashboards, then for several reports compares every cell of export_xlsx
with the same report from export_csv: numbers are numbers (equal within
1e-9 relative), dates are datetimes on the same day, text is the same text;
and checks the sheet: name, bold header, panes frozen below the header, an
autofilter over the whole table, column widths between 8 and 60.

Connection: the libpq variables (PGHOST, PGPORT, PGUSER) and argv[1], the
database (default salesflow_test). The tenant is deleted at the end.
"""
import base64
import csv
import datetime as dt
import io
import os
import subprocess
import sys

import openpyxl

DB = sys.argv[1] if len(sys.argv) > 1 else "salesflow_test"
TENANT = "xlsx_export_check"
PSQL = os.path.join(os.environ.get("SALESFLOW_PGBIN", "/usr/lib/postgresql/15/bin"), "psql")
results = []


def psql(sql, tenant=None):
    env = dict(os.environ)
    if tenant:
        env["PGOPTIONS"] = "-c salesflow.tenant=" + tenant
    out = subprocess.run([PSQL, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", DB, "-c", sql],
                         check=True, capture_output=True, text=True, env=env)
    return out.stdout.strip()


def ok(cond, name):
    results.append((bool(cond), name))
    print("%s %d - %s" % ("ok" if cond else "not ok", len(results), name))


def same(xlsx_value, csv_text):
    if csv_text == "":
        return xlsx_value is None
    if isinstance(xlsx_value, bool):
        return csv_text == ("true" if xlsx_value else "false")
    if isinstance(xlsx_value, (int, float)):
        return abs(xlsx_value - float(csv_text)) <= 1e-9 * max(1.0, abs(float(csv_text)))
    if isinstance(xlsx_value, dt.datetime):
        return csv_text.startswith(xlsx_value.strftime("%Y-%m-%d"))
    return xlsx_value == csv_text


def check_report(report, options, want_types):
    raw = psql("SELECT encode(salesflow.export_xlsx('%s', '%s'), 'base64')" % (report, options), TENANT)
    text = psql("SELECT salesflow.export_csv('%s', '%s')" % (report, options), TENANT)
    wb = openpyxl.load_workbook(io.BytesIO(base64.b64decode(raw)))
    rows = list(csv.reader(io.StringIO(text)))
    ws = wb.active
    ok(wb.sheetnames == [report], "%s: one sheet named after the report" % report)
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    ok(len(values) == len(rows) and len(values) > 1, "%s: %d rows, as in export_csv" % (report, len(rows) - 1))
    ok(values[0] == rows[0], "%s: header %s" % (report, rows[0]))
    ok(all(c.font.b for c in ws[1]), "%s: header bold" % report)
    ok(ws.freeze_panes == "A2", "%s: header row frozen" % report)
    last = openpyxl.utils.get_column_letter(len(rows[0]))
    ok(ws.auto_filter.ref == "A1:%s%d" % (last, len(rows)), "%s: autofilter A1:%s%d" % (report, last, len(rows)))
    widths = [ws.column_dimensions[openpyxl.utils.get_column_letter(i + 1)].width for i in range(len(rows[0]))]
    ok(all(8 <= w <= 60 for w in widths), "%s: column widths %s within 8-60" % (report, [round(w) for w in widths]))
    mismatches = [(i, j, values[i][j], rows[i][j]) for i in range(1, len(rows)) for j in range(len(rows[0]))
                  if not same(values[i][j], rows[i][j])]
    ok(not mismatches, "%s: every cell equals export_csv's %s" % (report, mismatches[:3]))
    for column, kind in want_types.items():
        j = rows[0].index(column)
        cells = [values[i][j] for i in range(1, len(rows)) if values[i][j] is not None]
        ok(cells and all(isinstance(v, kind) and not isinstance(v, bool) for v in cells),
           "%s: %s cells are %s" % (report, column, kind.__name__ if isinstance(kind, type) else "numbers"))


def main():
    psql("SELECT salesflow.delete_tenant('%s') FROM salesflow.tenants WHERE name = '%s'" % (TENANT, TENANT))
    psql("SELECT salesflow.create_tenant('%s', 'Europe/Berlin', 'EUR')" % TENANT)
    try:
        psql("SELECT salesflow.import_csv(salesflow.generate_demo_csv(3000, 7))", TENANT)
        psql("SELECT salesflow.refresh_segments()", TENANT)
        psql("CALL salesflow.refresh_dashboards()")
        number = (int, float)
        check_report("sales_by_day", "{}", {"day": dt.datetime, "revenue": number, "orders": number})
        check_report("top_products", '{"limit": 25}', {"sku": str, "revenue": number, "rank": number})
        check_report("customers", '{"order_by": "ref"}', {"ref": str, "monetary": number})
        check_report("dashboard_summary", "{}", {"tenant": str, "first_day": dt.datetime, "refreshed_at": dt.datetime})
    finally:
        psql("SELECT salesflow.delete_tenant('%s')" % TENANT)
    print("1..%d" % len(results))
    return 0 if all(r for r, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
