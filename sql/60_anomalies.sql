-- anomalies: the pure functions. S-H-ESD on Twitter's raw_data against the
-- package's published counts (131 long-term, 25 in the last day; ours uses a
-- per-phase median seasonal instead of STL, see docs/anomalies.md), the MAD
-- detector on a generated series with known incidents, and the errors. The
-- batch, NOTIFY and the no-storm rule are tested in test/pgtap/40_anomalies.sql.
\set SHOW_CONTEXT never
\getenv test_files SALESFLOW_TEST_FILES
\set twitter_file :test_files '/test/data/twitter_anomaly/raw_data.csv'
CREATE TEMP TABLE raw_data (ts timestamp, count float8);
COPY raw_data FROM :'twitter_file' (FORMAT csv, HEADER);
SELECT count(*) AS points FROM raw_data;
-- period 1440 (minutely data), max_anoms 0.02, both directions
SELECT count(*) AS longterm, count(*) BETWEEN 131 - 13 AND 131 + 13 AS near_package
  FROM salesflow.seasonal_hybrid_esd((SELECT array_agg(count ORDER BY ts) FROM raw_data), 1440, 0.02, 0.05, 'both', true);
SELECT count(*) AS last_day, count(*) BETWEEN 25 - 3 AND 25 + 3 AS near_package
  FROM salesflow.seasonal_hybrid_esd((SELECT array_agg(count ORDER BY ts) FROM raw_data), 1440, 0.02, 0.05, 'both', false, 1440);

-- MAD detector: 2 years of daily sales with a weekday pattern, a slow trend
-- and deterministic noise, a spike (x3) on day 300 and a drop (x0.2) on day 500
CREATE TEMP TABLE daily AS
SELECT d, (100 + d * 0.05) * (CASE WHEN d % 7 IN (5, 6) THEN 1.4 ELSE 1 END)
          * (1 + ((abs(hashint4(d)) % 1000) / 1000.0 - 0.5) * 0.2)
          * CASE d WHEN 300 THEN 3 WHEN 500 THEN 0.2 ELSE 1 END AS y
  FROM generate_series(1, 730) d;
SELECT idx, round(observed::numeric) AS observed, round(expected::numeric) AS expected, score > 0 AS spike
  FROM salesflow.detect_anomalies((SELECT array_agg(y ORDER BY d) FROM daily));
-- only drops; only from day 400 on (an incremental scan of the newest days)
SELECT idx FROM salesflow.detect_anomalies((SELECT array_agg(y ORDER BY d) FROM daily), direction => 'drop');
SELECT idx FROM salesflow.detect_anomalies((SELECT array_agg(y ORDER BY d) FROM daily), from_index => 400);
-- a minimum absolute change above the spike's size silences it
SELECT count(*) AS none FROM salesflow.detect_anomalies((SELECT array_agg(y ORDER BY d) FROM daily), min_abs_change => 1000);
-- under a false-alarm budget (what refresh_anomalies uses): the same two days,
-- with either score; a zero on a normally busy day is always reported, even
-- with a budget of one alarm in ten years; a noisier budget never finds less
SELECT idx, score > 0 AS spike FROM salesflow.detect_anomalies_budget((SELECT array_agg(y ORDER BY d) FROM daily));
SELECT idx, score > 0 AS spike FROM salesflow.detect_anomalies_budget((SELECT array_agg(y ORDER BY d) FROM daily), method => 'local');
SELECT idx FROM salesflow.detect_anomalies_budget((SELECT array_agg(CASE d WHEN 600 THEN 0 ELSE y END ORDER BY d) FROM daily),
                                                  alarms_per_quarter => 0.025, from_index => 550);
SELECT (SELECT count(*) FROM salesflow.detect_anomalies_budget((SELECT array_agg(y ORDER BY d) FROM daily), alarms_per_quarter => 4, min_score => 2))
    >= (SELECT count(*) FROM salesflow.detect_anomalies_budget((SELECT array_agg(y ORDER BY d) FROM daily), min_score => 2)) AS monotone;
-- edge cases: all zero, constant, a single sale, too short: nothing, never NaN
SELECT count(*) AS all_zero FROM salesflow.detect_anomalies(array_fill(0::float8, ARRAY[100]));
SELECT count(*) AS constant FROM salesflow.detect_anomalies(array_fill(3::float8, ARRAY[100]));
SELECT count(*) AS too_short FROM salesflow.detect_anomalies('{1,2,3,50,2,1}');
SELECT idx, score > 0 AS spike FROM salesflow.detect_anomalies(array_fill(0::float8, ARRAY[99]) || 1::float8);

-- errors: SQLSTATE 22023 / 22004, the backend survives
SELECT * FROM salesflow.detect_anomalies('{1,2,NaN}');
SELECT * FROM salesflow.detect_anomalies('{1,2,3}', direction => 'sideways');
SELECT * FROM salesflow.detect_anomalies('{1,2,3}', period => 0);
SELECT * FROM salesflow.detect_anomalies('{1,2,3}', threshold => -1);
SELECT * FROM salesflow.detect_anomalies('{1,NULL,3}');
SELECT * FROM salesflow.seasonal_hybrid_esd('{1,2,3,4,5,6,7,8,9,10}', max_anoms => 0.9);
SELECT * FROM salesflow.detect_anomalies_budget('{1,2,3}', alarms_per_quarter => 0);
SELECT * FROM salesflow.detect_anomalies_budget('{1,2,3}', min_score => -1);
SELECT * FROM salesflow.detect_anomalies_budget('{1,2,3}', method => 'magic');
SELECT count(*) AS all_zero FROM salesflow.detect_anomalies_budget(array_fill(0::float8, ARRAY[100]));
SELECT 1 AS still_alive;
