-- inventory: the SQL functions against the worked examples in
-- ../shared/data/README.md and SciPy (the C++ unit tests check every formula
-- against test/fixtures/inventory), the documented edge cases, the import
-- helpers' rejects, and the replenishment batch on a tenant whose forecasts
-- are written by hand so every category can be predicted.
\set SHOW_CONTEXT never

-- worked examples: d 50 (sd 5), L 6 days, 90% cycle service: SS 15.70, ROP 315.70;
-- with a lead-time sd of 2 days 129.11 / 429.11; EOQ(1000, 50, 2) = 223.61
SELECT round(salesflow.safety_stock(50, 5, 6, 0, 0.90)::numeric, 2) AS ss_fixed_lead_time,
       round(salesflow.safety_stock(50, 5, 6, 2, 0.90)::numeric, 2) AS ss_random_lead_time,
       round(salesflow.eoq(1000, 50, 2)::numeric, 2) AS eoq;
SELECT round(safety_stock::numeric, 2) AS ss, round(reorder_point::numeric, 2) AS rop, method
  FROM salesflow.reorder_policy(50, 5, lead_time_days => 6, lead_time_sd_days => 2, review_period_days => 0,
                                on_hand => 1000, service_level => 0.90);
-- fill rate: the safety factor solves sd G(k) = (1 - P2) Q; Q large enough meets the target alone
SELECT round(salesflow.safety_stock(50, 5, 6, 0, 0.98, 'fill_rate', 0, 100)::numeric, 3) AS ss_fill_rate,
       salesflow.safety_stock(50, 5, 6, 0, 0.98, 'fill_rate', 0, 100000) < 0 AS big_lot_needs_none;
-- rounding: MOQ larger than the need buys the MOQ, whole packs, nothing for no need
SELECT salesflow.round_order_quantity(7, 24, 0) AS moq, salesflow.round_order_quantity(25, 24, 6) AS packs,
       salesflow.round_order_quantity(-3, 24, 6) AS none, round(salesflow.round_order_quantity(0.3, 0, 0.1)::numeric, 12) AS float_noise;

-- edge cases (docs/inventory.md): each gives a number, never NaN
SELECT 'zero demand' AS "case", p.* FROM salesflow.reorder_policy(0, 0, on_hand => 5, lead_time_days => 7) p
UNION ALL
SELECT 'single sale, intermittent', p.* FROM salesflow.reorder_policy(0.01, 0.1, true, 7, 0, 1, 0) p
UNION ALL
SELECT 'lead time 0, no review', p.* FROM salesflow.reorder_policy(10, 3, false, 0, 0, 0, 2) p
UNION ALL
SELECT 'MOQ above demand', p.* FROM salesflow.reorder_policy(1, 0.5, false, 7, 0, 1, 0, moq => 100, pack_size => 10) p
UNION ALL
SELECT 'negative on hand', p.* FROM salesflow.reorder_policy(2, 1, false, 7, 0, 1, -5) p
UNION ALL
SELECT 'defaults only', p.* FROM salesflow.reorder_policy(2, 1) p;

-- runway against a non-level forecast
SELECT * FROM salesflow.runway(10, '{1,2,3,4,5}');
SELECT * FROM salesflow.runway(100, '{1,2,3}');
SELECT * FROM salesflow.runway(-1, '{1}');

-- bad input: SQLSTATE 22023, the backend survives
SELECT salesflow.safety_stock(50, 5, 6, 0, 1.5);
SELECT salesflow.safety_stock(50, 5, 6, 0, 0.98, 'fill_rate');
SELECT salesflow.safety_stock(50, 5, 6, 0, 0.95, 'sometimes');
SELECT salesflow.eoq(1000, 50, 0);
SELECT * FROM salesflow.reorder_policy('NaN', 1);
SELECT * FROM salesflow.runway(1, '{1,-2}');
SELECT 1 AS still_alive;

-- ---------------------------------------------------------------------------
-- the batch
-- ---------------------------------------------------------------------------
SELECT tenant_id AS tid FROM salesflow.create_tenant('inv', 'UTC', 'EUR') \gset
SET salesflow.tenant = 'inv';
-- products P1..P7 sold once each on 2024-03-01 (so the newest sales day is 2024-03-01)
SELECT (salesflow.import_csv(convert_to('invoice,sku,qty,price,date,customer' || E'\n' ||
        (SELECT string_agg(format('I%s,P%s,1,2.00,2024-03-01,C1', g, g), E'\n') FROM generate_series(1, 7) g), 'UTF8'))).accepted;
-- hand-made forecast snapshots from origin 2024-03-01: P1..P6 10 units/day
-- (95% interval +-1.96 x 2), P7 has no model (no history)
INSERT INTO salesflow.forecast_models (tenant_id, product_id, method, params, period, data_start, data_end, backtest_mase)
SELECT :tid, product_id, 'ANN', '{}', 7, '2024-03-01', '2024-03-01', CASE sku WHEN 'P6' THEN 3.5 ELSE 0.8 END
  FROM salesflow.products WHERE sku <> 'P7';
