-- ingest on real data: the UCI Online Retail subset in test/data
-- (33,735 lines of a UK wholesaler). Every figure below was counted
-- independently from the file with Python's csv module (see docs/ingest.md).
BEGIN;
SELECT plan(19);
\getenv test_files SALESFLOW_TEST_FILES
\set retail :test_files '/test/data/online_retail/online_retail_400customers.csv'
SELECT salesflow.create_tenant('retail', 'Europe/London', 'GBP') \gset
SET LOCAL salesflow.tenant = 'retail';

SELECT (u).* FROM (SELECT salesflow.import_file(:'retail', '{"preset": "online_retail"}') AS u) s \gset up_
SELECT is(:'up_status'::text, 'processed', 'the file is processed');
SELECT is(:'up_lines'::bigint, 33735::bigint, 'all 33,735 lines read');
SELECT is(:'up_rejected'::bigint, 0::bigint, 'no line rejected');
SELECT is(:'up_inserted'::bigint, 33735::bigint, 'every line inserted (343 identical repeats kept as occurrences)');
SELECT is(:'up_returns'::bigint, 805::bigint, '805 cancellation lines kept as returns');
SELECT is(:'up_zero_price'::bigint, 2::bigint, '2 zero-price lines flagged');
SELECT is(:'up_non_product'::bigint, 249::bigint, 'POST, M, D, C2 and "Next Day Carriage" lines flagged as non-product (119+70+41+8+11)');
-- count what the tenant sees, as its reader
SET LOCAL ROLE salesflow_reader;
SELECT is((SELECT count(*) FROM salesflow.invoices), 2017::bigint, '2,017 invoices');
SELECT is((SELECT count(*) FROM salesflow.invoices WHERE is_return), 357::bigint, '357 of them cancellations');
SELECT is((SELECT count(*) FROM salesflow.customers WHERE NOT is_anonymous), 400::bigint, '400 customers');
SELECT is((SELECT count(*) FROM salesflow.products), 2901::bigint, '2,901 stock codes');
SELECT is((SELECT sum(line_total) FROM salesflow.invoice_items), 623673.59::numeric, 'net revenue 623,673.59');
SELECT is((SELECT sum(total) FROM salesflow.invoices), 623673.59::numeric, 'invoice totals add up to the same');
SELECT is((SELECT sum(revenue) FROM salesflow.sales_daily), 644540.39::numeric, 'sales_daily revenue (without returns) 644,540.39');
SELECT is((SELECT sum(returned_revenue) FROM salesflow.sales_daily), 20866.80::numeric, 'sales_daily returned value 20,866.80');
SELECT is((SELECT min(day)::text || ' ' || max(day)::text FROM salesflow.invoices), '2010-12-01 2011-12-09',
          'days in the tenant''s time zone');

RESET ROLE;
-- the same export under another name: nothing new
SELECT (u).* FROM (SELECT salesflow.import_csv(pg_read_binary_file(:'retail') || '\x0a'::bytea) AS u) s \gset again_
SELECT is(:'again_inserted'::bigint, 0::bigint, 're-importing the export adds no line');
SELECT is(:'again_duplicates'::bigint, 33735::bigint, '... and counts all as duplicates');
SET LOCAL ROLE salesflow_reader;
SELECT is((SELECT sum(revenue) FROM salesflow.sales_daily), 644540.39::numeric, '... and sales_daily is unchanged');
RESET ROLE;
SELECT * FROM finish();
ROLLBACK;
