-- orders: predicted next orders (when, how likely, what, how much) and
-- upsell suggestions from association rules, with a lifecycle and a backtest.
--
--   salesflow.refresh_associations()     product pairs bought together (C++,
--                                        bounded memory) -> product_associations,
--                                        and per-customer recommendations;
--   salesflow.refresh_predicted_orders() for each known customer: the next
--                                        order's date, window and probability
--                                        (log-normal gaps shrunk toward the
--                                        tenant's, times P(alive)), items,
--                                        amount, priority -> predicted_orders
--                                        (+ _items); earlier open predictions
--                                        are matched to invoices that arrived;
--   salesflow.backtest_predicted_orders(as_of, horizon_days)
--                                        predicts from data before as_of and
--                                        scores against what happened after,
--                                        next to a simple baseline.

-- ---------------------------------------------------------------------------
-- Pure functions (C++ core: src/core/orders)
-- ---------------------------------------------------------------------------
CREATE FUNCTION salesflow._gap_prior(customer_ids bigint[], days date[],
    OUT mu float8, OUT sigma2 float8, OUT strength float8, OUT dof float8)
RETURNS SETOF record
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_gap_prior';
COMMENT ON FUNCTION salesflow._gap_prior(bigint[], date[]) IS
    'Tenant-wide prior of log inter-order gaps from every customer''s distinct purchase days (customer ids in runs, days sorted).';

CREATE FUNCTION salesflow.next_order(days date[], as_of date, mu float8, sigma2 float8, strength float8, dof float8,
                                     p_alive float8 DEFAULT 1, horizon_days int DEFAULT 30,
                                     window_lo_q float8 DEFAULT 0.25, window_hi_q float8 DEFAULT 0.75,
    OUT expected_gap_days float8, OUT predicted_date date, OUT window_start date, OUT window_end date,
    OUT p_in_window float8, OUT p_within_horizon float8, OUT elapsed_quantile float8)
RETURNS SETOF record
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_next_order';
COMMENT ON FUNCTION salesflow.next_order(date[], date, float8, float8, float8, float8, float8, int, float8, float8) IS
    'Next order of a customer from their distinct purchase days: expected gap, predicted date (conditional median), window (conditional quantiles), P(order in the window) and P(order within horizon_days), each times p_alive; elapsed_quantile says how overdue.';

CREATE FUNCTION salesflow.predict_basket(days date[], product_ids bigint[], quantities float8[], prices float8[],
                                         top_n int DEFAULT 10)
RETURNS TABLE(product_id bigint, probability float8, quantity float8, unit_price float8)
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_predict_basket';
COMMENT ON FUNCTION salesflow.predict_basket(date[], bigint[], float8[], float8[], int) IS
    'Items of a customer''s next order from their order lines (one element per line): probability the product is in the order (recency-weighted share of orders, Beta prior), quantity (median of recent quantities), latest price; top_n by probability (0: all).';

CREATE FUNCTION salesflow.association_rules(basket_ids bigint[], product_ids bigint[], min_support int DEFAULT 2,
                                            min_pair int DEFAULT 2, min_confidence float8 DEFAULT 0.1,
                                            min_lift float8 DEFAULT 1.0, max_pairs bigint DEFAULT 4000000)
RETURNS TABLE(antecedent bigint, consequent bigint, support float8, confidence float8, lift float8, pair_count bigint)
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_association_rules';
COMMENT ON FUNCTION salesflow.association_rules(bigint[], bigint[], int, int, float8, float8, bigint) IS
    'Product pairs bought together: one element per basket line (basket ids in runs); rules antecedent -> consequent with support, confidence and lift. Memory is bounded by max_pairs (the item threshold rises when the pair table would exceed it).';

CREATE FUNCTION salesflow.fit_recalibration(predicted float8[], outcome float8[], OUT a float8, OUT b float8)
RETURNS SETOF record
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_fit_recalibration';
COMMENT ON FUNCTION salesflow.fit_recalibration(float8[], float8[]) IS
    'Logistic recalibration of probabilities against 0/1 outcomes: logit p'' = a + b logit p (Platt scaling on the logit, lightly regularised).';

CREATE FUNCTION salesflow.recalibrate(a float8, b float8, p float8) RETURNS float8
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_recalibrate';
COMMENT ON FUNCTION salesflow.recalibrate(float8, float8, float8) IS 'Applies a recalibration (a, b) to a probability.';

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------
CREATE TABLE salesflow.order_preferences (
    tenant_id      bigint      NOT NULL DEFAULT salesflow.current_tenant_id()
                               REFERENCES salesflow.tenants ON DELETE CASCADE,
    customer_id    bigint      NOT NULL,
    auto_approve   boolean     NOT NULL DEFAULT false,
    frequency_days int,
    paused         boolean     NOT NULL DEFAULT false,
    note           text,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, customer_id),
    CONSTRAINT order_preferences_frequency_check CHECK (frequency_days IS NULL OR frequency_days BETWEEN 1 AND 3650)
);
COMMENT ON TABLE salesflow.order_preferences IS
    'A customer''s own settings for predicted orders: approve automatically, a preferred order frequency, or pause predictions.';
