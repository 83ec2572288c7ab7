-- inventory: safety stock, reorder points and the daily buying queue.
--
-- Pure functions over numbers (C++ core src/core/inventory, every
-- distribution from Boost.Math): safety_stock, eoq, round_order_quantity,
-- reorder_policy (the whole (R, s, S) policy of one product) and runway.
-- Data the user provides: inventory (on hand per product and location),
-- purchase_orders and supply_settings (per product; tenant defaults in
-- salesflow.settings under supply.*), with jsonb import helpers.
--   salesflow.refresh_replenishment()  one row per stocked product in
--       replenishment: demand and its forecast-error sd from the latest
--       forecast snapshot, lead time from the settings or from received
--       purchase orders, the policy, runway and stockout date, and the
--       category ORDER_TODAY / ALREADY_ORDERED / ATTENTION_REQUIRED / NORMAL
--       with its reasons;
--   salesflow.buying_queue, salesflow.stock_status  what a buyer looks at.

-- ---------------------------------------------------------------------------
-- Pure functions
-- ---------------------------------------------------------------------------
CREATE FUNCTION salesflow.safety_stock(demand_mean float8, demand_sd float8, lead_time_days float8,
                                       lead_time_sd_days float8 DEFAULT 0, service_level float8 DEFAULT 0.95,
                                       service_type text DEFAULT 'cycle', review_period_days float8 DEFAULT 0,
                                       order_quantity float8 DEFAULT NULL)
RETURNS float8
LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_safety_stock';
COMMENT ON FUNCTION salesflow.safety_stock(float8, float8, float8, float8, float8, text, float8, float8) IS
    'Normal-model safety stock k * sqrt((L + R) sd^2 + d^2 sd_L^2): k = the normal quantile of a cycle service level, or for a fill-rate target the k solving sd G(k) = (1 - P2) Q with the standard normal loss G (order_quantity Q required). Negative below a 50% cycle service level (the pure formula).';

CREATE FUNCTION salesflow.eoq(annual_demand float8, ordering_cost float8, holding_cost_per_unit_year float8)
RETURNS float8
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_eoq';
COMMENT ON FUNCTION salesflow.eoq(float8, float8, float8) IS
    'Wilson economic order quantity sqrt(2 D S / H); 0 when D or S is 0; H must be > 0 (22023).';

CREATE FUNCTION salesflow.round_order_quantity(needed float8, moq float8 DEFAULT 0, pack_size float8 DEFAULT 0)
RETURNS float8
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_round_order_quantity';
COMMENT ON FUNCTION salesflow.round_order_quantity(float8, float8, float8) IS
    'What to order for a need: 0 when needed <= 0, else max(needed, moq) rounded up to whole packs (pack_size 0: no rounding, moq 0: no minimum).';

CREATE FUNCTION salesflow.reorder_policy(
    daily_demand float8, daily_demand_sd float8, intermittent boolean DEFAULT false,
    lead_time_days float8 DEFAULT 0, lead_time_sd_days float8 DEFAULT 0, review_period_days float8 DEFAULT 1,
    on_hand float8 DEFAULT 0, on_order float8 DEFAULT 0, backorders float8 DEFAULT 0,
    moq float8 DEFAULT 0, pack_size float8 DEFAULT 0, ordering_cost float8 DEFAULT 0, unit_cost float8 DEFAULT 0,
    holding_rate float8 DEFAULT 0, service_level float8 DEFAULT 0.95, service_type text DEFAULT 'cycle',
    demand_probability float8 DEFAULT 0)
RETURNS TABLE(safety_stock float8, reorder_point float8, order_up_to float8, eoq float8, recommended_qty float8,
              method text, lead_time_demand float8, lead_time_demand_sd float8, inventory_position float8,
              expected_order_qty float8)
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_reorder_policy';
COMMENT ON FUNCTION salesflow.reorder_policy(float8, float8, boolean, float8, float8, float8, float8, float8, float8, float8, float8, float8, float8, float8, float8, text, float8) IS
    'The periodic-review (R, s, S) policy of one product: safety stock (normal model; when intermittent, compound binomial with demand_probability = the probability a day has demand, or negative binomial/Poisson when it is 0), reorder point s, order-up-to S = s + EOQ, EOQ, and the quantity that brings the inventory position (on hand + on order - backorders) to S when it is at or below s, rounded to MOQ and pack size. method names the model (normal_cycle, compound_binomial_cycle, negative_binomial_fill_rate, zero_demand, immediate_supply, ...).';

CREATE FUNCTION salesflow.runway(stock float8, daily_forecast float8[])
RETURNS TABLE(runway_days float8, stockout_day int, covers_horizon boolean)
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_runway';
COMMENT ON FUNCTION salesflow.runway(float8, float8[]) IS
    'Days the stock lasts against a daily demand forecast (index 1 = today): fractional runway days, the 0-based day of the stockout (NULL when the stock outlasts the forecast, then covers_horizon is true and runway_days equals the horizon, a lower bound). 0 for negative stock.';

-- ---------------------------------------------------------------------------
-- Data the user provides
-- ---------------------------------------------------------------------------
CREATE TABLE salesflow.supply_settings (
    tenant_id          bigint      NOT NULL DEFAULT salesflow.current_tenant_id(),
    product_id         bigint      NOT NULL,
    supplier           text,
    lead_time_days     numeric     CHECK (lead_time_days >= 0),
    lead_time_sd_days  numeric     CHECK (lead_time_sd_days >= 0),
    review_period_days numeric     CHECK (review_period_days >= 0),
    moq                numeric     CHECK (moq >= 0),
    pack_size          numeric     CHECK (pack_size >= 0),
    ordering_cost      numeric     CHECK (ordering_cost >= 0),
    unit_cost          numeric     CHECK (unit_cost >= 0),
    holding_rate       numeric     CHECK (holding_rate >= 0),
    service_level      numeric     CHECK (service_level > 0 AND service_level < 1),
    service_type       text        CHECK (service_type IN ('cycle', 'fill_rate')),
    updated_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, product_id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES salesflow.products ON DELETE CASCADE
);
COMMENT ON TABLE salesflow.supply_settings IS
    'Per-product supply parameters; a NULL column takes the tenant default (setting supply.<column>) or the built-in default (docs/inventory.md).';
COMMENT ON COLUMN salesflow.supply_settings.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.supply_settings.product_id IS 'Product.';
COMMENT ON COLUMN salesflow.supply_settings.supplier IS 'Supplier name (informational).';
COMMENT ON COLUMN salesflow.supply_settings.lead_time_days IS 'Mean lead time in days; NULL: from received purchase orders, else the tenant default.';
COMMENT ON COLUMN salesflow.supply_settings.lead_time_sd_days IS 'Standard deviation of the lead time in days.';
COMMENT ON COLUMN salesflow.supply_settings.review_period_days IS 'Days between reviews (1 for the daily batch).';
COMMENT ON COLUMN salesflow.supply_settings.moq IS 'Minimum order quantity.';
COMMENT ON COLUMN salesflow.supply_settings.pack_size IS 'Order multiple (units per pack); 0: no rounding.';
COMMENT ON COLUMN salesflow.supply_settings.ordering_cost IS 'Fixed cost per purchase order (for the EOQ).';
COMMENT ON COLUMN salesflow.supply_settings.unit_cost IS 'Purchase cost per unit; NULL: the last selling price.';
COMMENT ON COLUMN salesflow.supply_settings.holding_rate IS 'Holding cost per year as a share of the unit cost (0.25 = 25%).';
COMMENT ON COLUMN salesflow.supply_settings.service_level IS 'Target service level, between 0 and 1 exclusive.';
COMMENT ON COLUMN salesflow.supply_settings.service_type IS 'cycle (probability of no stockout per cycle) or fill_rate (share of demand served from stock).';
COMMENT ON COLUMN salesflow.supply_settings.updated_at IS 'When the row last changed.';
SELECT salesflow._tenant_table('salesflow.supply_settings');

