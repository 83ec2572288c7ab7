-- ingest: import_csv, idempotence, rejects, returns, anonymous, staging COPY,
-- process_upload, error limits, NOTIFY, and the real UCI Online Retail subset.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT name FROM salesflow.create_tenant('shop', 'Europe/London', 'GBP');
SET salesflow.tenant = 'shop';

-- a small file: a return, an anonymous line, postage, a zero price, one bad date, one bad quantity
SELECT status, lines, accepted, inserted, duplicates, returns, rejected, non_product, zero_price, anonymous,
       detected ->> 'delimiter' AS delimiter, detected ->> 'date_order' AS date_order
  FROM salesflow.import_csv(convert_to(
'Invoice No,SKU,Product Name,Qty,Price,Order Date,Customer ID,Country
1001,A1,Red mug,2,3.50,03/01/2024 10:00,C1,United Kingdom
1001,B2,Blue plate,1,"1,200.00",03/01/2024 10:00,C1,United Kingdom
1001,POST,POSTAGE,1,15,03/01/2024 10:00,C1,United Kingdom
1002,A1,Red mug,1,3.50,25/01/2024 16:30,,United Kingdom
C1003,A1,Red mug,-1,3.50,26/01/2024 09:00,C1,United Kingdom
1004,A1,Red mug,3,0,27/01/2024 09:00,C2,France
1005,A1,Red mug,1,3.50,31/02/2024 09:00,C2,France
1006,A1,Red mug,lots,3.50,28/01/2024 09:00,C2,France
', 'UTF8'), '{"filename": "small.csv"}');

SELECT line_no, column_name, value, reason FROM salesflow.upload_rejects ORDER BY line_no;
SELECT ref, is_anonymous, country, first_order_at, last_order_at FROM salesflow.customers ORDER BY ref;
SELECT sku, name, last_price, is_non_product FROM salesflow.products ORDER BY sku;
SELECT invoice_no, is_return, lines, total, day, invoiced_at FROM salesflow.invoices ORDER BY invoice_no;
SELECT p.sku, d.day, d.units, d.revenue, d.orders, d.returned_units, d.returned_revenue
  FROM salesflow.sales_daily d JOIN salesflow.products p USING (tenant_id, product_id) ORDER BY p.sku, d.day;

-- the same bytes again: the same upload comes back, nothing redone
SELECT upload_id = 1 AS same_upload, status, inserted
  FROM salesflow.import_csv(convert_to(
'Invoice No,SKU,Product Name,Qty,Price,Order Date,Customer ID,Country
1001,A1,Red mug,2,3.50,03/01/2024 10:00,C1,United Kingdom
1001,B2,Blue plate,1,"1,200.00",03/01/2024 10:00,C1,United Kingdom
1001,POST,POSTAGE,1,15,03/01/2024 10:00,C1,United Kingdom
1002,A1,Red mug,1,3.50,25/01/2024 16:30,,United Kingdom
C1003,A1,Red mug,-1,3.50,26/01/2024 09:00,C1,United Kingdom
1004,A1,Red mug,3,0,27/01/2024 09:00,C2,France
1005,A1,Red mug,1,3.50,31/02/2024 09:00,C2,France
1006,A1,Red mug,lots,3.50,28/01/2024 09:00,C2,France
', 'UTF8'));

-- an overlapping export (other layout, semicolons, decimal comma): only the new line loads
SELECT status, lines, inserted, duplicates, detected ->> 'delimiter' AS delimiter
  FROM salesflow.import_csv(convert_to(
'InvoiceNo;StockCode;Description;Quantity;UnitPrice;InvoiceDate;CustomerID;Country
1001;A1;Red mug;2;3,50;2024-01-03 10:00;C1;United Kingdom
1007;B2;Blue plate;2;1200,00;2024-01-29 11:00;C1;United Kingdom
', 'UTF8'), '{"decimal": ","}');
SELECT p.sku, sum(d.units) AS units, sum(d.revenue) AS revenue, sum(d.orders) AS orders
  FROM salesflow.sales_daily d JOIN salesflow.products p USING (tenant_id, product_id) GROUP BY p.sku ORDER BY 1;

-- a missing required column: the upload fails with one clear error, bytes kept
SELECT status, error_sqlstate, error
  FROM salesflow.import_csv(convert_to(E'Ref,Item,Count,Each,When\nR1,A1,2,3.5,2024-02-01\n', 'UTF8'));
-- fixed by an explicit mapping and processed again
SELECT status, inserted, rejected, detected -> 'columns' AS columns
  FROM salesflow.process_upload((SELECT max(upload_id) FROM salesflow.uploads),
         '{"mapping": {"invoice": "Ref", "sku": "Item", "quantity": "Count", "unit_price": "Each", "invoiced_at": "When"}}');

-- error limits fail the whole upload: rejects kept, no data
SELECT status, rejected, inserted, error
  FROM salesflow.import_csv(convert_to(E'invoice,sku,qty,price,date\n2001,A1,1,1,2024-02-01\n2002,A1,x,1,2024-02-01\n2003,A1,y,1,2024-02-01\n', 'UTF8'),
                            '{"max_errors": 1}');
SELECT count(*) AS invoices_2001 FROM salesflow.invoices WHERE invoice_no = '2001';

-- bad options are errors
SELECT salesflow.import_csv('x', '{"delimeter": ";"}');
SELECT salesflow.import_csv('x', '{"preset": "sap"}');
SELECT salesflow.import_csv('x', '{"max_error_ratio": 2}');
SELECT salesflow.import_csv('x', '{"date_order": "DDMM"}');
SELECT salesflow.import_csv('x', '{"mapping": {"colour": "Colour"}}');
SELECT salesflow.import_csv(NULL);

-- COPY into the staging table: one statement = one upload, staging stays empty
COPY salesflow.upload_staging (invoice, customer, sku, description, quantity, unit_price, invoiced_at) FROM STDIN (FORMAT csv);
3001,C9,A1,Red mug,4,3.50,2024-03-01 12:00
3001,C9,Z9,Green bowl,1,9.99,2024-03-01 12:00
3002,C9,Z9,Green bowl,one,9.99,2024-03-01 12:00
\.
SELECT source, status, lines, inserted, rejected FROM salesflow.uploads WHERE source = 'staging';
SELECT line_no, reason FROM salesflow.upload_rejects r JOIN salesflow.uploads u USING (tenant_id, upload_id) WHERE u.source = 'staging';
SELECT count(*) AS staged_left FROM salesflow.upload_staging;
SELECT convert_from(c.content, 'UTF8') FROM salesflow.upload_contents c JOIN salesflow.uploads u USING (tenant_id, upload_id)
 WHERE u.source = 'staging';

-- all uploads recorded
SELECT count(*) AS uploads FROM salesflow.uploads;

-- the latest data wins: a newer description renames the product, an older one
-- does not, and a line without a description never blanks it
SELECT status, inserted FROM salesflow.import_csv(convert_to(E'invoice,sku,description,qty,price,date,customer\n'
    '4001,A1,Red mug (large),1,4.00,2024-06-01,C1\n4002,A1,Old mug,1,3.00,2023-01-01,C1\n', 'UTF8'));
SELECT status, inserted FROM salesflow.import_csv(convert_to(E'invoice,sku,description,qty,price,date,customer\n'
    '4003,A1,,1,4.50,2024-07-01,C1\n', 'UTF8'));
SELECT sku, name, last_price, first_sold_at < last_sold_at AS spans FROM salesflow.products WHERE sku = 'A1';

-- locations: a Location column names the location of each line; sales_daily
-- pools them, sales_daily_location keeps them apart (returns too), a reload
-- adds nothing, new lines of a known invoice are added, and COPY loaders
-- have a location column
SELECT status, inserted, detected -> 'columns' ->> 'location' AS location_column
  FROM salesflow.import_csv(convert_to(E'invoice,sku,qty,price,date,customer,Location\n'
    '5001,L1,2,1.00,2024-08-01 10:00,C1,North\n5001,L2,1,2.00,2024-08-01 10:00,C1,North\n'
    '5002,L1,5,1.00,2024-08-01 11:00,C2,South\n5003,L1,1,1.00,2024-08-02 09:00,C2,\n'
    'C5004,L1,-1,1.00,2024-08-02 12:00,C1,North\n', 'UTF8'));
SELECT status, inserted, duplicates FROM salesflow.import_csv(convert_to(E'invoice,sku,qty,price,date,customer,Warehouse\n'
    '5001,L1,2,1.00,2024-08-01 10:00,C1,North\n5001,L2,1,2.00,2024-08-01 10:00,C1,North\n'
    '5002,L1,5,1.00,2024-08-01 11:00,C2,South\n5002,L2,4,2.00,2024-08-01 11:00,C2,South\n', 'UTF8'));
COPY salesflow.upload_staging (invoice, customer, sku, quantity, unit_price, invoiced_at, location) FROM STDIN (FORMAT csv);
5005,C3,L1,3,1.00,2024-08-02 15:00,South
\.
SELECT p.sku, i.location, sum(i.quantity) AS quantity
  FROM salesflow.invoice_items i JOIN salesflow.products p USING (tenant_id, product_id)
 WHERE p.sku IN ('L1', 'L2') GROUP BY 1, 2 ORDER BY 1, 2;
SELECT p.sku, l.location, l.day, l.units, l.revenue, l.returned_units
  FROM salesflow.sales_daily_location l JOIN salesflow.products p USING (tenant_id, product_id) ORDER BY 1, 2, 3;
-- pooled: every line, with or without a location
SELECT p.sku, d.day, d.units, d.returned_units
  FROM salesflow.sales_daily d JOIN salesflow.products p USING (tenant_id, product_id)
 WHERE p.sku IN ('L1', 'L2') ORDER BY 1, 2;
SELECT status, inserted FROM salesflow.import_csv(convert_to(E'invoice,sku,qty,price,date,customer,Site\n'
    '5006,L2,1,2.00,2024-08-03 10:00,C1,East\n', 'UTF8'), '{"mapping": {"location": "Site"}}');
SELECT count(*) AS east_days FROM salesflow.sales_daily_location WHERE location = 'East';
