-- anomalies end to end: generated daily sales with a known spike and drop,
-- the incremental scan, the no-storm rule, alert rules, stock alerts, and the
-- NOTIFY payloads (ids only) received by a second session (dblink). Everything commits,
-- so the test cleans up after itself.
SELECT plan(22);
CREATE EXTENSION IF NOT EXISTS dblink;
\getenv pghost PGHOST
\getenv pgport PGPORT
\getenv pguser PGUSER
SELECT format('host=%s port=%s user=%s dbname=%s', :'pghost', :'pgport', :'pguser', current_database()) AS conninfo \gset
SELECT salesflow.create_tenant('tap_alerts', 'UTC', 'EUR') IS NOT NULL AS created \gset
SELECT salesflow.create_tenant('tap_alerts_other', 'UTC', 'EUR') IS NOT NULL AS created \gset
SELECT dblink_connect('listener', :'conninfo');
SELECT dblink_exec('listener', 'LISTEN salesflow_alerts');
SET salesflow.tenant = 'tap_alerts';

-- 150 days from 2024-01-01: 10 to 12 orders a day (+6 on Saturdays), one unit
-- of S1 each at 5.00; day 130 (2024-05-09) has 60 orders, day 140
-- (2024-05-19) one.
CREATE TEMP TABLE gen AS
SELECT d, date '2024-01-01' + (d - 1) AS day,
       CASE d WHEN 130 THEN 60 WHEN 140 THEN 1
              ELSE 10 + (abs(hashint4(d)) % 3) + CASE WHEN extract(isodow FROM date '2024-01-01' + (d - 1)) = 6 THEN 6 ELSE 0 END
       END AS orders
  FROM generate_series(1, 150) d;
CREATE FUNCTION pg_temp.csv_of(first_day int, last_day int, spike_days int[] DEFAULT '{}', spike int DEFAULT 60)
RETURNS bytea LANGUAGE sql AS $$
    SELECT convert_to('invoice,sku,qty,price,date,customer' || E'\n' || string_agg(
               format('D%s-%s,S1,1,5.00,%s 10:00,C%s', g.d, k, to_char(g.day, 'YYYY-MM-DD'), k % 7), E'\n'
               ORDER BY g.d, k), 'UTF8')
      FROM (SELECT d, date '2024-01-01' + (d - 1) AS day,
                   CASE WHEN d = ANY (spike_days) THEN spike ELSE coalesce((SELECT orders FROM gen WHERE gen.d = x.d), 11) END AS orders
              FROM generate_series(first_day, last_day) x(d)) g,
           generate_series(1, g.orders) k
$$;
SELECT (salesflow.import_csv(pg_temp.csv_of(1, 150))).status AS imported \gset

SELECT ok(salesflow.refresh_anomalies() >= 6, 'the first scan alerts');
SELECT set_eq($$SELECT metric, day, direction FROM salesflow.anomalies WHERE kind = 'sales'$$,
              $$VALUES ('revenue', date '2024-05-09', 'spike'), ('orders', '2024-05-09', 'spike'), ('product_units', '2024-05-09', 'spike'),
                       ('revenue', '2024-05-19', 'drop'), ('orders', '2024-05-19', 'drop'), ('product_units', '2024-05-19', 'drop')$$,
              'exactly the injected spike and drop are found, on every metric, and nothing else');
SELECT ok((SELECT bool_and(abs(expected - 5 * 11) < 15) FROM salesflow.anomalies WHERE metric = 'revenue'),
          'the expected revenue is the usual day (about 55)');
SELECT is((SELECT message FROM salesflow.anomalies WHERE metric = 'orders' AND direction = 'spike'),
          format('Orders of tap_alerts on 2024-05-09: 60.00, usually about %s on this weekday (+%s%%, an unusual spike, score %s).',
                 (SELECT round(expected::numeric, 2) FROM salesflow.anomalies WHERE metric = 'orders' AND direction = 'spike'),
                 (SELECT round((100 * (observed - expected) / expected)::numeric) FROM salesflow.anomalies WHERE metric = 'orders' AND direction = 'spike'),
                 (SELECT round(score::numeric, 1) FROM salesflow.anomalies WHERE metric = 'orders' AND direction = 'spike')),
          'the message says what happened in words');
SELECT is(salesflow.refresh_anomalies(), 0::bigint, 'a second scan without new uploads finds nothing new');

-- NOTIFY: one JSON payload per new alert, in a second session
CREATE TEMP TABLE notes AS SELECT * FROM dblink_get_notify('listener');
SELECT is((SELECT count(*) FROM notes WHERE notify_name = 'salesflow_alerts'), (SELECT count(*) FROM salesflow.anomalies),
          'the listening session got one notification per alert');
