-- segments: RFM scores and named segments, value tiers, BG/NBD + Gamma-Gamma
-- (P(alive), expected purchases, expected order value, CLV) and churn risk.
--
-- The pipeline for one tenant:
--   salesflow.fit_clv_model()     summarises each customer's purchase days
--                                  (x repeat days, t_x, T in weeks up to the
--                                  as-of day) and fits BG/NBD and Gamma-Gamma
--                                  by maximum likelihood in C++ -> clv_models;
--   salesflow.refresh_segments()  scores every customer with the current
--                                  model and the RFM rules -> customer_segments.
-- The pure functions below (arrays or scalars in, numbers out) are IMMUTABLE
-- PARALLEL SAFE and can be used on any data.

-- ---------------------------------------------------------------------------
-- Pure functions (C++ core: src/core/segments)
-- ---------------------------------------------------------------------------
CREATE FUNCTION salesflow._bgnbd_fit(frequency float8[], recency float8[], t float8[],
    OUT r float8, OUT alpha float8, OUT a float8, OUT b float8, OUT loglik float8, OUT iterations int,
    OUT converged boolean)
RETURNS SETOF record
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_bgnbd_fit';
COMMENT ON FUNCTION salesflow._bgnbd_fit(float8[], float8[], float8[]) IS
    'BG/NBD maximum-likelihood fit with optimiser diagnostics (iterations, converged); see bgnbd_fit.';

CREATE FUNCTION salesflow.bgnbd_fit(frequency float8[], recency float8[], t float8[])
RETURNS TABLE(r float8, alpha float8, a float8, b float8, loglik float8)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT f.r, f.alpha, f.a, f.b, f.loglik FROM salesflow._bgnbd_fit(frequency, recency, t) f $$;
COMMENT ON FUNCTION salesflow.bgnbd_fit(float8[], float8[], float8[]) IS
    'Fits the BG/NBD model (Fader, Hardie & Lee 2005) by maximum likelihood from per-customer repeat purchases x, recency t_x and age T (same time unit, e.g. weeks).';

CREATE FUNCTION salesflow._gamma_gamma_fit(frequency float8[], avg_value float8[],
    OUT p float8, OUT q float8, OUT gamma float8, OUT loglik float8, OUT iterations int, OUT converged boolean,
    OUT customers_used int)
RETURNS SETOF record
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_gamma_gamma_fit';
COMMENT ON FUNCTION salesflow._gamma_gamma_fit(float8[], float8[]) IS
    'Gamma-Gamma maximum-likelihood fit with diagnostics (iterations, converged, customers used); see gamma_gamma_fit.';

CREATE FUNCTION salesflow.gamma_gamma_fit(frequency float8[], avg_value float8[])
RETURNS TABLE(p float8, q float8, gamma float8, loglik float8)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT f.p, f.q, f.gamma, f.loglik FROM salesflow._gamma_gamma_fit(frequency, avg_value) f $$;
COMMENT ON FUNCTION salesflow.gamma_gamma_fit(float8[], float8[]) IS
    'Fits the Gamma-Gamma spend model (Fader, Hardie & Lee 2005) on repeat buyers (x >= 1) from repeat purchases and their average value.';

CREATE FUNCTION salesflow.bgnbd_p_alive(r float8, alpha float8, a float8, b float8, x float8, t_x float8, t float8)
RETURNS float8 LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_bgnbd_p_alive';
COMMENT ON FUNCTION salesflow.bgnbd_p_alive(float8, float8, float8, float8, float8, float8, float8) IS
    'BG/NBD probability that a customer with history (x, t_x, T) is still active.';

CREATE FUNCTION salesflow.bgnbd_expected(r float8, alpha float8, a float8, b float8, horizon float8, x float8,
                                         t_x float8, t float8)
RETURNS float8 LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_bgnbd_expected';
COMMENT ON FUNCTION salesflow.bgnbd_expected(float8, float8, float8, float8, float8, float8, float8, float8) IS
    'BG/NBD expected purchases in the next `horizon` time units for a customer with history (x, t_x, T) (eq. 10).';

