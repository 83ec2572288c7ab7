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
    OUT method text, OUT params jsonb, OUT aicc float8, OUT backtest_mase float8, OUT mase_scale float8,
    OUT point float8[], OUT lo80 float8[], OUT hi80 float8[], OUT lo95 float8[], OUT hi95 float8[])
RETURNS SETOF record
-- one row; COST tells the planner a call is expensive (about 1 ms for two
-- years of daily data), so that refresh_forecasts gets a parallel plan
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE COST 10000 ROWS 1 AS 'MODULE_PATHNAME', 'sf_forecast_series';
COMMENT ON FUNCTION salesflow._forecast_series(float8[], int, int, text) IS
    'Internal: one fit, its model and forecast arrays (what refresh_forecasts stores), and the MASE scale of y (mean absolute difference at lag `period`; NULL when y has no more than `period` values).';

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
    location      text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, product_id, location)
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
COMMENT ON COLUMN salesflow.forecast_models.location IS 'Location of a product x location model (refresh_forecasts(by_location => true)); '''' for the product''s sales at all locations.';
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
    location   text   NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, product_id, location, origin, day)
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
COMMENT ON COLUMN salesflow.forecasts.location IS 'Location of a product x location forecast; '''' for the product at all locations.';
SELECT salesflow._tenant_table('salesflow.forecasts');

-- ---------------------------------------------------------------------------
-- Batch
-- ---------------------------------------------------------------------------
-- Batch helpers.
-- ---------------------------------------------------------------------------
-- The daily series of a product: `days` values from first_day, the sum of
-- units on each day, 0 where no row has the day (a C aggregate: one pass,
-- each row straight into its slot).
CREATE FUNCTION salesflow._daily_series_accum(state internal, day date, units float8, first_day date, days int)
RETURNS internal
LANGUAGE c PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_daily_series_accum';
COMMENT ON FUNCTION salesflow._daily_series_accum(internal, date, float8, date, int) IS
    'Internal: transition function of _daily_series.';
CREATE FUNCTION salesflow._daily_series_final(state internal) RETURNS float8[]
LANGUAGE c PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_daily_series_final';
COMMENT ON FUNCTION salesflow._daily_series_final(internal) IS
    'Internal: final function of _daily_series.';
CREATE FUNCTION salesflow._daily_series_combine(state internal, other internal) RETURNS internal
LANGUAGE c PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_daily_series_combine';
COMMENT ON FUNCTION salesflow._daily_series_combine(internal, internal) IS
    'Internal: combine function of _daily_series (adds two partial series).';
CREATE FUNCTION salesflow._daily_series_serialize(state internal) RETURNS bytea
LANGUAGE c STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_daily_series_serialize';
COMMENT ON FUNCTION salesflow._daily_series_serialize(internal) IS
    'Internal: serialization function of _daily_series (partial states sent from parallel workers).';
CREATE FUNCTION salesflow._daily_series_deserialize(state bytea, unused internal) RETURNS internal
LANGUAGE c STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_daily_series_deserialize';
COMMENT ON FUNCTION salesflow._daily_series_deserialize(bytea, internal) IS
    'Internal: deserialization function of _daily_series.';
