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

CREATE FUNCTION salesflow._customer_model_fit(model text, frequency float8[], recency float8[], t float8[],
    OUT params float8[], OUT loglik float8, OUT iterations int, OUT converged boolean, OUT fit_ms float8)
RETURNS SETOF record
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_customer_model_fit';
COMMENT ON FUNCTION salesflow._customer_model_fit(text, float8[], float8[], float8[]) IS
    'Maximum-likelihood fit of a customer-base model (bgnbd, mbgnbd or pareto_nbd) with diagnostics; params are (r, alpha, a, b) or (r, alpha, s, beta).';

CREATE FUNCTION salesflow.pareto_nbd_fit(frequency float8[], recency float8[], t float8[])
RETURNS TABLE(r float8, alpha float8, s float8, beta float8, loglik float8)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT f.params[1], f.params[2], f.params[3], f.params[4], f.loglik
        FROM salesflow._customer_model_fit('pareto_nbd', frequency, recency, t) f $$;
COMMENT ON FUNCTION salesflow.pareto_nbd_fit(float8[], float8[], float8[]) IS
    'Fits the Pareto/NBD model (Schmittlein, Morrison & Colombo 1987; likelihood of Fader, Hardie & Lee''s 2005 note) by maximum likelihood from x, t_x and T.';

CREATE FUNCTION salesflow.mbgnbd_fit(frequency float8[], recency float8[], t float8[])
RETURNS TABLE(r float8, alpha float8, a float8, b float8, loglik float8)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT f.params[1], f.params[2], f.params[3], f.params[4], f.loglik
        FROM salesflow._customer_model_fit('mbgnbd', frequency, recency, t) f $$;
COMMENT ON FUNCTION salesflow.mbgnbd_fit(float8[], float8[], float8[]) IS
    'Fits the MBG/NBD model (Batislam, Denizel & Filiztekin 2007: one-time buyers can be inactive) by maximum likelihood from x, t_x and T.';

CREATE FUNCTION salesflow._customer_model_holdout(model text, frequency float8[], recency float8[], t float8[],
    no_purchase float8[], horizon float8,
    OUT params float8[], OUT loglik float8, OUT converged boolean, OUT fit_ms float8, OUT brier_raw float8,
    OUT brier float8, OUT auc float8, OUT customers int, OUT calibration_a float8, OUT calibration_b float8)
RETURNS SETOF record
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_customer_model_holdout';
COMMENT ON FUNCTION salesflow._customer_model_holdout(text, float8[], float8[], float8[], float8[], float8) IS
    'Internal: fits a customer-base model on histories at a cut-off, scores its P(no purchase in horizon) against what happened (Brier before and after a logistic recalibration, AUC) and returns the recalibration.';

CREATE FUNCTION salesflow.customer_model_p_alive(model text, params float8[], x float8, t_x float8, t float8)
RETURNS float8 LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_customer_model_p_alive';
COMMENT ON FUNCTION salesflow.customer_model_p_alive(text, float8[], float8, float8, float8) IS
    'P(alive) of a customer with history (x, t_x, T) under the model (bgnbd, mbgnbd, pareto_nbd) with params.';

CREATE FUNCTION salesflow.customer_model_expected(model text, params float8[], horizon float8, x float8, t_x float8,
                                                  t float8)
RETURNS float8 LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_customer_model_expected';
COMMENT ON FUNCTION salesflow.customer_model_expected(text, float8[], float8, float8, float8, float8) IS
    'Expected purchases in the next horizon of a customer with history (x, t_x, T) under the model.';

CREATE FUNCTION salesflow.customer_model_p_no_purchase(model text, params float8[], horizon float8, x float8,
                                                       t_x float8, t float8)
RETURNS float8 LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_customer_model_p_no_purchase';
COMMENT ON FUNCTION salesflow.customer_model_p_no_purchase(text, float8[], float8, float8, float8, float8) IS
    'P(X(horizon) = 0 | x, t_x, T): probability that the customer makes no purchase in the next horizon under the model (the raw churn risk).';