CREATE FUNCTION salesflow.bgnbd_expected_unconditional(r float8, alpha float8, a float8, b float8, t float8)
RETURNS float8 LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_bgnbd_expected_unconditional';
COMMENT ON FUNCTION salesflow.bgnbd_expected_unconditional(float8, float8, float8, float8, float8) IS
    'BG/NBD expected purchases of a new customer in a period of length t (eq. 7).';

CREATE FUNCTION salesflow.bgnbd_p_count(r float8, alpha float8, a float8, b float8, t float8, n int)
RETURNS float8 LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_bgnbd_p_count';
COMMENT ON FUNCTION salesflow.bgnbd_p_count(float8, float8, float8, float8, float8, int) IS
    'BG/NBD probability of exactly n purchases in a period of length t (eq. 8).';

CREATE FUNCTION salesflow.gamma_gamma_expected_value(p float8, q float8, gamma float8, x float8, avg_value float8)
RETURNS float8 LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_gamma_gamma_expected_value';
COMMENT ON FUNCTION salesflow.gamma_gamma_expected_value(float8, float8, float8, float8, float8) IS
    'Gamma-Gamma expected average order value of a customer with x repeat purchases of average value avg_value (population mean for x = 0).';

CREATE FUNCTION salesflow.clv(r float8, alpha float8, a float8, b float8, p float8, q float8, gamma float8,
                              x float8, t_x float8, t float8, avg_value float8, horizon float8, step float8,
                              discount_rate_per_step float8)
RETURNS float8 LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_clv';
COMMENT ON FUNCTION salesflow.clv(float8, float8, float8, float8, float8, float8, float8, float8, float8, float8, float8, float8, float8, float8) IS
    'Customer lifetime value: expected purchases per step (BG/NBD) times expected order value (Gamma-Gamma), discounted per step, summed over the horizon.';

CREATE FUNCTION salesflow.rfm_scores(recency float8[], frequency float8[], monetary float8[])
RETURNS TABLE(ord int, r int, f int, m int, segment text)
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_rfm_scores';
COMMENT ON FUNCTION salesflow.rfm_scores(float8[], float8[], float8[]) IS
    'RFM quintile scores 1-5 within the given population (recency: fewer days since the last purchase scores higher; equal values share a score) and the named segment; one row per element, ord = position.';

CREATE FUNCTION salesflow.value_tiers(monetary float8[], high_share float8 DEFAULT 0.5, medium_share float8 DEFAULT 0.8)
RETURNS TABLE(ord int, tier text)
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_value_tiers';
COMMENT ON FUNCTION salesflow.value_tiers(float8[], float8, float8) IS
    'Pareto value tiers: customers ranked by value are high while those before them hold less than high_share of the total, medium below medium_share, low after.';

CREATE FUNCTION salesflow.churn_label(p_alive float8, high_below float8 DEFAULT 0.3, low_from float8 DEFAULT 0.7)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT CASE WHEN p_alive IS NULL THEN NULL WHEN p_alive < high_below THEN 'high'
                  WHEN p_alive >= low_from THEN 'low' ELSE 'medium' END $$;
COMMENT ON FUNCTION salesflow.churn_label(float8, float8, float8) IS
    'Churn risk label from P(alive): high below high_below, low from low_from, medium between.';

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------
CREATE SEQUENCE salesflow.clv_models_model_id_seq AS bigint;
CREATE TABLE salesflow.clv_models (
    tenant_id          bigint      NOT NULL REFERENCES salesflow.tenants ON DELETE CASCADE,
    model_id           bigint      NOT NULL DEFAULT nextval('salesflow.clv_models_model_id_seq'),
    is_current         boolean     NOT NULL DEFAULT true,
    time_unit          text        NOT NULL DEFAULT 'weeks',
    calibration_start  date        NOT NULL,
    calibration_end    date        NOT NULL,
    customers          int         NOT NULL,
    repeat_customers   int         NOT NULL,
    r                  float8,
    alpha              float8,
    a                  float8,
    b                  float8,
    bgnbd_loglik       float8,
    bgnbd_iterations   int,
    bgnbd_converged    boolean,
    p                  float8,
    q                  float8,
    gamma              float8,
    gamma_gamma_loglik float8,
    gamma_gamma_customers int,
    gamma_gamma_converged boolean,
    note               text,
    fit_ms             numeric     NOT NULL,
    fitted_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, model_id)
);
ALTER SEQUENCE salesflow.clv_models_model_id_seq OWNED BY salesflow.clv_models.model_id;
GRANT USAGE ON SEQUENCE salesflow.clv_models_model_id_seq TO salesflow_writer;
CREATE UNIQUE INDEX clv_models_current_idx ON salesflow.clv_models (tenant_id) WHERE is_current;
COMMENT ON TABLE salesflow.clv_models IS
    'Fitted customer-base models per tenant: BG/NBD (purchase rate and dropout) and Gamma-Gamma (order value), with fit quality and the calibration window.';