COMMENT ON COLUMN salesflow.order_preferences.customer_id IS 'Customer.';
COMMENT ON COLUMN salesflow.order_preferences.auto_approve IS 'New predictions for this customer start as approved.';
COMMENT ON COLUMN salesflow.order_preferences.frequency_days IS 'Preferred days between orders; when set, the predicted date is the last order plus this many days.';
COMMENT ON COLUMN salesflow.order_preferences.paused IS 'No predictions for this customer.';
COMMENT ON COLUMN salesflow.order_preferences.note IS 'Free text.';
COMMENT ON COLUMN salesflow.order_preferences.updated_at IS 'Last change.';
SELECT salesflow._tenant_table('salesflow.order_preferences');

CREATE SEQUENCE salesflow.predicted_orders_prediction_id_seq AS bigint;
CREATE TABLE salesflow.predicted_orders (
    tenant_id          bigint      NOT NULL REFERENCES salesflow.tenants ON DELETE CASCADE,
    prediction_id      bigint      NOT NULL DEFAULT nextval('salesflow.predicted_orders_prediction_id_seq'),
    customer_id        bigint      NOT NULL,
    as_of              date        NOT NULL,
    predicted_date     date        NOT NULL,
    window_start       date        NOT NULL,
    window_end         date        NOT NULL,
    confidence         float8      NOT NULL,
    p_within_horizon   float8      NOT NULL,
    horizon_days       int         NOT NULL,
    expected_gap_days  float8      NOT NULL,
    overdue            float8      NOT NULL,
    priority           text        NOT NULL,
    expected_amount    numeric(18,2) NOT NULL DEFAULT 0,
    status             text        NOT NULL DEFAULT 'pending',
    status_changed_at  timestamptz NOT NULL DEFAULT now(),
    matched_invoice_id bigint,
    predicted_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, prediction_id),
    CONSTRAINT predicted_orders_status_check CHECK (status IN ('pending', 'approved', 'dismissed', 'fulfilled', 'missed')),
    CONSTRAINT predicted_orders_priority_check CHECK (priority IN ('high', 'medium', 'low')),
    CONSTRAINT predicted_orders_confidence_check CHECK (confidence BETWEEN 0 AND 1)
);
ALTER SEQUENCE salesflow.predicted_orders_prediction_id_seq OWNED BY salesflow.predicted_orders.prediction_id;
CREATE UNIQUE INDEX predicted_orders_open_idx ON salesflow.predicted_orders (tenant_id, customer_id)
    WHERE status IN ('pending', 'approved');
COMMENT ON TABLE salesflow.predicted_orders IS
    'The predicted next order of each customer: date and window, the probability of an order in the window, priority and amount; lifecycle pending -> approved / dismissed, then fulfilled (an invoice in the window) or missed (window passed).';
COMMENT ON COLUMN salesflow.predicted_orders.as_of IS 'Last day of data the prediction was made from.';
COMMENT ON COLUMN salesflow.predicted_orders.predicted_date IS 'Most likely day of the next order (median of the remaining gap).';
COMMENT ON COLUMN salesflow.predicted_orders.window_start IS 'Start of the window (25% quantile of the next order day).';
COMMENT ON COLUMN salesflow.predicted_orders.window_end IS 'End of the window (75% quantile).';
COMMENT ON COLUMN salesflow.predicted_orders.confidence IS 'Probability that the customer orders within the window (calibrated; includes the chance the customer has churned).';
COMMENT ON COLUMN salesflow.predicted_orders.p_within_horizon IS 'Probability of an order within horizon_days after as_of.';
COMMENT ON COLUMN salesflow.predicted_orders.horizon_days IS 'Horizon of p_within_horizon.';
COMMENT ON COLUMN salesflow.predicted_orders.expected_gap_days IS 'Expected days between this customer''s orders.';
COMMENT ON COLUMN salesflow.predicted_orders.overdue IS 'How overdue the customer is: share of gaps shorter than the time since the last order (0 = just ordered, near 1 = long overdue).';
COMMENT ON COLUMN salesflow.predicted_orders.priority IS 'high / medium / low by expected value = amount x confidence x (1 + overdue): top 20%, next 30%, rest.';
COMMENT ON COLUMN salesflow.predicted_orders.expected_amount IS 'Sum of the predicted items'' amounts weighted by their probability.';
COMMENT ON COLUMN salesflow.predicted_orders.status IS 'pending, approved, dismissed, fulfilled or missed.';
COMMENT ON COLUMN salesflow.predicted_orders.status_changed_at IS 'When the status last changed.';
COMMENT ON COLUMN salesflow.predicted_orders.matched_invoice_id IS 'The invoice that fulfilled the prediction.';
COMMENT ON COLUMN salesflow.predicted_orders.predicted_at IS 'When the prediction was made.';
COMMENT ON COLUMN salesflow.predicted_orders.customer_id IS 'Customer.';
COMMENT ON COLUMN salesflow.predicted_orders.prediction_id IS 'Prediction id.';
SELECT salesflow._tenant_table('salesflow.predicted_orders');
SELECT pg_catalog.pg_extension_config_dump('salesflow.predicted_orders_prediction_id_seq', '');
GRANT USAGE ON SEQUENCE salesflow.predicted_orders_prediction_id_seq TO salesflow_writer;

