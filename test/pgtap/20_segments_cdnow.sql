-- segments end to end on the CDNOW cohort of the BG/NBD paper, loaded
-- through the real import path (import_csv), then fitted and scored in the
-- database. Paper: r 0.243, alpha 4.414, a 0.793, b 2.426 (Fader, Hardie &
-- Lee 2005, "Counting Your Customers the Easy Way"); Gamma-Gamma p 6.25,
-- q 3.74, gamma 15.44 ("RFM and CLV", 2005). Tolerance: 1% each.
BEGIN;
SELECT plan(33);
\getenv test_files SALESFLOW_TEST_FILES
\set cdnow_file :test_files '/test/data/cdnow/CDNOW_sample.txt'
SELECT salesflow.create_tenant('cdnow', 'UTC', 'USD') IS NOT NULL AS created \gset
SET LOCAL salesflow.tenant = 'cdnow';
SET LOCAL client_min_messages = warning;

-- CDNOW_sample.txt (whitespace separated: master id, sample id, YYYYMMDD,
-- CDs, dollars) turned into a CSV export, one invoice per transaction.
SELECT (u).status AS import_status, (u).inserted AS import_inserted, (u).rejected AS import_rejected FROM (
  SELECT salesflow.import_csv(convert_to('invoice,customer,sku,quantity,line_total,date' || E'\n' ||
     string_agg(format('%s-%s,%s,CD,%s,%s,%s', f[2], n, f[2], greatest(f[4]::int, 1), f[5], f[3]), E'\n' ORDER BY n), 'UTF8')) AS u
    FROM (SELECT regexp_split_to_array(trim(l), '\s+') AS f, n
            FROM regexp_split_to_table(convert_from(pg_read_binary_file(:'cdnow_file'), 'UTF8'), E'\n')
                 WITH ORDINALITY t(l, n)
           WHERE trim(l) <> '') s) i \gset
SELECT is(:'import_status'::text, 'processed', 'CDNOW imported through import_csv');
SELECT is(:'import_inserted'::bigint, 6919::bigint, 'all 6,919 purchases loaded');
SELECT is(:'import_rejected'::bigint, 0::bigint, 'no purchase rejected');

-- calibration period of the paper: up to 1997-09-30 (39 weeks)
INSERT INTO salesflow.settings (name, value) VALUES ('segments.as_of', '"1997-09-30"');
SELECT * FROM salesflow.fit_clv_model() \gset m_
SELECT is(:'m_customers'::int, 2357, '2,357 customers in the cohort');
SELECT is(:'m_repeat_customers'::int, 946, '946 repeat buyers');
SELECT ok(abs(:'m_r'::float8 / 0.243 - 1) < 0.01, format('r %s within 1%% of 0.243', round(:'m_r'::numeric, 4)));
SELECT ok(abs(:'m_alpha'::float8 / 4.414 - 1) < 0.01, format('alpha %s within 1%% of 4.414', round(:'m_alpha'::numeric, 4)));
SELECT ok(abs(:'m_a'::float8 / 0.793 - 1) < 0.01, format('a %s within 1%% of 0.793', round(:'m_a'::numeric, 4)));
SELECT ok(abs(:'m_b'::float8 / 2.426 - 1) < 0.01, format('b %s within 1%% of 2.426', round(:'m_b'::numeric, 4)));
SELECT ok(abs(:'m_bgnbd_loglik'::float8 - (-9582.4)) < 0.5, format('log-likelihood %s = -9582.4', round(:'m_bgnbd_loglik'::numeric, 2)));
SELECT ok(abs(:'m_p'::float8 / 6.25 - 1) < 0.01, format('p %s within 1%% of 6.25', round(:'m_p'::numeric, 4)));
SELECT ok(abs(:'m_q'::float8 / 3.74 - 1) < 0.01, format('q %s within 1%% of 3.74', round(:'m_q'::numeric, 4)));
SELECT ok(abs(:'m_gamma'::float8 / 15.44 - 1) < 0.01, format('gamma %s within 1%% of 15.44', round(:'m_gamma'::numeric, 4)));
SELECT ok(:'m_bgnbd_converged'::boolean AND :'m_gamma_gamma_converged'::boolean, 'both fits converged');

-- scoring
SELECT is(salesflow.refresh_segments(), 2357::bigint, 'refresh_segments scores every customer');
SELECT is(salesflow.refresh_segments(only_changed => true), 0::bigint, 'nothing changed: nothing recomputed');
SELECT is((SELECT count(*) FROM salesflow.customer_segments
            WHERE p_alive NOT BETWEEN 0 AND 1 OR clv < 0 OR expected_purchases_30d < 0
               OR expected_purchases_30d > expected_purchases_90d OR expected_purchases_90d > expected_purchases_365d),
          0::bigint, 'P(alive) in [0,1], expectations grow with the horizon, CLV >= 0');
SELECT is((SELECT count(*) FROM salesflow.customer_segments
            WHERE 'NaN'::float8 IN (p_alive, churn_risk, expected_purchases_30d, expected_purchases_90d, expected_purchases_365d)
               OR abs(p_alive) = 'Infinity' OR abs(expected_purchases_365d) = 'Infinity'
               OR 'NaN'::numeric IN (clv, expected_order_value, monetary)
               OR p_alive IS NULL OR clv IS NULL OR expected_order_value IS NULL),
          0::bigint, 'no NaN, infinity or missing figure in any row');
