-- forecast: demand forecasting per product.
--
-- Pure functions over arrays (C++ core src/core/forecast: ETS state-space
-- models selected by AICc, Croston/SBA/TSB for intermittent demand, Theta,
-- naive/seasonal naive/mean baselines, automatic selection by rolling-origin
-- backtest MASE) and the batch that forecasts every product of a tenant from
-- sales_daily:
--   salesflow.refresh_forecasts()  one daily series per product (gap-filled
--       with zeros, days in the tenant's time zone, at most the last 730
--       days), fitted with period 7, written to forecast_models (the model)
--       and forecasts (a snapshot per run: point and 80/95% intervals);
--   salesflow.forecast_accuracy    snapshots compared with actual sales as
--       they arrive (MAE, WAPE, bias, MASE by product and horizon).

-- ---------------------------------------------------------------------------
-- Pure functions
-- ---------------------------------------------------------------------------
CREATE FUNCTION salesflow.forecast(y float8[], horizon int, period int DEFAULT 1, method text DEFAULT 'auto')
RETURNS TABLE(step int, point float8, lo80 float8, hi80 float8, lo95 float8, hi95 float8)
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_forecast';
COMMENT ON FUNCTION salesflow.forecast(float8[], int, int, text) IS
    'Forecasts a series `horizon` steps ahead with 80% and 95% prediction intervals. Methods: auto, ets, an ETS code (ANN, AAdN, MAM, ...), theta, combo, croston, sba, tsb, naive, snaive, mean, ses. Forecasts are never negative.';

CREATE FUNCTION salesflow.forecast_fit(y float8[], period int DEFAULT 1, method text DEFAULT 'auto')
RETURNS TABLE(method text, params jsonb, aicc float8, backtest_mase float8)
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_forecast_fit';
COMMENT ON FUNCTION salesflow.forecast_fit(float8[], int, text) IS
    'Fits (and for auto/ets, selects) a forecasting model: the method chosen, its parameters, AICc (NULL without a likelihood) and the rolling-origin backtest MASE (NULL for very short series).';

CREATE FUNCTION salesflow._forecast_series(y float8[], horizon int, period int, method text,
    OUT method text, OUT params jsonb, OUT aicc float8, OUT backtest_mase float8,
    OUT point float8[], OUT lo80 float8[], OUT hi80 float8[], OUT lo95 float8[], OUT hi95 float8[])
RETURNS SETOF record
-- one row; COST tells the planner a call is expensive (about 1 ms for two
-- years of daily data), so that refresh_forecasts gets a parallel plan
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE COST 10000 ROWS 1 AS 'MODULE_PATHNAME', 'sf_forecast_series';
COMMENT ON FUNCTION salesflow._forecast_series(float8[], int, int, text) IS
    'Internal: one fit, its model and forecast arrays (what refresh_forecasts stores).';

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------
CREATE TABLE salesflow.forecast_models (
    tenant_id     bigint      NOT NULL REFERENCES salesflow.tenants ON DELETE CASCADE,
    product_id    bigint      NOT NULL,
    method        text        NOT NULL,
    params        jsonb       NOT NULL,
    aicc          float8,
    backtest_mase float8,
    period        int         NOT NULL,
    data_start    date        NOT NULL,
    data_end      date        NOT NULL,
    mase_scale    float8,
    fitted_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, product_id)
);
COMMENT ON TABLE salesflow.forecast_models IS
    'The current forecasting model per product: method chosen, parameters, AICc, backtest error, data window.';