CREATE TABLE salesflow.predicted_order_items (
    tenant_id     bigint        NOT NULL,
    prediction_id bigint        NOT NULL,
    product_id    bigint        NOT NULL,
    probability   float8        NOT NULL,
    quantity      numeric(16,3) NOT NULL,
    unit_price    numeric(16,4) NOT NULL,
    is_addon      boolean       NOT NULL DEFAULT false,
    reason        text,
    PRIMARY KEY (tenant_id, prediction_id, product_id),
    FOREIGN KEY (tenant_id, prediction_id) REFERENCES salesflow.predicted_orders ON DELETE CASCADE
);
COMMENT ON TABLE salesflow.predicted_order_items IS
    'Items of a predicted order: the customer''s likely repeat items with probability, quantity and latest price, and add-on suggestions with their reason.';
COMMENT ON COLUMN salesflow.predicted_order_items.probability IS 'Probability the item is in the order, given an order.';
COMMENT ON COLUMN salesflow.predicted_order_items.quantity IS 'Predicted quantity (median of recent quantities).';
COMMENT ON COLUMN salesflow.predicted_order_items.unit_price IS 'Latest unit price.';
COMMENT ON COLUMN salesflow.predicted_order_items.is_addon IS 'An upsell suggestion rather than a repeat item.';
COMMENT ON COLUMN salesflow.predicted_order_items.reason IS 'Why an add-on is suggested (bought with X in N% of baskets, lift L).';
COMMENT ON COLUMN salesflow.predicted_order_items.product_id IS 'Product.';
COMMENT ON COLUMN salesflow.predicted_order_items.prediction_id IS 'Prediction.';
SELECT salesflow._tenant_table('salesflow.predicted_order_items');

-- ---------------------------------------------------------------------------
-- Prediction
-- ---------------------------------------------------------------------------
-- Distinct purchase days per known customer up to as_of (orders, not returns).
CREATE FUNCTION salesflow._purchase_days(tenant bigint, as_of date)
RETURNS TABLE(customer_id bigint, days date[])
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT i.customer_id, array_agg(DISTINCT i.day ORDER BY i.day)
      FROM salesflow.invoices i JOIN salesflow.customers c ON c.tenant_id = i.tenant_id AND c.customer_id = i.customer_id
     WHERE i.tenant_id = tenant AND NOT i.is_return AND NOT c.is_anonymous AND i.day <= as_of
     GROUP BY i.customer_id
$$;
COMMENT ON FUNCTION salesflow._purchase_days(bigint, date) IS 'Internal: distinct purchase days of each known customer up to as_of.';

-- Next-order timing for every customer at as_of (no side effects): the
-- building block of refresh_predicted_orders and of the backtest.
CREATE FUNCTION salesflow._predict_timing(tenant bigint, as_of date, horizon_days int)
RETURNS TABLE(customer_id bigint, last_day date, orders int, p_alive float8, expected_gap_days float8,
              predicted_date date, window_start date, window_end date, confidence float8,
              p_within_horizon float8, overdue float8)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    prior record;
    model salesflow.clv_models;
BEGIN
    -- no customer with two purchase days yet: no gaps to learn from, no predictions
    BEGIN
        SELECT g.* INTO prior
          FROM (SELECT array_agg(p.customer_id ORDER BY p.customer_id, d.day) AS ids,
                       array_agg(d.day ORDER BY p.customer_id, d.day) AS days
                  FROM salesflow._purchase_days(tenant, as_of) p, unnest(p.days) AS d(day)) a,
               salesflow._gap_prior(a.ids, a.days) g;
    EXCEPTION WHEN invalid_parameter_value THEN
        RETURN;
    END;
    IF prior.mu IS NULL THEN
        RETURN;
    END IF;
    -- P(alive) from a BG/NBD fit on the same data (weeks); 1 when it cannot be fitted
    BEGIN
        SELECT f.r, f.alpha, f.a, f.b INTO model.r, model.alpha, model.a, model.b
          FROM (SELECT array_agg(s.x ORDER BY s.customer_id) AS x, array_agg(s.t_x ORDER BY s.customer_id) AS t_x,
                       array_agg(s.t ORDER BY s.customer_id) AS t
                  FROM salesflow._customer_summary(tenant, as_of) s) a,
               salesflow._bgnbd_fit(a.x, a.t_x, a.t) f;
    EXCEPTION WHEN invalid_parameter_value OR data_exception THEN
        model.r := NULL;
    END;
    RETURN QUERY
    SELECT p.customer_id, p.days[cardinality(p.days)], cardinality(p.days),
           coalesce(CASE WHEN model.r IS NOT NULL
                         THEN salesflow.bgnbd_p_alive(model.r, model.alpha, model.a, model.b, s.x, s.t_x, s.t) END, 1),
           n.expected_gap_days, n.predicted_date, n.window_start, n.window_end, n.p_in_window, n.p_within_horizon,
           n.elapsed_quantile
      FROM salesflow._purchase_days(tenant, as_of) p
      JOIN salesflow._customer_summary(tenant, as_of) s ON s.customer_id = p.customer_id
     CROSS JOIN LATERAL salesflow.next_order(
            p.days, as_of, prior.mu, prior.sigma2, prior.strength, prior.dof,
            coalesce(CASE WHEN model.r IS NOT NULL
                          THEN salesflow.bgnbd_p_alive(model.r, model.alpha, model.a, model.b, s.x, s.t_x, s.t) END, 1),
            horizon_days) n;