CREATE FUNCTION salesflow.customer_model_clv(model text, params float8[], order_value float8, x float8, t_x float8,
                                             t float8, horizon float8, step float8, discount_rate_per_step float8)
RETURNS float8 LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_customer_model_clv';
COMMENT ON FUNCTION salesflow.customer_model_clv(text, float8[], float8, float8, float8, float8, float8, float8, float8) IS
    'Discounted CLV with any customer-base model: expected purchases per step times order_value, discounted per step, over the horizon.';

CREATE FUNCTION salesflow.auc(score float8[], outcome float8[]) RETURNS float8
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_auc';
COMMENT ON FUNCTION salesflow.auc(float8[], float8[]) IS
    'Area under the ROC curve of score for outcomes 1 against 0 (Mann-Whitney, ties half); NULL when one class is empty.';

CREATE FUNCTION salesflow.churn_risk_label(churn_risk float8, high_from float8 DEFAULT 0.7, low_below float8 DEFAULT 0.3)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT CASE WHEN churn_risk IS NULL THEN NULL WHEN churn_risk >= high_from THEN 'high'
                  WHEN churn_risk < low_below THEN 'low' ELSE 'medium' END $$;
COMMENT ON FUNCTION salesflow.churn_risk_label(float8, float8, float8) IS
    'Churn label from churn risk (probability of no purchase in the churn window): high from high_from, low below low_below, medium between.';

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
    model              text        NOT NULL DEFAULT 'bgnbd',
    params             float8[],
    churn_days         int,
    holdout_start      date,
    churn_calibration_a float8,
    churn_calibration_b float8,
    candidates         jsonb,
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
COMMENT ON COLUMN salesflow.clv_models.model IS 'Customer-base model used for scoring, chosen by the holdout backtest: bgnbd, mbgnbd or pareto_nbd.';
COMMENT ON COLUMN salesflow.clv_models.params IS 'Parameters of the chosen model at the as-of day: (r, alpha, a, b), or (r, alpha, s, beta) for pareto_nbd.';
COMMENT ON COLUMN salesflow.clv_models.churn_days IS 'Churn window in days (setting segments.churn_days): churn risk is P(no purchase in it).';
COMMENT ON COLUMN salesflow.clv_models.holdout_start IS 'Cut-off day of the holdout backtest (as-of day minus churn_days); NULL when there was too little history.';
COMMENT ON COLUMN salesflow.clv_models.churn_calibration_a IS 'Recalibration intercept: logit(churn risk) = a + b logit(model P(no purchase)), fitted on the holdout (0 = none).';
COMMENT ON COLUMN salesflow.clv_models.churn_calibration_b IS 'Recalibration slope (1 = none).';
COMMENT ON COLUMN salesflow.clv_models.candidates IS 'Every candidate model: its fit and score on the holdout (parameters at the cut-off, Brier before and after recalibration, AUC), its fit at the as-of day for the chosen one and BG/NBD; chosen = the one used.';
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
COMMENT ON COLUMN salesflow.customer_segments.p_alive IS 'The chosen model''s probability that the customer is still active (a model quantity; see docs/segments.md for its limits).';
COMMENT ON COLUMN salesflow.customer_segments.churn_risk IS 'Probability of no purchase in the next segments.churn_days days: the model''s P(X(t) = 0 | history), recalibrated on the tenant''s history.';
COMMENT ON COLUMN salesflow.customer_segments.churn_label IS 'low / medium / high churn risk (thresholds segments.churn_high_from, segments.churn_low_below).';
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