CREATE TABLE salesflow.inventory (
    tenant_id  bigint      NOT NULL DEFAULT salesflow.current_tenant_id(),
    product_id bigint      NOT NULL,
    location   text        NOT NULL DEFAULT '',
    on_hand    numeric     NOT NULL,
    backorders numeric     NOT NULL DEFAULT 0 CHECK (backorders >= 0),
    as_of      timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, product_id, location),
    FOREIGN KEY (tenant_id, product_id) REFERENCES salesflow.products ON DELETE CASCADE
);
COMMENT ON TABLE salesflow.inventory IS
    'Stock on hand per product and location as of a time (the latest count; replenishment pools the locations).';
COMMENT ON COLUMN salesflow.inventory.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.inventory.product_id IS 'Product.';
COMMENT ON COLUMN salesflow.inventory.location IS 'Warehouse or store ('''' when there is one).';
COMMENT ON COLUMN salesflow.inventory.on_hand IS 'Units on hand; may be negative when the stock records went below zero (flagged ATTENTION_REQUIRED).';
COMMENT ON COLUMN salesflow.inventory.backorders IS 'Units sold but not yet shipped (not also counted in a negative on_hand).';
COMMENT ON COLUMN salesflow.inventory.as_of IS 'When the stock was counted.';
COMMENT ON COLUMN salesflow.inventory.updated_at IS 'When the row last changed.';
SELECT salesflow._tenant_table('salesflow.inventory');

CREATE SEQUENCE salesflow.purchase_orders_purchase_order_id_seq AS bigint;
CREATE TABLE salesflow.purchase_orders (
    tenant_id         bigint      NOT NULL DEFAULT salesflow.current_tenant_id(),
    purchase_order_id bigint      NOT NULL DEFAULT nextval('salesflow.purchase_orders_purchase_order_id_seq'),
    reference         text        NOT NULL,
    product_id        bigint      NOT NULL,
    location          text        NOT NULL DEFAULT '',
    supplier          text,
    quantity          numeric     NOT NULL CHECK (quantity > 0),
    received_qty      numeric     NOT NULL DEFAULT 0 CHECK (received_qty >= 0),
    ordered_at        date        NOT NULL,
    expected_at       date,
    received_at       date,
    cancelled_at      date,
    status            text        GENERATED ALWAYS AS (
                          CASE WHEN cancelled_at IS NOT NULL THEN 'cancelled'
                               WHEN received_at IS NOT NULL OR received_qty >= quantity THEN 'received'
                               WHEN received_qty > 0 THEN 'partial'
                               ELSE 'open' END) STORED,
    updated_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, purchase_order_id),
    UNIQUE (tenant_id, reference, product_id, location),
    FOREIGN KEY (tenant_id, product_id) REFERENCES salesflow.products ON DELETE CASCADE,
    CONSTRAINT purchase_orders_dates_check CHECK (expected_at >= ordered_at AND received_at >= ordered_at)
);
ALTER SEQUENCE salesflow.purchase_orders_purchase_order_id_seq OWNED BY salesflow.purchase_orders.purchase_order_id;
COMMENT ON TABLE salesflow.purchase_orders IS
    'Purchase order lines: ordered, expected, (partly) received or cancelled. Open quantities count as on order; received lines give the lead-time statistics.';
COMMENT ON COLUMN salesflow.purchase_orders.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.purchase_orders.purchase_order_id IS 'Internal id of the line.';
COMMENT ON COLUMN salesflow.purchase_orders.reference IS 'Purchase order number as the user knows it.';
COMMENT ON COLUMN salesflow.purchase_orders.product_id IS 'Product ordered.';
COMMENT ON COLUMN salesflow.purchase_orders.location IS 'Location it is delivered to.';
COMMENT ON COLUMN salesflow.purchase_orders.supplier IS 'Supplier name.';
COMMENT ON COLUMN salesflow.purchase_orders.quantity IS 'Units ordered.';
COMMENT ON COLUMN salesflow.purchase_orders.received_qty IS 'Units received so far.';
COMMENT ON COLUMN salesflow.purchase_orders.ordered_at IS 'Day the order was placed.';
COMMENT ON COLUMN salesflow.purchase_orders.expected_at IS 'Day delivery is expected (an open order past it is overdue).';
COMMENT ON COLUMN salesflow.purchase_orders.received_at IS 'Day the order was (completely) received; received_at - ordered_at is its lead time.';
COMMENT ON COLUMN salesflow.purchase_orders.cancelled_at IS 'Day the order was cancelled.';
COMMENT ON COLUMN salesflow.purchase_orders.status IS 'open, partial, received or cancelled (derived from the other columns).';
COMMENT ON COLUMN salesflow.purchase_orders.updated_at IS 'When the row last changed.';
SELECT salesflow._tenant_table('salesflow.purchase_orders');
SELECT pg_catalog.pg_extension_config_dump('salesflow.purchase_orders_purchase_order_id_seq', '');
GRANT USAGE ON SEQUENCE salesflow.purchase_orders_purchase_order_id_seq TO salesflow_writer;

-- ---------------------------------------------------------------------------
-- Import helpers (jsonb arrays: any language sends them; a bad element is
-- reported with its reason and does not stop the others)
-- ---------------------------------------------------------------------------
CREATE FUNCTION salesflow._try_numeric(v text) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN v::numeric;
EXCEPTION WHEN data_exception THEN
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION salesflow._try_numeric(text) IS 'Internal: the text as numeric, NULL when it is not a number.';

CREATE FUNCTION salesflow._try_timestamptz(v text) RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
AS $$
BEGIN
    IF v !~ '^\d{4}-\d{2}-\d{2}' THEN
        RETURN NULL;
    END IF;
    RETURN v::timestamptz;
EXCEPTION WHEN data_exception THEN
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION salesflow._try_timestamptz(text) IS 'Internal: an ISO timestamp (YYYY-MM-DD[ HH:MM[:SS]][zone]; without a zone the session''s), NULL when it is not one.';

CREATE FUNCTION salesflow._try_date(v text) RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT salesflow._try_timestamptz(left(v, 10))::date
$$;
COMMENT ON FUNCTION salesflow._try_date(text) IS 'Internal: an ISO date (YYYY-MM-DD, a time part ignored), NULL when it is not one.';

CREATE FUNCTION salesflow.import_inventory(rows jsonb, tenant text DEFAULT NULL, replace_all boolean DEFAULT false)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid bigint := salesflow.require_tenant(tenant);
    accepted bigint;
    removed bigint := 0;
    rejects jsonb;
BEGIN
    IF jsonb_typeof(rows) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'import_inventory expects a JSON array of objects'
            USING ERRCODE = '22023', HINT = 'e.g. [{"sku": "85123A", "on_hand": 12, "location": "main"}]';
    END IF;
    IF to_regclass('pg_temp.sf_inv_in') IS NOT NULL THEN
        DROP TABLE sf_inv_in;
    END IF;
    CREATE TEMP TABLE sf_inv_in ON COMMIT DROP AS
    SELECT e.ord AS element, p.product_id, coalesce(e.v ->> 'location', '') AS location,
           salesflow._try_numeric(e.v ->> 'on_hand') AS on_hand,
           coalesce(salesflow._try_numeric(e.v ->> 'backorders'), CASE WHEN e.v ? 'backorders' THEN -1 ELSE 0 END) AS backorders,
           salesflow._try_timestamptz(e.v ->> 'as_of') AS as_of,
           CASE WHEN jsonb_typeof(e.v) IS DISTINCT FROM 'object' THEN 'element is not an object'
                WHEN nullif(e.v ->> 'sku', '') IS NULL THEN 'sku missing'
                WHEN p.product_id IS NULL THEN 'unknown product ' || (e.v ->> 'sku')
                WHEN e.v ->> 'on_hand' IS NULL THEN 'on_hand missing'
                WHEN salesflow._try_numeric(e.v ->> 'on_hand') IS NULL THEN 'on_hand is not a number: ' || (e.v ->> 'on_hand')
                WHEN e.v ? 'backorders' AND coalesce(salesflow._try_numeric(e.v ->> 'backorders'), -1) < 0
                    THEN 'backorders must be a number >= 0'
                WHEN nullif(e.v ->> 'as_of', '') IS NOT NULL AND salesflow._try_timestamptz(e.v ->> 'as_of') IS NULL
                    THEN 'as_of is not an ISO timestamp: ' || (e.v ->> 'as_of')
           END AS reason
      FROM jsonb_array_elements(rows) WITH ORDINALITY e(v, ord)
      LEFT JOIN salesflow.products p
        ON p.tenant_id = tid AND jsonb_typeof(e.v) = 'object' AND p.sku = e.v ->> 'sku';

    IF EXISTS (SELECT 1 FROM sf_inv_in WHERE reason IS NULL GROUP BY product_id, location HAVING count(*) > 1) THEN
        UPDATE sf_inv_in i SET reason = 'duplicate product and location (the last one is kept)'
         WHERE reason IS NULL
           AND EXISTS (SELECT 1 FROM sf_inv_in j WHERE j.reason IS NULL AND j.product_id = i.product_id
                          AND j.location = i.location AND j.element > i.element);
    END IF;

    INSERT INTO salesflow.inventory AS t (tenant_id, product_id, location, on_hand, backorders, as_of, updated_at)
    SELECT tid, i.product_id, i.location, i.on_hand, i.backorders,
           coalesce(i.as_of, now()), clock_timestamp()
      FROM sf_inv_in i WHERE i.reason IS NULL
    ON CONFLICT (tenant_id, product_id, location) DO UPDATE
       SET on_hand = excluded.on_hand, backorders = excluded.backorders, as_of = excluded.as_of,
           updated_at = excluded.updated_at;
    GET DIAGNOSTICS accepted = ROW_COUNT;

    IF replace_all THEN
        DELETE FROM salesflow.inventory t
         WHERE t.tenant_id = tid
           AND NOT EXISTS (SELECT 1 FROM sf_inv_in i WHERE i.reason IS NULL AND i.product_id = t.product_id
                              AND i.location = t.location);
        GET DIAGNOSTICS removed = ROW_COUNT;
    END IF;

    SELECT coalesce(jsonb_agg(jsonb_build_object('element', i.element, 'reason', i.reason) ORDER BY i.element), '[]')
      INTO rejects FROM sf_inv_in i WHERE i.reason IS NOT NULL;
    RETURN jsonb_build_object('accepted', accepted, 'rejected', jsonb_array_length(rejects), 'removed', removed,
                              'rejects', rejects);
END
$$;
COMMENT ON FUNCTION salesflow.import_inventory(jsonb, text, boolean) IS
    'Upserts stock counts from a JSON array of {sku, on_hand, location?, backorders?, as_of?}; returns {accepted, rejected, removed, rejects: [{element, reason}]} (element is 1-based). Bad elements are reported, never stop the others. replace_all deletes the tenant''s stock rows missing from the array (a full count).';

CREATE FUNCTION salesflow.import_purchase_orders(rows jsonb, tenant text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid bigint := salesflow.require_tenant(tenant);
    accepted bigint;
    rejects jsonb;
BEGIN
    IF jsonb_typeof(rows) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'import_purchase_orders expects a JSON array of objects'
            USING ERRCODE = '22023',
                  HINT = 'e.g. [{"reference": "PO-1", "sku": "85123A", "quantity": 48, "ordered_at": "2024-03-01", "expected_at": "2024-03-08"}]';
    END IF;
    IF to_regclass('pg_temp.sf_po_in') IS NOT NULL THEN
        DROP TABLE sf_po_in;
    END IF;
    CREATE TEMP TABLE sf_po_in ON COMMIT DROP AS
    SELECT x.*,
           CASE WHEN NOT x.is_object THEN 'element is not an object'
                WHEN x.reference IS NULL THEN 'reference missing'
                WHEN x.sku IS NULL THEN 'sku missing'
                WHEN x.product_id IS NULL THEN 'unknown product ' || x.sku
                WHEN x.quantity IS NULL OR x.quantity <= 0 THEN 'quantity must be a number > 0'
                WHEN x.received_qty IS NULL OR x.received_qty < 0 THEN 'received_qty must be a number >= 0'
                WHEN x.ordered_at IS NULL THEN 'ordered_at missing or not an ISO date (YYYY-MM-DD)'
                WHEN x.has_expected AND x.expected_at IS NULL THEN 'expected_at is not an ISO date'
                WHEN x.has_received AND x.received_at IS NULL THEN 'received_at is not an ISO date'
                WHEN x.has_cancelled AND x.cancelled_at IS NULL THEN 'cancelled_at is not an ISO date'
                WHEN x.expected_at < x.ordered_at THEN 'expected_at is before ordered_at'
                WHEN x.received_at < x.ordered_at THEN 'received_at is before ordered_at'
           END AS reason
      FROM (SELECT e.ord AS element, jsonb_typeof(e.v) = 'object' AS is_object,
                   nullif(e.v ->> 'reference', '') AS reference, nullif(e.v ->> 'sku', '') AS sku, p.product_id,
                   coalesce(e.v ->> 'location', '') AS location, e.v ->> 'supplier' AS supplier,
                   salesflow._try_numeric(e.v ->> 'quantity') AS quantity,
                   CASE WHEN e.v ? 'received_qty' THEN salesflow._try_numeric(e.v ->> 'received_qty') ELSE 0 END AS received_qty,
                   salesflow._try_date(e.v ->> 'ordered_at') AS ordered_at,
                   salesflow._try_date(e.v ->> 'expected_at') AS expected_at,
                   salesflow._try_date(e.v ->> 'received_at') AS received_at,
                   salesflow._try_date(e.v ->> 'cancelled_at') AS cancelled_at,
                   nullif(e.v ->> 'expected_at', '') IS NOT NULL AS has_expected,
                   nullif(e.v ->> 'received_at', '') IS NOT NULL AS has_received,
                   nullif(e.v ->> 'cancelled_at', '') IS NOT NULL AS has_cancelled
              FROM jsonb_array_elements(rows) WITH ORDINALITY e(v, ord)
              LEFT JOIN salesflow.products p
                ON p.tenant_id = tid AND jsonb_typeof(e.v) = 'object' AND p.sku = e.v ->> 'sku') x;

    UPDATE sf_po_in i SET reason = 'duplicate reference, product and location (the last one is kept)'
     WHERE reason IS NULL
       AND EXISTS (SELECT 1 FROM sf_po_in j WHERE j.reason IS NULL AND j.reference = i.reference
                      AND j.product_id = i.product_id AND j.location = i.location AND j.element > i.element);

    INSERT INTO salesflow.purchase_orders AS t (tenant_id, reference, product_id, location, supplier, quantity,
                                                received_qty, ordered_at, expected_at, received_at, cancelled_at,
                                                updated_at)
    SELECT tid, i.reference, i.product_id, i.location, i.supplier, i.quantity,
           CASE WHEN i.received_at IS NOT NULL AND i.received_qty = 0 THEN i.quantity ELSE i.received_qty END,
           i.ordered_at, i.expected_at, i.received_at, i.cancelled_at, clock_timestamp()
      FROM sf_po_in i WHERE i.reason IS NULL
    ON CONFLICT (tenant_id, reference, product_id, location) DO UPDATE
       SET supplier = excluded.supplier, quantity = excluded.quantity, received_qty = excluded.received_qty,
           ordered_at = excluded.ordered_at, expected_at = excluded.expected_at, received_at = excluded.received_at,
           cancelled_at = excluded.cancelled_at, updated_at = excluded.updated_at;
    GET DIAGNOSTICS accepted = ROW_COUNT;

    SELECT coalesce(jsonb_agg(jsonb_build_object('element', i.element, 'reason', i.reason) ORDER BY i.element), '[]')
      INTO rejects FROM sf_po_in i WHERE i.reason IS NOT NULL;
    RETURN jsonb_build_object('accepted', accepted, 'rejected', jsonb_array_length(rejects), 'rejects', rejects);
END
$$;
COMMENT ON FUNCTION salesflow.import_purchase_orders(jsonb, text) IS
    'Upserts purchase order lines from a JSON array of {reference, sku, quantity, ordered_at, expected_at?, received_at?, received_qty?, cancelled_at?, supplier?, location?} (ISO dates; received_at without received_qty means fully received); returns {accepted, rejected, rejects: [{element, reason}]}.';

CREATE FUNCTION salesflow.import_supply_settings(rows jsonb, tenant text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid bigint := salesflow.require_tenant(tenant);
    accepted bigint;
    rejects jsonb;
    numeric_keys text[] := ARRAY['lead_time_days', 'lead_time_sd_days', 'review_period_days', 'moq', 'pack_size',
                                 'ordering_cost', 'unit_cost', 'holding_rate', 'service_level'];
BEGIN
    IF jsonb_typeof(rows) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'import_supply_settings expects a JSON array of objects'
            USING ERRCODE = '22023', HINT = 'e.g. [{"sku": "85123A", "lead_time_days": 10, "moq": 24, "pack_size": 6}]';
    END IF;
    IF to_regclass('pg_temp.sf_ss_in') IS NOT NULL THEN
        DROP TABLE sf_ss_in;
    END IF;
    CREATE TEMP TABLE sf_ss_in ON COMMIT DROP AS
    SELECT e.ord AS element, e.v, p.product_id,
           CASE WHEN jsonb_typeof(e.v) IS DISTINCT FROM 'object' THEN 'element is not an object'
                WHEN nullif(e.v ->> 'sku', '') IS NULL THEN 'sku missing'
                WHEN p.product_id IS NULL THEN 'unknown product ' || (e.v ->> 'sku')
                ELSE (SELECT k || ' must be a number >= 0' FROM unnest(numeric_keys) k
                       WHERE e.v ? k AND jsonb_typeof(e.v -> k) <> 'null'
                         AND coalesce(salesflow._try_numeric(e.v ->> k), -1) < 0
                       LIMIT 1)
           END AS reason
      FROM jsonb_array_elements(rows) WITH ORDINALITY e(v, ord)
      LEFT JOIN salesflow.products p
        ON p.tenant_id = tid AND jsonb_typeof(e.v) = 'object' AND p.sku = e.v ->> 'sku';
    UPDATE sf_ss_in SET reason = 'service_level must be between 0 and 1 exclusive'
     WHERE reason IS NULL AND v ? 'service_level' AND jsonb_typeof(v -> 'service_level') <> 'null'
       AND (salesflow._try_numeric(v ->> 'service_level') <= 0 OR salesflow._try_numeric(v ->> 'service_level') >= 1);
    UPDATE sf_ss_in SET reason = 'service_type must be cycle or fill_rate'
     WHERE reason IS NULL AND v ? 'service_type' AND (v ->> 'service_type') NOT IN ('cycle', 'fill_rate');
    UPDATE sf_ss_in i SET reason = 'duplicate sku (the last one is kept)'
     WHERE reason IS NULL
       AND EXISTS (SELECT 1 FROM sf_ss_in j WHERE j.reason IS NULL AND j.product_id = i.product_id AND j.element > i.element);

    INSERT INTO salesflow.supply_settings AS t (tenant_id, product_id, supplier, lead_time_days, lead_time_sd_days,
                                                review_period_days, moq, pack_size, ordering_cost, unit_cost,
                                                holding_rate, service_level, service_type, updated_at)
    SELECT tid, i.product_id, i.v ->> 'supplier', (i.v ->> 'lead_time_days')::numeric,
           (i.v ->> 'lead_time_sd_days')::numeric, (i.v ->> 'review_period_days')::numeric, (i.v ->> 'moq')::numeric,
           (i.v ->> 'pack_size')::numeric, (i.v ->> 'ordering_cost')::numeric, (i.v ->> 'unit_cost')::numeric,
           (i.v ->> 'holding_rate')::numeric, (i.v ->> 'service_level')::numeric, i.v ->> 'service_type',
           clock_timestamp()
      FROM sf_ss_in i WHERE i.reason IS NULL
    ON CONFLICT (tenant_id, product_id) DO UPDATE
       SET supplier = excluded.supplier, lead_time_days = excluded.lead_time_days,
           lead_time_sd_days = excluded.lead_time_sd_days, review_period_days = excluded.review_period_days,
           moq = excluded.moq, pack_size = excluded.pack_size, ordering_cost = excluded.ordering_cost,
           unit_cost = excluded.unit_cost, holding_rate = excluded.holding_rate,
           service_level = excluded.service_level, service_type = excluded.service_type,
           updated_at = excluded.updated_at;
    GET DIAGNOSTICS accepted = ROW_COUNT;

    SELECT coalesce(jsonb_agg(jsonb_build_object('element', i.element, 'reason', i.reason) ORDER BY i.element), '[]')
      INTO rejects FROM sf_ss_in i WHERE i.reason IS NOT NULL;
    RETURN jsonb_build_object('accepted', accepted, 'rejected', jsonb_array_length(rejects), 'rejects', rejects);
END
$$;
COMMENT ON FUNCTION salesflow.import_supply_settings(jsonb, text) IS
    'Upserts per-product supply settings from a JSON array of {sku, supplier?, lead_time_days?, lead_time_sd_days?, review_period_days?, moq?, pack_size?, ordering_cost?, unit_cost?, holding_rate?, service_level?, service_type?} (a key left out means the tenant default); returns {accepted, rejected, rejects}.';

-- ---------------------------------------------------------------------------
-- Replenishment
-- ---------------------------------------------------------------------------
CREATE TABLE salesflow.replenishment (
    tenant_id          bigint      NOT NULL REFERENCES salesflow.tenants ON DELETE CASCADE,
    product_id         bigint      NOT NULL,
    as_of              date        NOT NULL,
    category           text        NOT NULL,
    reasons            text[]      NOT NULL DEFAULT '{}',
    on_hand            float8      NOT NULL,
    backorders         float8      NOT NULL,
    on_order           float8      NOT NULL,
    inventory_position float8      NOT NULL,
    next_receipt       date,
    daily_demand       float8,
    daily_demand_sd    float8,
    intermittent       boolean,
    forecast_method    text,
    forecast_origin    date,
    lead_time_days     float8      NOT NULL,
    lead_time_sd_days  float8      NOT NULL,
    lead_time_source   text        NOT NULL,
    review_period_days float8      NOT NULL,
    service_type       text        NOT NULL,
    service_level      float8      NOT NULL,
    policy_method      text,
    safety_stock       float8,
    reorder_point      float8,
    order_up_to        float8,
    eoq                float8,
    recommended_qty    float8,
    order_value        float8,
    runway_days        float8,
    stockout_date      date,
    computed_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    order_reason       text,
    PRIMARY KEY (tenant_id, product_id),
    CONSTRAINT replenishment_category_check
        CHECK (category IN ('ORDER_TODAY', 'ALREADY_ORDERED', 'ATTENTION_REQUIRED', 'NORMAL'))
);
COMMENT ON TABLE salesflow.replenishment IS
    'The buying decision per stocked product (locations pooled), recomputed by refresh_replenishment(): policy, runway, stockout date and the category with its reasons.';
COMMENT ON COLUMN salesflow.replenishment.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.replenishment.product_id IS 'Product.';
COMMENT ON COLUMN salesflow.replenishment.as_of IS 'The day the decision is for (default: the day after the newest sales day).';
COMMENT ON COLUMN salesflow.replenishment.category IS 'ORDER_TODAY (position at or below the reorder point: buy recommended_qty), ALREADY_ORDERED (stock alone is at or below the reorder point but open purchase orders cover it), ATTENTION_REQUIRED (see reasons), NORMAL.';
COMMENT ON COLUMN salesflow.replenishment.reasons IS 'Why ATTENTION_REQUIRED: negative stock, no sales history, forecast out of date, purchase order overdue, forecast unreliable (backtest MASE above supply.max_backtest_mase).';
COMMENT ON COLUMN salesflow.replenishment.on_hand IS 'Units on hand, all locations.';
COMMENT ON COLUMN salesflow.replenishment.backorders IS 'Units owed to customers.';
COMMENT ON COLUMN salesflow.replenishment.on_order IS 'Units on open (not cancelled, not received) purchase orders.';
COMMENT ON COLUMN salesflow.replenishment.inventory_position IS 'on_hand + on_order - backorders.';
COMMENT ON COLUMN salesflow.replenishment.next_receipt IS 'Earliest expected day of an open purchase order.';
COMMENT ON COLUMN salesflow.replenishment.daily_demand IS 'Mean forecast units per day over the protection interval (lead time + review period).';
COMMENT ON COLUMN salesflow.replenishment.daily_demand_sd IS 'Standard deviation of the one-day forecast error, from the forecast model''s prediction interval (intermittent items: scaled by sqrt(level / historical mean) when the forecast level is below the history''s mean).';
COMMENT ON COLUMN salesflow.replenishment.intermittent IS 'Demand modelled as discrete (negative binomial / Poisson): an intermittent forecasting method or ADI >= 1.32.';
COMMENT ON COLUMN salesflow.replenishment.forecast_method IS 'Forecasting method of the snapshot used.';
COMMENT ON COLUMN salesflow.replenishment.forecast_origin IS 'Origin of the forecast snapshot used.';
COMMENT ON COLUMN salesflow.replenishment.lead_time_days IS 'Mean lead time used.';
COMMENT ON COLUMN salesflow.replenishment.lead_time_sd_days IS 'Lead-time standard deviation used.';
COMMENT ON COLUMN salesflow.replenishment.lead_time_source IS 'settings (supply_settings), purchase_orders (received lines), or default (tenant/built-in default).';
COMMENT ON COLUMN salesflow.replenishment.review_period_days IS 'Review period used.';
COMMENT ON COLUMN salesflow.replenishment.service_type IS 'cycle or fill_rate.';
COMMENT ON COLUMN salesflow.replenishment.service_level IS 'Target service level.';
COMMENT ON COLUMN salesflow.replenishment.policy_method IS 'Model of the policy (normal_cycle, negative_binomial_fill_rate, zero_demand, ...; see reorder_policy).';
COMMENT ON COLUMN salesflow.replenishment.safety_stock IS 'Safety stock (units).';
COMMENT ON COLUMN salesflow.replenishment.reorder_point IS 'Reorder point s: order when the inventory position is at or below it.';
COMMENT ON COLUMN salesflow.replenishment.order_up_to IS 'Order-up-to level S = s + EOQ.';
COMMENT ON COLUMN salesflow.replenishment.eoq IS 'Wilson EOQ (0 without ordering and holding costs).';
COMMENT ON COLUMN salesflow.replenishment.recommended_qty IS 'Units to order now (rounded to MOQ and pack size), 0 when none.';
COMMENT ON COLUMN salesflow.replenishment.order_value IS 'recommended_qty times the unit cost.';
COMMENT ON COLUMN salesflow.replenishment.runway_days IS 'Days the stock (on hand - backorders) lasts against the forecast; equals the days forecast when it outlasts them.';
COMMENT ON COLUMN salesflow.replenishment.stockout_date IS 'First day the forecast demand exceeds the stock (NULL: not within the forecast).';
COMMENT ON COLUMN salesflow.replenishment.computed_at IS 'When the row was computed.';
SELECT salesflow._tenant_table('salesflow.replenishment');

COMMENT ON COLUMN salesflow.replenishment.order_reason IS 'Why it is ORDER_TODAY: the inventory position at or below the reorder point, and/or the runway at or below replenishment.runway_threshold_days.';

-- Procurement history: every run of refresh_replenishment, the buying queue
-- it produced, and what the buyer decided about each line.
CREATE SEQUENCE salesflow.replenishment_runs_run_id_seq AS bigint;
CREATE TABLE salesflow.replenishment_runs (
    tenant_id              bigint      NOT NULL REFERENCES salesflow.tenants ON DELETE CASCADE,
    run_id                 bigint      NOT NULL DEFAULT nextval('salesflow.replenishment_runs_run_id_seq'),
    as_of                  date        NOT NULL,
    computed_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    products               bigint      NOT NULL,
    recommendations        bigint      NOT NULL,
    runway_threshold_days  float8,
    PRIMARY KEY (tenant_id, run_id)
);
ALTER SEQUENCE salesflow.replenishment_runs_run_id_seq OWNED BY salesflow.replenishment_runs.run_id;
COMMENT ON TABLE salesflow.replenishment_runs IS 'One row per refresh_replenishment run: its day, how many products it computed and how many recommendations it kept.';
COMMENT ON COLUMN salesflow.replenishment_runs.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.replenishment_runs.run_id IS 'Run id.';
COMMENT ON COLUMN salesflow.replenishment_runs.as_of IS 'The day the run computed for.';
COMMENT ON COLUMN salesflow.replenishment_runs.computed_at IS 'When it ran.';
COMMENT ON COLUMN salesflow.replenishment_runs.products IS 'Products computed.';
COMMENT ON COLUMN salesflow.replenishment_runs.recommendations IS 'Lines of the buying queue kept in procurement_recommendations.';
COMMENT ON COLUMN salesflow.replenishment_runs.runway_threshold_days IS 'The replenishment.runway_threshold_days setting the run used (NULL: none).';
SELECT salesflow._tenant_table('salesflow.replenishment_runs');
SELECT pg_catalog.pg_extension_config_dump('salesflow.replenishment_runs_run_id_seq', '');
GRANT USAGE ON SEQUENCE salesflow.replenishment_runs_run_id_seq TO salesflow_writer;

CREATE SEQUENCE salesflow.procurement_recommendations_id_seq AS bigint;
CREATE TABLE salesflow.procurement_recommendations (
    tenant_id         bigint      NOT NULL,
    recommendation_id bigint      NOT NULL DEFAULT nextval('salesflow.procurement_recommendations_id_seq'),
    run_id            bigint      NOT NULL,
    as_of             date        NOT NULL,
    product_id        bigint      NOT NULL,
    location          text        NOT NULL DEFAULT '',
    category          text        NOT NULL,
    order_reason      text,
    reasons           text[]      NOT NULL DEFAULT '{}',
    recommended_qty   float8,
    order_value       float8,
    runway_days       float8,
    stockout_date     date,
    decision          text        CHECK (decision IN ('accepted', 'rejected', 'ordered')),
    note              text,
    decided_at        timestamptz,
    decided_by        name,
    PRIMARY KEY (tenant_id, recommendation_id),
    FOREIGN KEY (tenant_id, run_id) REFERENCES salesflow.replenishment_runs ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, product_id) REFERENCES salesflow.products ON DELETE CASCADE
);
ALTER SEQUENCE salesflow.procurement_recommendations_id_seq OWNED BY salesflow.procurement_recommendations.recommendation_id;
CREATE INDEX procurement_recommendations_product_idx ON salesflow.procurement_recommendations (tenant_id, product_id, as_of);
COMMENT ON TABLE salesflow.procurement_recommendations IS
    'The buying queue of every replenishment run (categories other than NORMAL), kept with its run and day, and the buyer''s decision (decide_recommendation).';
COMMENT ON COLUMN salesflow.procurement_recommendations.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.procurement_recommendations.recommendation_id IS 'Recommendation id (what decide_recommendation takes).';
COMMENT ON COLUMN salesflow.procurement_recommendations.run_id IS 'The replenishment run.';
COMMENT ON COLUMN salesflow.procurement_recommendations.as_of IS 'The run''s day.';
COMMENT ON COLUMN salesflow.procurement_recommendations.product_id IS 'Product.';
COMMENT ON COLUMN salesflow.procurement_recommendations.location IS 'Location ('''' : locations pooled).';
COMMENT ON COLUMN salesflow.procurement_recommendations.category IS 'ORDER_TODAY, ALREADY_ORDERED or ATTENTION_REQUIRED, as in replenishment.';
COMMENT ON COLUMN salesflow.procurement_recommendations.order_reason IS 'Why ORDER_TODAY (reorder point and/or runway threshold).';
COMMENT ON COLUMN salesflow.procurement_recommendations.reasons IS 'Why ATTENTION_REQUIRED.';
COMMENT ON COLUMN salesflow.procurement_recommendations.recommended_qty IS 'Units recommended.';
COMMENT ON COLUMN salesflow.procurement_recommendations.order_value IS 'Their value at unit cost.';
COMMENT ON COLUMN salesflow.procurement_recommendations.runway_days IS 'Runway in days at the run.';
COMMENT ON COLUMN salesflow.procurement_recommendations.stockout_date IS 'Forecast stockout day at the run.';
COMMENT ON COLUMN salesflow.procurement_recommendations.decision IS 'accepted, rejected or ordered (NULL: not decided).';
COMMENT ON COLUMN salesflow.procurement_recommendations.note IS 'The buyer''s note.';
COMMENT ON COLUMN salesflow.procurement_recommendations.decided_at IS 'When it was decided.';
COMMENT ON COLUMN salesflow.procurement_recommendations.decided_by IS 'Who decided.';
SELECT salesflow._tenant_table('salesflow.procurement_recommendations');
SELECT pg_catalog.pg_extension_config_dump('salesflow.procurement_recommendations_id_seq', '');
GRANT USAGE ON SEQUENCE salesflow.procurement_recommendations_id_seq TO salesflow_writer;