END
$$;
COMMENT ON FUNCTION salesflow._predict_timing(bigint, date, int) IS
    'Internal: next-order timing of every known customer from data up to as_of (tenant gap prior, BG/NBD P(alive)).';

-- The timing model over-predicts on real data (one-time buyers keep
-- P(alive) = 1 under BG/NBD), so its probabilities are recalibrated on the
-- tenant's own history: the same predictions made 30, 60 and 90 days before
-- as_of are compared with what happened in the horizon after each cut-off.
-- Identity (a 0, b 1) when there are fewer than 50 such predictions or no
-- outcome of either kind.
CREATE FUNCTION salesflow._order_recalibration(tenant bigint, as_of date, horizon_days int,
                                               OUT a float8, OUT b float8, OUT n int)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ps float8[];
    ys float8[];
BEGIN
    SELECT array_agg(t.p_within_horizon), array_agg(CASE WHEN EXISTS (
               SELECT 1 FROM salesflow.invoices i
                WHERE i.tenant_id = tenant AND i.customer_id = t.customer_id AND NOT i.is_return
                  AND i.day > c.cutoff AND i.day <= c.cutoff + horizon_days) THEN 1.0 ELSE 0.0 END)
      INTO ps, ys
      FROM (SELECT as_of - 30 * k AS cutoff FROM generate_series(1, 3) k) c
     CROSS JOIN LATERAL salesflow._predict_timing(tenant, c.cutoff, horizon_days) t
     WHERE c.cutoff + horizon_days <= as_of;
    n := coalesce(cardinality(ps), 0);
    IF n < 50 OR NOT (1.0 = ANY (ys)) OR NOT (0.0 = ANY (ys)) THEN
        a := 0; b := 1;
        RETURN;
    END IF;
    SELECT f.a, f.b INTO a, b FROM salesflow.fit_recalibration(ps, ys) f;
END
$$;
COMMENT ON FUNCTION salesflow._order_recalibration(bigint, date, int) IS
    'Internal: logistic recalibration of next-order probabilities fitted on predictions made 30, 60 and 90 days before as_of.';

-- Open predictions meet the invoices that arrived: fulfilled when the
-- customer ordered after the prediction's as_of and by the window's end,
-- missed when the tenant's data has passed the window's end without one.
CREATE FUNCTION salesflow._match_predictions(tenant bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    data_end date := (SELECT max(i.day) FROM salesflow.invoices i WHERE i.tenant_id = tenant);
    n bigint;
    m bigint;
BEGIN
    UPDATE salesflow.predicted_orders po
       SET status = 'fulfilled', status_changed_at = now(), matched_invoice_id = hit.invoice_id
      FROM (SELECT DISTINCT ON (p.prediction_id) p.prediction_id, i.invoice_id
              FROM salesflow.predicted_orders p
              JOIN salesflow.invoices i ON i.tenant_id = p.tenant_id AND i.customer_id = p.customer_id
                                       AND NOT i.is_return AND i.day > p.as_of AND i.day <= p.window_end
             WHERE p.tenant_id = tenant AND p.status IN ('pending', 'approved')
             ORDER BY p.prediction_id, i.day, i.invoice_id) hit
     WHERE po.tenant_id = tenant AND po.prediction_id = hit.prediction_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE salesflow.predicted_orders po SET status = 'missed', status_changed_at = now()
     WHERE po.tenant_id = tenant AND po.status IN ('pending', 'approved') AND po.window_end < data_end;
    GET DIAGNOSTICS m = ROW_COUNT;
    RETURN n + m;
END
$$;
COMMENT ON FUNCTION salesflow._match_predictions(bigint) IS
    'Internal: marks open predictions fulfilled (an order arrived by the window''s end) or missed (the data passed the window''s end).';

CREATE FUNCTION salesflow.approve_predicted_order(prediction_id bigint) RETURNS salesflow.predicted_orders
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    po salesflow.predicted_orders;
BEGIN
    UPDATE salesflow.predicted_orders p SET status = 'approved', status_changed_at = now()
     WHERE p.prediction_id = approve_predicted_order.prediction_id AND p.status = 'pending'
    RETURNING * INTO po;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no pending predicted order %', prediction_id
            USING ERRCODE = '55000', HINT = 'Only pending predictions of your tenant can be approved.';
    END IF;
    RETURN po;
END
$$;
COMMENT ON FUNCTION salesflow.approve_predicted_order(bigint) IS 'Approves a pending predicted order (error 55000 if it is not pending or not visible).';

CREATE FUNCTION salesflow.dismiss_predicted_order(prediction_id bigint) RETURNS salesflow.predicted_orders
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    po salesflow.predicted_orders;
BEGIN
    UPDATE salesflow.predicted_orders p SET status = 'dismissed', status_changed_at = now()
     WHERE p.prediction_id = dismiss_predicted_order.prediction_id AND p.status IN ('pending', 'approved')
    RETURNING * INTO po;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no open predicted order %', prediction_id
            USING ERRCODE = '55000', HINT = 'Only pending or approved predictions of your tenant can be dismissed.';
    END IF;
    RETURN po;
END
$$;
COMMENT ON FUNCTION salesflow.dismiss_predicted_order(bigint) IS 'Dismisses an open predicted order (error 55000 if it is not open or not visible).';

-- ---------------------------------------------------------------------------
-- Upsell: association rules and per-customer recommendations
-- ---------------------------------------------------------------------------
CREATE TABLE salesflow.product_associations (
    tenant_id   bigint      NOT NULL REFERENCES salesflow.tenants ON DELETE CASCADE,
    antecedent  bigint      NOT NULL,
    consequent  bigint      NOT NULL,
    support     float8      NOT NULL,
    confidence  float8      NOT NULL,
    lift        float8      NOT NULL,
    pair_count  bigint      NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, antecedent, consequent)
);
COMMENT ON TABLE salesflow.product_associations IS
    'Association rules over invoices: customers who buy the antecedent also buy the consequent (support, confidence, lift).';