COMMENT ON COLUMN salesflow.clv_models.is_current IS 'The model refresh_segments() uses (one per tenant).';
COMMENT ON COLUMN salesflow.clv_models.time_unit IS 'Unit of recency, T and the rate parameter alpha (weeks).';
COMMENT ON COLUMN salesflow.clv_models.calibration_start IS 'First purchase day in the data used.';
COMMENT ON COLUMN salesflow.clv_models.calibration_end IS 'The as-of day: purchases up to this day were used.';
COMMENT ON COLUMN salesflow.clv_models.customers IS 'Customers in the fit (known customers with at least one purchase).';
COMMENT ON COLUMN salesflow.clv_models.repeat_customers IS 'Customers who bought on more than one day.';
COMMENT ON COLUMN salesflow.clv_models.r IS 'BG/NBD r: shape of the gamma distribution of purchase rates across customers.';
COMMENT ON COLUMN salesflow.clv_models.alpha IS 'BG/NBD alpha: scale of purchase rates (in time units; r/alpha is the mean rate per week).';
COMMENT ON COLUMN salesflow.clv_models.a IS 'BG/NBD a: first shape of the beta distribution of the dropout probability after a purchase.';
COMMENT ON COLUMN salesflow.clv_models.b IS 'BG/NBD b: second shape (a/(a+b) is the mean dropout probability after each purchase).';
COMMENT ON COLUMN salesflow.clv_models.bgnbd_loglik IS 'BG/NBD log-likelihood at the estimate (higher is a better fit).';
COMMENT ON COLUMN salesflow.clv_models.bgnbd_iterations IS 'Optimiser iterations used.';
COMMENT ON COLUMN salesflow.clv_models.bgnbd_converged IS 'Whether the optimiser met its convergence test.';
COMMENT ON COLUMN salesflow.clv_models.p IS 'Gamma-Gamma p: shape of the distribution of a customer''s order values.';
COMMENT ON COLUMN salesflow.clv_models.q IS 'Gamma-Gamma q: shape of the distribution of customers'' mean order values.';
COMMENT ON COLUMN salesflow.clv_models.gamma IS 'Gamma-Gamma gamma: scale (p*gamma/(q-1) is the population mean order value).';
COMMENT ON COLUMN salesflow.clv_models.gamma_gamma_loglik IS 'Gamma-Gamma log-likelihood at the estimate.';
COMMENT ON COLUMN salesflow.clv_models.gamma_gamma_customers IS 'Repeat buyers with positive spend used by Gamma-Gamma.';
COMMENT ON COLUMN salesflow.clv_models.gamma_gamma_converged IS 'Whether the Gamma-Gamma optimiser converged.';
COMMENT ON COLUMN salesflow.clv_models.note IS 'Why a part of the model could not be fitted and which fallback is used.';
COMMENT ON COLUMN salesflow.clv_models.fit_ms IS 'Time to summarise and fit, in milliseconds.';
COMMENT ON COLUMN salesflow.clv_models.fitted_at IS 'When the model was fitted.';
COMMENT ON COLUMN salesflow.clv_models.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.clv_models.model_id IS 'Model run id.';
SELECT salesflow._tenant_table('salesflow.clv_models');
SELECT pg_catalog.pg_extension_config_dump('salesflow.clv_models_model_id_seq', '');

