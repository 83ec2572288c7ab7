-- import_xlsx: the openpyxl workbooks of test/data/xlsx (made by
-- test/data/xlsx/make_fixtures.py) load with the totals, dates and rejects
-- counted by hand from the script's rows; both date systems, a sheet chosen by
-- name, shared and inline strings, merged headers, empty cells; damaged files
-- give a failed upload with SQLSTATE 22P04; import_csv points to import_xlsx.
BEGIN;
SELECT plan(27);
-- (read by the server: the copy scripts/cluster start puts where it can read it)
\getenv test_files SALESFLOW_TEST_FILES
\set wb1900 :test_files '/test/data/xlsx/invoices_1900.xlsx'
\set wb1904 :test_files '/test/data/xlsx/invoices_1904.xlsx'
SELECT salesflow.create_tenant('xlsx', 'UTC', 'EUR') \gset
SET LOCAL salesflow.tenant = 'xlsx';

-- 1900 system, sheet "Sales" by name: 7 data rows (rows 3-6, 8-10), row 9's quantity is text
SELECT (u).* FROM (SELECT salesflow.import_xlsx(pg_read_binary_file(:'wb1900'),
                                               '{"sheet": "Sales", "filename": "invoices_1900.xlsx"}') AS u) s \gset up_
SELECT is(:'up_status'::text, 'processed', 'the Sales sheet is processed');
SELECT is(:'up_source'::text, 'import_xlsx', 'recorded as an Excel upload');
SELECT is(:'up_lines'::bigint, 7::bigint, '7 data rows (the empty row 7 is not a line)');
SELECT is(:'up_inserted'::bigint, 6::bigint, '6 lines loaded');
SELECT is(:'up_anonymous'::bigint, 1::bigint, 'the line with empty customer cells is anonymous');
SELECT results_eq($$SELECT line_no, column_name, value FROM salesflow.upload_rejects WHERE upload_id = $$ || :up_upload_id,
                  $$VALUES (9::bigint, 'Quantity'::text, 'lots'::text)$$, 'the text quantity is rejected at sheet row 9');
-- 6 x 2.50 + 2 x 10.25 + 12 x 2.50 + 1 x 24 + 3 x 10.25 + 4 x 2.75 = 131.25
SELECT is((SELECT sum(line_total) FROM salesflow.invoice_items), 131.25::numeric, 'total 131.25');
SELECT results_eq($$SELECT invoice_no, lines, total, invoiced_at FROM salesflow.invoices ORDER BY invoice_no$$,
                  $$VALUES ('INV-1'::text, 2::int, 35.50::numeric, '2024-03-01 09:30+00'::timestamptz),
                           ('INV-2', 2, 54.00, '2024-03-02 14:00+00'),
                           ('INV-3', 1, 30.75, '2024-02-29 18:45+00'),
                           ('INV-5', 1, 11.00, '2024-12-31 23:59+00')$$,
                  'invoices with their dates and times (custom format dd/mm/yyyy hh:mm); INV-2 merged over two rows');
SELECT results_eq($$SELECT ref, name FROM salesflow.customers WHERE NOT is_anonymous ORDER BY ref$$,
                  $$VALUES ('C100'::text, 'Acme Ltd'::text), ('C200', 'Bistro, "Chez Max"'), ('C300', 'Corner Shop')$$,
                  'customers from the merged "Customer" over "ID" and "Name" header');
SELECT is((SELECT name FROM salesflow.products WHERE sku = 'SKU-C'), 'Teapot large',
          'a line break inside a cell is read as a space');
SELECT is((SELECT sum(units) FROM salesflow.sales_daily WHERE day = '2024-02-29'), 3::numeric,
          'sales_daily has the leap day''s 3 units');

-- the same bytes again: the same upload, nothing redone
SELECT is((salesflow.import_xlsx(pg_read_binary_file(:'wb1900'), '{"sheet": "Sales"}')).upload_id, :up_upload_id::bigint,
          'the same workbook again returns the same upload');

