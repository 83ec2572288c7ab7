-- orders on real data (UCI Online Retail subset): association rules and
-- recommendations, predicted orders with their lifecycle and the customers'
-- preferences, and the backtest: the model must beat the baseline's Brier
-- score and be calibrated within 0.10 in every confidence decile holding at
-- least 30 predictions.
BEGIN;
SELECT plan(22);
\getenv test_files SALESFLOW_TEST_FILES
\set retail :test_files '/test/data/online_retail/online_retail_400customers.csv'
SELECT salesflow.create_tenant('orders_tap', 'Europe/London', 'GBP') IS NOT NULL AS created \gset
SET LOCAL salesflow.tenant = 'orders_tap';
SET LOCAL client_min_messages = warning;
SELECT (salesflow.import_file(:'retail')).status AS import_status \gset

-- backtest at 2011-09-01, 30 days
CREATE TEMP TABLE bt AS SELECT * FROM salesflow.backtest_predicted_orders('2011-09-01', 30);
SELECT is((SELECT n FROM bt WHERE metric = 'customers'), 316::bigint, '316 customers with history before 2011-09-01');
SELECT ok((SELECT model < baseline FROM bt WHERE metric = 'brier'),
          format('model Brier %s beats the average-gap baseline %s',
                 (SELECT round(model::numeric, 4) FROM bt WHERE metric = 'brier'),
                 (SELECT round(baseline::numeric, 4) FROM bt WHERE metric = 'brier')));
SELECT ok((SELECT model < 0.2 FROM bt WHERE metric = 'brier'), 'model Brier below 0.2 (the rate of orders is 0.27)');
SELECT is((SELECT count(*) FROM bt WHERE metric = 'reliability' AND n >= 30 AND abs(model - observed) > 0.10), 0::bigint,
          'calibrated within 0.10 in every decile with at least 30 predictions');
SELECT cmp_ok((SELECT count(*) FROM bt WHERE metric = 'reliability' AND n >= 30), '>=', 3::bigint,
              'at least three deciles are populated enough to check');
SELECT ok((SELECT abs(sum(model * n) / sum(n) - sum(observed * n) / sum(n)) < 0.05 FROM bt WHERE metric = 'reliability'),
          'mean predicted probability within 0.05 of the observed rate');
SELECT ok((SELECT model >= baseline FROM bt WHERE metric = 'precision@5'), 'item precision@5 at least the usual-items baseline');
SELECT ok((SELECT model > 0.2 FROM bt WHERE metric = 'precision@5'), 'item precision@5 above 0.2');

-- upsell
SELECT cmp_ok(salesflow.refresh_associations(), '>', 100::bigint, 'association rules mined');
SELECT is((SELECT count(*) FROM salesflow.product_associations WHERE lift < 2 OR confidence < 0.2 OR support <= 0), 0::bigint,
          'rules respect the thresholds');
SELECT is((SELECT count(*) FROM salesflow.recommendations r
            WHERE EXISTS (SELECT 1 FROM salesflow.invoice_items it JOIN salesflow.invoices i USING (tenant_id, invoice_id)
                           WHERE i.customer_id = r.customer_id AND it.product_id = r.product_id AND NOT it.is_return)),
          0::bigint, 'nobody is recommended what they already buy');
SELECT ok((SELECT bool_and(reason ~ '^bought with .+ in [0-9]+% of its baskets, lift [0-9.]+$') FROM salesflow.recommendations),
          'every recommendation says why');

-- predicted orders and preferences
INSERT INTO salesflow.order_preferences (customer_id, paused)
SELECT customer_id, true FROM salesflow.customers WHERE ref = '12347';
INSERT INTO salesflow.order_preferences (customer_id, auto_approve, frequency_days)
SELECT customer_id, true, 14 FROM salesflow.customers WHERE ref = '12348';
SELECT cmp_ok(salesflow.refresh_predicted_orders(), '>', 300::bigint, 'predictions for the known customers');
SELECT is((SELECT count(*) FROM salesflow.predicted_orders po JOIN salesflow.customers c USING (tenant_id, customer_id) WHERE c.ref = '12347'),
          0::bigint, 'a paused customer gets no prediction');
SELECT is((SELECT status || ' ' || (predicted_date = greatest((SELECT max(day) FROM salesflow.invoices i WHERE i.customer_id = po.customer_id) + 14,
                                                           (SELECT max(day) FROM salesflow.invoices) + 1))
             FROM salesflow.predicted_orders po JOIN salesflow.customers c USING (tenant_id, customer_id) WHERE c.ref = '12348'),
          'approved true', 'auto-approve and the preferred frequency (last order + 14 days, not in the past) apply');
SELECT is((SELECT count(*) FROM salesflow.predicted_orders
            WHERE NOT (window_start <= window_end AND confidence BETWEEN 0 AND 1 AND expected_amount >= 0)), 0::bigint,
          'windows ordered, confidence a probability, amounts non-negative');
SELECT ok((SELECT avg((n > 0)::int) >= 0.95 FROM (SELECT count(i.*) AS n FROM salesflow.predicted_orders po
             LEFT JOIN salesflow.predicted_order_items i USING (tenant_id, prediction_id) GROUP BY po.prediction_id) x),
          'predictions have items (all but customers who only bought non-product lines)');
SELECT is((SELECT array_agg(DISTINCT priority ORDER BY priority) FROM salesflow.predicted_orders), ARRAY['high', 'low', 'medium'],
          'priorities high / medium / low are all used');

-- lifecycle: approve, dismiss, then an invoice arrives
SELECT prediction_id AS pid, customer_id AS cid, window_end AS wend FROM salesflow.predicted_orders WHERE status = 'pending' ORDER BY prediction_id LIMIT 1 \gset
SELECT is((salesflow.approve_predicted_order(:pid)).status, 'approved', 'approve');
SELECT throws_ok(format('SELECT salesflow.approve_predicted_order(%s)', :pid), '55000', NULL, 'approving twice is an error');
SELECT prediction_id AS pid2 FROM salesflow.predicted_orders WHERE status = 'pending' ORDER BY prediction_id LIMIT 1 \gset
SELECT is((salesflow.dismiss_predicted_order(:pid2)).status, 'dismissed', 'dismiss');
SELECT salesflow.import_csv(convert_to(format(E'invoice,sku,qty,price,date,customer\nLATE-1,85123A,6,2.55,%s,%s\n',
       to_char(date '2011-12-09' + 1, 'YYYY-MM-DD'), (SELECT ref FROM salesflow.customers WHERE customer_id = :cid)), 'UTF8')) IS NOT NULL AS loaded \gset
SELECT salesflow._match_predictions(tenant_id) FROM salesflow.tenants WHERE name = 'orders_tap' \gset
SELECT is((SELECT status FROM salesflow.predicted_orders WHERE prediction_id = :pid),
          CASE WHEN date '2011-12-10' <= :'wend'::date THEN 'fulfilled' ELSE 'missed' END,
          'an arriving invoice fulfils the prediction when it falls in the window (else it is missed)');
SELECT * FROM finish();
ROLLBACK;