CREATE TABLE salesflow.customer_segments (
    tenant_id            bigint      NOT NULL,
    customer_id          bigint      NOT NULL,
    recency_days         int         NOT NULL,
    frequency            int         NOT NULL,
    monetary             numeric(18,2) NOT NULL,
    tenure_days          int         NOT NULL,
    r_score              smallint    NOT NULL,
    f_score              smallint    NOT NULL,
    m_score              smallint    NOT NULL,
    segment              text        NOT NULL,
    value_tier           text        NOT NULL,
    p_alive              float8,
    churn_risk           float8,
    churn_label          text,
    expected_purchases_30d  float8,
    expected_purchases_90d  float8,
    expected_purchases_365d float8,
    expected_order_value numeric(18,2),
    clv                  numeric(18,2),
    clv_horizon_months   int,
    discount_rate        float8,
    as_of                date        NOT NULL,
    model_id             bigint,
    computed_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, customer_id),
    CONSTRAINT customer_segments_value_tier_check CHECK (value_tier IN ('high', 'medium', 'low')),
    CONSTRAINT customer_segments_churn_label_check CHECK (churn_label IN ('low', 'medium', 'high'))
);
CREATE INDEX customer_segments_segment_idx ON salesflow.customer_segments (tenant_id, segment);
COMMENT ON TABLE salesflow.customer_segments IS
    'One row per known customer: RFM scores and segment, value tier, P(alive), churn risk, expected purchases, expected order value and CLV.';
COMMENT ON COLUMN salesflow.customer_segments.recency_days IS 'Days from the last purchase to the as-of day.';
COMMENT ON COLUMN salesflow.customer_segments.frequency IS 'Orders (invoices that are not returns).';
COMMENT ON COLUMN salesflow.customer_segments.monetary IS 'Net revenue: orders minus returns.';
COMMENT ON COLUMN salesflow.customer_segments.tenure_days IS 'Days from the first purchase to the as-of day.';
COMMENT ON COLUMN salesflow.customer_segments.r_score IS 'Recency quintile within the tenant, 5 = most recent.';
COMMENT ON COLUMN salesflow.customer_segments.f_score IS 'Frequency quintile within the tenant, 5 = most orders.';
COMMENT ON COLUMN salesflow.customer_segments.m_score IS 'Monetary quintile within the tenant, 5 = highest revenue.';
COMMENT ON COLUMN salesflow.customer_segments.segment IS 'Named RFM segment (Champions ... Lost), see docs/segments.md.';
COMMENT ON COLUMN salesflow.customer_segments.value_tier IS 'high / medium / low by the customer''s place in the tenant''s revenue (Pareto).';
COMMENT ON COLUMN salesflow.customer_segments.p_alive IS 'BG/NBD probability that the customer is still active.';
COMMENT ON COLUMN salesflow.customer_segments.churn_risk IS '1 - P(alive).';
COMMENT ON COLUMN salesflow.customer_segments.churn_label IS 'low / medium / high churn risk.';
COMMENT ON COLUMN salesflow.customer_segments.expected_purchases_30d IS 'Expected purchase days in the next 30 days.';
COMMENT ON COLUMN salesflow.customer_segments.expected_purchases_90d IS 'Expected purchase days in the next 90 days.';
COMMENT ON COLUMN salesflow.customer_segments.expected_purchases_365d IS 'Expected purchase days in the next 365 days.';
COMMENT ON COLUMN salesflow.customer_segments.expected_order_value IS 'Gamma-Gamma expected value of a purchase day''s spend.';
COMMENT ON COLUMN salesflow.customer_segments.clv IS 'Discounted expected revenue over clv_horizon_months.';
COMMENT ON COLUMN salesflow.customer_segments.clv_horizon_months IS 'CLV horizon in months.';
COMMENT ON COLUMN salesflow.customer_segments.discount_rate IS 'Annual discount rate used for CLV.';
COMMENT ON COLUMN salesflow.customer_segments.as_of IS 'Day the figures refer to (the tenant''s latest invoice day unless set).';
COMMENT ON COLUMN salesflow.customer_segments.model_id IS 'clv_models run used (NULL when no model could be fitted).';
COMMENT ON COLUMN salesflow.customer_segments.computed_at IS 'When the row was computed.';
SELECT salesflow._tenant_table('salesflow.customer_segments');

