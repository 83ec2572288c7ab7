-- User data loaded into a salesflow 0.1.0 install before scripts/upgrade-check
-- runs ALTER EXTENSION salesflow UPDATE. It goes through the paths users take
-- (import_csv of generated and of real invoices, COPY into upload_staging, the
-- JSON imports, the pipeline, the dashboard refresh and a report), so that
-- every table 0.1.0 has holds rows. Run from the top of the checkout.
--
-- Frozen with 0.1.0: it calls only 0.1.0's API. Never edit it; a later release
-- gets its own data-<version>.sql.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- a generated shop (the real import path: CSV bytes -> import_csv)
SELECT tenant_id AS shop_id FROM salesflow.create_tenant('upg_shop', 'Europe/London', 'GBP') \gset
SELECT status, inserted > 0 AS loaded
  FROM salesflow.import_csv(salesflow.generate_demo_csv(3000, 7), '{"tenant": "upg_shop", "filename": "demo.csv"}');
-- real invoices (UCI Online Retail, 400 customers: test/data/README.md), read
-- by the client and uploaded as bytes, as an application does
SELECT tenant_id AS retail_id FROM salesflow.create_tenant('upg_retail', 'Europe/London', 'GBP') \gset
\set retail_csv `gzip -dc test/data/online_retail/online_retail_400customers.csv.gz | base64 -w 0`
SELECT status, lines, inserted, returns, non_product
  FROM salesflow.import_csv(decode(:'retail_csv', 'base64'), '{"tenant": "upg_retail", "filename": "online_retail_400customers.csv"}');
\unset retail_csv

-- a second tenant with hand-written lines, a reject, and lines sent with COPY
SELECT tenant_id AS small_id FROM salesflow.create_tenant('upg_small', 'America/New_York', 'USD') \gset
SELECT status, rejected FROM salesflow.import_csv(convert_to(
    'invoice,sku,description,qty,price,date,customer' || E'\n' ||
    (SELECT string_agg(format('S-%s,%s,%s,%s,2.5,%s,c%s', g, CASE WHEN g % 2 = 0 THEN 'A1' ELSE 'B2' END,
                              CASE WHEN g % 2 = 0 THEN 'Mug' ELSE 'Plate' END, 1 + g % 3,
                              to_char(date '2023-10-01' + g * 3, 'YYYY-MM-DD'), g % 4), E'\n')
       FROM generate_series(1, 40) g) || E'\n' ||
    'S-bad,A1,Mug,lots,2.5,2024-01-03,c1' || E'\n', 'UTF8'), '{"tenant": "upg_small"}');
SET salesflow.tenant = 'upg_small';
COPY salesflow.upload_staging (invoice, sku, quantity, unit_price, invoiced_at, customer) FROM STDIN (FORMAT csv);
S-99,B2,1,9.99,2024-01-05,c2
S-100,A1,2,3.50,2024-01-06,c3
\.
RESET salesflow.tenant;
-- sales by store (a Location column fills sales_daily_location)
SELECT status, inserted FROM salesflow.import_csv(convert_to(
    'invoice,sku,qty,price,date,customer,location' || E'\n' ||
    (SELECT string_agg(format('L-%s,A1,%s,2.5,%s,c%s,%s', g, 1 + g % 2, to_char(date '2024-01-10' + g, 'YYYY-MM-DD'),
                              g % 3, CASE WHEN g % 2 = 0 THEN 'north' ELSE 'south' END), E'\n')
       FROM generate_series(1, 12) g), 'UTF8'), '{"tenant": "upg_small"}');

-- settings, logins, preferences, stock and purchase orders
INSERT INTO salesflow.settings (tenant_id, name, value)
VALUES (:shop_id, 'forecast.horizon', '28'), (:small_id, 'forecast.method', '"theta"');
INSERT INTO salesflow.tenant_logins (tenant_id, login) VALUES (:shop_id, 'upg_shop_login'), (:small_id, 'upg_small_login');
INSERT INTO salesflow.order_preferences (tenant_id, customer_id, note)
SELECT tenant_id, customer_id, 'calls on Mondays' FROM salesflow.customers WHERE tenant_id = :small_id AND ref = 'c1';
SELECT salesflow.import_inventory('[{"sku": "A1", "on_hand": 3}, {"sku": "B2", "on_hand": 1, "location": "x"}]', 'upg_small') - 'rejects' AS inventory;
SELECT salesflow.import_purchase_orders('[
    {"reference": "po1", "sku": "A1", "quantity": 10, "ordered_at": "2023-11-01", "received_at": "2023-11-09"},
    {"reference": "po2", "sku": "B2", "quantity": 5, "ordered_at": "2024-01-01", "expected_at": "2024-01-20"}]', 'upg_small') - 'rejects' AS purchase_orders;
SELECT salesflow.import_supply_settings('[{"sku": "A1", "moq": 6, "pack_size": 6}]', 'upg_small') - 'rejects' AS supply_settings;
SELECT salesflow.import_inventory((SELECT jsonb_agg(jsonb_build_object('sku', sku, 'on_hand', 5 + product_id % 40))
                                     FROM salesflow.products WHERE tenant_id = :shop_id AND NOT is_non_product),
                                  'upg_shop') - 'rejects' AS inventory;
INSERT INTO salesflow.alert_rules (tenant_id, metric, min_score) VALUES (:shop_id, 'revenue', 5), (:small_id, 'revenue', 5);

-- the analytics: every module writes its tables
CALL salesflow.run_pipeline();
SELECT salesflow.refresh_associations('upg_shop') >= 0 AS associations;
SELECT count(*) > 0 AS alerts FROM salesflow.anomalies;
CALL salesflow.refresh_dashboards(commit_each => false);
-- a CSV report requested and made
INSERT INTO salesflow.reports (tenant_id, report) VALUES (:shop_id, 'top_products'), (:small_id, 'sales_by_day');
SELECT salesflow.make_reports() AS reports_made;

-- the load is only a test if it worked: every upload processed, and every
-- table holds rows but the work tables that are empty between runs
DO $$
DECLARE
    tbl regclass;
    empty boolean;
BEGIN
    IF EXISTS (SELECT FROM salesflow.uploads WHERE status <> 'processed') THEN
        RAISE EXCEPTION 'an upload was not processed';
    END IF;
    FOR tbl IN SELECT c.oid FROM pg_class c JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
                WHERE d.deptype = 'e' AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'salesflow')
                  AND c.relkind = 'r'
                  AND c.oid NOT IN ('salesflow._forecast_work'::regclass, 'salesflow.upload_staging'::regclass)
    LOOP
        EXECUTE format('SELECT NOT EXISTS (SELECT FROM %s)', tbl) INTO empty;
        IF empty THEN
            RAISE EXCEPTION 'the upgrade data leaves % empty', tbl;
        END IF;
    END LOOP;
END $$;
