-- salesflow's side of bench/forecast_vs_r: the prepared series through the
-- real SQL function salesflow.forecast(y, horizon, period, method), one
-- statement per data set and method, timed inside the database.
--
--   psql -d salesflow_bench -v out=DIR -v m3_methods=ets,theta \
--        -v carparts_methods=croston,sba,tsb,ses,auto -v clk_tck=100 \
--        -f bench/forecast_vs_r.sql < DIR/series.csv
--
-- Reads series.csv (written by forecast_vs_r.R prepare: set, series, period,
-- h, y, actual) from standard input; writes DIR/sf_forecasts.csv,
-- DIR/sf_timing.csv and DIR/sf_failures.csv for forecast_vs_r.R score.
--
-- Timing. Wall time is clock_timestamp() around one INSERT ... SELECT over
-- every series of the set; CPU time is the backend's user + system time from
-- /proc/self/stat (less disturbed by other load on the machine than wall
-- time). Both include reading the arrays and writing the forecast rows, which
-- is small next to fitting. INSERT ... SELECT never runs in parallel, so this
-- is one core, as R is.
\set ON_ERROR_STOP 1
\set QUIET 1
SET max_parallel_workers_per_gather = 0;
SELECT set_config('bench.clk_tck', :'clk_tck', false) \g /dev/null

SET client_min_messages = warning;
DROP SCHEMA IF EXISTS bench CASCADE;
SET client_min_messages = notice;
CREATE SCHEMA bench;

CREATE TABLE bench.series (
    dataset text NOT NULL,
    series  text NOT NULL,
    period  int NOT NULL,
    h       int NOT NULL,
    y       float8[] NOT NULL,
    actual  float8[] NOT NULL,
    PRIMARY KEY (dataset, series)
);
\copy bench.series FROM pstdin (FORMAT csv, HEADER)

CREATE TABLE bench.forecasts (dataset text, series text, method text, step int, point float8);
CREATE TABLE bench.timing (dataset text, method text, series bigint, wall_s float8, cpu_s float8);
CREATE TABLE bench.failures (dataset text, method text, failed int, first_error text);

-- CPU seconds used so far by this backend (utime + stime, fields 14 and 15
-- of /proc/self/stat, in clock ticks).
CREATE FUNCTION bench.cpu_seconds() RETURNS float8 LANGUAGE sql VOLATILE AS $$
    SELECT (split_part(s, ' ', 12)::float8 + split_part(s, ' ', 13)::float8) / current_setting('bench.clk_tck')::float8
      FROM (SELECT split_part(pg_read_file('/proc/self/stat'), ') ', 2) AS s) x
$$;

-- Forecasts every series of one data set with one method ('auto@1': method
-- auto with period 1 instead of the set's seasonal period). If any series makes
-- salesflow.forecast raise an error, the set is redone series by series and
-- the failures get the naive forecast (last value), counted in bench.failures.
CREATE FUNCTION bench.run(p_dataset text, p_method text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    c0 float8 := bench.cpu_seconds();
    t0 timestamptz := clock_timestamp();
    wall float8;
    n bigint;
    failed int := 0;
    first_error text;
    r bench.series;
    meth text := split_part(p_method, '@', 1);
    per int := nullif(split_part(p_method, '@', 2), '')::int;
BEGIN
    BEGIN
        INSERT INTO bench.forecasts
        SELECT s.dataset, s.series, p_method, f.step, f.point
          FROM bench.series s
         CROSS JOIN LATERAL salesflow.forecast(s.y, s.h, coalesce(per, s.period), meth) f
         WHERE s.dataset = p_dataset;
    EXCEPTION WHEN others THEN
        FOR r IN SELECT * FROM bench.series s WHERE s.dataset = p_dataset LOOP
            BEGIN
                INSERT INTO bench.forecasts
                SELECT r.dataset, r.series, p_method, f.step, f.point
                  FROM salesflow.forecast(r.y, r.h, coalesce(per, r.period), meth) f;
            EXCEPTION WHEN others THEN
                failed := failed + 1;
                first_error := coalesce(first_error, r.series || ': ' || SQLERRM);
                INSERT INTO bench.forecasts
                SELECT r.dataset, r.series, p_method, g, r.y[cardinality(r.y)] FROM generate_series(1, r.h) g;
            END;
        END LOOP;
    END;
    wall := extract(epoch FROM clock_timestamp() - t0);
    SELECT count(*) INTO n FROM bench.series s WHERE s.dataset = p_dataset;
    INSERT INTO bench.timing VALUES (p_dataset, p_method, n, wall, bench.cpu_seconds() - c0);
    INSERT INTO bench.failures VALUES (p_dataset, p_method, failed, first_error);
    RAISE NOTICE '  % salesflow % % series % s%', rpad(p_dataset, 13), rpad(p_method, 12), lpad(n::text, 5),
        lpad(to_char(wall, 'FM99990.0'), 8), CASE WHEN failed > 0 THEN format(' (%s failed, e.g. %s)', failed, first_error) ELSE '' END;
END
$$;

SELECT format('SELECT bench.run(%L, %L)', d.dataset, m.method)
  FROM (SELECT DISTINCT dataset FROM bench.series) d
 CROSS JOIN LATERAL unnest(string_to_array(CASE WHEN d.dataset LIKE 'M3%' THEN :'m3_methods' ELSE :'carparts_methods' END, ','))
       WITH ORDINALITY AS m(method, ord)
 WHERE m.method <> ''
 ORDER BY d.dataset DESC, m.ord
\o /dev/null
\gexec

\set file :out '/sf_forecasts.csv'
\o :file
COPY (SELECT dataset AS set, series, method, step, point FROM bench.forecasts ORDER BY 1, 2, 3, 4) TO STDOUT (FORMAT csv, HEADER);
\set file :out '/sf_timing.csv'
\o :file
COPY (SELECT dataset AS set, method, series, wall_s, cpu_s FROM bench.timing) TO STDOUT (FORMAT csv, HEADER);
\set file :out '/sf_failures.csv'
\o :file
COPY (SELECT dataset AS set, method, failed, first_error FROM bench.failures) TO STDOUT (FORMAT csv, HEADER);
\o
