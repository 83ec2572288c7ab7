-- procurement history and decisions: each refresh_replenishment run kept with
-- its buying queue; the runway threshold (replenishment.runway_threshold_days)
-- with its reason; decide_recommendation; and a year of decisions replayed,
-- its acceptance figures counted by hand below.
BEGIN;
SELECT plan(20);
SELECT tenant_id AS tid FROM salesflow.create_tenant('proc', 'UTC', 'EUR') \gset
SET LOCAL salesflow.tenant = 'proc';
-- P1, P2 sold on 2024-03-01; forecasts of 10 units a day from that origin; lead time 1 day
SELECT (salesflow.import_csv(convert_to(E'invoice,sku,qty,price,date,customer\nI1,P1,1,2.00,2024-03-01,C1\nI2,P2,1,2.00,2024-03-01,C1', 'UTF8'))).accepted;
INSERT INTO salesflow.forecast_models (tenant_id, product_id, method, params, period, data_start, data_end, backtest_mase)
SELECT :tid, product_id, 'ANN', '{}', 7, '2024-03-01', '2024-03-01', 0.8 FROM salesflow.products;
INSERT INTO salesflow.forecasts (tenant_id, product_id, origin, day, step, method, point, lo80, hi80, lo95, hi95)
SELECT :tid, p.product_id, '2024-03-01', date '2024-03-01' + h, h, 'ANN', 10, 10 - 1.2816 * 2, 10 + 1.2816 * 2,
       10 - 1.959964 * 2, 10 + 1.959964 * 2
  FROM salesflow.products p, generate_series(1, 28) h;
SELECT salesflow.import_inventory('[{"sku": "P1", "on_hand": 60}, {"sku": "P2", "on_hand": 5}]') IS NOT NULL;
SELECT salesflow.import_supply_settings('[{"sku": "P1", "lead_time_days": 1}, {"sku": "P2", "lead_time_days": 1}]') IS NOT NULL;

-- without a threshold: P2 (position 5 under the reorder point) is ORDER_TODAY, P1 (runway 6 days) NORMAL
SELECT is(salesflow.refresh_replenishment(), 2::bigint, 'two products computed');
SELECT results_eq($$SELECT p.sku, r.category, r.order_reason LIKE 'inventory position 5.0 at or below the reorder point %'
                      FROM salesflow.replenishment r JOIN salesflow.products p USING (tenant_id, product_id) ORDER BY p.sku$$,
                  $$VALUES ('P1'::text, 'NORMAL'::text, NULL::boolean), ('P2', 'ORDER_TODAY', true)$$,
                  'reorder point rule, with its reason');
SELECT results_eq($$SELECT as_of, products, recommendations, runway_threshold_days FROM salesflow.replenishment_runs$$,
                  $$VALUES ('2024-03-02'::date, 2::bigint, 1::bigint, NULL::float8)$$, 'the run is kept with its day');
SELECT is((SELECT count(*) FROM salesflow.procurement_recommendations r
             JOIN salesflow.products p USING (tenant_id, product_id) WHERE p.sku = 'P2' AND r.category = 'ORDER_TODAY'),
          1::bigint, 'its recommendation is kept');

-- threshold 7 days: P1's runway of 6 days orders today, with the reason shown
INSERT INTO salesflow.settings (tenant_id, name, value) VALUES (:tid, 'replenishment.runway_threshold_days', '7');
SELECT is(salesflow.refresh_replenishment(), 2::bigint, 'second run');
SELECT results_eq($$SELECT r.category, r.order_reason, r.recommended_qty > 0, round(r.runway_days::numeric, 1)
                      FROM salesflow.replenishment r JOIN salesflow.products p USING (tenant_id, product_id) WHERE p.sku = 'P1'$$,
                  $$VALUES ('ORDER_TODAY'::text,
                            'runway 6.0 days at or below the threshold of 7 days (replenishment.runway_threshold_days)'::text,
                            true, 6.0::numeric)$$,
                  'runway <= threshold: ORDER_TODAY, reason shown');
SELECT results_eq($$SELECT recommendations, runway_threshold_days FROM salesflow.replenishment_runs ORDER BY run_id$$,
                  $$VALUES (1::bigint, NULL::float8), (2, 7)$$, 'both runs kept; the first unchanged');