INSERT INTO salesflow.forecasts (tenant_id, product_id, origin, day, step, method, point, lo80, hi80, lo95, hi95)
SELECT :tid, p.product_id, '2024-03-01', date '2024-03-01' + h, h, 'ANN', 10, 10 - 1.2816 * 2, 10 + 1.2816 * 2,
       10 - 1.959964 * 2, 10 + 1.959964 * 2
  FROM salesflow.products p, generate_series(1, 28) h WHERE p.sku <> 'P7';

-- imports report every bad element and keep the good ones
SELECT salesflow.import_inventory('[
  {"sku": "P1", "on_hand": 200},
  {"sku": "P2", "on_hand": 40},
  {"sku": "P3", "on_hand": 40},
  {"sku": "P4", "on_hand": -3},
  {"sku": "P5", "on_hand": 30, "location": "north"}, {"sku": "P5", "on_hand": 30, "location": "south"},
  {"sku": "P6", "on_hand": 500},
  {"sku": "P7", "on_hand": 5},
  {"sku": "nope", "on_hand": 1}, {"sku": "P1", "on_hand": "many"}, {"on_hand": 1}, 42,
  {"sku": "P2", "on_hand": 1, "backorders": -2}, {"sku": "P2", "on_hand": 1, "as_of": "last week"}
]');
SELECT salesflow.import_purchase_orders('[
  {"reference": "PO-1", "sku": "P3", "quantity": 100, "ordered_at": "2024-02-27", "expected_at": "2024-03-05"},
  {"reference": "PO-2", "sku": "P5", "quantity": 50, "ordered_at": "2024-02-01", "expected_at": "2024-02-20"},
  {"reference": "PO-3", "sku": "P2", "quantity": 10, "ordered_at": "2024-01-01", "received_at": "2024-01-11"},
  {"reference": "PO-4", "sku": "P2", "quantity": 10, "ordered_at": "2024-01-15", "received_at": "2024-01-27"},
  {"reference": "PO-5", "sku": "P2", "quantity": 10, "ordered_at": "2024-02-01", "received_at": "2024-02-15"},
  {"reference": "PO-6", "sku": "P2", "quantity": 10, "ordered_at": "2024-02-10", "cancelled_at": "2024-02-11"},
  {"reference": "PO-7", "sku": "P2", "quantity": 0, "ordered_at": "2024-02-10"},
  {"reference": "PO-8", "sku": "P2", "quantity": 5, "ordered_at": "2024-02-10", "expected_at": "2024-02-01"},
  {"reference": "PO-9", "sku": "P2", "quantity": 5, "ordered_at": "10/02/2024"},
  {"sku": "P2", "quantity": 5, "ordered_at": "2024-02-10"}
]');
SELECT salesflow.import_supply_settings('[
  {"sku": "P1", "lead_time_days": 5, "lead_time_sd_days": 1, "moq": 120, "pack_size": 12},
  {"sku": "P4", "service_type": "fill_rate", "service_level": 0.98},
  {"sku": "P6", "service_level": 1}, {"sku": "P6", "moq": -1}, {"sku": "P6", "service_type": "often"}
]');
SELECT reference, status, received_qty FROM salesflow.purchase_orders ORDER BY reference;

SELECT salesflow.refresh_replenishment() AS products;
SELECT p.sku, r.category, r.reasons, r.recommended_qty, round(r.reorder_point::numeric, 2) AS rop,
       r.inventory_position AS position, r.on_order, r.lead_time_source, round(r.lead_time_days::numeric, 2) AS lead_time,
       round(r.runway_days::numeric, 2) AS runway, r.stockout_date, r.policy_method
  FROM salesflow.replenishment r JOIN salesflow.products p USING (tenant_id, product_id)
 ORDER BY p.sku;
-- P1: the reorder point by hand: d 10, sd 2, L 5, sd_L 1, R 1, 95% cycle:
-- 10 x 6 + 1.6449 x sqrt(6 x 4 + 100 x 1) = 78.32
SELECT round((10 * 6 + 1.6448536269514722 * sqrt(6 * 4 + 100 * 1))::numeric, 2) AS p1_rop_by_hand;
SELECT sku, category, priority FROM salesflow.buying_queue ORDER BY priority, stockout_date, sku;
SELECT sku, status FROM salesflow.stock_status ORDER BY sku;

-- a later day past the forecast: every forecast is out of date
SELECT salesflow.refresh_replenishment(as_of => '2024-04-15');
SELECT DISTINCT category, reasons FROM salesflow.replenishment WHERE product_id IN
    (SELECT product_id FROM salesflow.products WHERE sku IN ('P1', 'P2'));

-- bad tenant setting: a clear error
INSERT INTO salesflow.settings (tenant_id, name, value) VALUES (:tid, 'supply.service_level', '1.2');
SELECT salesflow.refresh_replenishment();
DELETE FROM salesflow.settings WHERE name = 'supply.service_level';
SELECT salesflow.import_inventory('{"sku": "P1"}');
RESET salesflow.tenant;
