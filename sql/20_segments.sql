-- segments: the pure functions against the papers' figures (CDNOW data,
-- Fader, Hardie & Lee 2005), RFM rules on hand-computed cases, and the
-- errors for bad or degenerate input.
\set SHOW_CONTEXT never
\getenv test_files SALESFLOW_TEST_FILES
\set cdnow :test_files '/test/data/cdnow/cdnow_customers_summary.csv'
\set cdnow_tx :test_files '/test/data/cdnow/cdnow_customers_summary_with_transactions.csv'
CREATE TEMP TABLE cdnow (id int, x float8, t_x float8, t float8);
CREATE TEMP TABLE cdnow_tx (id int, x float8, t_x float8, t float8, zbar float8);
COPY cdnow FROM :'cdnow' (FORMAT csv, HEADER);
COPY cdnow_tx FROM :'cdnow_tx' (FORMAT csv, HEADER);
SELECT count(*) AS customers, sum(x) AS repeat_purchases FROM cdnow;

-- BG/NBD fit: paper r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9582.4 (within 1%)
SELECT abs(r / 0.243 - 1) < 0.01 AS r_ok, abs(alpha / 4.414 - 1) < 0.01 AS alpha_ok,
       abs(a / 0.793 - 1) < 0.01 AS a_ok, abs(b / 2.426 - 1) < 0.01 AS b_ok,
       round(loglik::numeric, 1) AS loglik
  FROM salesflow.bgnbd_fit((SELECT array_agg(x ORDER BY id) FROM cdnow), (SELECT array_agg(t_x ORDER BY id) FROM cdnow),
                           (SELECT array_agg(t ORDER BY id) FROM cdnow));

-- predictions with the published parameters (README of ../shared/data)
SELECT round(salesflow.bgnbd_expected(0.242593, 4.413532, 0.792886, 2.425752, 39, 2, 30.43, 38.86)::numeric, 3) AS e_x39_cond;
SELECT t, round(salesflow.bgnbd_expected_unconditional(0.242593, 4.413532, 0.792886, 2.425752, t)::numeric, 4) AS e_x
  FROM unnest(ARRAY[1, 3, 32]::float8[]) t;
SELECT round(salesflow.bgnbd_p_count(0.243, 4.414, 0.793, 2.426, 39, 0)::numeric, 6) AS p_zero_39;
SELECT salesflow.bgnbd_p_alive(0.242593, 4.413532, 0.792886, 2.425752, 0, 0, 38.86) AS p_alive_no_repeat,
       round(salesflow.bgnbd_p_alive(0.242593, 4.413532, 0.792886, 2.425752, 2, 30.43, 38.86)::numeric, 4) AS p_alive_c1;

-- Gamma-Gamma: paper p 6.25, q 3.74, gamma 15.44, LL -4055.92 (within 1%)
SELECT abs(p / 6.25 - 1) < 0.01 AS p_ok, abs(q / 3.74 - 1) < 0.01 AS q_ok, abs(gamma / 15.44 - 1) < 0.01 AS gamma_ok,
       round(loglik::numeric, 2) AS loglik
  FROM salesflow.gamma_gamma_fit((SELECT array_agg(x ORDER BY id) FROM cdnow_tx), (SELECT array_agg(zbar ORDER BY id) FROM cdnow_tx));