UPDATE salesflow.settings SET value = '5' WHERE tenant_id = :tid AND name = 'replenishment.runway_threshold_days';
SELECT salesflow.refresh_replenishment();
SELECT is((SELECT r.category FROM salesflow.replenishment r JOIN salesflow.products p USING (tenant_id, product_id) WHERE p.sku = 'P1'),
          'NORMAL', 'threshold 5 days: a runway of 6 is NORMAL');
SELECT throws_ok(format($$UPDATE salesflow.settings SET value = '"soon"' WHERE tenant_id = %s AND name = 'replenishment.runway_threshold_days'$$, :tid),
                 '22023', NULL, 'a threshold that is not a number is refused where it is written');
DELETE FROM salesflow.settings WHERE tenant_id = :tid AND name = 'replenishment.runway_threshold_days';

-- decisions
SELECT recommendation_id AS rid FROM salesflow.procurement_recommendations ORDER BY recommendation_id LIMIT 1 \gset
SELECT is((salesflow.decide_recommendation(:rid, 'accepted', 'supplier confirmed')).decision, 'accepted', 'accepted');
SELECT results_eq($$SELECT decision, note, decided_by = current_user FROM salesflow.procurement_recommendations WHERE recommendation_id = $$ || :rid,
                  $$VALUES ('accepted'::text, 'supplier confirmed'::text, true)$$, 'the decision, note and who');
SELECT throws_ok(format('SELECT salesflow.decide_recommendation(%s, %L)', :rid, 'maybe'), '22023', NULL, 'unknown decision');
SELECT throws_ok('SELECT salesflow.decide_recommendation(-1, ''rejected'')', '42704', NULL, 'unknown recommendation');

-- a year of decisions replayed (tenant "year": product A recommended 100 units
-- on the 1st of every month of 2024, B 40 units in January-June)
SELECT tenant_id AS yid FROM salesflow.create_tenant('year', 'UTC', 'EUR') \gset
SET LOCAL salesflow.tenant = 'year';
SELECT throws_ok(format('SELECT salesflow.decide_recommendation(%s, %L)', :rid, 'rejected'), '42704', NULL,
                 'another tenant''s recommendation does not exist here');
SELECT (salesflow.import_csv(convert_to(E'invoice,sku,qty,price,date,customer\nY1,A,1,2.00,2023-12-01,C1\nY2,B,1,2.00,2023-12-01,C1', 'UTF8'))).accepted;
INSERT INTO salesflow.replenishment_runs (tenant_id, as_of, products, recommendations)
SELECT :yid, make_date(2024, m, 1), 2, CASE WHEN m <= 6 THEN 2 ELSE 1 END FROM generate_series(1, 12) m;
INSERT INTO salesflow.procurement_recommendations (tenant_id, run_id, as_of, product_id, category, recommended_qty)
SELECT :yid, r.run_id, r.as_of, p.product_id, 'ORDER_TODAY', CASE p.sku WHEN 'A' THEN 100 ELSE 40 END
  FROM salesflow.replenishment_runs r CROSS JOIN salesflow.products p
 WHERE r.tenant_id = :yid AND p.tenant_id = :yid AND (p.sku = 'A' OR extract(month FROM r.as_of) <= 6);
-- from here on as the tenant's writer: row-level security applies
SET LOCAL ROLE salesflow_writer;
-- A: Jan acc, Feb acc, Mar acc then ordered, Apr rej, May ord, Jun rej, Jul acc, Aug -, Sep rej, Oct ord, Nov acc, Dec rej
-- B: Jan rej, Feb rej, Mar acc, Apr ord, May -, Jun acc
SELECT count(salesflow.decide_recommendation(r.recommendation_id, d.decision))
  FROM (VALUES ('A', 1, 'accepted'), ('A', 2, 'accepted'), ('A', 3, 'accepted'), ('A', 3, 'ordered'), ('A', 4, 'rejected'),
               ('A', 5, 'ordered'), ('A', 6, 'rejected'), ('A', 7, 'accepted'), ('A', 9, 'rejected'), ('A', 10, 'ordered'),
               ('A', 11, 'accepted'), ('A', 12, 'rejected'),
               ('B', 1, 'rejected'), ('B', 2, 'rejected'), ('B', 3, 'accepted'), ('B', 4, 'ordered'), ('B', 6, 'accepted'))
       d(sku, month, decision)
  JOIN salesflow.products p ON p.sku = d.sku
  JOIN salesflow.procurement_recommendations r ON r.product_id = p.product_id AND extract(month FROM r.as_of) = d.month;