CREATE FUNCTION salesflow.decide_recommendation(recommendation_id bigint, decision text, note text DEFAULT NULL)
RETURNS salesflow.procurement_recommendations
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tenant bigint := salesflow.require_tenant();
    rec salesflow.procurement_recommendations;
BEGIN
    IF decide_recommendation.decision IS NULL OR decide_recommendation.decision NOT IN ('accepted', 'rejected', 'ordered') THEN
        RAISE EXCEPTION 'decision must be accepted, rejected or ordered, not "%"', decide_recommendation.decision
            USING ERRCODE = '22023';
    END IF;
    UPDATE salesflow.procurement_recommendations r
       SET decision = decide_recommendation.decision, note = decide_recommendation.note,
           decided_at = clock_timestamp(), decided_by = current_user
     WHERE r.tenant_id = tenant AND r.recommendation_id = decide_recommendation.recommendation_id
    RETURNING * INTO rec;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'recommendation % does not exist', decide_recommendation.recommendation_id USING ERRCODE = '42704';
    END IF;
    RETURN rec;
END
$$;
COMMENT ON FUNCTION salesflow.decide_recommendation(bigint, text, text) IS
    'Records what the buyer did with a procurement recommendation of the session''s tenant: accepted, rejected or ordered, with an optional note (a later decision replaces an earlier one). Returns the recommendation.';