-- 1904 system, the first sheet by position, inline strings, built-in date format 14
SELECT (u).* FROM (SELECT salesflow.import_xlsx(pg_read_binary_file(:'wb1904'), '{"sheet": 1}') AS u) s \gset w_
SELECT is(:'w_status'::text, 'processed', 'the 1904 workbook is processed');
SELECT is(:'w_inserted'::bigint, 4::bigint, '4 lines, none rejected');
-- 3 x 7.50 + 10 x 1.20 + 1 x 7.50 + 2 x 4.00 = 50.00
SELECT is((SELECT sum(i.line_total) FROM salesflow.invoice_items i WHERE i.upload_id = :w_upload_id), 50.00::numeric,
          'total 50.00');
SELECT results_eq($$SELECT invoice_no, day FROM salesflow.invoices WHERE invoice_no LIKE 'W-%' ORDER BY invoice_no$$,
                  $$VALUES ('W-10'::text, '2023-01-15'::date), ('W-11', '2023-07-04'), ('W-12', '1904-01-02')$$,
                  'dates counted from 1904-01-01 (serial 1 = 1904-01-02)');

-- a CSV given to import_xlsx, a workbook given to import_csv
SELECT throws_ok($$SELECT salesflow.import_csv(pg_read_binary_file('$$ || :'wb1900' || $$'))$$, '22P04',
                 'the upload is an Excel workbook (.xlsx), not CSV', 'import_csv refuses a workbook');
SELECT throws_ok($$SELECT salesflow.import_xlsx(convert_to('Invoice,Date', 'UTF8'))$$, '22P04',
                 'the upload is not an Excel workbook (.xlsx files are zip archives)', 'import_xlsx refuses CSV');
SELECT throws_ok($$SELECT salesflow.import_csv(convert_to('a,b', 'UTF8'), '{"sheet": "x"}')$$, '22023',
                 'option "sheet" is for import_xlsx', 'option sheet is refused by import_csv');
SELECT throws_ok($$SELECT salesflow.import_xlsx(pg_read_binary_file('$$ || :'wb1904' || $$'), '{"delimiter": ";"}')$$,
                 '22023', NULL, 'options that do not apply to a workbook are refused');

-- a sheet that does not exist: a failed upload, fixed with process_upload
SELECT (u).* FROM (SELECT salesflow.import_xlsx(pg_read_binary_file(:'wb1900'), '{"sheet": "Stock"}') AS u) s \gset m_
SELECT is(:'m_status' || ' ' || :'m_error_sqlstate', 'failed 22023', 'an unknown sheet fails the upload (22023)');
SELECT matches(:'m_error'::text, 'sheets: "Notes", "Sales"', 'the error lists the sheets');
SELECT is((salesflow.process_upload(:m_upload_id, '{"sheet": "Sales"}')).duplicates, 6::bigint,
          'processed again with the right sheet: its 6 lines are already loaded');

-- damaged workbooks: truncated, garbled inside the sheet's compressed data
-- (bytes 2059-2694 of the file), an empty zip archive
SELECT is((salesflow.import_xlsx(substring(pg_read_binary_file(:'wb1904') FROM 1 FOR 900))).error_sqlstate, '22P04',
          'a truncated workbook fails with 22P04');
SELECT is((salesflow.import_xlsx(overlay(pg_read_binary_file(:'wb1904') PLACING '\xdeadbeefdeadbeef'::bytea FROM 2400 FOR 8))).error_sqlstate,
          '22P04', 'a garbled workbook fails with 22P04');
SELECT throws_ok($$SELECT salesflow.import_xlsx('\x504b0506000000000000000000000000000000000000'::bytea)$$, '22P04',
                 NULL, 'an empty zip archive is not a workbook');
SELECT is((SELECT count(*) FROM salesflow.uploads WHERE status = 'processed'), 3::bigint,
          'only the two sheets and the fixed upload were processed');

SELECT * FROM finish();
ROLLBACK;
