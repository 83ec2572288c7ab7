-- User data loaded into a salesflow 0.1.0 install before scripts/upgrade-check
-- runs ALTER EXTENSION salesflow UPDATE. It goes through the paths users take
-- (import_csv, COPY into upload_staging, the JSON imports, the pipeline and the
-- dashboard refresh), so that every table 0.1.0 has holds rows.
--
-- Frozen with 0.1.0: it calls only 0.1.0's API. Never edit it; a later release
-- gets its own data-<version>.sql.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- a generated shop (the real import path: CSV bytes -> import_csv)
SELECT tenant_id AS shop_id FROM salesflow.create_tenant('upg_shop', 'Europe/London', 'GBP') \gset
SELECT status, inserted > 0 AS loaded
  FROM salesflow.import_csv(salesflow.generate_demo_csv(3000, 7), '{"tenant": "upg_shop", "filename": "demo.csv"}');
-- a second tenant with hand-written lines, rejects and a COPY-style staging insert
SELECT tenant_id AS small_id FROM salesflow.create_tenant('upg_small', 'America/New_York', 'USD') \gset
SELECT status, rejected FROM salesflow.import_csv(convert_to(
    'invoice,sku,description,qty,price,date,customer' || E'\n' ||
    (SELECT string_agg(format('S-%s,%s,%s,%s,2.5,%s,c%s', g, CASE WHEN g % 2 = 0 THEN 'A1' ELSE 'B2' END,
                              CASE WHEN g % 2 = 0 THEN 'Mug' ELSE 'Plate' END, 1 + g % 3,
                              to_char(date '2023-10-01' + g * 3, 'YYYY-MM-DD'), g % 4), E'\n')
       FROM generate_series(1, 40) g) || E'\n' ||
    'S-bad,A1,Mug,lots,2.5,2024-01-03,c1' || E'\n', 'UTF8'), '{"tenant": "upg_small"}');
INSERT INTO salesflow.upload_staging (tenant_id, invoice, sku, quantity, unit_price, invoiced_at, customer)
VALUES (:small_id, 'S-99', 'B2', '1', '9.99', '2024-01-05', 'c2');

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