-- purchase orders of A: Jan 100, Feb 80, Mar 150, May 100, Jun 30 (after a rejection), Jul 100 cancelled; B: Apr 40
SELECT salesflow.import_purchase_orders('[
  {"reference": "A-1", "sku": "A", "quantity": 100, "ordered_at": "2024-01-10", "received_at": "2024-01-15"},
  {"reference": "A-2", "sku": "A", "quantity": 80, "ordered_at": "2024-02-05", "received_at": "2024-02-09"},
  {"reference": "A-3", "sku": "A", "quantity": 150, "ordered_at": "2024-03-03", "received_at": "2024-03-08"},
  {"reference": "A-5", "sku": "A", "quantity": 100, "ordered_at": "2024-05-20", "received_at": "2024-05-25"},
  {"reference": "A-6", "sku": "A", "quantity": 30, "ordered_at": "2024-06-15", "received_at": "2024-06-18"},
  {"reference": "A-7", "sku": "A", "quantity": 100, "ordered_at": "2024-07-01", "cancelled_at": "2024-07-02"},
  {"reference": "B-4", "sku": "B", "quantity": 40, "ordered_at": "2024-04-02", "received_at": "2024-04-06"}
]') IS NOT NULL;
-- by hand, A: decided 11 of 12 (August open), accepted 7 (Jan Feb Mar May Jul Oct Nov), rejected 4: 7/11
SELECT results_eq($$SELECT sum(recommendations)::int, sum(decided)::int, sum(accepted)::int, sum(rejected)::int,
                           round(sum(accepted)::numeric / sum(decided), 6)
                      FROM salesflow.procurement_acceptance WHERE sku = 'A'$$,
                  $$VALUES (12, 11, 7, 4, 0.636364)$$, 'A over the year: 7 of 11 decided accepted');
-- B: decided 5 of 6, accepted 3 (Mar Apr Jun): 3/5
SELECT results_eq($$SELECT sum(decided)::int, sum(accepted)::int, round(sum(accepted)::numeric / sum(decided), 6)
                      FROM salesflow.procurement_acceptance WHERE sku = 'B'$$,
                  $$VALUES (5, 3, 0.6)$$, 'B over the year: 3 of 5');
-- A per month: ordered minus accepted units: Jan 100-100, Feb 80-100, Mar 150-100, Apr 0-0, May 100-100,
-- Jun 30-0 (bought after rejecting), Jul 0-100 (the order was cancelled), Aug 0-0 (undecided)
SELECT results_eq($$SELECT month, decided::int, accepted::int, acceptance_rate, accepted_qty, ordered_qty, quantity_difference
                      FROM salesflow.procurement_acceptance WHERE sku = 'A' AND month < '2024-09-01' ORDER BY month$$,
                  $$VALUES ('2024-01-01'::date, 1, 1, 1.0::float8, 100::float8, 100::float8, 0::float8),
                           ('2024-02-01', 1, 1, 1.0, 100, 80, -20),
                           ('2024-03-01', 1, 1, 1.0, 100, 150, 50),
                           ('2024-04-01', 1, 0, 0.0, 0, 0, 0),
                           ('2024-05-01', 1, 1, 1.0, 100, 100, 0),
                           ('2024-06-01', 1, 0, 0.0, 0, 30, 30),
                           ('2024-07-01', 1, 1, 1.0, 100, 0, -100),
                           ('2024-08-01', 0, 0, NULL, 0, 0, 0)$$,
                  'A month by month: acceptance and quantity difference');
SELECT is((SELECT sum(quantity_difference) FROM salesflow.procurement_acceptance WHERE sku = 'A'), -240::float8,
          'A over the year ordered 460 units against 700 accepted: -240');
SELECT is((SELECT count(*) FROM salesflow.procurement_acceptance), 18::bigint,
          'the view shows only this tenant''s products (12 months of A, 6 of B)');
SELECT is((SELECT count(*) FROM salesflow.procurement_recommendations), 18::bigint, 'and only its recommendations');

SELECT * FROM finish();
ROLLBACK;