-- Per product and month of the runs: decisions, acceptance rate, and the
-- units ordered (purchase orders placed that month) against the units
-- recommended in the recommendations the buyer accepted or ordered.
CREATE VIEW salesflow.procurement_acceptance WITH (security_invoker = true, security_barrier = true) AS
WITH rec AS (
    SELECT r.tenant_id, r.product_id, date_trunc('month', r.as_of)::date AS month,
           count(*) AS recommendations,
           count(r.decision) AS decided,
           count(*) FILTER (WHERE r.decision IN ('accepted', 'ordered')) AS accepted,
           count(*) FILTER (WHERE r.decision = 'rejected') AS rejected,
           coalesce(sum(r.recommended_qty), 0) AS recommended_qty,
           coalesce(sum(r.recommended_qty) FILTER (WHERE r.decision IN ('accepted', 'ordered')), 0) AS accepted_qty
      FROM salesflow.procurement_recommendations r
     GROUP BY 1, 2, 3
), po AS (
    SELECT o.tenant_id, o.product_id, date_trunc('month', o.ordered_at)::date AS month, sum(o.quantity)::float8 AS ordered_qty
      FROM salesflow.purchase_orders o WHERE o.status <> 'cancelled'
     GROUP BY 1, 2, 3
)
SELECT rec.tenant_id, rec.product_id, p.sku, rec.month, rec.recommendations, rec.decided, rec.accepted, rec.rejected,
       rec.accepted::float8 / nullif(rec.decided, 0) AS acceptance_rate,
       rec.recommended_qty, rec.accepted_qty, coalesce(po.ordered_qty, 0) AS ordered_qty,
       coalesce(po.ordered_qty, 0) - rec.accepted_qty AS quantity_difference
  FROM rec
  JOIN salesflow.products p ON p.tenant_id = rec.tenant_id AND p.product_id = rec.product_id
  LEFT JOIN po ON po.tenant_id = rec.tenant_id AND po.product_id = rec.product_id AND po.month = rec.month;