COMMENT ON COLUMN salesflow.product_associations.antecedent IS 'Product bought.';
COMMENT ON COLUMN salesflow.product_associations.consequent IS 'Product bought with it.';
COMMENT ON COLUMN salesflow.product_associations.support IS 'Share of baskets holding both.';
COMMENT ON COLUMN salesflow.product_associations.confidence IS 'Share of baskets with the antecedent that also hold the consequent.';
COMMENT ON COLUMN salesflow.product_associations.lift IS 'Confidence divided by the consequent''s own share of baskets (above 1: bought together more than by chance).';
COMMENT ON COLUMN salesflow.product_associations.pair_count IS 'Baskets holding both.';
COMMENT ON COLUMN salesflow.product_associations.computed_at IS 'When the rules were mined.';
SELECT salesflow._tenant_table('salesflow.product_associations');

CREATE TABLE salesflow.recommendations (
    tenant_id   bigint      NOT NULL REFERENCES salesflow.tenants ON DELETE CASCADE,
    customer_id bigint      NOT NULL,
    product_id  bigint      NOT NULL,
    rank        int         NOT NULL,
    score       float8      NOT NULL,
    because_of  bigint      NOT NULL,
    reason      text        NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, customer_id, product_id)
);
COMMENT ON TABLE salesflow.recommendations IS
    'Per customer, products they do not buy yet that are strongly associated with what they buy, with the reason.';
COMMENT ON COLUMN salesflow.recommendations.customer_id IS 'Customer.';
COMMENT ON COLUMN salesflow.recommendations.product_id IS 'Suggested product.';
COMMENT ON COLUMN salesflow.recommendations.rank IS '1 = strongest suggestion.';
COMMENT ON COLUMN salesflow.recommendations.score IS 'Lift x confidence of the rule behind it.';
COMMENT ON COLUMN salesflow.recommendations.because_of IS 'Product the customer buys that the rule starts from.';
COMMENT ON COLUMN salesflow.recommendations.reason IS 'Bought with X in N% of baskets, lift L.';
COMMENT ON COLUMN salesflow.recommendations.computed_at IS 'When computed.';
SELECT salesflow._tenant_table('salesflow.recommendations');