COMMENT ON COLUMN salesflow.forecast_models.method IS 'Method used (an ETS code such as AAdN, or theta, croston, sba, tsb, naive, snaive, mean, combo).';
COMMENT ON COLUMN salesflow.forecast_models.params IS 'Fitted parameters (smoothing weights, initial states, sigma2, ...).';
COMMENT ON COLUMN salesflow.forecast_models.aicc IS 'Corrected Akaike information criterion (NULL for methods without a likelihood).';
COMMENT ON COLUMN salesflow.forecast_models.backtest_mase IS 'Rolling-origin backtest MASE of the chosen method (below 1: better than the seasonal naive forecast).';
COMMENT ON COLUMN salesflow.forecast_models.period IS 'Seasonal period used (7 for daily data).';
COMMENT ON COLUMN salesflow.forecast_models.data_start IS 'First day of the series fitted.';
COMMENT ON COLUMN salesflow.forecast_models.data_end IS 'Last day of the series fitted (the forecast origin).';
COMMENT ON COLUMN salesflow.forecast_models.mase_scale IS 'In-sample mean absolute error of the seasonal naive forecast, the MASE scale used by forecast_accuracy.';
COMMENT ON COLUMN salesflow.forecast_models.fitted_at IS 'When the model was fitted.';
COMMENT ON COLUMN salesflow.forecast_models.product_id IS 'Product.';
SELECT salesflow._tenant_table('salesflow.forecast_models');

CREATE TABLE salesflow.forecasts (
    tenant_id  bigint NOT NULL,
    product_id bigint NOT NULL,
    origin     date   NOT NULL,
    day        date   NOT NULL,
    step       int    NOT NULL,
    method     text   NOT NULL,
    point      float8 NOT NULL,
    lo80       float8 NOT NULL,
    hi80       float8 NOT NULL,
    lo95       float8 NOT NULL,
    hi95       float8 NOT NULL,
    PRIMARY KEY (tenant_id, product_id, origin, day)
);
COMMENT ON TABLE salesflow.forecasts IS
    'Daily unit forecasts per product, one snapshot per forecast origin (kept, so accuracy can be tracked as actuals arrive).';
COMMENT ON COLUMN salesflow.forecasts.origin IS 'Last day of data the forecast was made from.';
COMMENT ON COLUMN salesflow.forecasts.day IS 'Day forecast.';
COMMENT ON COLUMN salesflow.forecasts.step IS 'Days ahead of the origin (1 = the next day).';
COMMENT ON COLUMN salesflow.forecasts.method IS 'Method that made the forecast.';
COMMENT ON COLUMN salesflow.forecasts.point IS 'Point forecast of units.';
COMMENT ON COLUMN salesflow.forecasts.lo80 IS 'Lower bound of the 80% prediction interval.';
COMMENT ON COLUMN salesflow.forecasts.hi80 IS 'Upper bound of the 80% prediction interval.';
COMMENT ON COLUMN salesflow.forecasts.lo95 IS 'Lower bound of the 95% prediction interval.';
COMMENT ON COLUMN salesflow.forecasts.hi95 IS 'Upper bound of the 95% prediction interval.';
SELECT salesflow._tenant_table('salesflow.forecasts');

-- ---------------------------------------------------------------------------
-- Batch
-- ---------------------------------------------------------------------------
-- Batch helpers. refresh_forecasts fits in a parallel CREATE TABLE AS; the
-- workers of a parallel plan cannot read temp tables, so the per-product
-- sales go through _forecast_work, a regular (unlogged) table with the tenant
-- recipe: rows keyed by tenant and run (the transaction), inserted and
-- deleted by the same transaction, so no other session ever sees them.
CREATE UNLOGGED TABLE salesflow._forecast_work (
    tenant_id  bigint   NOT NULL,
    run_id     bigint   NOT NULL,
    product_id bigint   NOT NULL,
    start      date     NOT NULL,
    days       int      NOT NULL,
    offsets    int[],
    units      float8[],
    PRIMARY KEY (tenant_id, run_id, product_id)
);
COMMENT ON TABLE salesflow._forecast_work IS
    'Internal scratch table of refresh_forecasts: the sales of each product in the window, read by parallel workers; empty outside a running refresh.';
SELECT salesflow._tenant_table('salesflow._forecast_work', user_data => false);