COMMENT ON VIEW salesflow.procurement_acceptance IS
    'Procurement decisions per product and month: recommendations, decided, accepted (accepted or ordered), rejected, acceptance_rate = accepted / decided, recommended_qty, accepted_qty (recommended units accepted), ordered_qty (units on purchase orders placed that month, cancelled ones left out) and quantity_difference = ordered_qty - accepted_qty.';
COMMENT ON COLUMN salesflow.procurement_acceptance.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.procurement_acceptance.product_id IS 'Product.';
COMMENT ON COLUMN salesflow.procurement_acceptance.sku IS 'SKU.';
COMMENT ON COLUMN salesflow.procurement_acceptance.month IS 'First day of the month of the runs.';
COMMENT ON COLUMN salesflow.procurement_acceptance.recommendations IS 'Recommendations that month.';
COMMENT ON COLUMN salesflow.procurement_acceptance.decided IS 'Recommendations with a decision.';
COMMENT ON COLUMN salesflow.procurement_acceptance.accepted IS 'Decided accepted or ordered.';
COMMENT ON COLUMN salesflow.procurement_acceptance.rejected IS 'Decided rejected.';
COMMENT ON COLUMN salesflow.procurement_acceptance.acceptance_rate IS 'accepted / decided (NULL when none decided).';
COMMENT ON COLUMN salesflow.procurement_acceptance.recommended_qty IS 'Units recommended.';
COMMENT ON COLUMN salesflow.procurement_acceptance.accepted_qty IS 'Units recommended in accepted or ordered recommendations.';
COMMENT ON COLUMN salesflow.procurement_acceptance.ordered_qty IS 'Units on purchase orders placed that month (not cancelled).';
COMMENT ON COLUMN salesflow.procurement_acceptance.quantity_difference IS 'ordered_qty - accepted_qty: what the buyer ordered beyond (+) or below (-) what was accepted.';
GRANT SELECT ON salesflow.procurement_acceptance TO salesflow_reader;