SELECT ok((SELECT bool_and(extra::jsonb = jsonb_build_object('kind', 'alert', 'id', (extra::jsonb ->> 'id')::bigint)
                           AND (extra::jsonb ->> 'id')::bigint IN (SELECT anomaly_id FROM salesflow.anomalies))
             FROM notes),
          'payloads carry only {"kind": "alert", "id": <an alert id>}, no tenant data');

-- incremental: a new upload of day 151 with a spike scores only day 151
SELECT (salesflow.import_csv(pg_temp.csv_of(151, 151, '{151}'))).status AS imported \gset
SELECT is(salesflow.refresh_anomalies(), 3::bigint, 'a spike on the newly uploaded day alerts on its three metrics');
SELECT set_eq($$SELECT DISTINCT day FROM salesflow.anomalies WHERE detected_at > (SELECT scanned_at FROM salesflow.anomaly_scans) - interval '1 hour'
                 AND day > '2024-05-19'$$, $$VALUES (date '2024-05-30')$$, 'only the touched day is scored');
-- no storm: the same spike again the next day is within the cool-down and not larger
SELECT (salesflow.import_csv(pg_temp.csv_of(152, 152, '{152}'))).status AS imported \gset
SELECT is(salesflow.refresh_anomalies(), 0::bigint, 'a repeat spike within the cool-down does not alert again');
-- ... but a much larger one does (escalation)
SELECT (salesflow.import_csv(pg_temp.csv_of(153, 153, '{153}', 400))).status AS imported \gset
SELECT ok(salesflow.refresh_anomalies() >= 1, 'a much larger spike within the cool-down alerts (escalation)');
SELECT is((SELECT count(*) FROM salesflow.anomalies GROUP BY metric, entity_id, day ORDER BY 1 DESC LIMIT 1), 1::bigint,
          'never more than one alert per entity, metric and day');

-- rules: a disabled metric and a minimum absolute change
INSERT INTO salesflow.alert_rules (metric, enabled) VALUES ('orders', false);
INSERT INTO salesflow.alert_rules (metric, min_abs_change) VALUES ('revenue', 1e6);
SELECT (salesflow.import_csv(pg_temp.csv_of(170, 170, '{170}', 400))).status AS imported \gset
SELECT is(salesflow.refresh_anomalies(), 1::bigint, 'with orders disabled and a huge minimum change on revenue only the product alerts');
SELECT is((SELECT metric FROM salesflow.anomalies WHERE day = '2024-06-18'), 'product_units', 'it is the product');

-- acknowledge and list
SELECT is((SELECT count(*) FROM salesflow.list_open_alerts()), (SELECT count(*) FROM salesflow.anomalies), 'all alerts are open');
SELECT ok(salesflow.acknowledge_alert((SELECT min(anomaly_id) FROM salesflow.anomalies)), 'acknowledge an alert');
SELECT ok(NOT salesflow.acknowledge_alert((SELECT min(anomaly_id) FROM salesflow.anomalies)), 'acknowledging twice says false');
SELECT is((SELECT count(*) FROM salesflow.list_open_alerts()), (SELECT count(*) - 1 FROM salesflow.anomalies), 'one fewer open alert');
SELECT is((SELECT acknowledged_by FROM salesflow.anomalies ORDER BY anomaly_id LIMIT 1), session_user::text, 'who acknowledged is recorded');
SELECT min(anomaly_id) AS last_open FROM salesflow.anomalies WHERE acknowledged_at IS NULL \gset
SET salesflow.tenant = 'tap_alerts_other';
SELECT ok(NOT salesflow.acknowledge_alert(:last_open), 'another tenant cannot acknowledge it');
SET salesflow.tenant = 'tap_alerts';

-- stock alerts: a product that runs out before a new order can arrive
SELECT salesflow.refresh_forecasts(horizon => 28) > 0 AS forecast \gset
SELECT (salesflow.import_inventory('[{"sku": "S1", "on_hand": 5}]') ->> 'accepted')::int AS stocked \gset
SELECT salesflow.refresh_replenishment() AS replenished \gset
SELECT is(salesflow.refresh_anomalies(), 2::bigint, 'stockout risk and below safety stock alert');
SELECT is(salesflow.refresh_anomalies(), 0::bigint, 'an open stock alert is not repeated');

SELECT dblink_disconnect('listener');
RESET salesflow.tenant;
SELECT salesflow.delete_tenant('tap_alerts') > 0 AS cleaned \gset
SELECT salesflow.delete_tenant('tap_alerts_other') > 0 AS cleaned \gset
SELECT * FROM finish();