-- ---------------------------------------------------------------------------
-- Per-customer summary (RFM and BG/NBD inputs)
-- ---------------------------------------------------------------------------
-- One row per known customer with purchases up to as_of: purchase days,
-- repeat days x, t_x and T in weeks, average value of repeat purchase days,
-- orders, net revenue, first/last purchase day.
CREATE FUNCTION salesflow._customer_summary(tenant bigint, as_of date)
RETURNS TABLE(customer_id bigint, x float8, t_x float8, t float8, avg_repeat_value float8,
              orders int, net_revenue numeric, first_day date, last_day date)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH days AS (
        SELECT i.customer_id, i.day, sum(i.total) AS value,
               row_number() OVER (PARTITION BY i.customer_id ORDER BY i.day) AS n
          FROM salesflow.invoices i
          JOIN salesflow.customers c ON c.tenant_id = i.tenant_id AND c.customer_id = i.customer_id
         WHERE i.tenant_id = tenant AND NOT i.is_return AND NOT c.is_anonymous AND i.day <= as_of
         GROUP BY i.customer_id, i.day
    ), per_customer AS (
        SELECT d.customer_id, count(*) AS purchase_days, min(d.day) AS first_day, max(d.day) AS last_day,
               avg(d.value) FILTER (WHERE d.n > 1) AS avg_repeat_value
          FROM days d GROUP BY d.customer_id
    ), orders AS (
        SELECT i.customer_id, count(*) FILTER (WHERE NOT i.is_return) AS orders, sum(i.total) AS net_revenue
          FROM salesflow.invoices i
         WHERE i.tenant_id = tenant AND i.day <= as_of
         GROUP BY i.customer_id
    )
    SELECT p.customer_id, (p.purchase_days - 1)::float8, (p.last_day - p.first_day) / 7.0::float8,
           (as_of - p.first_day) / 7.0::float8, greatest(p.avg_repeat_value, 0)::float8,
           o.orders::int, o.net_revenue, p.first_day, p.last_day
      FROM per_customer p JOIN orders o USING (customer_id)
$$;
COMMENT ON FUNCTION salesflow._customer_summary(bigint, date) IS
    'Internal: per-customer purchase history summary (BG/NBD x, t_x, T in weeks; RFM inputs) up to as_of.';

CREATE FUNCTION salesflow._segments_as_of(tenant bigint) RETURNS date
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT (s.value #>> '{}')::date FROM salesflow.settings s
                      WHERE s.tenant_id = tenant AND s.name = 'segments.as_of'),
                    (SELECT max(i.day) FROM salesflow.invoices i WHERE i.tenant_id = tenant))
$$;
COMMENT ON FUNCTION salesflow._segments_as_of(bigint) IS
    'Internal: the as-of day of segments: setting segments.as_of, else the tenant''s latest invoice day.';

CREATE FUNCTION salesflow._tenant_setting(tenant bigint, name text, fallback jsonb) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT s.value FROM salesflow.settings s WHERE s.tenant_id = tenant AND s.name = _tenant_setting.name),
                    fallback)
$$;
COMMENT ON FUNCTION salesflow._tenant_setting(bigint, text, jsonb) IS 'Internal: a setting of the given tenant, or the fallback.';

-- ---------------------------------------------------------------------------
-- Orchestration
-- ---------------------------------------------------------------------------
CREATE FUNCTION salesflow.fit_clv_model(tenant text DEFAULT NULL) RETURNS salesflow.clv_models
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid bigint := salesflow.require_tenant(tenant);
    as_of date := salesflow._segments_as_of(tid);
    t0 timestamptz := clock_timestamp();
    xs float8[]; txs float8[]; ts float8[]; ms float8[];
    n int; n_repeat int; first_day date;
    bg record; gg record;
    note text;
    model salesflow.clv_models;