-- The daily series: `days` values, 0 where no offset (day - start) is given.
CREATE FUNCTION salesflow._forecast_fill(days int, offsets int[], units float8[]) RETURNS float8[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    y float8[] := array_fill(0::float8, ARRAY[days]);
BEGIN
    FOR k IN 1 .. coalesce(cardinality(offsets), 0) LOOP
        y[offsets[k] + 1] := units[k];
    END LOOP;
    RETURN y;
END
$$;
COMMENT ON FUNCTION salesflow._forecast_fill(int, int[], float8[]) IS
    'Internal: a daily series of `days` zeros with units[k] at position offsets[k] + 1.';

-- ANALYZE needs the table's owner: a SECURITY DEFINER function without
-- arguments that analyzes this one table (its own transaction's rows count).
CREATE FUNCTION salesflow._analyze_forecast_work() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    ANALYZE salesflow._forecast_work;
END
$$;
COMMENT ON FUNCTION salesflow._analyze_forecast_work() IS
    'Internal: ANALYZEs the refresh_forecasts scratch table once it holds a run''s rows, so the fit is planned in parallel.';
REVOKE EXECUTE ON FUNCTION salesflow._analyze_forecast_work() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION salesflow._analyze_forecast_work() TO salesflow_writer;

-- In-sample mean absolute error of the seasonal naive forecast, lag 7.
CREATE FUNCTION salesflow._forecast_mase_scale(y float8[]) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT avg(abs(x.v - x.v7)) FROM (SELECT unnest(y[8:]) AS v, unnest(y[:cardinality(y) - 7]) AS v7) x
$$;
COMMENT ON FUNCTION salesflow._forecast_mase_scale(float8[]) IS
    'Internal: mean absolute lag-7 difference of a series (the MASE scale of forecast_accuracy); NULL below 8 values.';

-- Steps: the as-of day (a loose index scan over the products in sales_daily);
-- each product's sales in its window gathered into _forecast_work; then one
-- CREATE TABLE AS fills the series, fits them and computes the MASE scale:
-- from 64 products on it is planned in parallel (the planner's default costs
-- would keep thousands of 1 ms calls on one core), so each worker fits its
-- share; last the writes, on the leader. JIT compiling the expressions costs
-- more than it saves (the time goes to the C++ fits).
-- max_parallel_workers_per_gather = 0 turns the workers off.
CREATE FUNCTION salesflow.refresh_forecasts(tenant text DEFAULT NULL, horizon int DEFAULT 28, method text DEFAULT NULL,
                                            only_changed boolean DEFAULT false, history_days int DEFAULT 730)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    tid bigint := salesflow.require_tenant(tenant);
    chosen text := coalesce(method, salesflow._tenant_setting(tid, 'forecast.method', '"auto"') #>> '{}');
    run bigint;
    tz text;
    as_of date;
    first_day date;
    n bigint;
    saved text[];
    t0 timestamptz := clock_timestamp();
    t1 timestamptz;
    t2 timestamptz;
    t3 timestamptz;
BEGIN
    WITH RECURSIVE ids AS (
        SELECT min(d.product_id) AS id FROM salesflow.sales_daily d WHERE d.tenant_id = tid
        UNION ALL
        SELECT (SELECT min(d.product_id) FROM salesflow.sales_daily d WHERE d.tenant_id = tid AND d.product_id > ids.id)
          FROM ids WHERE ids.id IS NOT NULL)
    SELECT max((SELECT max(d.day) FROM salesflow.sales_daily d WHERE d.tenant_id = tid AND d.product_id = ids.id))
      INTO as_of FROM ids WHERE ids.id IS NOT NULL;
    IF as_of IS NULL THEN
        RETURN 0;
    END IF;
    first_day := as_of - (history_days - 1);
    SELECT tn.timezone INTO tz FROM salesflow.tenants tn WHERE tn.tenant_id = tid;
    run := pg_current_xact_id()::text::bigint;
    DELETE FROM salesflow._forecast_work w WHERE w.tenant_id = tid AND w.run_id = run;

    -- per product: its window (from the first sale, at most history_days)
    -- and its sales in it as day offsets and units
    IF to_regclass('pg_temp.sf_fc_sales') IS NOT NULL THEN
        DROP TABLE sf_fc_sales;
    END IF;
    CREATE TEMP TABLE sf_fc_sales ON COMMIT DROP AS
    SELECT d.product_id, array_agg(d.day - first_day) AS offsets, array_agg(d.units::float8) AS units
      FROM salesflow.sales_daily d
     WHERE d.tenant_id = tid AND d.day BETWEEN first_day AND as_of
     GROUP BY d.product_id;
    INSERT INTO salesflow._forecast_work (tenant_id, run_id, product_id, start, days, offsets, units)
    SELECT tid, run, p.product_id, s.start, as_of - s.start + 1,
           CASE WHEN s.start = first_day THEN a.offsets
                ELSE (SELECT array_agg(x.o - (s.start - first_day)) FROM unnest(a.offsets, a.units) x(o, u) WHERE x.o >= s.start - first_day) END,
           CASE WHEN s.start = first_day THEN a.units
                ELSE (SELECT array_agg(x.u) FROM unnest(a.offsets, a.units) x(o, u) WHERE x.o >= s.start - first_day) END
      FROM salesflow.products p
      CROSS JOIN LATERAL (SELECT greatest((p.first_sold_at AT TIME ZONE tz)::date, first_day) AS start) s
      LEFT JOIN sf_fc_sales a ON a.product_id = p.product_id
     WHERE p.tenant_id = tid AND NOT p.is_non_product AND s.start <= as_of
       AND (NOT only_changed OR NOT EXISTS (SELECT 1 FROM salesflow.forecast_models m
                                             WHERE m.tenant_id = tid AND m.product_id = p.product_id
                                               AND m.fitted_at >= p.changed_at AND m.data_end = as_of));
    GET DIAGNOSTICS n = ROW_COUNT;
    t1 := clock_timestamp();

    -- the series, fitted; fewer than two weeks of history: the mean is all
    -- the data supports
    IF n >= 64 THEN
        -- statistics of this run's rows: autovacuum analyzes the table while
        -- it is empty between runs, and with those the planner expects two
        -- rows and never plans the fit in parallel
        PERFORM salesflow._analyze_forecast_work();
        saved := ARRAY[current_setting('parallel_setup_cost'), current_setting('parallel_tuple_cost'),
                       current_setting('min_parallel_table_scan_size')];
        PERFORM set_config('parallel_setup_cost', '0', true), set_config('parallel_tuple_cost', '0', true),
                set_config('min_parallel_table_scan_size', '0', true);
    END IF;
    IF to_regclass('pg_temp.sf_fc_results') IS NOT NULL THEN
        DROP TABLE sf_fc_results;
    END IF;
    CREATE TEMP TABLE sf_fc_results ON COMMIT DROP AS
    SELECT w.product_id, w.start, salesflow._forecast_mase_scale(y.y) AS mase_scale, f.*
      FROM salesflow._forecast_work w
      CROSS JOIN LATERAL salesflow._forecast_fill(w.days, w.offsets, w.units) y(y)
      CROSS JOIN LATERAL salesflow._forecast_series(y.y, horizon, 7, CASE WHEN w.days < 14 THEN 'mean' ELSE chosen END) f
     WHERE w.tenant_id = tid AND w.run_id = run;
    IF saved IS NOT NULL THEN
        PERFORM set_config('parallel_setup_cost', saved[1], true), set_config('parallel_tuple_cost', saved[2], true),
                set_config('min_parallel_table_scan_size', saved[3], true);
    END IF;
    DELETE FROM salesflow._forecast_work w WHERE w.tenant_id = tid AND w.run_id = run;
    t2 := clock_timestamp();

    INSERT INTO salesflow.forecast_models AS m (tenant_id, product_id, method, params, aicc, backtest_mase, period,
                                                data_start, data_end, mase_scale, fitted_at)
    SELECT tid, r.product_id, r.method, r.params, r.aicc, r.backtest_mase, 7, r.start, as_of, r.mase_scale,
           clock_timestamp()
      FROM sf_fc_results r
    ON CONFLICT (tenant_id, product_id) DO UPDATE
       SET method = excluded.method, params = excluded.params, aicc = excluded.aicc,
           backtest_mase = excluded.backtest_mase, data_start = excluded.data_start, data_end = excluded.data_end,
           mase_scale = excluded.mase_scale, fitted_at = excluded.fitted_at;
    GET DIAGNOSTICS n = ROW_COUNT;
    t3 := clock_timestamp();

    INSERT INTO salesflow.forecasts AS f (tenant_id, product_id, origin, day, step, method, point, lo80, hi80, lo95, hi95)
    SELECT tid, r.product_id, as_of, as_of + h, h, r.method, r.point[h], r.lo80[h], r.hi80[h], r.lo95[h], r.hi95[h]
      FROM sf_fc_results r, generate_series(1, cardinality(r.point)) h
    ON CONFLICT (tenant_id, product_id, origin, day) DO UPDATE
       SET step = excluded.step, method = excluded.method, point = excluded.point, lo80 = excluded.lo80,
           hi80 = excluded.hi80, lo95 = excluded.lo95, hi95 = excluded.hi95;
    RAISE DEBUG 'salesflow.refresh_forecasts: % products, series % ms, fit % ms, models % ms, forecasts % ms', n,
        round(extract(epoch FROM t1 - t0)::numeric * 1000, 1), round(extract(epoch FROM t2 - t1)::numeric * 1000, 1),
        round(extract(epoch FROM t3 - t2)::numeric * 1000, 1), round(extract(epoch FROM clock_timestamp() - t3)::numeric * 1000, 1);
    RETURN n;
END
$$;
COMMENT ON FUNCTION salesflow.refresh_forecasts(text, int, text, boolean, int) IS
    'Forecasts daily units of every product of the tenant (or, with only_changed, those changed since their model was fitted) `horizon` days ahead from up to history_days of sales_daily; method from the argument, the setting forecast.method, or auto. Returns the number of products forecast.';

CREATE VIEW salesflow.forecast_accuracy WITH (security_invoker = true, security_barrier = true) AS
SELECT f.tenant_id, f.product_id, f.step, count(*) AS days,
       avg(abs(f.point - coalesce(d.units, 0))) AS mae,
       sum(abs(f.point - coalesce(d.units, 0))) / nullif(sum(coalesce(d.units, 0)), 0) AS wape,
       sum(f.point - coalesce(d.units, 0)) / nullif(sum(coalesce(d.units, 0)), 0) AS bias,
       avg(abs(f.point - coalesce(d.units, 0))) / nullif(max(m.mase_scale), 0) AS mase,
       avg(CASE WHEN coalesce(d.units, 0) BETWEEN f.lo80 AND f.hi80 THEN 1.0 ELSE 0.0 END) AS coverage80,
       avg(CASE WHEN coalesce(d.units, 0) BETWEEN f.lo95 AND f.hi95 THEN 1.0 ELSE 0.0 END) AS coverage95
  FROM salesflow.forecasts f
  LEFT JOIN salesflow.sales_daily d ON d.tenant_id = f.tenant_id AND d.product_id = f.product_id AND d.day = f.day
  LEFT JOIN salesflow.forecast_models m ON m.tenant_id = f.tenant_id AND m.product_id = f.product_id
  JOIN (SELECT x.tenant_id, max(x.day) AS last_day FROM salesflow.sales_daily x GROUP BY x.tenant_id) l
    ON l.tenant_id = f.tenant_id
 WHERE f.day <= l.last_day
 GROUP BY f.tenant_id, f.product_id, f.step;
COMMENT ON VIEW salesflow.forecast_accuracy IS
    'Forecast snapshots compared with actual units once the day has data: MAE, WAPE, bias (share of actual), MASE and interval coverage per product and days ahead.';
GRANT SELECT ON salesflow.forecast_accuracy TO salesflow_reader;