-- expected average spend of the first ten customers: 24.65 18.91 35.17 35.17 35.17 71.46 18.91 35.17 27.28 35.17
-- (with the fitted parameters, which the README's figures use unrounded)
SELECT id, round(salesflow.gamma_gamma_expected_value(f.p, f.q, f.gamma, x, zbar)::numeric, 2) AS expected_spend
  FROM cdnow_tx,
       salesflow.gamma_gamma_fit((SELECT array_agg(x ORDER BY id) FROM cdnow_tx), (SELECT array_agg(zbar ORDER BY id) FROM cdnow_tx)) f
 WHERE id <= 10 ORDER BY id;

-- CLV: zero discount equals expected purchases x expected value; more horizon, more value
SELECT round(salesflow.clv(0.243, 4.414, 0.793, 2.426, 6.25, 3.74, 15.44, 2, 30.43, 38.86, 22.35, 52.14, 4.345, 0)::numeric, 4)
     = round((salesflow.bgnbd_expected(0.243, 4.414, 0.793, 2.426, 52.14, 2, 30.43, 38.86)
              * salesflow.gamma_gamma_expected_value(6.25, 3.74, 15.44, 2, 22.35))::numeric, 4) AS undiscounted_matches,
       salesflow.clv(0.243, 4.414, 0.793, 2.426, 6.25, 3.74, 15.44, 2, 30.43, 38.86, 22.35, 104, 4.345, 0.01)
     > salesflow.clv(0.243, 4.414, 0.793, 2.426, 6.25, 3.74, 15.44, 2, 30.43, 38.86, 22.35, 52, 4.345, 0.01) AS grows_with_horizon;

-- RFM on hand-computed cases: 10 customers, distinct values -> scores 1..5 in pairs
SELECT ord, r, f, m, segment
  FROM salesflow.rfm_scores(ARRAY[1, 5, 10, 20, 40, 80, 120, 200, 300, 365],
                            ARRAY[30, 20, 15, 10, 8, 5, 3, 2, 1, 1],
                            ARRAY[5000, 3000, 2000, 1500, 900, 600, 300, 100, 50, 10]);
-- ties: equal values always share a score
SELECT count(DISTINCT (r, f, m)) AS distinct_scores, min(r), max(r), min(segment) AS segment
  FROM salesflow.rfm_scores(ARRAY[7, 7, 7, 7, 7, 7], ARRAY[2, 2, 2, 2, 2, 2], ARRAY[10, 10, 10, 10, 10, 10]);
-- tiny tenants
SELECT * FROM salesflow.rfm_scores(ARRAY[3], ARRAY[1], ARRAY[20]);
SELECT * FROM salesflow.rfm_scores(ARRAY[3, 90], ARRAY[4, 1], ARRAY[200, 20]);
SELECT * FROM salesflow.rfm_scores('{}', '{}', '{}');
-- value tiers: 500 of 1000 is half the revenue -> high; the next 300 -> medium
SELECT * FROM salesflow.value_tiers(ARRAY[100, 500, 300, 50, 50]);
SELECT salesflow.churn_label(p) FROM unnest(ARRAY[0.1, 0.3, 0.69, 0.7, 1]) p;

-- bad and degenerate input
SELECT * FROM salesflow.bgnbd_fit('{1,2}', '{1}', '{3,4}');
SELECT * FROM salesflow.bgnbd_fit('{1}', '{5}', '{3}');
SELECT * FROM salesflow.bgnbd_fit('{-1}', '{0}', '{3}');
SELECT * FROM salesflow.bgnbd_fit('{}', '{}', '{}');
SELECT * FROM salesflow.bgnbd_fit('{1,NULL}', '{1,1}', '{3,4}');
SELECT * FROM salesflow.gamma_gamma_fit('{0,0,0}', '{0,0,0}');
SELECT * FROM salesflow.gamma_gamma_fit('{1,2,3}', '{0,0,0}');
SELECT salesflow.bgnbd_p_alive(-1, 4, 0.8, 2.4, 1, 1, 2);
SELECT * FROM salesflow.rfm_scores('{1,2}', '{1}', '{1,2}');
SELECT * FROM salesflow.value_tiers('{1,2}', 0.9, 0.5);
-- all one-time buyers: BG/NBD still fits and gives finite numbers
SELECT r > 0 AND alpha > 0 AND a > 0 AND b > 0 AND loglik < 0 AS finite_fit
  FROM salesflow.bgnbd_fit(array_fill(0::float8, ARRAY[50]), array_fill(0::float8, ARRAY[50]),
                           ARRAY(SELECT (10 + g)::float8 FROM generate_series(1, 50) g));