BEGIN
    IF as_of IS NULL THEN
        RAISE EXCEPTION 'tenant has no invoices to fit a customer model on' USING ERRCODE = '22023';
    END IF;
    SELECT array_agg(s.x ORDER BY s.customer_id), array_agg(s.t_x ORDER BY s.customer_id),
           array_agg(s.t ORDER BY s.customer_id), array_agg(coalesce(s.avg_repeat_value, 0) ORDER BY s.customer_id),
           count(*), count(*) FILTER (WHERE s.x > 0), min(s.first_day)
      INTO xs, txs, ts, ms, n, n_repeat, first_day
      FROM salesflow._customer_summary(tid, as_of) s;
    IF coalesce(n, 0) = 0 THEN
        RAISE EXCEPTION 'tenant has no known customers with purchases to fit a customer model on' USING ERRCODE = '22023';
    END IF;
    -- both records start empty so that a fit that fails leaves NULLs, not an unassigned record
    SELECT NULL::float8 AS r, NULL::float8 AS alpha, NULL::float8 AS a, NULL::float8 AS b, NULL::float8 AS loglik,
           NULL::int AS iterations, NULL::boolean AS converged INTO bg;
    SELECT NULL::float8 AS p, NULL::float8 AS q, NULL::float8 AS gamma, NULL::float8 AS loglik, NULL::int AS iterations,
           NULL::boolean AS converged, NULL::int AS customers_used INTO gg;
    BEGIN
        SELECT * INTO bg FROM salesflow._bgnbd_fit(xs, txs, ts);
    EXCEPTION WHEN invalid_parameter_value OR data_exception THEN
        note := 'BG/NBD not fitted: ' || SQLERRM || '; P(alive) and expected purchases are left empty';
    END;
    BEGIN
        SELECT * INTO gg FROM salesflow._gamma_gamma_fit(xs, ms);
    EXCEPTION WHEN invalid_parameter_value OR data_exception THEN
        note := concat_ws('; ', note, 'Gamma-Gamma not fitted: ' || SQLERRM ||
                          '; expected order value falls back to the customer''s own average');
    END;
    UPDATE salesflow.clv_models c SET is_current = false WHERE c.tenant_id = tid AND c.is_current;
    INSERT INTO salesflow.clv_models (tenant_id, calibration_start, calibration_end, customers, repeat_customers,
                                      r, alpha, a, b, bgnbd_loglik, bgnbd_iterations, bgnbd_converged,
                                      p, q, gamma, gamma_gamma_loglik, gamma_gamma_customers, gamma_gamma_converged,
                                      note, fit_ms)
    VALUES (tid, first_day, as_of, n, n_repeat, bg.r, bg.alpha, bg.a, bg.b, bg.loglik, bg.iterations, bg.converged,
            gg.p, gg.q, gg.gamma, gg.loglik, gg.customers_used, gg.converged, note, salesflow._ms_since(t0))
    RETURNING * INTO model;
    RETURN model;
END
$$;
COMMENT ON FUNCTION salesflow.fit_clv_model(text) IS
    'Fits BG/NBD and Gamma-Gamma for the tenant on purchases up to the as-of day and makes it the current clv_models row.';