CREATE FUNCTION salesflow.refresh_associations(tenant text DEFAULT NULL, top_n int DEFAULT 5) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET work_mem = '256MB'
AS $$
DECLARE
    tid bigint := salesflow.require_tenant(tenant);
    min_support int := (salesflow._tenant_setting(tid, 'orders.min_support', '5') #>> '{}')::int;
    min_confidence float8 := (salesflow._tenant_setting(tid, 'orders.min_confidence', '0.2') #>> '{}')::float8;
    min_lift float8 := (salesflow._tenant_setting(tid, 'orders.min_lift', '2') #>> '{}')::float8;
    n bigint;
BEGIN
    DELETE FROM salesflow.product_associations a WHERE a.tenant_id = tid;
    INSERT INTO salesflow.product_associations (tenant_id, antecedent, consequent, support, confidence, lift, pair_count)
    SELECT tid, r.antecedent, r.consequent, r.support, r.confidence, r.lift, r.pair_count
      FROM (SELECT array_agg(b.invoice_id ORDER BY b.invoice_id) AS baskets,
                   array_agg(b.product_id ORDER BY b.invoice_id) AS products
              FROM (SELECT DISTINCT it.invoice_id, it.product_id FROM salesflow.invoice_items it
                     WHERE it.tenant_id = tid AND NOT it.is_return AND NOT it.non_product) b) a,
           salesflow.association_rules(a.baskets, a.products, min_support, min_support, min_confidence, min_lift) r;
    GET DIAGNOSTICS n = ROW_COUNT;

    DELETE FROM salesflow.recommendations r WHERE r.tenant_id = tid;
    IF to_regclass('pg_temp.sf_owned') IS NOT NULL THEN
        DROP TABLE sf_owned;
    END IF;
    CREATE TEMP TABLE sf_owned ON COMMIT DROP AS
    SELECT DISTINCT i.customer_id, it.product_id
      FROM salesflow.invoice_items it
      JOIN salesflow.invoices i ON i.tenant_id = it.tenant_id AND i.invoice_id = it.invoice_id
      JOIN salesflow.customers c ON c.tenant_id = i.tenant_id AND c.customer_id = i.customer_id
     WHERE it.tenant_id = tid AND NOT it.is_return AND NOT c.is_anonymous;
    CREATE INDEX ON sf_owned (customer_id, product_id);
    ANALYZE sf_owned;
    WITH owned AS (SELECT * FROM sf_owned    ), candidates AS (
        SELECT DISTINCT ON (o.customer_id, a.consequent) o.customer_id, a.consequent AS product_id,
               a.lift * a.confidence AS score, a.antecedent, a.confidence, a.lift
          FROM owned o JOIN salesflow.product_associations a ON a.tenant_id = tid AND a.antecedent = o.product_id
         WHERE NOT EXISTS (SELECT 1 FROM sf_owned x WHERE x.customer_id = o.customer_id AND x.product_id = a.consequent)
         ORDER BY o.customer_id, a.consequent, a.lift * a.confidence DESC, a.antecedent
    ), ranked AS (
        SELECT c.*, row_number() OVER (PARTITION BY c.customer_id ORDER BY c.score DESC, c.product_id) AS rank
          FROM candidates c
    )
    INSERT INTO salesflow.recommendations (tenant_id, customer_id, product_id, rank, score, because_of, reason)
    SELECT tid, r.customer_id, r.product_id, r.rank, r.score, r.antecedent,
           format('bought with %s in %s%% of its baskets, lift %s',
                  coalesce(p.name, p.sku), round((100 * r.confidence)::numeric), round(r.lift::numeric, 1))
      FROM ranked r JOIN salesflow.products p ON p.tenant_id = tid AND p.product_id = r.antecedent
     WHERE r.rank <= top_n;
    RETURN n;
END
$$;
COMMENT ON FUNCTION salesflow.refresh_associations(text, int) IS
    'Mines association rules over the tenant''s invoices (settings orders.min_support, orders.min_confidence, orders.min_lift) and the top_n recommendations per customer; returns the number of rules.';

-- ---------------------------------------------------------------------------
-- Predicted orders
-- ---------------------------------------------------------------------------
CREATE FUNCTION salesflow.refresh_predicted_orders(tenant text DEFAULT NULL, horizon_days int DEFAULT 30,
                                                   only_changed boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid bigint := salesflow.require_tenant(tenant);
    v_as_of date := (SELECT max(i.day) FROM salesflow.invoices i WHERE i.tenant_id = tid);
    n bigint;
    cal record;
BEGIN
    IF v_as_of IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM salesflow._match_predictions(tid);
    IF only_changed AND NOT EXISTS (
        SELECT 1 FROM salesflow.customers c
         WHERE c.tenant_id = tid AND NOT c.is_anonymous
           AND c.changed_at > coalesce((SELECT max(po.predicted_at) FROM salesflow.predicted_orders po
                                         WHERE po.tenant_id = tid), '-infinity')) THEN
        RETURN 0;
    END IF;
    -- pending predictions are replaced; approved ones stay until matched
    DELETE FROM salesflow.predicted_orders po WHERE po.tenant_id = tid AND po.status = 'pending';

    IF to_regclass('pg_temp.sf_timing') IS NOT NULL THEN
        DROP TABLE sf_timing;
    END IF;
    SELECT * INTO cal FROM salesflow._order_recalibration(tid, v_as_of, horizon_days);
    CREATE TEMP TABLE sf_timing ON COMMIT DROP AS
    SELECT t.customer_id, t.last_day, t.orders, t.p_alive, t.expected_gap_days, t.predicted_date, t.window_start,
           t.window_end, salesflow.recalibrate(cal.a, cal.b, t.confidence) AS confidence,
           salesflow.recalibrate(cal.a, cal.b, t.p_within_horizon) AS p_within_horizon, t.overdue,
           pref.frequency_days, coalesce(pref.auto_approve, false) AS auto_approve
      FROM salesflow._predict_timing(tid, v_as_of, horizon_days) t
      LEFT JOIN salesflow.order_preferences pref ON pref.tenant_id = tid AND pref.customer_id = t.customer_id
     WHERE NOT coalesce(pref.paused, false)
       AND NOT EXISTS (SELECT 1 FROM salesflow.predicted_orders po
                        WHERE po.tenant_id = tid AND po.customer_id = t.customer_id AND po.status = 'approved');

    WITH lines AS (
        SELECT i.customer_id, i.day, it.product_id, it.quantity::float8 AS quantity, it.unit_price::float8 AS unit_price
          FROM salesflow.invoice_items it
          JOIN salesflow.invoices i ON i.tenant_id = it.tenant_id AND i.invoice_id = it.invoice_id
         WHERE it.tenant_id = tid AND NOT it.is_return AND NOT it.non_product
           AND i.customer_id IN (SELECT customer_id FROM sf_timing)
    ), items AS (
        SELECT l.customer_id, b.*
          FROM (SELECT customer_id, array_agg(day ORDER BY day) AS days, array_agg(product_id ORDER BY day) AS products,
                       array_agg(quantity ORDER BY day) AS quantities, array_agg(unit_price ORDER BY day) AS prices
                  FROM lines GROUP BY customer_id) l
         CROSS JOIN LATERAL salesflow.predict_basket(l.days, l.products, l.quantities, l.prices, 10) b
    ), amounts AS (
        SELECT customer_id, sum(probability * quantity * unit_price) AS amount FROM items GROUP BY customer_id
    ), scored AS (
        SELECT t.*, coalesce(a.amount, 0) AS amount,
               coalesce(a.amount, 0) * t.confidence * (1 + t.overdue) AS value
          FROM sf_timing t LEFT JOIN amounts a USING (customer_id)
    ), ranked AS (
        SELECT s.*, percent_rank() OVER (ORDER BY s.value DESC) AS pr FROM scored s
    ), inserted AS (
        INSERT INTO salesflow.predicted_orders (tenant_id, customer_id, as_of, predicted_date, window_start, window_end,
                                                confidence, p_within_horizon, horizon_days, expected_gap_days, overdue,
                                                priority, expected_amount, status)
        SELECT tid, r.customer_id, v_as_of,
               CASE WHEN r.frequency_days IS NULL THEN r.predicted_date
                    ELSE greatest(r.last_day + r.frequency_days, v_as_of + 1) END,
               r.window_start, r.window_end, r.confidence, r.p_within_horizon, horizon_days, r.expected_gap_days,
               r.overdue, CASE WHEN r.pr < 0.2 THEN 'high' WHEN r.pr < 0.5 THEN 'medium' ELSE 'low' END,
               round(r.amount::numeric, 2), CASE WHEN r.auto_approve THEN 'approved' ELSE 'pending' END
          FROM ranked r
        RETURNING prediction_id, customer_id
    ), repeat_items AS (
        INSERT INTO salesflow.predicted_order_items (tenant_id, prediction_id, product_id, probability, quantity, unit_price)
        SELECT tid, ins.prediction_id, it.product_id, it.probability, it.quantity, it.unit_price
          FROM inserted ins JOIN items it ON it.customer_id = ins.customer_id
        RETURNING prediction_id, product_id
    )
    -- add-ons: the customer's top three recommendations, with the reason
    INSERT INTO salesflow.predicted_order_items (tenant_id, prediction_id, product_id, probability, quantity,
                                                 unit_price, is_addon, reason)
    SELECT tid, ins.prediction_id, rc.product_id, 0, 1, coalesce(p.last_price, 0), true, rc.reason
      FROM inserted ins
      JOIN salesflow.recommendations rc ON rc.tenant_id = tid AND rc.customer_id = ins.customer_id AND rc.rank <= 3
      JOIN salesflow.products p ON p.tenant_id = tid AND p.product_id = rc.product_id
     WHERE NOT EXISTS (SELECT 1 FROM items it WHERE it.customer_id = ins.customer_id AND it.product_id = rc.product_id);
    SELECT count(*) INTO n FROM salesflow.predicted_orders po
     WHERE po.tenant_id = tid AND po.as_of = v_as_of AND po.status IN ('pending', 'approved');
    RETURN n;
END
$$;
COMMENT ON FUNCTION salesflow.refresh_predicted_orders(text, int, boolean) IS
    'Matches open predictions to arrived invoices, then predicts every known customer''s next order (date, window, confidence, items, amount, priority, add-ons); customers'' preferences apply. Returns the number of open predictions.';

-- ---------------------------------------------------------------------------
-- Backtest
-- ---------------------------------------------------------------------------
CREATE FUNCTION salesflow.backtest_predicted_orders(as_of date, horizon_days int DEFAULT 30, tenant text DEFAULT NULL)
RETURNS TABLE(metric text, bucket text, model float8, baseline float8, observed float8, n bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid bigint := salesflow.require_tenant(tenant);
    cal record;
BEGIN
    SELECT * INTO cal FROM salesflow._order_recalibration(tid, as_of, horizon_days);
    IF to_regclass('pg_temp.sf_backtest') IS NOT NULL THEN
        DROP TABLE sf_backtest;
    END IF;
    -- model: recalibrated P(order within the horizon); baseline: the customer
    -- orders exactly at their average gap (1 if last day + average gap falls
    -- in the horizon or is already past, else 0)
    CREATE TEMP TABLE sf_backtest ON COMMIT DROP AS
    SELECT t.customer_id, salesflow.recalibrate(cal.a, cal.b, t.p_within_horizon) AS p,
           CASE WHEN t.orders < 2 THEN 0.0::float8
                WHEN t.last_day + ceil((t.last_day - d.first_day) / (t.orders - 1.0))::int <= as_of + horizon_days THEN 1.0::float8
                ELSE 0.0::float8 END AS p_base,
           CASE WHEN EXISTS (SELECT 1 FROM salesflow.invoices i
                              WHERE i.tenant_id = tid AND i.customer_id = t.customer_id AND NOT i.is_return
                                AND i.day > as_of AND i.day <= as_of + horizon_days) THEN 1.0::float8 ELSE 0.0::float8 END AS y
      FROM salesflow._predict_timing(tid, as_of, horizon_days) t
      JOIN (SELECT p.customer_id, p.days[1] AS first_day FROM salesflow._purchase_days(tid, as_of) p) d USING (customer_id);

    RETURN QUERY SELECT 'customers'::text, NULL::text, avg(b.p)::float8, avg(b.p_base)::float8, avg(b.y)::float8, count(*) FROM sf_backtest b;
    RETURN QUERY SELECT 'brier', NULL, avg((b.p - b.y) ^ 2), avg((b.p_base - b.y) ^ 2), NULL::float8, count(*) FROM sf_backtest b;
    RETURN QUERY SELECT 'hit_rate (p >= 0.5)', NULL, avg(b.y) FILTER (WHERE b.p >= 0.5), avg(b.y) FILTER (WHERE b.p_base >= 0.5),
                        NULL::float8, count(*) FILTER (WHERE b.p >= 0.5) FROM sf_backtest b;
    RETURN QUERY SELECT 'reliability', format('%s-%s', round((k - 1) / 10.0, 1), round(k / 10.0, 1)), avg(b.p), NULL::float8, avg(b.y), count(*)
                   FROM sf_backtest b, LATERAL (SELECT least(width_bucket(b.p, 0, 1, 10), 10) AS k) w
                  GROUP BY k ORDER BY k;
    RETURN QUERY SELECT 'recalibration', format('a %s, b %s from %s earlier predictions', round(cal.a::numeric, 3),
                                                round(cal.b::numeric, 3), cal.n), cal.a, cal.b, NULL::float8, cal.n::bigint;

    -- items and amount of the first order after as_of, for customers who ordered
    RETURN QUERY
    WITH buyers AS (
        SELECT b.customer_id, (SELECT min(i.day) FROM salesflow.invoices i
                                WHERE i.tenant_id = tid AND i.customer_id = b.customer_id AND NOT i.is_return
                                  AND i.day > as_of AND i.day <= as_of + horizon_days) AS next_day
          FROM sf_backtest b WHERE b.y = 1
    ), history AS (
        SELECT i.customer_id, i.day, it.product_id, it.quantity::float8 AS quantity, it.unit_price::float8 AS unit_price,
               it.line_total
          FROM salesflow.invoice_items it
          JOIN salesflow.invoices i ON i.tenant_id = it.tenant_id AND i.invoice_id = it.invoice_id
         WHERE it.tenant_id = tid AND NOT it.is_return AND NOT it.non_product AND i.day <= as_of
           AND i.customer_id IN (SELECT customer_id FROM buyers)
    ), actual AS (
        SELECT bu.customer_id, array_agg(DISTINCT it.product_id) AS products, sum(it.line_total) AS amount
          FROM buyers bu
          JOIN salesflow.invoices i ON i.tenant_id = tid AND i.customer_id = bu.customer_id AND i.day = bu.next_day AND NOT i.is_return
          JOIN salesflow.invoice_items it ON it.tenant_id = tid AND it.invoice_id = i.invoice_id AND NOT it.non_product
         GROUP BY bu.customer_id
    ), predicted AS (
        SELECT h.customer_id,
               (SELECT array_agg(x.product_id ORDER BY x.probability DESC, x.product_id)
                  FROM salesflow.predict_basket(array_agg(h.day ORDER BY h.day), array_agg(h.product_id ORDER BY h.day),
                                                array_agg(h.quantity ORDER BY h.day), array_agg(h.unit_price ORDER BY h.day), 5) x) AS top5,
               (SELECT sum(x.probability * x.quantity * x.unit_price)
                  FROM salesflow.predict_basket(array_agg(h.day ORDER BY h.day), array_agg(h.product_id ORDER BY h.day),
                                                array_agg(h.quantity ORDER BY h.day), array_agg(h.unit_price ORDER BY h.day), 0) x) AS amount
          FROM history h GROUP BY h.customer_id
    ), usual_amount AS (
        -- the customer's average spend per purchase day, computed once per customer
        SELECT h.customer_id, sum(h.line_total) / count(DISTINCT h.day) AS amount FROM history h GROUP BY h.customer_id
    ), usual AS (
        SELECT f.customer_id, array_agg(f.product_id ORDER BY f.days DESC, f.product_id) FILTER (WHERE f.rk <= 5) AS top5,
               max(ua.amount) AS amount
          FROM (SELECT h.customer_id, h.product_id, count(DISTINCT h.day) AS days,
                       row_number() OVER (PARTITION BY h.customer_id ORDER BY count(DISTINCT h.day) DESC, h.product_id) AS rk
                  FROM history h GROUP BY h.customer_id, h.product_id) f
          JOIN usual_amount ua USING (customer_id)
         GROUP BY f.customer_id
    ), scored AS (
        SELECT a.customer_id,
               (SELECT count(*) FROM unnest(p.top5) x WHERE x = ANY (a.products))::float8 / 5 AS prec_model,
               (SELECT count(*) FROM unnest(u.top5) x WHERE x = ANY (a.products))::float8 / 5 AS prec_base,
               (SELECT count(*) FROM unnest(p.top5) x WHERE x = ANY (a.products))::float8 / cardinality(a.products) AS rec_model,
               (SELECT count(*) FROM unnest(u.top5) x WHERE x = ANY (a.products))::float8 / cardinality(a.products) AS rec_base,
               abs(coalesce(p.amount, 0) - a.amount::float8) AS err_model,
               abs(coalesce(u.amount, 0)::float8 - a.amount::float8) AS err_base
          FROM actual a JOIN predicted p USING (customer_id) JOIN usual u USING (customer_id)
    )
    SELECT m.metric, NULL::text, avg(m.model), avg(m.base), NULL::float8, count(*)
      FROM scored s, LATERAL (VALUES ('precision@5', s.prec_model, s.prec_base), ('recall@5', s.rec_model, s.rec_base),
                                     ('amount_mae', s.err_model, s.err_base)) m(metric, model, base)
     GROUP BY m.metric ORDER BY m.metric;
END
$$;
COMMENT ON FUNCTION salesflow.backtest_predicted_orders(date, int, text) IS
    'Predicts from data up to as_of and scores against the horizon_days after it, next to a baseline (orders at the average gap, buys the usual items): Brier score, hit rate, reliability by decile, the recalibration used, precision@5 / recall@5 of items and the amount error.';