CREATE AGGREGATE salesflow._daily_series(day date, units float8, first_day date, days int) (
    SFUNC = salesflow._daily_series_accum,
    STYPE = internal,
    SSPACE = 5860,
    FINALFUNC = salesflow._daily_series_final,
    COMBINEFUNC = salesflow._daily_series_combine,
    SERIALFUNC = salesflow._daily_series_serialize,
    DESERIALFUNC = salesflow._daily_series_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE salesflow._daily_series(date, float8, date, int) IS
    'Internal: the gap-filled daily series of `days` values from first_day (units summed per day, 0 without a row; days outside the window ignored).';

-- One product's daily units over `days` days from first_day, from
-- sales_daily (an index range scan), zeros without sales. Called per product
-- inside the parallel fit, so each worker gathers the series it fits (the
-- caller's rights: row-level security applies). Always the primary key's
-- range scan, whatever the statistics say (a new tenant's tables may have
-- none yet when the first refresh runs).
CREATE FUNCTION salesflow._product_series(tenant_id bigint, product_id bigint, first_day date, days int)
RETURNS float8[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS $$
    SELECT coalesce(salesflow._daily_series(d.day, d.units::float8, first_day, days),
                    array_fill(0::float8, ARRAY[days]))
      FROM salesflow.sales_daily d
     WHERE d.tenant_id = _product_series.tenant_id AND d.product_id = _product_series.product_id
       AND d.day BETWEEN first_day AND first_day + (days - 1)
$$;
COMMENT ON FUNCTION salesflow._product_series(bigint, bigint, date, int) IS
    'Internal: daily units of one product over `days` days from first_day (0 on days without sales), from sales_daily.';

-- A full refresh gathers every series in one parallel aggregation (a
-- temp table) and fits them in a parallel CREATE TABLE AS; the workers of a
-- parallel plan cannot read temp tables, so the series go through
-- _forecast_work, a regular (unlogged) table with the tenant recipe: rows
-- keyed by tenant and run (the transaction), inserted and deleted by the same
-- transaction, so no other session ever sees them.
CREATE UNLOGGED TABLE salesflow._forecast_work (
    tenant_id  bigint   NOT NULL,
    run_id     bigint   NOT NULL,
    product_id bigint   NOT NULL,
    location   text     NOT NULL DEFAULT '',
    start      date     NOT NULL,
    days       int      NOT NULL,
    y          float8[] NOT NULL,
    PRIMARY KEY (tenant_id, run_id, product_id, location)
);
-- doubles compress poorly and are read once: stored out of line as they are
ALTER TABLE salesflow._forecast_work ALTER COLUMN y SET STORAGE EXTERNAL;
COMMENT ON TABLE salesflow._forecast_work IS
    'Internal scratch table of refresh_forecasts: the daily series of each product, read by parallel workers; empty outside a running refresh.';
SELECT salesflow._tenant_table('salesflow._forecast_work', user_data => false);

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

-- Steps: the as-of day (a loose index scan over the products in sales_daily);
-- the products to forecast counted; their daily series gathered (most of the
-- tenant's products: one parallel aggregation over sales_daily, through
-- _forecast_work; a few: an index range scan per product inside the fit),
-- fitted and the MASE scale computed in one CREATE TABLE AS, planned in
-- parallel from 64 products on (the planner's default costs would keep
-- thousands of 1 ms calls on one core), so each worker fits its share; last
-- the writes, on the leader. JIT compiling the expressions costs more than
-- it saves (the time goes to the C++ fits). max_parallel_workers_per_gather
-- = 0 turns the workers off.
CREATE FUNCTION salesflow.refresh_forecasts(tenant text DEFAULT NULL, horizon int DEFAULT 28, method text DEFAULT NULL,
                                            only_changed boolean DEFAULT false, history_days int DEFAULT 730,
                                            by_location boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    tid bigint := salesflow.require_tenant(tenant);
    chosen text := coalesce(method, salesflow._tenant_setting(tid, 'forecast.method', '"auto"') #>> '{}');
    tz text;
    as_of date;
    first_day date;
    n bigint;
    total bigint;
    run bigint;
    saved text[];
    t0 timestamptz := clock_timestamp();
    ts timestamptz;
    t1 timestamptz;
    t2 timestamptz;
BEGIN
    IF history_days IS NULL OR history_days < 1 OR history_days > 36500 THEN
        RAISE EXCEPTION 'history_days must be between 1 and 36500, not %', history_days USING ERRCODE = '22023';
    END IF;
    -- one refresh per tenant at a time: a second waits for the first and
    -- then replaces its snapshot (the writes below delete and insert)
    PERFORM salesflow._lock_tenant(tid, 'forecasts');
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

    -- the series: per product from its first sale (at most history_days
    -- back), or with by_location per product and location from its first
    -- sale there; with only_changed, those whose product changed since their
    -- model was fitted (that NOT EXISTS is written out in each statement: as
    -- a function with a pinned search_path it could not be inlined and cost
    -- three times as much per product)
    IF by_location THEN
        SELECT count(*), count(*) INTO n, total
          FROM salesflow.products p
         WHERE p.tenant_id = tid AND NOT p.is_non_product
           AND (NOT only_changed OR EXISTS (
                    SELECT 1 FROM salesflow.sales_daily_location l
                     WHERE l.tenant_id = tid AND l.product_id = p.product_id AND l.day <= as_of
                       AND NOT EXISTS (SELECT 1 FROM salesflow.forecast_models m
                                        WHERE m.tenant_id = tid AND m.product_id = p.product_id
                                          AND m.location = l.location AND m.fitted_at >= p.changed_at
                                          AND m.data_end = as_of)));
    ELSE
        SELECT count(*) FILTER (WHERE NOT only_changed OR NOT EXISTS (
                   SELECT 1 FROM salesflow.forecast_models m
                    WHERE m.tenant_id = tid AND m.product_id = p.product_id AND m.location = ''
                      AND m.fitted_at >= p.changed_at AND m.data_end = as_of)),
               count(*)
          INTO n, total
          FROM salesflow.products p
         WHERE p.tenant_id = tid AND NOT p.is_non_product
           AND greatest((p.first_sold_at AT TIME ZONE tz)::date, first_day) <= as_of;
    END IF;
    IF n = 0 THEN
        RETURN 0;
    END IF;
    IF to_regclass('pg_temp.sf_fc_results') IS NOT NULL THEN
        DROP TABLE sf_fc_results;
    END IF;
    -- from 64 products on, the fit is planned in parallel
    IF n >= 64 THEN
        saved := ARRAY[current_setting('parallel_setup_cost'), current_setting('parallel_tuple_cost'),
                       current_setting('min_parallel_table_scan_size'), current_setting('enable_sort'),
                       current_setting('parallel_leader_participation'), current_setting('default_toast_compression')];
        PERFORM set_config('parallel_setup_cost', '0', true), set_config('min_parallel_table_scan_size', '0', true);
    END IF;

    IF by_location OR (n >= 200 AND n * 4 >= total) THEN
        -- most products (or every location series): the series in one
        -- aggregation over the tenant's sales_daily (or sales_daily_location),
        -- in parallel from 64 products on (a sequential scan; the rows of a
        -- product are spread over the table in upload order): the workers
        -- aggregate, the leader combines their partial series in a hash
        -- table (no sort of the partial series, no leader share of the scan,
        -- so each process holds one hash table; beyond work_mem it spills to
        -- disk, which cost 5% at 10,000 series). The temp table is
        -- compressed with lz4 where the server has it (pglz took seconds).
        IF saved IS NOT NULL THEN
            PERFORM set_config('enable_sort', 'off', true), set_config('parallel_leader_participation', 'off', true);
            IF EXISTS (SELECT 1 FROM pg_settings s WHERE s.name = 'default_toast_compression' AND 'lz4' = ANY (s.enumvals)) THEN
                PERFORM set_config('default_toast_compression', 'lz4', true);
            END IF;
        END IF;
        IF to_regclass('pg_temp.sf_fc_series') IS NOT NULL THEN
            DROP TABLE sf_fc_series;
        END IF;
        IF by_location THEN
            -- every day up to as_of: the first sale at the location starts
            -- its series; days before the window add nothing to it
            CREATE TEMP TABLE sf_fc_series ON COMMIT DROP AS
            SELECT d.product_id, d.location, greatest(min(d.day), first_day) AS start,
                   salesflow._daily_series(d.day, d.units::float8, first_day, history_days) AS y
              FROM salesflow.sales_daily_location d
             WHERE d.tenant_id = tid AND d.day <= as_of
             GROUP BY d.product_id, d.location;
        ELSE
            CREATE TEMP TABLE sf_fc_series ON COMMIT DROP AS
            SELECT d.product_id, ''::text AS location, NULL::date AS start,
                   salesflow._daily_series(d.day, d.units::float8, first_day, history_days) AS y
              FROM salesflow.sales_daily d
             WHERE d.tenant_id = tid AND d.day BETWEEN first_day AND as_of
             GROUP BY d.product_id;
        END IF;
        IF saved IS NOT NULL THEN
            PERFORM set_config('enable_sort', saved[4], true), set_config('parallel_leader_participation', saved[5], true),
                    set_config('default_toast_compression', saved[6], true);
        END IF;

        run := pg_current_xact_id()::text::bigint;
        DELETE FROM salesflow._forecast_work w WHERE w.tenant_id = tid AND w.run_id = run;
        INSERT INTO salesflow._forecast_work (tenant_id, run_id, product_id, location, start, days, y)
        SELECT tid, run, p.product_id, coalesce(a.location, ''), s.start, as_of - s.start + 1,
               CASE WHEN a.y IS NULL THEN array_fill(0::float8, ARRAY[as_of - s.start + 1])
                    WHEN s.start = first_day THEN a.y
                    ELSE a.y[s.start - first_day + 1 :] END
          FROM salesflow.products p
          LEFT JOIN sf_fc_series a ON a.product_id = p.product_id
          CROSS JOIN LATERAL (SELECT CASE WHEN by_location THEN a.start
                                          ELSE greatest((p.first_sold_at AT TIME ZONE tz)::date, first_day) END AS start) s
         WHERE p.tenant_id = tid AND NOT p.is_non_product AND s.start <= as_of
           AND (NOT by_location OR a.product_id IS NOT NULL)
           AND (NOT only_changed OR NOT EXISTS (SELECT 1 FROM salesflow.forecast_models m
                                                 WHERE m.tenant_id = tid AND m.product_id = p.product_id
                                                   AND m.location = coalesce(a.location, '')
                                                   AND m.fitted_at >= p.changed_at AND m.data_end = as_of));
        DROP TABLE sf_fc_series;
        -- statistics of this run's rows: autovacuum analyzes the table while
        -- it is empty between runs, and with those the planner expects two
        -- rows and never plans the fit in parallel
        PERFORM salesflow._analyze_forecast_work();
        ts := clock_timestamp();
        IF saved IS NOT NULL THEN
            PERFORM set_config('parallel_tuple_cost', '0', true);
        END IF;
        CREATE TEMP TABLE sf_fc_results ON COMMIT DROP AS
        SELECT w.product_id, w.location, w.start, f.*
          FROM salesflow._forecast_work w
          CROSS JOIN LATERAL salesflow._forecast_series(w.y, horizon, 7, CASE WHEN w.days < 14 THEN 'mean' ELSE chosen END) f
         WHERE w.tenant_id = tid AND w.run_id = run;
        DELETE FROM salesflow._forecast_work w WHERE w.tenant_id = tid AND w.run_id = run;
    ELSE
        -- a few products (only_changed): each worker reads the series of the
        -- products it fits, one index range scan each
        IF saved IS NOT NULL THEN
            PERFORM set_config('parallel_tuple_cost', '0', true);
        END IF;
        CREATE TEMP TABLE sf_fc_results ON COMMIT DROP AS
        SELECT p.product_id, ''::text AS location, s.start, f.*
          FROM salesflow.products p
          CROSS JOIN LATERAL (SELECT greatest((p.first_sold_at AT TIME ZONE tz)::date, first_day) AS start) s
          CROSS JOIN LATERAL salesflow._forecast_series(salesflow._product_series(tid, p.product_id, s.start, as_of - s.start + 1),
                                                        horizon, 7, CASE WHEN as_of - s.start + 1 < 14 THEN 'mean' ELSE chosen END) f
         WHERE p.tenant_id = tid AND NOT p.is_non_product AND s.start <= as_of
           AND (NOT only_changed OR NOT EXISTS (SELECT 1 FROM salesflow.forecast_models m
                                                 WHERE m.tenant_id = tid AND m.product_id = p.product_id AND m.location = ''
                                                   AND m.fitted_at >= p.changed_at AND m.data_end = as_of));
    END IF;
    IF saved IS NOT NULL THEN
        PERFORM set_config('parallel_setup_cost', saved[1], true), set_config('parallel_tuple_cost', saved[2], true),
                set_config('min_parallel_table_scan_size', saved[3], true);
    END IF;
    t1 := clock_timestamp();

    INSERT INTO salesflow.forecast_models AS m (tenant_id, product_id, location, method, params, aicc, backtest_mase,
                                                period, data_start, data_end, mase_scale, fitted_at)
    SELECT tid, r.product_id, r.location, r.method, r.params, r.aicc, r.backtest_mase, 7, r.start, as_of, r.mase_scale,
           clock_timestamp()
      FROM sf_fc_results r
    ON CONFLICT (tenant_id, product_id, location) DO UPDATE
       SET method = excluded.method, params = excluded.params, aicc = excluded.aicc,
           backtest_mase = excluded.backtest_mase, data_start = excluded.data_start, data_end = excluded.data_end,
           mase_scale = excluded.mase_scale, fitted_at = excluded.fitted_at;
    GET DIAGNOSTICS n = ROW_COUNT;
    t2 := clock_timestamp();

    -- this origin's snapshot of these series, replaced (a plain insert: a
    -- third faster than an upsert, and the common run is a new origin)
    DELETE FROM salesflow.forecasts f
     USING sf_fc_results r
     WHERE f.tenant_id = tid AND f.product_id = r.product_id AND f.location = r.location AND f.origin = as_of;
    INSERT INTO salesflow.forecasts (tenant_id, product_id, location, origin, day, step, method, point, lo80, hi80,
                                     lo95, hi95)
    SELECT tid, r.product_id, r.location, as_of, as_of + x.h::int, x.h::int, r.method, x.point, x.lo80, x.hi80,
           x.lo95, x.hi95
      FROM sf_fc_results r,
           unnest(r.point, r.lo80, r.hi80, r.lo95, r.hi95) WITH ORDINALITY x(point, lo80, hi80, lo95, hi95, h);
    RAISE DEBUG 'salesflow.refresh_forecasts: % products, series and fit % ms (series %), models % ms, forecasts % ms', n,
        round(extract(epoch FROM t1 - t0)::numeric * 1000, 1),
        coalesce(round(extract(epoch FROM ts - t0)::numeric * 1000, 1) || ' ms in bulk', 'read per product'),
        round(extract(epoch FROM t2 - t1)::numeric * 1000, 1), round(extract(epoch FROM clock_timestamp() - t2)::numeric * 1000, 1);
    RETURN n;
END
$$;
COMMENT ON FUNCTION salesflow.refresh_forecasts(text, int, text, boolean, int, boolean) IS
    'Forecasts daily units of every product of the tenant (or, with only_changed, those changed since their model was fitted) `horizon` days ahead from up to history_days of sales_daily; with by_location, every product x location with sales in sales_daily_location instead. Method from the argument, the setting forecast.method, or auto. Returns the number of series forecast.';

-- One row per forecast day whose actual is known: the snapshot row, the
-- units sold (0 without a row) and the MASE scale of the product's current
-- model. The accuracy views aggregate it.
CREATE VIEW salesflow.forecast_errors WITH (security_invoker = true, security_barrier = true) AS
SELECT f.tenant_id, f.product_id, f.location, f.origin, f.day, f.step, f.method, f.point, f.lo80, f.hi80, f.lo95,
       f.hi95, a.units AS actual, m.mase_scale
  FROM salesflow.forecasts f
  LEFT JOIN salesflow.sales_daily d
    ON f.location = '' AND d.tenant_id = f.tenant_id AND d.product_id = f.product_id AND d.day = f.day
  LEFT JOIN salesflow.sales_daily_location dl
    ON f.location <> '' AND dl.tenant_id = f.tenant_id AND dl.product_id = f.product_id AND dl.location = f.location
   AND dl.day = f.day
  CROSS JOIN LATERAL (SELECT coalesce(d.units, dl.units, 0)::float8 AS units) a
  LEFT JOIN salesflow.forecast_models m
    ON m.tenant_id = f.tenant_id AND m.product_id = f.product_id AND m.location = f.location
  JOIN (SELECT x.tenant_id, max(x.day) AS last_day FROM salesflow.sales_daily x GROUP BY x.tenant_id) l
    ON l.tenant_id = f.tenant_id
 WHERE f.day <= l.last_day;
COMMENT ON VIEW salesflow.forecast_errors IS
    'Each forecast day whose actual is known (the tenant''s data reaches it): the snapshot''s point and intervals, the units actually sold (0 without sales; per location for product x location forecasts) and the MASE scale of the product''s model.';
GRANT SELECT ON salesflow.forecast_errors TO salesflow_reader;

CREATE VIEW salesflow.forecast_accuracy WITH (security_invoker = true, security_barrier = true) AS
SELECT e.tenant_id, e.product_id, e.location, e.step, count(*) AS days,
       avg(abs(e.point - e.actual)) AS mae,
       sum(abs(e.point - e.actual)) / nullif(sum(e.actual), 0) AS wape,
       sum(e.point - e.actual) / nullif(sum(e.actual), 0) AS bias,
       avg(abs(e.point - e.actual)) / nullif(max(e.mase_scale), 0) AS mase,
       avg(CASE WHEN e.actual BETWEEN e.lo80 AND e.hi80 THEN 1.0 ELSE 0.0 END) AS coverage80,
       avg(CASE WHEN e.actual BETWEEN e.lo95 AND e.hi95 THEN 1.0 ELSE 0.0 END) AS coverage95
  FROM salesflow.forecast_errors e
 GROUP BY e.tenant_id, e.product_id, e.location, e.step;
COMMENT ON VIEW salesflow.forecast_accuracy IS
    'Forecast snapshots compared with actual units once the day has data: MAE, WAPE, bias (share of actual), MASE and interval coverage per product (and location, for product x location forecasts; '''' for all locations) and days ahead.';
GRANT SELECT ON salesflow.forecast_accuracy TO salesflow_reader;

-- The tenant's accuracy per forecast origin: a new row each run, so the
-- trend shows whether the forecasts get better or worse.
CREATE VIEW salesflow.forecast_accuracy_by_origin WITH (security_invoker = true, security_barrier = true) AS
SELECT e.tenant_id, e.origin, e.step, count(DISTINCT e.product_id) AS products, count(*) AS days,
       -- in numeric: the dashboards materialize this view for every tenant,
       -- and no tenant's values may overflow it for the others
       sum(abs(e.point::numeric - e.actual::numeric)) / nullif(sum(e.actual::numeric), 0) AS wape,
       sum(e.point::numeric - e.actual::numeric) / nullif(sum(e.actual::numeric), 0) AS bias,
       avg(abs(e.point::numeric - e.actual::numeric) / nullif(e.mase_scale::numeric, 0)) AS mase,
       avg(CASE WHEN e.actual BETWEEN e.lo80 AND e.hi80 THEN 1.0 ELSE 0.0 END) AS coverage80,
       avg(CASE WHEN e.actual BETWEEN e.lo95 AND e.hi95 THEN 1.0 ELSE 0.0 END) AS coverage95
  FROM salesflow.forecast_errors e
 WHERE e.location = ''
 GROUP BY e.tenant_id, e.origin, e.step;
COMMENT ON VIEW salesflow.forecast_accuracy_by_origin IS
    'The tenant''s forecast accuracy per snapshot (origin) and days ahead, over all products: WAPE, bias, mean scaled error (MASE) and interval coverage; compare origins to see whether forecasts get better or worse.';
GRANT SELECT ON salesflow.forecast_accuracy_by_origin TO salesflow_reader;