CREATE FUNCTION salesflow.refresh_segments(tenant text DEFAULT NULL, only_changed boolean DEFAULT false,
                                           refit boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid bigint := salesflow.require_tenant(tenant);
    as_of date := salesflow._segments_as_of(tid);
    model salesflow.clv_models;
    high_share float8 := (salesflow._tenant_setting(tid, 'segments.high_share', '0.5') #>> '{}')::float8;
    medium_share float8 := (salesflow._tenant_setting(tid, 'segments.medium_share', '0.8') #>> '{}')::float8;
    horizon_months int := (salesflow._tenant_setting(tid, 'segments.clv_months', '12') #>> '{}')::int;
    discount float8 := (salesflow._tenant_setting(tid, 'segments.discount_rate', '0.1') #>> '{}')::float8;
    churn_high float8 := (salesflow._tenant_setting(tid, 'segments.churn_high_below', '0.3') #>> '{}')::float8;
    churn_low float8 := (salesflow._tenant_setting(tid, 'segments.churn_low_from', '0.7') #>> '{}')::float8;
    step float8 := 365.25 / 12 / 7;   -- one month in weeks
    n bigint;
BEGIN
    IF as_of IS NULL THEN
        RETURN 0;
    END IF;
    IF only_changed AND NOT EXISTS (
        SELECT 1 FROM salesflow.customers c
         WHERE c.tenant_id = tid AND NOT c.is_anonymous
           AND c.changed_at > coalesce((SELECT max(s.computed_at) FROM salesflow.customer_segments s
                                         WHERE s.tenant_id = tid), '-infinity')) THEN
        RETURN 0;
    END IF;
    SELECT * INTO model FROM salesflow.clv_models c WHERE c.tenant_id = tid AND c.is_current;
    IF NOT FOUND OR refit OR model.calibration_end < as_of THEN
        model := salesflow.fit_clv_model(tid::text);
    END IF;

    DELETE FROM salesflow.customer_segments s WHERE s.tenant_id = tid;
    WITH summary AS (
        SELECT s.*, row_number() OVER (ORDER BY s.customer_id)::int AS ord
          FROM salesflow._customer_summary(tid, as_of) s
    ), rfm AS (
        SELECT * FROM salesflow.rfm_scores(
            (SELECT array_agg((as_of - last_day)::float8 ORDER BY ord) FROM summary),
            (SELECT array_agg(orders::float8 ORDER BY ord) FROM summary),
            (SELECT array_agg(net_revenue::float8 ORDER BY ord) FROM summary))
    ), tiers AS (
        SELECT * FROM salesflow.value_tiers((SELECT array_agg(net_revenue::float8 ORDER BY ord) FROM summary),
                                            high_share, medium_share)
    ), scored AS (
        SELECT s.*, rfm.r, rfm.f, rfm.m, rfm.segment, tiers.tier,
               CASE WHEN model.r IS NOT NULL THEN salesflow.bgnbd_p_alive(model.r, model.alpha, model.a, model.b, s.x, s.t_x, s.t) END AS p_alive,
               CASE WHEN model.r IS NOT NULL THEN salesflow.bgnbd_expected(model.r, model.alpha, model.a, model.b, 30 / 7.0, s.x, s.t_x, s.t) END AS e30,
               CASE WHEN model.r IS NOT NULL THEN salesflow.bgnbd_expected(model.r, model.alpha, model.a, model.b, 90 / 7.0, s.x, s.t_x, s.t) END AS e90,
               CASE WHEN model.r IS NOT NULL THEN salesflow.bgnbd_expected(model.r, model.alpha, model.a, model.b, 365 / 7.0, s.x, s.t_x, s.t) END AS e365,
               CASE WHEN model.p IS NOT NULL AND (model.q > 1 OR s.x > 0)
                    THEN salesflow.gamma_gamma_expected_value(model.p, model.q, model.gamma, s.x, coalesce(s.avg_repeat_value, 0))
                    ELSE (s.net_revenue / greatest(s.orders, 1))::float8 END AS order_value
          FROM summary s
          JOIN rfm ON rfm.ord = s.ord
          JOIN tiers ON tiers.ord = s.ord
    )
    INSERT INTO salesflow.customer_segments (tenant_id, customer_id, recency_days, frequency, monetary, tenure_days,
        r_score, f_score, m_score, segment, value_tier, p_alive, churn_risk, churn_label,
        expected_purchases_30d, expected_purchases_90d, expected_purchases_365d, expected_order_value, clv,
        clv_horizon_months, discount_rate, as_of, model_id)
    SELECT tid, s.customer_id, as_of - s.last_day, s.orders, s.net_revenue, as_of - s.first_day,
           s.r, s.f, s.m, s.segment, s.tier, s.p_alive, 1 - s.p_alive, salesflow.churn_label(s.p_alive, churn_high, churn_low),
           s.e30, s.e90, s.e365, greatest(s.order_value, 0),
           CASE WHEN model.r IS NULL THEN NULL
                WHEN model.p IS NOT NULL AND (model.q > 1 OR s.x > 0)
                THEN salesflow.clv(model.r, model.alpha, model.a, model.b, model.p, model.q, model.gamma, s.x, s.t_x, s.t,
                                   coalesce(s.avg_repeat_value, 0), horizon_months * step, step,
                                   power(1 + discount, 1 / 12.0) - 1)
                ELSE greatest(s.order_value, 0) * salesflow.bgnbd_expected(model.r, model.alpha, model.a, model.b,
                                                                           horizon_months * step, s.x, s.t_x, s.t)
           END,
           horizon_months, discount, as_of, model.model_id
      FROM scored s;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION salesflow.refresh_segments(text, boolean, boolean) IS
    'Recomputes customer_segments for the tenant with the current CLV model (fitted first when missing, stale or refit). With only_changed, does nothing unless a customer changed since the last run. Returns rows written.';
