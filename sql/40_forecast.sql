-- forecast: the SQL functions against R's forecast package (8.20) on fixed
-- series: croston() on the 60 car-parts test vectors (exact), thetaf(),
-- naive(), snaive(), meanf() (fixtures made by test/fixtures/forecast/make_fixtures.R),
-- plus the batch on a small tenant and the errors.
\set SHOW_CONTEXT never
\getenv test_files SALESFLOW_TEST_FILES
\set croston_file :test_files '/test/data/carparts/croston_R_forecast_testvectors.csv'
\set series_file :test_files '/test/fixtures/forecast/series.csv'
\set methods_file :test_files '/test/fixtures/forecast/methods.csv'
CREATE TEMP TABLE croston_r (part text, train text, croston_forecast float8, pct_zero float8);
COPY croston_r FROM :'croston_file' (FORMAT csv, HEADER);
CREATE TEMP TABLE series (name text, period int, horizon int, y text);
COPY series FROM :'series_file' (FORMAT csv, HEADER);
CREATE TEMP TABLE methods_r (series text, method text, step int, mean float8, lo80 float8, hi80 float8, lo95 float8, hi95 float8);
COPY methods_r FROM :'methods_file' (FORMAT csv, HEADER);

-- Croston (alpha 0.1, as R's default) on all 60 car-parts vectors: relative error below 1e-9
SELECT count(*) AS vectors,
       count(*) FILTER (WHERE abs(f.point - r.croston_forecast) <= 1e-9 * greatest(abs(r.croston_forecast), 1e-12)) AS exact
  FROM croston_r r,
       salesflow.forecast(string_to_array(r.train, ' ')::float8[], 1, 1, 'croston') f;

-- naive, snaive, mean: points and 80/95% intervals within 1e-6 of R (R's
-- lower bounds clamped at zero: demand forecasts are never negative)
SELECT r.method, count(*) AS steps,
       max(greatest(abs(f.point - greatest(r.mean, 0)), abs(f.lo80 - greatest(r.lo80, 0)), abs(f.hi80 - r.hi80),
                    abs(f.lo95 - greatest(r.lo95, 0)), abs(f.hi95 - r.hi95)) / greatest(abs(r.mean), 1)) < 1e-6 AS matches_r
  FROM methods_r r
  JOIN series s ON s.name = r.series
  CROSS JOIN LATERAL salesflow.forecast(string_to_array(s.y, ' ')::float8[], s.horizon, s.period, r.method) f
 WHERE f.step = r.step AND r.method IN ('naive', 'snaive', 'mean')
 GROUP BY r.method ORDER BY 1;

-- the fitted model explains itself
SELECT method, params ? 'alpha' AS has_alpha, aicc IS NOT NULL AS has_aicc
  FROM salesflow.forecast_fit((SELECT string_to_array(y, ' ')::float8[] FROM series WHERE name = 'AirPassengers'), 12, 'ets');
SELECT method, aicc IS NULL AS no_aicc FROM salesflow.forecast_fit('{0,0,3,0,0,0,2,0,1,0,0,0,4,0,0,0,0,1,0,0}', 1, 'croston');
-- auto picks an intermittent-demand method or a baseline for a lumpy series, and never forecasts below zero
SELECT bool_and(point >= 0 AND lo80 >= 0 AND lo95 >= 0) AS never_negative, count(*) AS steps
  FROM salesflow.forecast('{0,0,3,0,0,0,2,0,1,0,0,0,4,0,0,0,0,1,0,0,0,2,0,0,0,0,3,0,0,1}', 6, 1, 'auto');
-- intervals are ordered
SELECT bool_and(lo95 <= lo80 AND lo80 <= point AND point <= hi80 AND hi80 <= hi95) AS ordered
  FROM salesflow.forecast((SELECT string_to_array(y, ' ')::float8[] FROM series WHERE name = 'USAccDeaths'), 24, 12, 'auto');

-- errors
SELECT * FROM salesflow.forecast('{1,2,3}', 0);
SELECT * FROM salesflow.forecast('{1,2,3}', 3, 1, 'prophet');
SELECT * FROM salesflow.forecast('{}', 3);
SELECT * FROM salesflow.forecast('{1,NULL,3}', 3);
SELECT * FROM salesflow.forecast('{1,0,3,4,5,6,7,8}', 3, 1, 'MNN');
SELECT * FROM salesflow.forecast('{1,2,3}', 3, 0);

-- the batch: a small tenant, forecast, then actuals arrive and accuracy appears
SELECT name FROM salesflow.create_tenant('fc', 'UTC', 'EUR');
SET salesflow.tenant = 'fc';
SET client_min_messages = warning;
SELECT status, inserted FROM salesflow.import_csv(convert_to('invoice,sku,qty,price,date,customer' || E'\n' ||
    (SELECT string_agg(format('I%s,%s,%s,2.5,%s,C%s', g, sku, 1 + (g * 7 + length(sku)) % 5,
                              date '2024-01-01' + (g % 90), g % 9), E'\n')
       FROM generate_series(1, 400) g, unnest(ARRAY['A', 'BB']) sku
      WHERE g % 90 < 60), 'UTF8'));
SELECT salesflow.refresh_forecasts(horizon => 14, method => 'theta') AS products_forecast;
SELECT p.sku, m.method, m.data_start, m.data_end, m.backtest_mase IS NOT NULL AS has_backtest
  FROM salesflow.forecast_models m JOIN salesflow.products p USING (tenant_id, product_id) ORDER BY 1;
SELECT count(*) AS forecast_rows, min(day), max(day), bool_and(point >= 0) AS non_negative FROM salesflow.forecasts;
SELECT count(*) AS accuracy_rows FROM salesflow.forecast_accuracy;
SELECT status, inserted FROM salesflow.import_csv(convert_to('invoice,sku,qty,price,date,customer' || E'\n' ||
    (SELECT string_agg(format('J%s,%s,3,2.5,%s,C1', g, sku, to_char(date '2024-03-01' + g, 'YYYY-MM-DD')), E'\n')
       FROM generate_series(0, 6) g, unnest(ARRAY['A', 'BB']) sku), 'UTF8'));
SELECT p.sku, count(*) AS days_scored, bool_and(a.mae >= 0) AS has_mae
  FROM salesflow.forecast_accuracy a JOIN salesflow.products p USING (tenant_id, product_id) GROUP BY 1 ORDER BY 1;
-- only changed products are refitted
SELECT salesflow.refresh_forecasts(horizon => 14, method => 'theta', only_changed => true) AS refit;
SELECT salesflow.refresh_forecasts(horizon => 14, method => 'theta', only_changed => true) AS refit_again;
-- a statement_timeout stops the batch cleanly (then a new session: with a
-- 1 ms budget the RESET after it can itself be cancelled on a busy machine)
SET statement_timeout = '1ms';
SELECT salesflow.refresh_forecasts(horizon => 14, method => 'auto');
\c
SET salesflow.tenant = 'fc';
SELECT count(*) > 0 AS models_kept FROM salesflow.forecast_models;
-- ... also on a batch big enough to be stopped while fitting (in parallel):
-- SQLSTATE 57014, and the models, forecasts and scratch rows are as before
SELECT name FROM salesflow.create_tenant('fc_big', 'UTC', 'EUR');
INSERT INTO salesflow.products (tenant_id, sku, first_sold_at)
SELECT t.tenant_id, 'P' || g, timestamptz '2023-01-01 10:00+00' FROM salesflow.tenants t, generate_series(1, 800) g
 WHERE t.name = 'fc_big';
INSERT INTO salesflow.sales_daily (tenant_id, product_id, day, units)
SELECT p.tenant_id, p.product_id, date '2023-01-01' + i, 1 + (p.product_id * 7 + i * (i % 7 + 1)) % 9
  FROM salesflow.products p JOIN salesflow.tenants t USING (tenant_id), generate_series(0, 399) i
 WHERE t.name = 'fc_big' AND (p.product_id + i) % 5 <> 0;
ANALYZE salesflow.products, salesflow.sales_daily;
SELECT salesflow.refresh_forecasts('fc_big', horizon => 28, method => 'mean') AS first_run;
CREATE TEMP TABLE fc_big_before AS
SELECT (SELECT md5(string_agg(m::text, ',' ORDER BY m.product_id)) FROM salesflow.forecast_models m
         WHERE m.tenant_id = t.tenant_id) AS models,
       (SELECT md5(string_agg(f::text, ',' ORDER BY f.product_id, f.origin, f.day)) FROM salesflow.forecasts f
         WHERE f.tenant_id = t.tenant_id) AS forecasts
  FROM salesflow.tenants t WHERE t.name = 'fc_big';
\set VERBOSITY sqlstate
SET statement_timeout = '200ms';
SELECT salesflow.refresh_forecasts('fc_big', horizon => 28, method => 'auto');
RESET statement_timeout;
\set VERBOSITY default
SELECT b.models = (SELECT md5(string_agg(m::text, ',' ORDER BY m.product_id)) FROM salesflow.forecast_models m
                    WHERE m.tenant_id = t.tenant_id) AS models_unchanged,
       b.forecasts = (SELECT md5(string_agg(f::text, ',' ORDER BY f.product_id, f.origin, f.day)) FROM salesflow.forecasts f
                       WHERE f.tenant_id = t.tenant_id) AS forecasts_unchanged,
       (SELECT count(*) FROM salesflow._forecast_work) AS scratch_rows
  FROM fc_big_before b, salesflow.tenants t WHERE t.name = 'fc_big';
-- the two ways of gathering the series give the same series: the bulk
-- parallel aggregation (most products) and the per-product index scan
SELECT count(*) AS products,
       count(*) FILTER (WHERE salesflow._product_series(t.tenant_id, p.product_id, date '2023-03-01', 400) = a.y) AS same_series
  FROM salesflow.tenants t
  JOIN salesflow.products p USING (tenant_id)
  JOIN (SELECT d.product_id, salesflow._daily_series(d.day, d.units::float8, date '2023-03-01', 400) AS y
          FROM salesflow.sales_daily d JOIN salesflow.tenants t USING (tenant_id)
         WHERE t.name = 'fc_big' AND d.day >= date '2023-03-01'
         GROUP BY d.product_id) a USING (product_id)
 WHERE t.name = 'fc_big';
-- ... in parallel (partial aggregates combined) as on one core
SET parallel_setup_cost = 0;
SET min_parallel_table_scan_size = 0;
SET work_mem = '64MB';
DO $$
DECLARE plan text := '';
        line text;
BEGIN
    FOR line IN EXPLAIN (COSTS OFF) SELECT d.product_id, salesflow._daily_series(d.day, d.units::float8, date '2022-12-25', 420) AS y
                  FROM salesflow.sales_daily d WHERE d.tenant_id = (SELECT tenant_id FROM salesflow.tenants WHERE name = 'fc_big')
                 GROUP BY d.product_id LOOP
        plan := plan || line || E'\n';
    END LOOP;
    IF plan NOT LIKE '%Partial%Aggregate%' THEN
        RAISE EXCEPTION 'not aggregated in parallel: %', plan;
    END IF;
END
$$;
CREATE TEMP TABLE fc_par AS
SELECT d.product_id, salesflow._daily_series(d.day, d.units::float8, date '2022-12-25', 420) AS y
  FROM salesflow.sales_daily d WHERE d.tenant_id = (SELECT tenant_id FROM salesflow.tenants WHERE name = 'fc_big') GROUP BY d.product_id;
RESET parallel_setup_cost;
RESET min_parallel_table_scan_size;
RESET work_mem;
SET max_parallel_workers_per_gather = 0;
SELECT count(*) AS products, count(*) FILTER (WHERE s.y = p.y) AS same_series,
       sum(s.y[8] + s.y[400]) = (SELECT sum(units) FILTER (WHERE day IN (date '2022-12-25' + 7, date '2022-12-25' + 399))
                                   FROM salesflow.sales_daily WHERE tenant_id = (SELECT tenant_id FROM salesflow.tenants WHERE name = 'fc_big')) AS right_days
  FROM fc_par p
  JOIN (SELECT d.product_id, salesflow._daily_series(d.day, d.units::float8, date '2022-12-25', 420) AS y
          FROM salesflow.sales_daily d WHERE d.tenant_id = (SELECT tenant_id FROM salesflow.tenants WHERE name = 'fc_big') GROUP BY d.product_id) s USING (product_id);
RESET max_parallel_workers_per_gather;
-- and a refit of a few changed products (read per product) equals the full
-- refresh (gathered in bulk)
SELECT salesflow.refresh_forecasts('fc_big', horizon => 14, method => 'theta') AS full_refresh;
CREATE TEMP TABLE fc_full AS
SELECT m.product_id, m.method, m.params, m.mase_scale, m.data_start FROM salesflow.forecast_models m
  JOIN salesflow.tenants t USING (tenant_id) WHERE t.name = 'fc_big';
UPDATE salesflow.products p SET changed_at = clock_timestamp()
  FROM salesflow.tenants t WHERE t.tenant_id = p.tenant_id AND t.name = 'fc_big' AND p.product_id % 10 = 0;
SELECT salesflow.refresh_forecasts('fc_big', horizon => 14, method => 'theta', only_changed => true) AS refit;
SELECT count(*) AS refitted, count(*) FILTER (WHERE f.method = m.method AND f.params = m.params AND f.mase_scale = m.mase_scale
                                                AND f.data_start = m.data_start) AS identical
  FROM salesflow.forecast_models m JOIN fc_full f USING (product_id)
 WHERE m.product_id % 10 = 0;
-- history_days out of range: SQLSTATE 22023
\set VERBOSITY sqlstate
SELECT salesflow.refresh_forecasts('fc_big', history_days => 0);
\set VERBOSITY default
-- product x location: lines that name a location are forecast per location
-- (by_location), next to the pooled per-product forecasts
SELECT name FROM salesflow.create_tenant('fc_loc', 'UTC', 'EUR');
SET salesflow.tenant = 'fc_loc';
SELECT tenant_id AS loc_tid FROM salesflow.tenants WHERE name = 'fc_loc' \gset
SELECT status, inserted FROM salesflow.import_csv(convert_to('invoice,sku,qty,price,date,customer,location' || E'\n' ||
    (SELECT string_agg(format('K%s-%s-%s,%s,%s,2.5,%s,C1,%s', g, sku, loc, sku,
                              CASE loc WHEN 'North' THEN 1 + g % 3 ELSE 2 + g % 2 END,
                              to_char(date '2024-01-01' + g, 'YYYY-MM-DD'), loc), E'\n')
       FROM generate_series(0, 59) g, unnest(ARRAY['P1', 'P2']) sku, unnest(ARRAY['North', 'South']) loc), 'UTF8'));
SELECT salesflow.refresh_forecasts(horizon => 7, method => 'mean') AS pooled;
SELECT salesflow.refresh_forecasts(horizon => 7, method => 'mean', by_location => true) AS by_location;
SELECT p.sku, m.location, m.method, m.data_start, m.data_end
  FROM salesflow.forecast_models m JOIN salesflow.products p USING (tenant_id, product_id)
 WHERE m.tenant_id = :loc_tid ORDER BY 1, 2;
-- the mean of each location adds up to the mean of the product
SELECT p.sku, round(sum(f.point) FILTER (WHERE f.location = '')::numeric, 6) AS pooled_point,
       round(sum(f.point) FILTER (WHERE f.location <> '')::numeric, 6) AS sum_of_locations,
       count(*) FILTER (WHERE f.location <> '') AS location_rows
  FROM salesflow.forecasts f JOIN salesflow.products p USING (tenant_id, product_id)
 WHERE f.tenant_id = :loc_tid AND f.step = 1 GROUP BY 1 ORDER BY 1;
-- accuracy per location once actuals arrive (North sells 1 + g % 3 on day g)
SELECT status, inserted FROM salesflow.import_csv(convert_to('invoice,sku,qty,price,date,customer,location' || E'\n' ||
    (SELECT string_agg(format('M%s-%s,P1,%s,2.5,%s,C1,%s', g, loc, CASE loc WHEN 'North' THEN 1 + g % 3 ELSE 2 + g % 2 END,
                              to_char(date '2024-01-01' + g, 'YYYY-MM-DD'), loc), E'\n')
       FROM generate_series(60, 62) g, unnest(ARRAY['North', 'South']) loc), 'UTF8'));
SELECT p.sku, a.location, a.step, a.days, round(a.mae::numeric, 4) AS mae
  FROM salesflow.forecast_accuracy a JOIN salesflow.products p USING (tenant_id, product_id)
 WHERE a.tenant_id = :loc_tid AND p.sku = 'P1' AND a.step = 1 ORDER BY 2;
-- the pipeline forecasts per location when the tenant asks for it
INSERT INTO salesflow.settings (tenant_id, name, value)
SELECT tenant_id, 'forecast.by_location', 'true' FROM salesflow.tenants WHERE name = 'fc_loc';
INSERT INTO salesflow.settings (tenant_id, name, value)
SELECT tenant_id, 'forecast.method', '"mean"' FROM salesflow.tenants WHERE name = 'fc_loc';
SELECT salesflow._run_step(tenant_id, 'forecasts') AS series_refitted FROM salesflow.tenants WHERE name = 'fc_loc';
SELECT p.sku, m.location, m.data_end FROM salesflow.forecast_models m JOIN salesflow.products p USING (tenant_id, product_id)
 WHERE m.tenant_id = :loc_tid ORDER BY 1, 2;
-- the tenant's accuracy per snapshot (pooled forecasts): the origin of
-- 2024-02-29 against the 3 days sold since (both products, P2 sold nothing)
SELECT origin, step, products, days, round(wape::numeric, 4) AS wape, round(bias::numeric, 4) AS bias,
       round(coverage80, 4) AS coverage80
  FROM salesflow.forecast_accuracy_by_origin WHERE tenant_id = :loc_tid ORDER BY origin, step;
SELECT count(*) AS error_rows, count(*) FILTER (WHERE location <> '') AS location_rows,
       sum(actual) FILTER (WHERE location = '' AND origin = date '2024-02-29') AS pooled_actual
  FROM salesflow.forecast_errors WHERE tenant_id = :loc_tid;
-- the aggregate's support functions cannot be called by hand (SQL has no
-- way to write a value of type internal, not even NULL)
\set VERBOSITY terse
SELECT salesflow._daily_series_accum(NULL::internal, date '2024-01-01', 1, date '2024-01-01', 3);
SELECT salesflow._daily_series_combine(NULL::internal, NULL::internal);
SELECT salesflow._daily_series_final(NULL::internal) IS NULL AS final_null;
SELECT salesflow._daily_series_serialize(NULL::internal) IS NULL AS serialize_null;
SELECT salesflow._daily_series_deserialize('\x0000'::bytea, NULL::internal) IS NULL AS deserialize_null;
-- bad windows
SELECT salesflow._daily_series(d, 1, date '2024-01-01', 0) FROM (VALUES (date '2024-01-01')) v(d);
SELECT salesflow._daily_series(d, 1, NULL, 3) FROM (VALUES (date '2024-01-01')) v(d);
SELECT salesflow._daily_series(d, 1, date '2024-01-01', 3) FROM (VALUES (date '2024-01-03'), (date 'infinity'), (date '2023-12-31')) v(d);
\set VERBOSITY default