-- Churn window of a tenant in days (setting segments.churn_days, default 90).
CREATE FUNCTION salesflow._churn_days(tenant bigint) RETURNS int
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    days int := (salesflow._tenant_setting(tenant, 'segments.churn_days', '90') #>> '{}')::int;
BEGIN
    IF days IS NULL OR days < 1 THEN
        RAISE EXCEPTION 'segments.churn_days must be a whole number of days >= 1' USING ERRCODE = '22023';
    END IF;
    RETURN days;
END
$$;
COMMENT ON FUNCTION salesflow._churn_days(bigint) IS 'Internal: the tenant''s churn window in days (segments.churn_days, default 90).';

-- The customer-base models compared on the tenant's own history: each is
-- fitted on the histories at a cut-off (as_of - churn_days, or half-way
-- through the history when that is shorter) and its P(no purchase until
-- as_of) is scored against what happened (with a logistic recalibration
-- fitted on the same pairs). The chosen one and BG/NBD (the baseline of
-- backtest_segments) are then fitted at as_of; the others' params stay
-- NULL (their fit at the cut-off is in holdout). The
-- lowest recalibrated Brier score is chosen; without a usable holdout (fewer
-- than 50 customers at the cut-off, or outcomes of one kind) BG/NBD is
-- chosen and not recalibrated. Above 5,000 customers the candidates are
-- fitted and scored on a fixed hash sample of about 5,000.
CREATE FUNCTION salesflow._customer_model_candidates(tenant bigint, as_of date, churn_days int)
RETURNS TABLE(model text, params float8[], loglik float8, iterations int, converged boolean, fit_ms float8,
              holdout jsonb, calibration_a float8, calibration_b float8, chosen boolean)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- the holdout is the churn window, or half the history when that is shorter
    cutoff date := as_of - least(churn_days, (as_of - (SELECT min(i.day) FROM salesflow.invoices i
                                                        WHERE i.tenant_id = tenant AND NOT i.is_return)) / 2);
    cur record;
    hist record;
    f record;
    k int;
    scores jsonb;
    m text;
    best text;
    fit_sample constant int := 5000;
    every int;
    found_any jsonb := '[]';
BEGIN
    -- Large tenants: the fits see a fixed hash sample of about fit_sample
    -- customers (the models' four parameters describe the population; the
    -- Pareto/NBD fit costs seconds per 10,000 customers). Scoring uses everyone.
    SELECT greatest(1, ceil(count(*) / fit_sample::float8))::int INTO every
      FROM salesflow._customer_summary(tenant, as_of) s;
    SELECT array_agg(s.x ORDER BY s.customer_id) AS x, array_agg(s.t_x ORDER BY s.customer_id) AS t_x,
           array_agg(s.t ORDER BY s.customer_id) AS t INTO cur
      FROM salesflow._customer_summary(tenant, as_of) s
     WHERE every = 1 OR abs(hashint8(s.customer_id)) % every = 0;
    SELECT array_agg(s.x ORDER BY s.customer_id) AS x, array_agg(s.t_x ORDER BY s.customer_id) AS t_x,
           array_agg(s.t ORDER BY s.customer_id) AS t,
           array_agg(CASE WHEN EXISTS (SELECT 1 FROM salesflow.invoices i
                                        WHERE i.tenant_id = tenant AND i.customer_id = s.customer_id AND NOT i.is_return
                                          AND i.day > cutoff AND i.day <= as_of) THEN 0.0 ELSE 1.0 END
                     ORDER BY s.customer_id) AS y INTO hist
      FROM salesflow._customer_summary(tenant, cutoff) s
     WHERE every = 1 OR abs(hashint8(s.customer_id)) % every = 0;
    IF cur.x IS NULL THEN
        RETURN;
    END IF;
    -- 1. every candidate on the holdout (when there is a usable one)
    IF coalesce(cardinality(hist.x), 0) >= 50 AND 0.0 = ANY (hist.y) AND 1.0 = ANY (hist.y) THEN
        FOREACH m IN ARRAY ARRAY['bgnbd', 'mbgnbd', 'pareto_nbd'] LOOP
            BEGIN
                SELECT jsonb_build_object('cutoff', cutoff, 'customers', h.customers, 'params', to_jsonb(h.params),
                                          'loglik', h.loglik, 'converged', h.converged, 'fit_ms', h.fit_ms,
                                          'brier_raw', h.brier_raw, 'brier', h.brier, 'auc', h.auc,
                                          'calibration_a', h.calibration_a, 'calibration_b', h.calibration_b)
                  INTO scores
                  FROM salesflow._customer_model_holdout(m, hist.x, hist.t_x, hist.t, hist.y, (as_of - cutoff) / 7.0) h;
                found_any := found_any || jsonb_build_object('model', m, 'holdout', scores);
            EXCEPTION WHEN invalid_parameter_value OR data_exception THEN
                NULL;  -- a model that cannot be fitted on these data is no candidate
            END;
        END LOOP;
    END IF;
    -- 2. the best one (BG/NBD without a holdout) and BG/NBD, the baseline, fitted at as_of
    best := coalesce((SELECT c->>'model' FROM jsonb_array_elements(found_any) c
                       ORDER BY (c#>>'{holdout,brier}')::float8, c->>'model' <> 'bgnbd' LIMIT 1), 'bgnbd');
    IF NOT found_any @> '[{"model": "bgnbd"}]' THEN
        found_any := found_any || '[{"model": "bgnbd"}]';
    END IF;
    FOR k IN 0 .. jsonb_array_length(found_any) - 1 LOOP
        CONTINUE WHEN found_any->k->>'model' NOT IN (best, 'bgnbd');
        BEGIN
            SELECT * INTO f FROM salesflow._customer_model_fit(found_any->k->>'model', cur.x, cur.t_x, cur.t);
            found_any := jsonb_set(found_any, ARRAY[k::text], (found_any->k) || jsonb_build_object(
                'params', to_jsonb(f.params), 'loglik', f.loglik, 'iterations', f.iterations,
                'converged', f.converged, 'fit_ms', f.fit_ms));
        EXCEPTION WHEN invalid_parameter_value OR data_exception THEN
            NULL;  -- params stay empty: nothing is scored
        END;
    END LOOP;
    RETURN QUERY
    SELECT c->>'model', CASE WHEN c ? 'params' THEN ARRAY(SELECT jsonb_array_elements_text(c->'params')::float8) END,
           (c->>'loglik')::float8, (c->>'iterations')::int, (c->>'converged')::boolean, (c->>'fit_ms')::float8,
           c->'holdout', coalesce((c#>>'{holdout,calibration_a}')::float8, 0),
           coalesce((c#>>'{holdout,calibration_b}')::float8, 1), c->>'model' = best
      FROM jsonb_array_elements(found_any) c;
END
$$;
COMMENT ON FUNCTION salesflow._customer_model_candidates(bigint, date, int) IS
    'Internal: BG/NBD, MBG/NBD and Pareto/NBD fitted at as_of and scored on a holdout (fitted at as_of - churn_days, P(no purchase) against what happened); the lowest recalibrated Brier is chosen.';

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
    churn_days int := salesflow._churn_days(tid);
    chosen record;
    candidates jsonb;
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
    SELECT jsonb_agg(to_jsonb(c) ORDER BY c.model) INTO candidates
      FROM salesflow._customer_model_candidates(tid, as_of, churn_days) c;
    SELECT c.* INTO chosen FROM jsonb_to_recordset(candidates)
        AS c(model text, params float8[], calibration_a float8, calibration_b float8, holdout jsonb, chosen boolean)
     WHERE c.chosen;
    UPDATE salesflow.clv_models c SET is_current = false WHERE c.tenant_id = tid AND c.is_current;
    INSERT INTO salesflow.clv_models (tenant_id, calibration_start, calibration_end, customers, repeat_customers,
                                      r, alpha, a, b, bgnbd_loglik, bgnbd_iterations, bgnbd_converged,
                                      p, q, gamma, gamma_gamma_loglik, gamma_gamma_customers, gamma_gamma_converged,
                                      note, model, params, churn_days, holdout_start, churn_calibration_a,
                                      churn_calibration_b, candidates, fit_ms)
    VALUES (tid, first_day, as_of, n, n_repeat, bg.r, bg.alpha, bg.a, bg.b, bg.loglik, bg.iterations, bg.converged,
            gg.p, gg.q, gg.gamma, gg.loglik, gg.customers_used, gg.converged, note, coalesce(chosen.model, 'bgnbd'),
            chosen.params, churn_days, (chosen.holdout->>'cutoff')::date, coalesce(chosen.calibration_a, 0),
            coalesce(chosen.calibration_b, 1), candidates, salesflow._ms_since(t0))
    RETURNING * INTO model;
    RETURN model;
END
$$;
COMMENT ON FUNCTION salesflow.fit_clv_model(text) IS
    'Fits BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma for the tenant on purchases up to the as-of day, chooses the customer-base model and the churn recalibration by a holdout backtest, and makes it the current clv_models row.';

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
    churn_high float8 := (salesflow._tenant_setting(tid, 'segments.churn_high_from', '0.7') #>> '{}')::float8;
    churn_low float8 := (salesflow._tenant_setting(tid, 'segments.churn_low_below', '0.3') #>> '{}')::float8;
    churn_days int := salesflow._churn_days(tid);
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
    IF NOT FOUND OR refit OR model.calibration_end < as_of OR model.churn_days IS DISTINCT FROM churn_days THEN
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
               salesflow.customer_model_p_alive(model.model, model.params, s.x, s.t_x, s.t) AS p_alive,
               salesflow.recalibrate(model.churn_calibration_a, model.churn_calibration_b,
                   salesflow.customer_model_p_no_purchase(model.model, model.params, churn_days / 7.0, s.x, s.t_x, s.t)) AS churn_risk,
               salesflow.customer_model_expected(model.model, model.params, 30 / 7.0, s.x, s.t_x, s.t) AS e30,
               salesflow.customer_model_expected(model.model, model.params, 90 / 7.0, s.x, s.t_x, s.t) AS e90,
               salesflow.customer_model_expected(model.model, model.params, 365 / 7.0, s.x, s.t_x, s.t) AS e365,
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
           s.r, s.f, s.m, s.segment, s.tier, s.p_alive, s.churn_risk, salesflow.churn_risk_label(s.churn_risk, churn_high, churn_low),
           s.e30, s.e90, s.e365, greatest(s.order_value, 0),
           salesflow.customer_model_clv(model.model, model.params, greatest(s.order_value, 0), s.x, s.t_x, s.t,
                                        horizon_months * step, step, power(1 + discount, 1 / 12.0) - 1),
           horizon_months, discount, as_of, model.model_id
      FROM scored s;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION salesflow.refresh_segments(text, boolean, boolean) IS
    'Recomputes customer_segments for the tenant with the current CLV model (fitted first when missing, stale or refit). With only_changed, does nothing unless a customer changed since the last run. Returns rows written.';

-- ---------------------------------------------------------------------------
-- Backtest
-- ---------------------------------------------------------------------------
-- Every customer known at as_of with the chosen model's predictions (fitted
-- and recalibrated on data up to as_of only), the baselines, and what
-- happened in the horizon_days after as_of.
CREATE FUNCTION salesflow._segments_backtest_rows(tenant bigint, as_of date, horizon_days int, model_name text,
                                                  params float8[], calibration_a float8, calibration_b float8,
                                                  bg_params float8[])
RETURNS TABLE(customer_id bigint, x float8, segment text, churn_risk float8, risk_exp float8,
              recency_days int, expected float8, own_rate float8, spend_model float8, spend_own float8,
              purchases float8, spend float8)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    gg record;
    h float8 := horizon_days / 7.0;   -- weeks
BEGIN
    BEGIN
        SELECT f.* INTO gg FROM (SELECT array_agg(s.x) AS x, array_agg(coalesce(s.avg_repeat_value, 0)) AS v
                                   FROM salesflow._customer_summary(tenant, as_of) s) a,
                                salesflow._gamma_gamma_fit(a.x, a.v) f;
    EXCEPTION WHEN invalid_parameter_value OR data_exception THEN
        gg := NULL;
    END;
    RETURN QUERY
    WITH summary AS (
        SELECT s.*, row_number() OVER (ORDER BY s.customer_id)::int AS ord FROM salesflow._customer_summary(tenant, as_of) s
    ), rfm AS (
        SELECT * FROM salesflow.rfm_scores(
            (SELECT array_agg((as_of - su.last_day)::float8 ORDER BY su.ord) FROM summary su),
            (SELECT array_agg(su.orders::float8 ORDER BY su.ord) FROM summary su),
            (SELECT array_agg(su.net_revenue::float8 ORDER BY su.ord) FROM summary su))
    ), future AS (
        SELECT i.customer_id, count(DISTINCT i.day) FILTER (WHERE NOT i.is_return)::float8 AS purchases,
               sum(i.total)::float8 AS spend
          FROM salesflow.invoices i
         WHERE i.tenant_id = tenant AND i.day > as_of AND i.day <= as_of + horizon_days
         GROUP BY i.customer_id
    ), predicted AS (
        SELECT su.*, rfm.segment,
               salesflow.customer_model_expected(model_name, params, h, su.x, su.t_x, su.t) AS e,
               CASE WHEN gg.p IS NOT NULL AND (gg.q > 1 OR su.x > 0)
                    THEN salesflow.gamma_gamma_expected_value(gg.p, gg.q, gg.gamma, su.x, coalesce(su.avg_repeat_value, 0))
                    ELSE (su.net_revenue / greatest(su.orders, 1))::float8 END AS order_value
          FROM summary su JOIN rfm ON rfm.ord = su.ord
    )
    SELECT p.customer_id, p.x, p.segment,
           salesflow.recalibrate(calibration_a, calibration_b,
               salesflow.customer_model_p_no_purchase(model_name, params, h, p.x, p.t_x, p.t)),
           exp(-salesflow.customer_model_expected('bgnbd', bg_params, h, p.x, p.t_x, p.t)),
           as_of - p.last_day, p.e,
           CASE WHEN p.t > 0 THEN p.x / p.t * h ELSE 0 END,
           p.e * greatest(p.order_value, 0),
           CASE WHEN p.t > 0 THEN p.net_revenue::float8 / p.t * h ELSE 0 END,
           coalesce(f.purchases, 0), coalesce(f.spend, 0)
      FROM predicted p LEFT JOIN future f ON f.customer_id = p.customer_id;
END
$$;
COMMENT ON FUNCTION salesflow._segments_backtest_rows(bigint, date, int, text, float8[], float8, float8, float8[]) IS
    'Internal: per customer at as_of, the chosen model''s churn risk and expected purchases and spend (fitted on data up to as_of), the baselines and the outcome in the next horizon_days.';

CREATE FUNCTION salesflow.backtest_segments(as_of date, horizon_days int DEFAULT 90, tenant text DEFAULT NULL)
RETURNS TABLE(metric text, bucket text, model float8, baseline float8, observed float8, n bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid bigint := salesflow.require_tenant(tenant);
    chosen record;
BEGIN
    IF as_of IS NULL OR horizon_days IS NULL OR horizon_days < 1 THEN
        RAISE EXCEPTION 'backtest_segments needs an as_of day and horizon_days >= 1' USING ERRCODE = '22023';
    END IF;
    DROP TABLE IF EXISTS pg_temp.sf_segments_candidates, pg_temp.sf_segments_backtest;
    CREATE TEMP TABLE sf_segments_candidates ON COMMIT DROP AS
    SELECT * FROM salesflow._customer_model_candidates(tid, as_of, horizon_days);
    SELECT c.* INTO chosen FROM sf_segments_candidates c WHERE c.chosen;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no customer model could be fitted on the tenant''s purchases up to %', as_of USING ERRCODE = '22023';
    END IF;
    CREATE TEMP TABLE sf_segments_backtest ON COMMIT DROP AS
    SELECT r.*, CASE WHEN r.purchases = 0 THEN 1.0 ELSE 0.0 END::float8 AS churned
      FROM salesflow._segments_backtest_rows(tid, as_of, horizon_days, chosen.model, chosen.params,
                                             chosen.calibration_a, chosen.calibration_b, (SELECT c.params FROM sf_segments_candidates c WHERE c.model = 'bgnbd')) r;
    -- the candidates: holdout Brier after / before recalibration, AUC
    RETURN QUERY SELECT 'candidate', c.model || CASE WHEN c.chosen THEN ' (chosen)' ELSE '' END,
                        (c.holdout->>'brier')::float8, (c.holdout->>'brier_raw')::float8, (c.holdout->>'auc')::float8,
                        (c.holdout->>'customers')::bigint
                   FROM sf_segments_candidates c ORDER BY c.model;
    -- churn: AUC (baseline: recency rank), Brier (baselines: the base rate
    -- for everyone; exp(-E[X]) of BG/NBD), reliability by decile of risk,
    -- average risk per RFM segment
    RETURN QUERY SELECT 'customers', chosen.model, NULL::float8, NULL::float8, avg(b.churned), count(*) FROM sf_segments_backtest b;
    RETURN QUERY SELECT 'churn_auc', 'recency', salesflow.auc(array_agg(b.churn_risk), array_agg(b.churned)),
                        salesflow.auc(array_agg(b.recency_days::float8), array_agg(b.churned)), NULL::float8, count(*)
                   FROM sf_segments_backtest b;
    RETURN QUERY SELECT 'churn_brier', 'base rate', avg((b.churn_risk - b.churned) ^ 2),
                        avg(b.churned) * (1 - avg(b.churned)), avg(b.churned), count(*) FROM sf_segments_backtest b;
    RETURN QUERY SELECT 'churn_brier', 'exp(-E[X]) bgnbd', avg((b.churn_risk - b.churned) ^ 2),
                        avg((b.risk_exp - b.churned) ^ 2), avg(b.churned), count(*) FROM sf_segments_backtest b;
    RETURN QUERY SELECT 'churn_reliability', format('%s-%s', round((k - 1) / 10.0, 1), round(k / 10.0, 1)),
                        avg(b.churn_risk), NULL::float8, avg(b.churned), count(*)
                   FROM sf_segments_backtest b, LATERAL (SELECT least(width_bucket(b.churn_risk, 0, 1, 10), 10) AS k) w
                  GROUP BY k ORDER BY k;
    RETURN QUERY SELECT 'churn_by_segment', b.segment, avg(b.churn_risk), NULL::float8, avg(b.churned), count(*)
                   FROM sf_segments_backtest b GROUP BY b.segment ORDER BY avg(b.churn_risk) DESC;
    -- purchases: MAE against the customer's own past rate; the paper's
    -- conditional expectations by calibration frequency (0..6, 7+)
    RETURN QUERY SELECT 'purchases_mae', 'own rate', avg(abs(b.expected - b.purchases)), avg(abs(b.own_rate - b.purchases)),
                        avg(b.purchases), count(*) FROM sf_segments_backtest b;
    RETURN QUERY SELECT 'conditional_expectation', CASE WHEN b.x >= 7 THEN '7+' ELSE b.x::int::text END,
                        avg(b.expected), avg(b.own_rate), avg(b.purchases), count(*)
                   FROM sf_segments_backtest b GROUP BY 2 ORDER BY min(b.x);
    -- spend: predicted (expected purchases x Gamma-Gamma order value) against
    -- the customer's own past spend rate
    RETURN QUERY SELECT 'spend_mae', 'own rate', avg(abs(b.spend_model - b.spend)), avg(abs(b.spend_own - b.spend)),
                        avg(b.spend), count(*) FROM sf_segments_backtest b;
    RETURN QUERY SELECT 'spend_total', 'own rate', sum(b.spend_model), sum(b.spend_own), sum(b.spend), count(*)
                   FROM sf_segments_backtest b;
END
$$;
COMMENT ON FUNCTION salesflow.backtest_segments(date, int, text) IS
    'Fits the customer-base models with data up to as_of (choice and churn recalibration included) and scores the next horizon_days: churn AUC (baseline recency), Brier (baselines base rate and exp(-E[X])), reliability by decile and risk by segment; purchases MAE and conditional expectations by frequency (baseline own past rate); spend.';