SELECT is((SELECT count(*) FROM salesflow.customer_segments
            WHERE segment NOT IN ('Champions', 'Loyal Customers', 'Potential Loyalists', 'New Customers', 'Promising',
                                  'Need Attention', 'About to Sleep', 'At Risk', 'Can''t Lose Them', 'Hibernating', 'Lost')),
          0::bigint, 'every customer has one of the eleven named segments');
SELECT is((SELECT count(*) FROM salesflow.customer_segments WHERE churn_risk IS NULL OR churn_risk NOT BETWEEN 0 AND 1
              OR churn_label IS DISTINCT FROM salesflow.churn_risk_label(churn_risk)),
          0::bigint, 'churn risk is a probability and its label follows the default thresholds');
-- every candidate model is recorded with its holdout score; the chosen one scores best
SELECT is((SELECT array_agg(c->>'model' ORDER BY c->>'model') FROM salesflow.clv_models m, jsonb_array_elements(m.candidates) c
            WHERE m.is_current), ARRAY['bgnbd', 'mbgnbd', 'pareto_nbd'], 'three candidate models recorded');
SELECT ok((SELECT bool_and((c#>>'{holdout,brier}')::float8 >= (SELECT (d#>>'{holdout,brier}')::float8
                                                               FROM jsonb_array_elements(m.candidates) d WHERE d->>'model' = m.model))
             FROM salesflow.clv_models m, jsonb_array_elements(m.candidates) c WHERE m.is_current),
          'the chosen model has the lowest holdout Brier score');
SELECT ok((SELECT churn_days = 90 AND holdout_start = '1997-07-02' AND cardinality(params) = 4
             FROM salesflow.clv_models WHERE is_current), 'churn window 90 days, holdout from 1997-07-02');
-- the Pareto/NBD note's estimates, fitted in the database on the same cohort
SELECT ok((SELECT abs(f.r / 0.5533 - 1) < 0.01 AND abs(f.alpha / 10.5776 - 1) < 0.01 AND abs(f.s / 0.6061 - 1) < 0.01
                  AND abs(f.beta / 11.6650 - 1) < 0.01
             FROM (SELECT array_agg(x) AS x, array_agg(t_x) AS t_x, array_agg(t) AS t
                     FROM salesflow._customer_summary(salesflow.current_tenant_id(), '1997-09-30')) a,
                  salesflow.pareto_nbd_fit(a.x, a.t_x, a.t) f),
          'Pareto/NBD in the database: r 0.5533, alpha 10.5776, s 0.6061, beta 11.6650 within 1%');
-- churn risk by RFM segment: Lost > At Risk > Champions
SELECT ok((SELECT avg(churn_risk) FILTER (WHERE segment = 'Lost') > avg(churn_risk) FILTER (WHERE segment = 'At Risk')
              AND avg(churn_risk) FILTER (WHERE segment = 'At Risk') > avg(churn_risk) FILTER (WHERE segment = 'Champions')
             FROM salesflow.customer_segments), 'average churn risk: Lost > At Risk > Champions');
-- the holdout backtest of the issue: calibrate 39 weeks, score the next 13
CREATE TEMP TABLE bt AS SELECT * FROM salesflow.backtest_segments('1997-09-30', 91);
SELECT ok((SELECT model >= 0.78 AND model > baseline FROM bt WHERE metric = 'churn_auc'),
          format('churn AUC %s >= 0.78 and above recency''s', (SELECT round(model::numeric, 3) FROM bt WHERE metric = 'churn_auc')));
SELECT ok((SELECT model < baseline FROM bt WHERE metric = 'churn_brier' AND bucket = 'base rate'),
          'churn Brier below the base rate''s');
SELECT ok((SELECT model < baseline FROM bt WHERE metric = 'purchases_mae'),
          'expected purchases closer than the customer''s own past rate');
SELECT is((SELECT n FROM bt WHERE metric = 'customers'), 2357::bigint, 'the backtest scores all 2,357 customers');
SELECT ok((SELECT sum(monetary) FILTER (WHERE value_tier = 'high') / sum(monetary) BETWEEN 0.45 AND 0.55
             FROM salesflow.customer_segments WHERE monetary > 0), 'the high tier holds about half the revenue');
-- customer 1 of the paper (x = 2, t_x = 30.43, T = 38.86): E[X(39)] = 1.226 with the fitted model
SELECT ok(abs(salesflow.bgnbd_expected(:'m_r', :'m_alpha', :'m_a', :'m_b', 39, 2, 30.43, 38.86) - 1.226) < 0.005,
          'conditional expectation of the paper''s customer 1 from the in-database fit');
-- recompute after an upload: a new purchase makes the customer changed
SELECT salesflow.import_csv(convert_to(E'invoice,customer,sku,quantity,line_total,date\nNEW-1,0001,CD,1,15,19970929\n', 'UTF8')) IS NOT NULL AS loaded \gset
SELECT is(salesflow.refresh_segments(only_changed => true), 2357::bigint, 'an upload marks the customer changed and segments recompute');
SELECT is((SELECT frequency FROM salesflow.customer_segments s JOIN salesflow.customers c USING (tenant_id, customer_id) WHERE c.ref = '0001'),
          4, 'the new order is counted');
SELECT * FROM finish();
ROLLBACK;