CREATE FUNCTION salesflow._supply_default(tenant bigint, name text, fallback float8) RETURNS float8
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (salesflow._tenant_setting(tenant, 'supply.' || name, to_jsonb(fallback)) #>> '{}')::float8
$$;
COMMENT ON FUNCTION salesflow._supply_default(bigint, text, float8) IS 'Internal: a numeric supply.* tenant setting, or the built-in default.';

-- The tenant's replenishment.runway_threshold_days (typed and range-checked
-- where it is written: setting_definitions), or NULL when unset.
CREATE FUNCTION salesflow._runway_threshold_days(tenant bigint) RETURNS float8
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT (salesflow._tenant_setting(tenant, 'replenishment.runway_threshold_days', NULL) #>> '{}')::float8 $$;
COMMENT ON FUNCTION salesflow._runway_threshold_days(bigint) IS
    'Internal: the tenant''s replenishment.runway_threshold_days (days; NULL when unset): ORDER_TODAY when the runway is at or below it and nothing is on order.';

INSERT INTO salesflow.setting_definitions (name, type, default_value, minimum, maximum, choices, description) VALUES
    ('replenishment.runway_threshold_days', 'number', NULL, 0, 3650, NULL,
     'ORDER_TODAY when the runway is at or below this many days and nothing is on order (unset: no runway rule).');

CREATE FUNCTION salesflow.refresh_replenishment(tenant text DEFAULT NULL, as_of date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid bigint := salesflow.require_tenant(tenant);
    day0 date := as_of;
    d_lead float8 := salesflow._supply_default(tid, 'lead_time_days', 7);
    d_lead_sd float8 := salesflow._supply_default(tid, 'lead_time_sd_days', 0);
    d_review float8 := salesflow._supply_default(tid, 'review_period_days', 1);
    d_moq float8 := salesflow._supply_default(tid, 'moq', 0);
    d_pack float8 := salesflow._supply_default(tid, 'pack_size', 1);
    d_order_cost float8 := salesflow._supply_default(tid, 'ordering_cost', 0);
    d_holding float8 := salesflow._supply_default(tid, 'holding_rate', 0.25);
    d_service float8 := salesflow._supply_default(tid, 'service_level', 0.95);
    d_type text := salesflow._tenant_setting(tid, 'supply.service_type', '"cycle"') #>> '{}';
    min_obs float8 := salesflow._supply_default(tid, 'min_lead_time_observations', 3);
    max_mase float8 := salesflow._supply_default(tid, 'max_backtest_mase', 2);
    runway_threshold float8 := salesflow._runway_threshold_days(tid);
    n bigint;
    run bigint;
BEGIN
    IF d_type NOT IN ('cycle', 'fill_rate') OR d_service <= 0 OR d_service >= 1 OR least(d_lead, d_lead_sd, d_review,
            d_moq, d_pack, d_order_cost, d_holding) < 0 THEN
        RAISE EXCEPTION 'invalid supply.* setting for tenant "%"', (SELECT tn.name FROM salesflow.tenants tn WHERE tn.tenant_id = tid)
            USING ERRCODE = '22023',
                  HINT = 'supply.service_level must be in (0, 1), supply.service_type cycle or fill_rate, the others >= 0.';
    END IF;
    IF day0 IS NULL THEN
        SELECT max(d.day) + 1 INTO day0 FROM salesflow.sales_daily d WHERE d.tenant_id = tid;
        day0 := coalesce(day0, (now() AT TIME ZONE (SELECT tn.timezone FROM salesflow.tenants tn WHERE tn.tenant_id = tid))::date);
    END IF;

    IF to_regclass('pg_temp.sf_rp_input') IS NOT NULL THEN
        DROP TABLE sf_rp_input;
    END IF;
    CREATE TEMP TABLE sf_rp_input ON COMMIT DROP AS
    WITH stock AS (
        SELECT i.product_id, sum(i.on_hand)::float8 AS on_hand, sum(i.backorders)::float8 AS backorders
          FROM salesflow.inventory i WHERE i.tenant_id = tid GROUP BY i.product_id
    ), po AS (
        SELECT o.product_id,
               sum(o.quantity - o.received_qty) FILTER (WHERE o.status IN ('open', 'partial'))::float8 AS on_order,
               min(o.expected_at) FILTER (WHERE o.status IN ('open', 'partial')) AS next_receipt,
               coalesce(bool_or(o.expected_at < day0) FILTER (WHERE o.status IN ('open', 'partial')), false) AS overdue,
               count(*) FILTER (WHERE o.status = 'received' AND o.received_at IS NOT NULL) AS lt_n,
               avg(o.received_at - o.ordered_at) FILTER (WHERE o.status = 'received' AND o.received_at IS NOT NULL)::float8 AS lt_mean,
               stddev_samp(o.received_at - o.ordered_at) FILTER (WHERE o.status = 'received' AND o.received_at IS NOT NULL)::float8 AS lt_sd
          FROM salesflow.purchase_orders o WHERE o.tenant_id = tid GROUP BY o.product_id
    )
    SELECT s.product_id, s.on_hand, s.backorders, coalesce(po.on_order, 0) AS on_order, po.next_receipt,
           coalesce(po.overdue, false) AS overdue,
           coalesce(ss.lead_time_days::float8, CASE WHEN po.lt_n >= min_obs THEN po.lt_mean END, d_lead) AS lead_time,
           coalesce(ss.lead_time_sd_days::float8, CASE WHEN ss.lead_time_days IS NULL AND po.lt_n >= min_obs THEN po.lt_sd END,
                    d_lead_sd) AS lead_time_sd,
           CASE WHEN ss.lead_time_days IS NOT NULL THEN 'settings'
                WHEN po.lt_n >= min_obs THEN 'purchase_orders' ELSE 'default' END AS lead_time_source,
           coalesce(ss.review_period_days::float8, d_review) AS review_period,
           coalesce(ss.moq::float8, d_moq) AS moq, coalesce(ss.pack_size::float8, d_pack) AS pack_size,
           coalesce(ss.ordering_cost::float8, d_order_cost) AS ordering_cost,
           coalesce(ss.unit_cost::float8, p.last_price::float8, 0) AS unit_cost,
           coalesce(ss.holding_rate::float8, d_holding) AS holding_rate,
           coalesce(ss.service_level::float8, d_service) AS service_level,
           coalesce(ss.service_type, d_type) AS service_type,
           m.method AS forecast_method, m.data_end AS forecast_origin, m.backtest_mase,
           m.method IN ('croston', 'sba', 'tsb')
             OR (SELECT count(*) FROM salesflow.sales_daily x
                  WHERE x.tenant_id = tid AND x.product_id = s.product_id AND x.units > 0
                    AND x.day BETWEEN m.data_start AND m.data_end) * 1.32 <= (m.data_end - m.data_start + 1) AS intermittent,
           (SELECT sum(x.units)::float8 FROM salesflow.sales_daily x
             WHERE x.tenant_id = tid AND x.product_id = s.product_id AND x.day BETWEEN m.data_start AND m.data_end)
             / (m.data_end - m.data_start + 1) AS hist_mean,
           -- the share of days with demand, exponentially smoothed (alpha 0.1,
           -- started at the window's share), as TSB smooths it
           (SELECT sum(0.1 * power(0.9, m.data_end - x.day))
                   + power(0.9, m.data_end - m.data_start + 1) * count(*)::float8 / (m.data_end - m.data_start + 1)
              FROM salesflow.sales_daily x
             WHERE x.tenant_id = tid AND x.product_id = s.product_id AND x.units > 0
               AND x.day BETWEEN m.data_start AND m.data_end) AS demand_probability,
           f.points, f.sd1
      FROM stock s
      JOIN salesflow.products p ON p.tenant_id = tid AND p.product_id = s.product_id
      LEFT JOIN salesflow.supply_settings ss ON ss.tenant_id = tid AND ss.product_id = s.product_id
      LEFT JOIN po ON po.product_id = s.product_id
      LEFT JOIN salesflow.forecast_models m ON m.tenant_id = tid AND m.product_id = s.product_id AND m.location = ''
      LEFT JOIN LATERAL (
          -- the model's snapshot from day0 on; the one-day error sd from the
          -- first day's 95% interval (its upper half when the lower bound was
          -- clamped at zero)
          SELECT array_agg(fc.point ORDER BY fc.day) AS points,
                 (array_agg(CASE WHEN fc.lo95 > 0 THEN (fc.hi95 - fc.lo95) / (2 * 1.959963984540054)
                                 ELSE greatest(fc.hi95 - fc.point, 0) / 1.959963984540054 END ORDER BY fc.day))[1] AS sd1
            FROM salesflow.forecasts fc
           WHERE fc.tenant_id = tid AND fc.product_id = s.product_id AND fc.location = '' AND fc.origin = m.data_end
             AND fc.day >= day0
      ) f ON true;

    DELETE FROM salesflow.replenishment r WHERE r.tenant_id = tid;

    INSERT INTO salesflow.replenishment (tenant_id, product_id, as_of, category, reasons, on_hand, backorders, on_order,
                                         inventory_position, next_receipt, daily_demand, daily_demand_sd, intermittent,
                                         forecast_method, forecast_origin, lead_time_days, lead_time_sd_days,
                                         lead_time_source, review_period_days, service_type, service_level,
                                         policy_method, safety_stock, reorder_point, order_up_to, eoq, recommended_qty,
                                         order_value, runway_days, stockout_date, computed_at, order_reason)
    SELECT tid, i.product_id, day0,
           CASE WHEN cardinality(rs.reasons) > 0 THEN 'ATTENTION_REQUIRED'
                WHEN pol.recommended_qty > 0 OR rt.runway_due THEN 'ORDER_TODAY'
                WHEN i.on_order > 0 AND i.on_hand - i.backorders <= pol.reorder_point THEN 'ALREADY_ORDERED'
                ELSE 'NORMAL' END,
           rs.reasons, i.on_hand, i.backorders, i.on_order, i.on_hand + i.on_order - i.backorders, i.next_receipt,
           dm.daily_demand, sdv.sd, i.intermittent, i.forecast_method, i.forecast_origin, i.lead_time, i.lead_time_sd,
           i.lead_time_source, i.review_period, i.service_type, i.service_level,
           pol.method, pol.safety_stock, pol.reorder_point, pol.order_up_to, pol.eoq, rt.qty,
           rt.qty * i.unit_cost, rw.runway_days,
           day0 + rw.stockout_day, clock_timestamp(),
           nullif(concat_ws('; ',
               CASE WHEN pol.recommended_qty > 0 AND cardinality(rs.reasons) = 0 THEN
                    format('inventory position %s at or below the reorder point %s',
                           round((i.on_hand + i.on_order - i.backorders)::numeric, 1), round(pol.reorder_point::numeric, 1)) END,
               CASE WHEN rt.runway_due THEN
                    format('runway %s days at or below the threshold of %s days (replenishment.runway_threshold_days)',
                           round(rw.runway_days::numeric, 1), runway_threshold) END), '')
      FROM sf_rp_input i
      -- demand per day over the protection interval L + R (at least a day)
      CROSS JOIN LATERAL (
          SELECT (SELECT avg(x) FROM unnest(i.points[1:greatest(1, ceil(i.lead_time + i.review_period))::int]) x) AS daily_demand
      ) dm
      -- intermittent demand: the error variance scales with the level (Var =
      -- k x level, compound-Poisson view; docs/inventory.md), so a forecast
      -- level below the history's mean shrinks the in-sample error sd
      CROSS JOIN LATERAL (
          SELECT CASE WHEN i.intermittent AND i.hist_mean > 0 AND dm.daily_demand < i.hist_mean
                      THEN i.sd1 * sqrt(dm.daily_demand / i.hist_mean) ELSE i.sd1 END AS sd
      ) sdv
      LEFT JOIN LATERAL salesflow.reorder_policy(
          dm.daily_demand, coalesce(sdv.sd, 0), coalesce(i.intermittent, false), i.lead_time, i.lead_time_sd,
          i.review_period, i.on_hand, i.on_order, i.backorders, i.moq, i.pack_size, i.ordering_cost, i.unit_cost,
          i.holding_rate, i.service_level, i.service_type,
          CASE WHEN coalesce(i.intermittent, false) AND dm.daily_demand > 0
               THEN least(1, greatest(coalesce(i.demand_probability, 0), 0)) ELSE 0 END) pol ON dm.daily_demand IS NOT NULL
      LEFT JOIN LATERAL salesflow.runway(i.on_hand - i.backorders, i.points) rw ON cardinality(i.points) > 0
      CROSS JOIN LATERAL (
          SELECT array_remove(ARRAY[
                     CASE WHEN i.on_hand < 0 THEN 'negative stock' END,
                     CASE WHEN i.forecast_method IS NULL THEN 'no sales history' END,
                     CASE WHEN i.forecast_method IS NOT NULL AND i.points IS NULL THEN 'forecast out of date' END,
                     CASE WHEN i.overdue THEN 'purchase order overdue' END,
                     CASE WHEN i.backtest_mase > max_mase THEN 'forecast unreliable' END
                 ], NULL) AS reasons
      ) rs
      -- the seed's rule: order today when the stock runs out within the
      -- threshold and nothing is on order; at least the policy's quantity,
      -- else up to the order-up-to level (at least one EOQ, one unit)
      CROSS JOIN LATERAL (
          SELECT d.runway_due,
                 CASE WHEN d.runway_due AND coalesce(pol.recommended_qty, 0) <= 0
                      THEN salesflow.round_order_quantity(
                               greatest(pol.order_up_to - (i.on_hand + i.on_order - i.backorders), coalesce(pol.eoq, 0), 1),
                               i.moq, i.pack_size)
                      ELSE pol.recommended_qty END AS qty
            FROM (SELECT runway_threshold IS NOT NULL AND rw.runway_days <= runway_threshold AND i.on_order <= 0
                         AND cardinality(rs.reasons) = 0 AND pol.order_up_to IS NOT NULL AS runway_due) d
      ) rt;
    GET DIAGNOSTICS n = ROW_COUNT;

    -- the run and its buying queue, kept for the decisions
    INSERT INTO salesflow.replenishment_runs (tenant_id, as_of, products, recommendations, runway_threshold_days)
    VALUES (tid, day0, n, 0, runway_threshold) RETURNING run_id INTO run;
    INSERT INTO salesflow.procurement_recommendations (tenant_id, run_id, as_of, product_id, category, order_reason,
                                                       reasons, recommended_qty, order_value, runway_days, stockout_date)
    SELECT tid, run, r.as_of, r.product_id, r.category, r.order_reason, r.reasons, r.recommended_qty, r.order_value,
           r.runway_days, r.stockout_date
      FROM salesflow.replenishment r WHERE r.tenant_id = tid AND r.category <> 'NORMAL'
     ORDER BY r.product_id;
    UPDATE salesflow.replenishment_runs x
       SET recommendations = (SELECT count(*) FROM salesflow.procurement_recommendations p
                               WHERE p.tenant_id = tid AND p.run_id = run)
     WHERE x.tenant_id = tid AND x.run_id = run;
    RETURN n;
END
$$;
COMMENT ON FUNCTION salesflow.refresh_replenishment(text, date) IS
    'Recomputes replenishment for every stocked product of the tenant as of a day (default: the day after the newest sales day): demand from the latest forecast snapshot, lead time from supply_settings, received purchase orders or the default, the (R, s, S) policy, runway, stockout date and the buying category. Returns the number of products.';

CREATE VIEW salesflow.buying_queue WITH (security_invoker = true, security_barrier = true) AS
SELECT r.tenant_id, r.product_id, p.sku, p.name, r.category, r.reasons, r.recommended_qty, r.order_value,
       r.stockout_date, r.runway_days, r.on_hand, r.on_order, r.next_receipt, r.reorder_point, r.safety_stock,
       r.daily_demand, r.as_of,
       CASE r.category WHEN 'ATTENTION_REQUIRED' THEN 1 WHEN 'ORDER_TODAY' THEN 2 WHEN 'ALREADY_ORDERED' THEN 3 END AS priority
  FROM salesflow.replenishment r
  JOIN salesflow.products p ON p.tenant_id = r.tenant_id AND p.product_id = r.product_id
 WHERE r.category <> 'NORMAL';
COMMENT ON VIEW salesflow.buying_queue IS
    'What a buyer acts on today: products that need attention, an order, or follow-up on open orders (priority 1, 2, 3; sort by priority, then stockout_date).';
GRANT SELECT ON salesflow.buying_queue TO salesflow_reader;

CREATE VIEW salesflow.stock_status WITH (security_invoker = true, security_barrier = true) AS
SELECT r.tenant_id, r.product_id, p.sku, p.name, r.on_hand, r.safety_stock, r.reorder_point,
       CASE WHEN r.on_hand - r.backorders <= 0 THEN 'out_of_stock'
            WHEN r.on_hand - r.backorders < r.safety_stock THEN 'below_safety_stock'
            WHEN r.on_hand - r.backorders <= r.reorder_point THEN 'below_reorder_point'
            WHEN r.reorder_point IS NULL THEN 'unknown'
            ELSE 'in_stock' END AS status,
       r.runway_days, r.stockout_date, r.as_of
  FROM salesflow.replenishment r
  JOIN salesflow.products p ON p.tenant_id = r.tenant_id AND p.product_id = r.product_id;
COMMENT ON VIEW salesflow.stock_status IS
    'Stock status per product from the last replenishment run: out_of_stock (nothing available), below_safety_stock, below_reorder_point, in_stock, or unknown (no policy: no forecast).';
GRANT SELECT ON salesflow.stock_status TO salesflow_reader;
