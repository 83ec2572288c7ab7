-- salesflow 0.1.0 -> 0.2.0. Run by ALTER EXTENSION salesflow UPDATE.
--
-- Every schema change made in src/sql/ since 0.1.0 is repeated here, so that an
-- upgraded database ends up exactly like a fresh 0.2.0 install; scripts/upgrade-check
-- proves it (README, "Releases"). Keep user data: ALTER tables, never drop and
-- recreate them; CREATE OR REPLACE functions and views.
\echo Use "ALTER EXTENSION salesflow UPDATE TO '0.2.0'" to load this file. \quit

-- the dashboards' materialized views read what changes below: dropped first (with the
-- tenant views over them), made again further down as a fresh install makes them
DROP MATERIALIZED VIEW salesflow.mv_forecast_accuracy CASCADE;
DROP MATERIALIZED VIEW salesflow.mv_business_health CASCADE;
DROP MATERIALIZED VIEW salesflow.mv_dashboard_summary CASCADE;
DROP MATERIALIZED VIEW salesflow.mv_forecast_vs_actual CASCADE;
DROP MATERIALIZED VIEW salesflow.mv_stock_overview CASCADE;
DROP MATERIALIZED VIEW salesflow.mv_churn_clv_summary CASCADE;
DROP MATERIALIZED VIEW salesflow.mv_segment_summary CASCADE;
DROP MATERIALIZED VIEW salesflow.mv_top_customers CASCADE;
DROP MATERIALIZED VIEW salesflow.mv_top_products CASCADE;
DROP MATERIALIZED VIEW salesflow.mv_sales_monthly CASCADE;
DROP MATERIALIZED VIEW salesflow.mv_sales_daily CASCADE;

CREATE OR REPLACE FUNCTION salesflow.require_tenant(tenant text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    wanted text := coalesce(nullif(tenant, ''), nullif(pg_catalog.current_setting('salesflow.tenant', true), ''),
                            -- a login bound to one tenant uses it without a setting
                            salesflow.current_tenant_id()::text);
    found bigint;
BEGIN
    IF wanted IS NULL THEN
        RAISE EXCEPTION 'no tenant selected'
            USING ERRCODE = '28000',
                  HINT = 'SET salesflow.tenant = ''<name>'' or pass the tenant explicitly.';
    END IF;
    SELECT t.tenant_id INTO found
      FROM salesflow.tenants t
     WHERE t.name = wanted OR t.tenant_id::text = wanted
     ORDER BY (t.name = wanted) DESC
     LIMIT 1;
    IF found IS NULL THEN
        RAISE EXCEPTION 'tenant "%" does not exist or is not the tenant of this session', wanted
            USING ERRCODE = '42704',
                  HINT = 'Check salesflow.tenant; admins create tenants with salesflow.create_tenant().';
    END IF;
    RETURN found;
END
$$;

COMMENT ON FUNCTION salesflow.require_tenant(text) IS
    'Tenant id for an API call: the argument if given, else the salesflow.tenant setting, else the single tenant of a bound login; error 28000 when none is selected, 42704 when it does not exist or is not visible to the caller.';

CREATE TABLE salesflow.setting_definitions (
    name          text    NOT NULL PRIMARY KEY,
    type          text    NOT NULL,
    default_value jsonb,
    minimum       numeric,
    maximum       numeric,
    choices       text[],
    description   text    NOT NULL,
    CONSTRAINT setting_definitions_name_check CHECK (name ~ '^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$'),
    CONSTRAINT setting_definitions_type_check CHECK (type IN ('integer', 'number', 'boolean', 'text', 'date')),
    CONSTRAINT setting_definitions_range_check CHECK ((minimum IS NULL AND maximum IS NULL) OR type IN ('integer', 'number')),
    CONSTRAINT setting_definitions_choices_check CHECK (choices IS NULL OR type = 'text')
);

COMMENT ON TABLE salesflow.setting_definitions IS
    'Every per-tenant setting: its JSON type, default, allowed range or choices and meaning; salesflow.settings accepts only these names and values.';

COMMENT ON COLUMN salesflow.setting_definitions.name IS 'Setting name, module.name.';

COMMENT ON COLUMN salesflow.setting_definitions.type IS 'integer, number, boolean, text or date (an ISO date string).';

COMMENT ON COLUMN salesflow.setting_definitions.default_value IS 'Value used when the tenant has none (NULL: computed, see the description).';

COMMENT ON COLUMN salesflow.setting_definitions.minimum IS 'Smallest allowed value (integer and number).';

COMMENT ON COLUMN salesflow.setting_definitions.maximum IS 'Largest allowed value (integer and number).';

COMMENT ON COLUMN salesflow.setting_definitions.choices IS 'Allowed values (text).';

COMMENT ON COLUMN salesflow.setting_definitions.description IS 'What the setting does.';

GRANT SELECT ON salesflow.setting_definitions TO salesflow_reader;

CREATE OR REPLACE FUNCTION salesflow._setting_error(d salesflow.setting_definitions, value jsonb) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    wanted text := CASE d.type WHEN 'integer' THEN 'a whole number' WHEN 'number' THEN 'a number'
                               WHEN 'boolean' THEN 'true or false' WHEN 'date' THEN 'a date string (YYYY-MM-DD)'
                               ELSE 'a string' END
                   || CASE WHEN d.minimum IS NOT NULL OR d.maximum IS NOT NULL
                           THEN format(' between %s and %s', coalesce(d.minimum::text, '-infinity'), coalesce(d.maximum::text, 'infinity'))
                           WHEN d.choices IS NOT NULL THEN ', one of ' || array_to_string(d.choices, ', ')
                           ELSE '' END;
    bad boolean;
BEGIN
    bad := CASE d.type
        WHEN 'integer' THEN jsonb_typeof(value) IS DISTINCT FROM 'number' OR (value #>> '{}')::numeric % 1 <> 0
        WHEN 'number' THEN jsonb_typeof(value) IS DISTINCT FROM 'number'
        WHEN 'boolean' THEN jsonb_typeof(value) IS DISTINCT FROM 'boolean'
        ELSE jsonb_typeof(value) IS DISTINCT FROM 'string' END;
    IF NOT bad AND d.type IN ('integer', 'number') THEN
        bad := (value #>> '{}')::numeric NOT BETWEEN coalesce(d.minimum, '-infinity') AND coalesce(d.maximum, 'infinity');
    ELSIF NOT bad AND d.type = 'text' THEN
        bad := d.choices IS NOT NULL AND NOT (value #>> '{}') = ANY (d.choices);
    ELSIF NOT bad AND d.type = 'date' THEN
        bad := (value #>> '{}') !~ '^\d{4}-\d{2}-\d{2}$';
        IF NOT bad THEN
            BEGIN
                PERFORM (value #>> '{}')::date;
            EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
                bad := true;
            END;
        END IF;
    END IF;
    RETURN CASE WHEN bad THEN format('setting "%s" must be %s, not %s', d.name, wanted, coalesce(value::text, 'null')) END;
END
$$;

COMMENT ON FUNCTION salesflow._setting_error(salesflow.setting_definitions, jsonb) IS
    'Internal: why a value does not fit a setting''s definition (type, range, choices), or NULL.';

CREATE OR REPLACE FUNCTION salesflow._check_setting() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d salesflow.setting_definitions;
    err text;
BEGIN
    IF TG_TABLE_NAME = 'setting_definitions' THEN
        err := CASE WHEN NEW.default_value IS NOT NULL THEN salesflow._setting_error(NEW, NEW.default_value) END;
    ELSE
        SELECT * INTO d FROM salesflow.setting_definitions x WHERE x.name = NEW.name;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown setting "%"', NEW.name
                USING ERRCODE = '22023', HINT = 'SELECT name, type, minimum, maximum, choices FROM salesflow.setting_definitions lists the settings.';
        END IF;
        err := salesflow._setting_error(d, NEW.value);
    END IF;
    IF err IS NOT NULL THEN
        RAISE EXCEPTION '%', err USING ERRCODE = '22023';
    END IF;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION salesflow._check_setting() IS
    'Internal: trigger refusing (22023) a setting that is unknown or whose value does not fit its definition, and a definition whose default does not fit.';

CREATE OR REPLACE TRIGGER settings_check BEFORE INSERT OR UPDATE ON salesflow.settings
    FOR EACH ROW EXECUTE FUNCTION salesflow._check_setting();

CREATE OR REPLACE TRIGGER setting_definitions_check BEFORE INSERT OR UPDATE ON salesflow.setting_definitions
    FOR EACH ROW EXECUTE FUNCTION salesflow._check_setting();

INSERT INTO salesflow.setting_definitions (name, type, default_value, minimum, maximum, choices, description) VALUES
    
    ('segments.as_of', 'date', NULL, NULL, NULL, NULL, 'Day the segments are computed as of (default: the tenant''s latest invoice day).'),
    ('segments.high_share', 'number', '0.5', 0, 1, NULL, 'Customers ranked by revenue are high value until those before them hold this share of revenue.'),
    ('segments.medium_share', 'number', '0.8', 0, 1, NULL, '... and medium value until this share; the rest are low value.'),
    ('segments.clv_months', 'integer', '12', 1, 120, NULL, 'Horizon of the customer lifetime value, in months.'),
    ('segments.discount_rate', 'number', '0.1', 0, 1, NULL, 'Annual discount rate of the lifetime value.'),
    ('segments.churn_high_below', 'number', '0.3', 0, 1, NULL, 'Churn risk is high below this P(alive).'),
    ('segments.churn_low_from', 'number', '0.7', 0, 1, NULL, 'Churn risk is low from this P(alive).'),
    
    ('orders.min_support', 'integer', '5', 1, 1000000, NULL, 'Invoices a product pair must share to become an association rule.'),
    ('orders.min_confidence', 'number', '0.2', 0, 1, NULL, 'Smallest confidence of an association rule.'),
    ('orders.min_lift', 'number', '2', 0, 1000, NULL, 'Smallest lift of an association rule.'),
    
    ('forecast.method', 'text', '"auto"', NULL, NULL,
     ARRAY['auto', 'ets', 'ANN', 'AAN', 'AAdN', 'ANA', 'AAA', 'AAdA', 'MNN', 'MAN', 'MAdN', 'MNA', 'MAA', 'MAdA', 'MNM',
           'MAM', 'MAdM', 'ses', 'theta', 'combo', 'croston', 'sba', 'tsb', 'naive', 'snaive', 'mean'],
     'Method refresh_forecasts uses when none is passed.'),
    ('forecast.by_location', 'boolean', 'false', NULL, NULL, NULL, 'The pipeline also forecasts every product x location.'),
    
    ('supply.lead_time_days', 'number', '7', 0, 3650, NULL, 'Mean lead time in days.'),
    ('supply.lead_time_sd_days', 'number', '0', 0, 3650, NULL, 'Standard deviation of the lead time in days.'),
    ('supply.review_period_days', 'number', '1', 1, 365, NULL, 'Days between reviews (1: the daily batch).'),
    ('supply.moq', 'number', '0', 0, 1000000000, NULL, 'Minimum order quantity.'),
    ('supply.pack_size', 'number', '1', 0, 1000000000, NULL, 'Order multiple; 0 for goods sold by weight.'),
    ('supply.ordering_cost', 'number', '0', 0, 1000000000000, NULL, 'Fixed cost per purchase order (0: no EOQ).'),
    ('supply.holding_rate', 'number', '0.25', 0, 10, NULL, 'Yearly holding cost as a share of the unit cost.'),
    ('supply.service_level', 'number', '0.95', 0.0001, 0.9999, NULL, 'Target service level.'),
    ('supply.service_type', 'text', '"cycle"', NULL, NULL, ARRAY['cycle', 'fill_rate'], 'cycle (no stockout per cycle) or fill_rate (share of demand served from stock).'),
    ('supply.min_lead_time_observations', 'number', '3', 1, 1000, NULL, 'Received purchase orders needed before lead times come from them.'),
    ('supply.max_backtest_mase', 'number', '2', 0, 1000, NULL, 'Above this backtest MASE the forecast is called unreliable.'),
    
    ('anomalies.lookback_days', 'integer', '30', 1, 3650, NULL, 'Alerts only on days at most this many days before the newest sales day.'),
    ('anomalies.history_days', 'integer', '730', 14, 36500, NULL, 'Days of history that decide what is normal.'),
    ('anomalies.top_products', 'integer', '20', 0, 1000, NULL, 'Products (by revenue over the last year) whose daily units are scored.'),
    ('anomalies.escalation', 'number', '1.5', 1, 100, NULL, 'Within the cool-down, only a score this many times larger alerts again.');

CREATE OR REPLACE FUNCTION salesflow.setting(name text, fallback jsonb DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(
        (SELECT s.value FROM salesflow.settings s
          WHERE s.tenant_id = salesflow.current_tenant_id() AND s.name = setting.name),
        fallback,
        (SELECT d.default_value FROM salesflow.setting_definitions d WHERE d.name = setting.name))
$$;

COMMENT ON FUNCTION salesflow.setting(text, jsonb) IS
    'Value of a per-tenant setting for the session''s tenant, else the fallback, else its default in setting_definitions.';

CREATE OR REPLACE FUNCTION salesflow._bypasses_rls() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.rolsuper OR r.rolbypassrls
           OR pg_catalog.pg_has_role(current_user, 'salesflow_admin', 'USAGE')
           OR pg_catalog.pg_has_role(current_user, c.relowner, 'USAGE')
      FROM pg_catalog.pg_roles r, pg_catalog.pg_class c
     WHERE r.rolname = current_user AND c.oid = 'salesflow.tenants'::regclass
$$;

COMMENT ON FUNCTION salesflow._bypasses_rls() IS
    'Internal: true when the current role is not confined by the tenant row-level security (superuser, BYPASSRLS, salesflow_admin, or owner of the tables).';

CREATE OR REPLACE FUNCTION salesflow._act_as_tenant(tenant bigint) RETURNS text[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    saved text[] := ARRAY[pg_catalog.current_setting('salesflow.tenant', true), pg_catalog.current_setting('role')];
    scratch regclass;
BEGIN
    IF salesflow._bypasses_rls() THEN
        -- scratch tables (sf_*, ON COMMIT DROP) the caller's role made earlier in
        -- this transaction could not be reused by salesflow_writer
        FOR scratch IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
                        WHERE c.relnamespace = pg_catalog.pg_my_temp_schema() AND c.relkind = 'r'
                          AND c.relname LIKE 'sf\_%' AND NOT pg_catalog.pg_has_role('salesflow_writer', c.relowner, 'USAGE')
        LOOP
            EXECUTE pg_catalog.format('DROP TABLE %s', scratch);
        END LOOP;
        PERFORM pg_catalog.set_config('role', 'salesflow_writer', true);
    END IF;
    PERFORM pg_catalog.set_config('salesflow.tenant', tenant::text, true);
    IF salesflow.current_tenant_id() IS DISTINCT FROM tenant THEN
        RAISE EXCEPTION 'this session cannot act for tenant %', tenant
            USING ERRCODE = '42501', DETAIL = 'The login is bound to other tenants in salesflow.tenant_logins.';
    END IF;
    RETURN saved;
END
$$;

COMMENT ON FUNCTION salesflow._act_as_tenant(bigint) IS
    'Internal: selects the tenant and, for a caller that bypasses row-level security, takes the role salesflow_writer, so that work done for the tenant sees and writes nothing else; returns the previous tenant and role for _act_as_caller.';

CREATE OR REPLACE FUNCTION salesflow._act_as_caller(saved text[]) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.set_config('role', saved[2], true), pg_catalog.set_config('salesflow.tenant', coalesce(saved[1], ''), true)
$$;

COMMENT ON FUNCTION salesflow._act_as_caller(text[]) IS 'Internal: restores the role and tenant saved by _act_as_tenant.';

CREATE TABLE salesflow.tenant_locks (
    tenant_id bigint NOT NULL REFERENCES salesflow.tenants ON DELETE CASCADE,
    purpose   text   NOT NULL,
    PRIMARY KEY (tenant_id, purpose),
    CONSTRAINT tenant_locks_purpose_check CHECK (purpose IN ('ingest', 'forecasts'))
);

COMMENT ON TABLE salesflow.tenant_locks IS
    'One row per tenant and purpose, locked FOR UPDATE to serialise work: ingest (uploads of one tenant), forecasts (refresh_forecasts of one tenant).';

COMMENT ON COLUMN salesflow.tenant_locks.tenant_id IS 'Tenant.';

COMMENT ON COLUMN salesflow.tenant_locks.purpose IS 'What the lock serialises: ingest or forecasts.';

SELECT salesflow._tenant_table('salesflow.tenant_locks', false);

CREATE OR REPLACE FUNCTION salesflow._lock_tenant(tenant bigint, purpose text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO salesflow.tenant_locks AS l (tenant_id, purpose) VALUES (tenant, purpose) ON CONFLICT DO NOTHING;
    PERFORM FROM salesflow.tenant_locks l WHERE l.tenant_id = tenant AND l.purpose = _lock_tenant.purpose FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cannot lock % for tenant %', purpose, tenant USING ERRCODE = '42501';
    END IF;
END
$$;

COMMENT ON FUNCTION salesflow._lock_tenant(bigint, text) IS
    'Internal: waits for and holds, until the transaction ends, the tenant''s lock row for a purpose (ingest, forecasts).';

CREATE OR REPLACE FUNCTION salesflow._notify(channel text, kind text, id bigint) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_catalog.pg_notify(channel, pg_catalog.jsonb_build_object('kind', kind, 'id', id)::text) $$;

COMMENT ON FUNCTION salesflow._notify(text, text, bigint) IS
    'Internal: sends {"kind": kind, "id": id} on a NOTIFY channel; payloads never carry tenant data (any role can LISTEN).';

ALTER TABLE salesflow.uploads DROP CONSTRAINT uploads_source_check,
    ADD CONSTRAINT uploads_source_check CHECK (source IN ('import_csv', 'import_xlsx', 'import_file', 'staging'));

COMMENT ON COLUMN salesflow.uploads.source IS 'import_csv, import_xlsx, import_file or staging (rows COPYed into upload_staging).';

COMMENT ON COLUMN salesflow.uploads.checksum IS 'SHA-256 of the original bytes (hex; a workbook''s adds /sheet=<the sheet option>); the same file again returns this upload.';

-- upload_staging: no row-level security (COPY works for writers), insert-only for writers
ALTER TABLE salesflow.upload_staging
    ALTER COLUMN tenant_id SET DEFAULT coalesce(salesflow.current_tenant_id(), salesflow.require_tenant()),
    DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON salesflow.upload_staging;
DROP POLICY admin_all ON salesflow.upload_staging;
REVOKE ALL ON salesflow.upload_staging FROM salesflow_reader, salesflow_writer;

COMMENT ON TABLE salesflow.upload_staging IS
    'COPY invoice lines here (text columns, any subset) for the session''s tenant; each COPY or INSERT statement becomes one upload, processed at once. Stays empty; writers can only insert (no row-level security, so that COPY works).';

REVOKE ALL ON salesflow.upload_staging FROM PUBLIC;

GRANT INSERT ON salesflow.upload_staging TO salesflow_writer;

GRANT ALL ON salesflow.upload_staging TO salesflow_admin;

CREATE OR REPLACE FUNCTION salesflow._xlsx_to_csv(content bytea, sheet text, decimal_sep text) RETURNS bytea
LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_xlsx_to_csv';

COMMENT ON FUNCTION salesflow._xlsx_to_csv(bytea, text, text) IS
    'Internal: one sheet of an Excel workbook (by name or 1-based position; NULL = the first) as the CSV the invoice parser reads, sheet row n on line n. A damaged or non-workbook file is 22P04.';

CREATE OR REPLACE FUNCTION salesflow._is_xlsx(content bytea) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT substring(content FROM 1 FOR 4) = '\x504b0304'::bytea $$;

COMMENT ON FUNCTION salesflow._is_xlsx(bytea) IS 'Internal: true when the bytes start like a zip archive, as every .xlsx workbook does.';

CREATE OR REPLACE FUNCTION salesflow._max_field_bytes_limit() RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT 1048576 $$;

COMMENT ON FUNCTION salesflow._max_field_bytes_limit() IS 'Internal: the largest max_field_bytes an upload may set (1 MiB).';

CREATE OR REPLACE FUNCTION salesflow._upload_options(options jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    known constant text[] := ARRAY['tenant', 'preset', 'mapping', 'delimiter', 'decimal', 'date_order', 'encoding',
                                   'max_errors', 'max_error_ratio', 'max_field_bytes', 'filename', 'progress', 'sheet'];
    bad text;
BEGIN
    options := coalesce(options, '{}');
    IF jsonb_typeof(options) <> 'object' THEN
        RAISE EXCEPTION 'upload options must be a JSON object' USING ERRCODE = '22023';
    END IF;
    SELECT string_agg(k, ', ') INTO bad FROM jsonb_object_keys(options) k WHERE k <> ALL (known);
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'unknown upload option(s): %', bad
            USING ERRCODE = '22023', HINT = 'Known options: ' || array_to_string(known, ', ') || '.';
    END IF;
    IF options ? 'mapping' AND jsonb_typeof(options -> 'mapping') <> 'object' THEN
        RAISE EXCEPTION 'option "mapping" must be an object of field: header' USING ERRCODE = '22023';
    END IF;
    SELECT string_agg(k, ', ') INTO bad
      FROM jsonb_object_keys(coalesce(options -> 'mapping', '{}')) k
     WHERE k <> ALL (ARRAY['invoice', 'customer', 'customer_name', 'sku', 'description', 'quantity', 'unit_price',
                           'invoiced_at', 'line_total', 'category', 'brand', 'city', 'country', 'location']);
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'unknown field(s) in option "mapping": %', bad
            USING ERRCODE = '22023',
                  HINT = 'Fields: invoice, customer, customer_name, sku, description, quantity, unit_price, invoiced_at, line_total, category, brand, city, country, location.';
    END IF;
    IF options ? 'max_errors' AND (jsonb_typeof(options -> 'max_errors') <> 'number'
                                   OR (options ->> 'max_errors')::numeric < 0) THEN
        RAISE EXCEPTION 'option "max_errors" must be a number >= 0' USING ERRCODE = '22023';
    END IF;
    IF options ? 'max_error_ratio' AND (jsonb_typeof(options -> 'max_error_ratio') <> 'number'
                                        OR (options ->> 'max_error_ratio')::numeric NOT BETWEEN 0 AND 1) THEN
        RAISE EXCEPTION 'option "max_error_ratio" must be a number between 0 and 1' USING ERRCODE = '22023';
    END IF;
    IF coalesce(upper(options ->> 'date_order'), 'AUTO') NOT IN ('DMY', 'MDY', 'YMD', 'AUTO') THEN
        RAISE EXCEPTION 'option "date_order" must be DMY, MDY, YMD or auto, not "%"', options ->> 'date_order'
            USING ERRCODE = '22023';
    END IF;
    IF coalesce(upper(options ->> 'encoding'), 'AUTO')
       NOT IN ('UTF8', 'UTF-8', 'WIN1252', 'WINDOWS-1252', 'CP1252', 'LATIN1', 'ISO-8859-1', 'AUTO') THEN
        RAISE EXCEPTION 'option "encoding" must be UTF8, WIN1252, LATIN1 or auto, not "%"', options ->> 'encoding'
            USING ERRCODE = '22023';
    END IF;
    IF options ? 'progress' AND jsonb_typeof(options -> 'progress') <> 'boolean' THEN
        RAISE EXCEPTION 'option "progress" must be true or false' USING ERRCODE = '22023';
    END IF;
    IF options ? 'max_field_bytes' AND (jsonb_typeof(options -> 'max_field_bytes') <> 'number'
            OR (options ->> 'max_field_bytes')::numeric NOT BETWEEN 16 AND salesflow._max_field_bytes_limit()
            OR (options ->> 'max_field_bytes')::numeric % 1 <> 0) THEN
        RAISE EXCEPTION 'option "max_field_bytes" must be a whole number between 16 and %', salesflow._max_field_bytes_limit()
            USING ERRCODE = '22023';
    END IF;
    IF coalesce(options ->> 'decimal', '.') NOT IN ('.', ',') THEN
        RAISE EXCEPTION 'option "decimal" must be "." or ","' USING ERRCODE = '22023';
    END IF;
    IF coalesce(options ->> 'delimiter', ',') NOT IN (',', ';', '|', E'\t', '\t', 'tab', 'auto') THEN
        RAISE EXCEPTION 'option "delimiter" must be one of , ; | or tab, not "%"', options ->> 'delimiter'
            USING ERRCODE = '22023';
    END IF;
    IF options ? 'preset' AND (options ->> 'preset') NOT IN ('online_retail', 'woocommerce', 'shopify', '') THEN
        RAISE EXCEPTION 'unknown preset "%"', options ->> 'preset'
            USING ERRCODE = '22023', HINT = 'Presets: online_retail, woocommerce, shopify.';
    END IF;
    RETURN options;
END
$$;

CREATE OR REPLACE FUNCTION salesflow._receive_upload(tenant bigint, content bytea, options jsonb, source text, filename text)
RETURNS salesflow.uploads
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- one sheet of a workbook is one upload: another sheet of the same bytes is another
    digest text := encode(sha256(content), 'hex') || coalesce('/sheet=' || (options ->> 'sheet'), '');
    up salesflow.uploads;
BEGIN
    PERFORM salesflow._lock_tenant(tenant, 'ingest');
    SELECT * INTO up FROM salesflow.uploads u WHERE u.tenant_id = tenant AND u.checksum = digest;
    IF FOUND THEN
        RETURN up;
    END IF;
    INSERT INTO salesflow.uploads (tenant_id, source, filename, checksum, size_bytes, options)
    VALUES (tenant, source, filename, digest, octet_length(content), options)
    RETURNING * INTO up;
    INSERT INTO salesflow.upload_contents (tenant_id, upload_id, content) VALUES (tenant, up.upload_id, content);
    RETURN up;
END
$$;

CREATE OR REPLACE FUNCTION salesflow._process_upload(tenant bigint, upload bigint) RETURNS salesflow.uploads
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET work_mem = '256MB'
AS $$
DECLARE
    up salesflow.uploads;
    opts jsonb;
    tz text;
    t0 timestamptz := clock_timestamp();
    t timestamptz;
    v_timings jsonb := '{}';
    meta jsonb;
    n_lines bigint; n_accepted bigint; n_rejected bigint; n_inserted bigint := 0; n bigint;
    n_returns bigint; n_non_product bigint; n_zero bigint; n_anonymous bigint;
    max_errors numeric; max_ratio numeric;
    progress boolean;
    err_text text; err_state text;
    own_work_mem text := current_setting('work_mem');
BEGIN
    PERFORM salesflow._lock_tenant(tenant, 'ingest');
    SELECT * INTO up FROM salesflow.uploads u WHERE u.tenant_id = tenant AND u.upload_id = upload FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'upload % does not exist', upload USING ERRCODE = '42704';
    END IF;
    opts := salesflow._upload_options(up.options);   -- stored options may have been edited since
    SELECT tn.timezone INTO tz FROM salesflow.tenants tn WHERE tn.tenant_id = tenant;
    progress := coalesce((opts ->> 'progress')::boolean, false);
    max_errors := (opts ->> 'max_errors')::numeric;
    max_ratio := (opts ->> 'max_error_ratio')::numeric;

    DELETE FROM salesflow.upload_rejects r WHERE r.tenant_id = tenant AND r.upload_id = upload;
    UPDATE salesflow.uploads u SET status = 'parsing', error = NULL, error_sqlstate = NULL
     WHERE u.tenant_id = tenant AND u.upload_id = upload;

    -- 2. parse (C++) into a private temp table
    t := clock_timestamp();
    IF to_regclass('pg_temp.sf_parsed') IS NULL THEN
        CREATE TEMP TABLE sf_parsed (LIKE salesflow._parsed_line) ON COMMIT DROP;
    END IF;
    TRUNCATE sf_parsed;
    BEGIN
        -- a workbook's sheet is read as CSV (comma, UTF-8), every CSV rule unchanged
        PERFORM salesflow._parse_invoices_into('pg_temp.sf_parsed'::regclass, x.content,
                    CASE WHEN x.is_xlsx THEN ',' ELSE opts ->> 'delimiter' END, opts ->> 'decimal',
                    opts ->> 'date_order', CASE WHEN x.is_xlsx THEN 'UTF8' ELSE opts ->> 'encoding' END, opts ->> 'preset',
                    ARRAY(SELECT k FROM jsonb_object_keys(coalesce(opts -> 'mapping', '{}')) k ORDER BY k),
                    ARRAY(SELECT coalesce(opts -> 'mapping', '{}') ->> k
                            FROM jsonb_object_keys(coalesce(opts -> 'mapping', '{}')) k ORDER BY k),
                    (opts ->> 'max_field_bytes')::int)
           FROM salesflow.upload_contents c
          CROSS JOIN LATERAL (SELECT salesflow._is_xlsx(c.content) AS is_xlsx) k
          CROSS JOIN LATERAL (SELECT k.is_xlsx,
                                     CASE WHEN k.is_xlsx THEN salesflow._xlsx_to_csv(c.content, opts ->> 'sheet', opts ->> 'decimal')
                                          ELSE c.content END AS content) x
          WHERE c.tenant_id = tenant AND c.upload_id = upload;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS err_text = MESSAGE_TEXT, err_state = RETURNED_SQLSTATE;
        IF err_state IN ('57014', '57P01') OR left(err_state, 2) = '53' THEN
            RAISE;  -- cancel, shutdown, out of memory or disk: not a property of the file
        END IF;
        UPDATE salesflow.uploads u
           SET status = 'failed', error = err_text, error_sqlstate = err_state,
               timings = jsonb_build_object('parse', salesflow._ms_since(t), 'total', salesflow._ms_since(t0)),
               processed_at = clock_timestamp()
         WHERE u.tenant_id = tenant AND u.upload_id = upload
        RETURNING * INTO up;
        RAISE WARNING 'upload % failed: %', upload, err_text;
        PERFORM salesflow._notify('salesflow_uploads', 'upload', upload);
        RETURN up;
    END;
    ANALYZE sf_parsed;
    SELECT p.meta INTO meta FROM sf_parsed p WHERE p.kind = 'M';
    n_accepted := (meta ->> 'accepted')::bigint;
    n_rejected := (meta ->> 'rejected')::bigint;
    n_returns := (meta ->> 'returns')::bigint;
    n_non_product := (meta ->> 'non_product')::bigint;
    n_zero := (meta ->> 'zero_price')::bigint;
    n_anonymous := (meta ->> 'anonymous')::bigint;
    n_lines := (meta ->> 'records')::bigint;
    meta := meta - ARRAY['accepted', 'rejected', 'returns', 'non_product', 'zero_price', 'anonymous'];
    v_timings := v_timings || jsonb_build_object('parse', salesflow._ms_since(t));
    IF progress THEN RAISE NOTICE 'upload %: parsed % lines (% rejected)', upload, n_lines, n_rejected; END IF;

    t := clock_timestamp();
    -- a file of millions of bad lines sorts them here: with a small work_mem
    -- the sort spills to disk instead of holding them all in memory (the
    -- function's own work_mem comes back when it returns)
    PERFORM set_config('work_mem', '16MB', true);
    INSERT INTO salesflow.upload_rejects (tenant_id, upload_id, line_no, reject_no, column_name, value, reason, raw_line)
    SELECT tenant, upload, p.line_no, row_number() OVER (PARTITION BY p.line_no ORDER BY p.reject_reason),
           p.reject_column, p.reject_value, p.reject_reason, p.reject_raw
      FROM sf_parsed p WHERE p.kind = 'R';
    PERFORM set_config('work_mem', own_work_mem, true);
    v_timings := v_timings || jsonb_build_object('rejects', salesflow._ms_since(t));

    -- 3. error limits fail the whole upload (rejects kept, no data)
    IF (max_errors IS NOT NULL AND n_rejected > max_errors)
       OR (max_ratio IS NOT NULL AND n_lines > 0 AND n_rejected::numeric / n_lines > max_ratio) THEN
        UPDATE salesflow.uploads u
           SET status = 'failed', lines = n_lines, accepted = n_accepted, rejected = n_rejected, inserted = 0,
               duplicates = 0, returns = n_returns, non_product = n_non_product, zero_price = n_zero,
               anonymous = n_anonymous, detected = meta,
               error = format('%s of %s lines rejected, more than the limit (max_errors %s, max_error_ratio %s); no lines were loaded',
                              n_rejected, n_lines, coalesce(max_errors::text, 'none'), coalesce(max_ratio::text, 'none')),
               error_sqlstate = '22000',
               timings = v_timings || jsonb_build_object('total', salesflow._ms_since(t0)),
               processed_at = clock_timestamp()
         WHERE u.tenant_id = tenant AND u.upload_id = upload
        RETURNING * INTO up;
        PERFORM salesflow._notify('salesflow_uploads', 'upload', upload);
        RETURN up;
    END IF;
    UPDATE salesflow.uploads u SET status = 'loaded' WHERE u.tenant_id = tenant AND u.upload_id = upload;

    -- 4. customers, from the parser's per-customer summary ('C' rows); their
    -- ids kept from the upsert for the invoices below (a lookup join against
    -- salesflow.customers would be planned from statistics that may not know
    -- the rows just inserted)
    t := clock_timestamp();
    IF to_regclass('pg_temp.sf_customers') IS NULL THEN
        CREATE TEMP TABLE sf_customers (ref text PRIMARY KEY, customer_id bigint) ON COMMIT DROP;
    END IF;
    TRUNCATE sf_customers;
    WITH upserted AS (
    INSERT INTO salesflow.customers AS c (tenant_id, ref, name, city, country, first_order_at, last_order_at,
                                          changed_at, changed_by_upload)
    SELECT tenant, p.customer, p.customer_name, p.city, p.country, p.invoiced_at AT TIME ZONE tz,
           p.last_at AT TIME ZONE tz, clock_timestamp(), upload
      FROM sf_parsed p WHERE p.kind = 'C'
     ORDER BY p.customer
    ON CONFLICT (tenant_id, ref) DO UPDATE
       SET name = salesflow._latest_value(excluded.name, c.name, excluded.last_order_at >= coalesce(c.last_order_at, '-infinity')),
           city = salesflow._latest_value(excluded.city, c.city, excluded.last_order_at >= coalesce(c.last_order_at, '-infinity')),
           country = salesflow._latest_value(excluded.country, c.country, excluded.last_order_at >= coalesce(c.last_order_at, '-infinity')),
           first_order_at = least(c.first_order_at, excluded.first_order_at),
           last_order_at = greatest(c.last_order_at, excluded.last_order_at),
           changed_at = excluded.changed_at, changed_by_upload = excluded.changed_by_upload
    RETURNING c.ref, c.customer_id)
    INSERT INTO sf_customers SELECT u.ref, u.customer_id FROM upserted u;
    ANALYZE sf_customers;
    v_timings := v_timings || jsonb_build_object('customers', salesflow._ms_since(t));

    -- products, from the 'P' rows: latest name/category/brand/price by invoice time
    t := clock_timestamp();
    IF to_regclass('pg_temp.sf_products') IS NULL THEN
        CREATE TEMP TABLE sf_products (idx int PRIMARY KEY, product_id bigint) ON COMMIT DROP;
    END IF;
    TRUNCATE sf_products;
    -- the upsert returns every product id, new or existing; joining those back
    -- to the parsed rows avoids a lookup join against salesflow.products,
    -- whose statistics say a new tenant has no products (a nested loop that
    -- went quadratic: 70 s for 400k lines)
    WITH upserted AS (
    INSERT INTO salesflow.products AS pr (tenant_id, sku, name, category, brand, last_price, is_non_product,
                                          first_sold_at, last_sold_at, changed_at, changed_by_upload)
    SELECT tenant, p.sku, p.description, p.category, p.brand, p.unit_price, p.non_product,
           p.invoiced_at AT TIME ZONE tz, p.last_at AT TIME ZONE tz, clock_timestamp(), upload
      FROM sf_parsed p WHERE p.kind = 'P'
     ORDER BY p.sku
    ON CONFLICT (tenant_id, sku) DO UPDATE
       SET name = salesflow._latest_value(excluded.name, pr.name, excluded.last_sold_at >= coalesce(pr.last_sold_at, '-infinity')),
           category = salesflow._latest_value(excluded.category, pr.category, excluded.last_sold_at >= coalesce(pr.last_sold_at, '-infinity')),
           brand = salesflow._latest_value(excluded.brand, pr.brand, excluded.last_sold_at >= coalesce(pr.last_sold_at, '-infinity')),
           last_price = salesflow._latest_value(excluded.last_price, pr.last_price, excluded.last_sold_at >= coalesce(pr.last_sold_at, '-infinity')),
           is_non_product = pr.is_non_product OR excluded.is_non_product,
           first_sold_at = least(pr.first_sold_at, excluded.first_sold_at),
           last_sold_at = greatest(pr.last_sold_at, excluded.last_sold_at),
           changed_at = excluded.changed_at, changed_by_upload = excluded.changed_by_upload
    RETURNING pr.sku, pr.product_id)
    INSERT INTO sf_products
    SELECT p.product_idx, u.product_id
      FROM upserted u JOIN sf_parsed p ON p.kind = 'P' AND p.sku = u.sku;
    ANALYZE sf_products;
    v_timings := v_timings || jsonb_build_object('products', salesflow._ms_since(t));

    -- invoices, from the 'I' rows: existing ones are looked up, new ones
    -- inserted with their line count and total
    t := clock_timestamp();
    IF to_regclass('pg_temp.sf_invoices') IS NULL THEN
        CREATE TEMP TABLE sf_invoices (idx int PRIMARY KEY, invoice_no text, invoice_id bigint, is_new boolean,
                                       day date) ON COMMIT DROP;
    END IF;
    TRUNCATE sf_invoices;
    INSERT INTO sf_invoices
    SELECT p.invoice_idx, i.invoice_no, i.invoice_id, false, i.day
      FROM sf_parsed p JOIN salesflow.invoices i ON i.tenant_id = tenant AND i.invoice_no = p.invoice
     WHERE p.kind = 'I';
    WITH ins AS (
        INSERT INTO salesflow.invoices AS i (tenant_id, invoice_no, customer_id, invoiced_at, day, is_return, lines,
                                             total, upload_id)
        SELECT tenant, p.invoice, c.customer_id, p.invoiced_at AT TIME ZONE tz, p.invoiced_at::date, p.is_return,
               p.lines, p.line_total, upload
          FROM sf_parsed p JOIN sf_customers c ON c.ref = p.customer
         WHERE p.kind = 'I' AND NOT EXISTS (SELECT 1 FROM sf_invoices k WHERE k.idx = p.invoice_idx)
         ORDER BY p.invoice
        ON CONFLICT (tenant_id, invoice_no) DO NOTHING
        RETURNING i.invoice_no, i.invoice_id, i.day
    )
    INSERT INTO sf_invoices
    SELECT p.invoice_idx, ins.invoice_no, ins.invoice_id, true, ins.day
      FROM ins JOIN sf_parsed p ON p.kind = 'I' AND p.invoice = ins.invoice_no;
    ANALYZE sf_invoices;
    v_timings := v_timings || jsonb_build_object('invoices', salesflow._ms_since(t));

    -- items: lines of new invoices are all new (plain insert); lines of
    -- invoices loaded before may be duplicates (insert what is missing)
    t := clock_timestamp();
    INSERT INTO salesflow.invoice_items (tenant_id, invoice_id, line_key, occurrence, product_id, quantity,
                                         unit_price, line_total, is_return, non_product, zero_price, upload_id, line_no,
                                         location)
    SELECT tenant, i.invoice_id, p.content_key, p.occurrence, pr.product_id, p.quantity, p.unit_price,
           p.line_total, p.is_return, p.non_product, p.zero_price, upload, p.line_no, coalesce(p.location, '')
      FROM sf_parsed p
      JOIN sf_invoices i ON i.idx = p.invoice_idx AND i.is_new
      JOIN sf_products pr ON pr.idx = p.product_idx
     WHERE p.kind = 'L';
    GET DIAGNOSTICS n_inserted = ROW_COUNT;
    IF to_regclass('pg_temp.sf_new_items') IS NULL THEN
        CREATE TEMP TABLE sf_new_items (invoice_id bigint, product_id bigint, day date,
                                        quantity numeric, line_total numeric, is_return boolean, location text)
            ON COMMIT DROP;
    END IF;
    TRUNCATE sf_new_items;
    IF EXISTS (SELECT 1 FROM sf_invoices WHERE NOT is_new) THEN
        WITH ins AS (
            INSERT INTO salesflow.invoice_items (tenant_id, invoice_id, line_key, occurrence, product_id, quantity,
                                                 unit_price, line_total, is_return, non_product, zero_price, upload_id,
                                                 line_no, location)
            SELECT tenant, i.invoice_id, p.content_key, p.occurrence, pr.product_id, p.quantity, p.unit_price,
                   p.line_total, p.is_return, p.non_product, p.zero_price, upload, p.line_no, coalesce(p.location, '')
              FROM sf_parsed p
              JOIN sf_invoices i ON i.idx = p.invoice_idx AND NOT i.is_new
              JOIN sf_products pr ON pr.idx = p.product_idx
             WHERE p.kind = 'L'
            ON CONFLICT DO NOTHING
            RETURNING invoice_id, product_id, quantity, line_total, is_return, location
        )
        INSERT INTO sf_new_items
        SELECT ins.invoice_id, ins.product_id, i.day, ins.quantity, ins.line_total, ins.is_return, ins.location
          FROM ins JOIN sf_invoices i ON i.invoice_id = ins.invoice_id;
        GET DIAGNOSTICS n = ROW_COUNT;
        n_inserted := n_inserted + n;
    END IF;
    v_timings := v_timings || jsonb_build_object('items', salesflow._ms_since(t));

    -- 5. sales_daily += the new lines (an order counts once per product and
    --    day: the first line of a SKU in an invoice marks it)
    t := clock_timestamp();
    IF NOT EXISTS (SELECT 1 FROM sf_invoices WHERE NOT is_new) THEN
        -- every invoice is new: the parser's per product-day sums are exact
        INSERT INTO salesflow.sales_daily AS sd (tenant_id, product_id, day, units, revenue, orders,
                                                 returned_units, returned_revenue)
        SELECT tenant, pr.product_id, p.invoiced_at::date, p.quantity, p.line_total, p.lines,
               p.returned_units, p.returned_revenue
          FROM sf_parsed p JOIN sf_products pr ON pr.idx = p.product_idx
         WHERE p.kind = 'D'
        ON CONFLICT (tenant_id, product_id, day) DO UPDATE
           SET units = sd.units + excluded.units, revenue = sd.revenue + excluded.revenue,
               orders = sd.orders + excluded.orders, returned_units = sd.returned_units + excluded.returned_units,
               returned_revenue = sd.returned_revenue + excluded.returned_revenue;
    ELSE
        INSERT INTO salesflow.sales_daily AS sd (tenant_id, product_id, day, units, revenue, orders,
                                                 returned_units, returned_revenue)
        SELECT tenant, pr.product_id, i.day,
               coalesce(sum(p.quantity) FILTER (WHERE NOT p.is_return), 0),
               coalesce(sum(p.line_total) FILTER (WHERE NOT p.is_return), 0),
               count(*) FILTER (WHERE NOT p.is_return AND p.first_in_invoice),
               coalesce(-sum(p.quantity) FILTER (WHERE p.is_return), 0),
               coalesce(-sum(p.line_total) FILTER (WHERE p.is_return), 0)
          FROM sf_parsed p
          JOIN sf_invoices i ON i.idx = p.invoice_idx AND i.is_new
          JOIN sf_products pr ON pr.idx = p.product_idx
         WHERE p.kind = 'L'
         GROUP BY pr.product_id, i.day
        ON CONFLICT (tenant_id, product_id, day) DO UPDATE
           SET units = sd.units + excluded.units, revenue = sd.revenue + excluded.revenue,
               orders = sd.orders + excluded.orders, returned_units = sd.returned_units + excluded.returned_units,
               returned_revenue = sd.returned_revenue + excluded.returned_revenue;
    END IF;

    IF EXISTS (SELECT 1 FROM sf_new_items) THEN
        -- new lines of invoices loaded before: totals, and orders only where
        -- the invoice had no line of the product yet
        UPDATE salesflow.invoices i
           SET lines = i.lines + d.n, total = i.total + d.total
          FROM (SELECT invoice_id, count(*) AS n, sum(line_total) AS total FROM sf_new_items GROUP BY invoice_id) d
         WHERE i.tenant_id = tenant AND i.invoice_id = d.invoice_id;
        INSERT INTO salesflow.sales_daily AS sd (tenant_id, product_id, day, units, revenue, orders,
                                                 returned_units, returned_revenue)
        SELECT tenant, n.product_id, n.day,
               coalesce(sum(n.quantity) FILTER (WHERE NOT n.is_return), 0),
               coalesce(sum(n.line_total) FILTER (WHERE NOT n.is_return), 0),
               count(DISTINCT n.invoice_id) FILTER (
                   WHERE NOT n.is_return
                     AND NOT EXISTS (SELECT 1 FROM salesflow.invoice_items o
                                      WHERE o.tenant_id = tenant AND o.invoice_id = n.invoice_id
                                        AND o.product_id = n.product_id AND o.upload_id IS DISTINCT FROM upload)),
               coalesce(-sum(n.quantity) FILTER (WHERE n.is_return), 0),
               coalesce(-sum(n.line_total) FILTER (WHERE n.is_return), 0)
          FROM sf_new_items n
         GROUP BY n.product_id, n.day
         ORDER BY n.product_id, n.day
        ON CONFLICT (tenant_id, product_id, day) DO UPDATE
           SET units = sd.units + excluded.units, revenue = sd.revenue + excluded.revenue,
               orders = sd.orders + excluded.orders, returned_units = sd.returned_units + excluded.returned_units,
               returned_revenue = sd.returned_revenue + excluded.returned_revenue;
    END IF;
    -- sales by location: only lines that name one (new invoices' lines from
    -- the parse, lines added to invoices loaded before from sf_new_items)
    IF EXISTS (SELECT 1 FROM sf_parsed p WHERE p.kind = 'L' AND p.location IS NOT NULL) THEN
        INSERT INTO salesflow.sales_daily_location AS sl (tenant_id, product_id, location, day, units, revenue,
                                                          returned_units)
        SELECT tenant, x.product_id, x.location, x.day,
               coalesce(sum(x.quantity) FILTER (WHERE NOT x.is_return), 0),
               coalesce(sum(x.line_total) FILTER (WHERE NOT x.is_return), 0),
               coalesce(-sum(x.quantity) FILTER (WHERE x.is_return), 0)
          FROM (SELECT pr.product_id, p.location, i.day, p.quantity::numeric AS quantity,
                       p.line_total::numeric AS line_total, p.is_return
                  FROM sf_parsed p
                  JOIN sf_invoices i ON i.idx = p.invoice_idx AND i.is_new
                  JOIN sf_products pr ON pr.idx = p.product_idx
                 WHERE p.kind = 'L' AND p.location IS NOT NULL
                UNION ALL
                SELECT n.product_id, n.location, n.day, n.quantity, n.line_total, n.is_return
                  FROM sf_new_items n WHERE n.location <> '') x
         GROUP BY x.product_id, x.location, x.day
         ORDER BY x.product_id, x.location, x.day
        ON CONFLICT (tenant_id, product_id, location, day) DO UPDATE
           SET units = sl.units + excluded.units, revenue = sl.revenue + excluded.revenue,
               returned_units = sl.returned_units + excluded.returned_units;
    END IF;
    -- invoices that arrived may fulfil open predicted orders (orders module)
    IF EXISTS (SELECT 1 FROM salesflow.predicted_orders po
                WHERE po.tenant_id = tenant AND po.status IN ('pending', 'approved')) THEN
        PERFORM salesflow._match_predictions(tenant);
    END IF;
    v_timings := v_timings || jsonb_build_object('aggregates', salesflow._ms_since(t));
    IF n_inserted >= 5000 THEN
        t := clock_timestamp();
        PERFORM salesflow._analyze_if_stale();
        v_timings := v_timings || jsonb_build_object('analyze', salesflow._ms_since(t));
    END IF;
    v_timings := v_timings || jsonb_build_object('total', salesflow._ms_since(t0));

    UPDATE salesflow.uploads u
       SET status = 'processed', lines = n_lines, accepted = n_accepted, inserted = n_inserted,
           duplicates = n_accepted - n_inserted, returns = n_returns, rejected = n_rejected,
           non_product = n_non_product, zero_price = n_zero, anonymous = n_anonymous, detected = meta,
           timings = v_timings, processed_at = clock_timestamp()
     WHERE u.tenant_id = tenant AND u.upload_id = upload
    RETURNING * INTO up;
    IF progress THEN RAISE NOTICE 'upload %: % new lines, % duplicates', upload, n_inserted, n_accepted - n_inserted; END IF;
    PERFORM salesflow._notify('salesflow_uploads', 'upload', upload);
    RETURN up;
END
$$;

CREATE OR REPLACE FUNCTION salesflow._import_bytes(content bytea, opts jsonb, source text) RETURNS salesflow.uploads
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tenant bigint := salesflow.require_tenant(opts ->> 'tenant');
    up salesflow.uploads;
BEGIN
    IF content IS NULL THEN
        RAISE EXCEPTION 'upload content must not be null' USING ERRCODE = '22004';
    END IF;
    up := salesflow._receive_upload(tenant, content, opts - 'tenant', source, opts ->> 'filename');
    IF up.status IN ('processed', 'parsing', 'loaded') THEN
        RETURN up;   -- the same bytes were uploaded before: nothing redone
    END IF;
    IF up.status = 'failed' AND (opts - 'tenant') IS DISTINCT FROM up.options THEN
        UPDATE salesflow.uploads u SET options = opts - 'tenant'
         WHERE u.tenant_id = tenant AND u.upload_id = up.upload_id;
    END IF;
    RETURN salesflow._process_upload(tenant, up.upload_id);
END
$$;

COMMENT ON FUNCTION salesflow._import_bytes(bytea, jsonb, text) IS
    'Internal: stores upload bytes for the tenant of the validated options (or finds the same bytes stored before) and processes them.';

CREATE OR REPLACE FUNCTION salesflow.import_csv(content bytea, options jsonb DEFAULT '{}') RETURNS salesflow.uploads
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    opts jsonb := salesflow._upload_options(options);
BEGIN
    IF salesflow._is_xlsx(content) THEN
        RAISE EXCEPTION 'the upload is an Excel workbook (.xlsx), not CSV'
            USING ERRCODE = '22P04', HINT = 'Use salesflow.import_xlsx(content, options); option "sheet" chooses the sheet.';
    END IF;
    IF opts ? 'sheet' THEN
        RAISE EXCEPTION 'option "sheet" is for import_xlsx' USING ERRCODE = '22023';
    END IF;
    RETURN salesflow._import_bytes(content, opts, 'import_csv');
END
$$;

CREATE OR REPLACE FUNCTION salesflow.import_xlsx(content bytea, options jsonb DEFAULT '{}') RETURNS salesflow.uploads
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    opts jsonb := salesflow._upload_options(options);
BEGIN
    IF content IS NOT NULL AND NOT salesflow._is_xlsx(content) THEN
        RAISE EXCEPTION 'the upload is not an Excel workbook (.xlsx files are zip archives)'
            USING ERRCODE = '22P04', HINT = 'CSV files go to salesflow.import_csv; old .xls workbooks must be saved as .xlsx.';
    END IF;
    IF opts ?| ARRAY['delimiter', 'encoding'] THEN
        RAISE EXCEPTION 'options "delimiter" and "encoding" do not apply to a workbook' USING ERRCODE = '22023';
    END IF;
    RETURN salesflow._import_bytes(content, opts, 'import_xlsx');
END
$$;

COMMENT ON FUNCTION salesflow.import_xlsx(bytea, jsonb) IS
    'Imports one sheet of an Excel workbook (.xlsx; option "sheet": name or 1-based position, default the first) with the same options, rejects (sheet row numbers), idempotency and results as import_csv.';

CREATE OR REPLACE FUNCTION salesflow.import_file(path text, options jsonb DEFAULT '{}') RETURNS salesflow.uploads
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    opts jsonb := salesflow._upload_options(options);
BEGIN
    RETURN salesflow._import_bytes(pg_read_binary_file(path),
                                   opts || jsonb_build_object('filename', coalesce(opts ->> 'filename', path)), 'import_file');
END
$$;

CREATE OR REPLACE FUNCTION salesflow._staging_discard(tenant bigint, ids bigint[]) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH gone AS (DELETE FROM salesflow.upload_staging s
                   WHERE s.tenant_id = tenant AND tenant = salesflow.current_tenant_id() AND s.staging_id = ANY (ids)
                  RETURNING 1)
    SELECT count(*) FROM gone
$$;

COMMENT ON FUNCTION salesflow._staging_discard(bigint, bigint[]) IS
    'Internal: deletes staged rows of the session''s tenant once the staging trigger has made them an upload (writers cannot delete from upload_staging).';

REVOKE EXECUTE ON FUNCTION salesflow._staging_discard(bigint, bigint[]) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION salesflow._staging_discard(bigint, bigint[]) TO salesflow_writer;

CREATE OR REPLACE FUNCTION salesflow._staging_after_insert() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fields constant text[] := ARRAY['invoice', 'customer', 'customer_name', 'sku', 'description', 'quantity',
                                    'unit_price', 'invoiced_at', 'line_total', 'category', 'brand', 'city', 'country',
                                    'location'];
    batch record;
    mapping jsonb;
    up salesflow.uploads;
    caller text[];
BEGIN
    FOR batch IN
        SELECT s.tenant_id,
               convert_to(array_to_string(fields, ',') || E'\n' ||
                   string_agg(concat_ws(',', salesflow._csv_field(s.invoice), salesflow._csv_field(s.customer),
                       salesflow._csv_field(s.customer_name), salesflow._csv_field(s.sku),
                       salesflow._csv_field(s.description), salesflow._csv_field(s.quantity),
                       salesflow._csv_field(s.unit_price), salesflow._csv_field(s.invoiced_at),
                       salesflow._csv_field(s.line_total), salesflow._csv_field(s.category),
                       salesflow._csv_field(s.brand), salesflow._csv_field(s.city),
                       salesflow._csv_field(s.country), salesflow._csv_field(s.location)), E'\n' ORDER BY s.staging_id),
                   'UTF8') AS content,
               -- a column that is NULL in every row was not loaded: leave it unmapped
               ARRAY[bool_or(s.invoice IS NOT NULL), bool_or(s.customer IS NOT NULL),
                     bool_or(s.customer_name IS NOT NULL), bool_or(s.sku IS NOT NULL),
                     bool_or(s.description IS NOT NULL), bool_or(s.quantity IS NOT NULL),
                     bool_or(s.unit_price IS NOT NULL), bool_or(s.invoiced_at IS NOT NULL),
                     bool_or(s.line_total IS NOT NULL), bool_or(s.category IS NOT NULL),
                     bool_or(s.brand IS NOT NULL), bool_or(s.city IS NOT NULL),
                     bool_or(s.country IS NOT NULL), bool_or(s.location IS NOT NULL)] AS present,
               array_agg(s.staging_id) AS ids
          FROM staged s
         GROUP BY s.tenant_id
    LOOP
        IF NOT salesflow._bypasses_rls() AND batch.tenant_id IS DISTINCT FROM salesflow.current_tenant_id() THEN
            RAISE EXCEPTION 'rows staged for tenant % are not for the tenant of this session', batch.tenant_id
                USING ERRCODE = '42501', HINT = 'Leave tenant_id out: it defaults to the session''s tenant.';
        END IF;
        SELECT jsonb_object_agg(f, CASE WHEN batch.present[i] THEN f ELSE '' END) INTO mapping
          FROM unnest(fields) WITH ORDINALITY AS u(f, i);
        caller := salesflow._act_as_tenant(batch.tenant_id);
        up := salesflow._receive_upload(batch.tenant_id, batch.content,
                                        jsonb_build_object('encoding', 'UTF8', 'delimiter', ',', 'mapping', mapping),
                                        'staging', NULL);
        IF up.status NOT IN ('processed', 'parsing', 'loaded') THEN
            up := salesflow._process_upload(batch.tenant_id, up.upload_id);
        END IF;
        PERFORM salesflow._staging_discard(batch.tenant_id, batch.ids);
        PERFORM salesflow._act_as_caller(caller);
        RAISE NOTICE 'salesflow upload %: % (% lines, % new, % duplicates, % rejected)',
            up.upload_id, up.status, up.lines, up.inserted, up.duplicates, up.rejected;
    END LOOP;
    RETURN NULL;
END
$$;

DO $grants$
BEGIN
    EXECUTE 'REVOKE EXECUTE ON FUNCTION salesflow.import_csv(bytea, jsonb), salesflow.import_xlsx(bytea, jsonb), salesflow.import_file(text, jsonb),
             salesflow.process_upload(bigint, jsonb) FROM PUBLIC';
    EXECUTE 'GRANT EXECUTE ON FUNCTION salesflow.import_csv(bytea, jsonb), salesflow.import_xlsx(bytea, jsonb), salesflow.import_file(text, jsonb),
             salesflow.process_upload(bigint, jsonb) TO salesflow_writer';
END
$grants$;

CREATE OR REPLACE FUNCTION salesflow._customer_model_fit(model text, frequency float8[], recency float8[], t float8[],
    OUT params float8[], OUT loglik float8, OUT iterations int, OUT converged boolean, OUT fit_ms float8)
RETURNS SETOF record
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_customer_model_fit';

COMMENT ON FUNCTION salesflow._customer_model_fit(text, float8[], float8[], float8[]) IS
    'Maximum-likelihood fit of a customer-base model (bgnbd, mbgnbd or pareto_nbd) with diagnostics; params are (r, alpha, a, b) or (r, alpha, s, beta).';

CREATE OR REPLACE FUNCTION salesflow.pareto_nbd_fit(frequency float8[], recency float8[], t float8[])
RETURNS TABLE(r float8, alpha float8, s float8, beta float8, loglik float8)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT f.params[1], f.params[2], f.params[3], f.params[4], f.loglik
        FROM salesflow._customer_model_fit('pareto_nbd', frequency, recency, t) f $$;

COMMENT ON FUNCTION salesflow.pareto_nbd_fit(float8[], float8[], float8[]) IS
    'Fits the Pareto/NBD model (Schmittlein, Morrison & Colombo 1987; likelihood of Fader, Hardie & Lee''s 2005 note) by maximum likelihood from x, t_x and T.';

CREATE OR REPLACE FUNCTION salesflow.mbgnbd_fit(frequency float8[], recency float8[], t float8[])
RETURNS TABLE(r float8, alpha float8, a float8, b float8, loglik float8)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT f.params[1], f.params[2], f.params[3], f.params[4], f.loglik
        FROM salesflow._customer_model_fit('mbgnbd', frequency, recency, t) f $$;

COMMENT ON FUNCTION salesflow.mbgnbd_fit(float8[], float8[], float8[]) IS
    'Fits the MBG/NBD model (Batislam, Denizel & Filiztekin 2007: one-time buyers can be inactive) by maximum likelihood from x, t_x and T.';

CREATE OR REPLACE FUNCTION salesflow._customer_model_holdout(model text, frequency float8[], recency float8[], t float8[],
    no_purchase float8[], horizon float8,
    OUT params float8[], OUT loglik float8, OUT converged boolean, OUT fit_ms float8, OUT brier_raw float8,
    OUT brier float8, OUT auc float8, OUT customers int, OUT calibration_a float8, OUT calibration_b float8)
RETURNS SETOF record
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_customer_model_holdout';

COMMENT ON FUNCTION salesflow._customer_model_holdout(text, float8[], float8[], float8[], float8[], float8) IS
    'Internal: fits a customer-base model on histories at a cut-off, scores its P(no purchase in horizon) against what happened (Brier before and after a logistic recalibration, AUC) and returns the recalibration.';

CREATE OR REPLACE FUNCTION salesflow.customer_model_p_alive(model text, params float8[], x float8, t_x float8, t float8)
RETURNS float8 LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_customer_model_p_alive';

COMMENT ON FUNCTION salesflow.customer_model_p_alive(text, float8[], float8, float8, float8) IS
    'P(alive) of a customer with history (x, t_x, T) under the model (bgnbd, mbgnbd, pareto_nbd) with params.';

CREATE OR REPLACE FUNCTION salesflow.customer_model_expected(model text, params float8[], horizon float8, x float8, t_x float8,
                                                  t float8)
RETURNS float8 LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_customer_model_expected';

COMMENT ON FUNCTION salesflow.customer_model_expected(text, float8[], float8, float8, float8, float8) IS
    'Expected purchases in the next horizon of a customer with history (x, t_x, T) under the model.';

CREATE OR REPLACE FUNCTION salesflow.customer_model_p_no_purchase(model text, params float8[], horizon float8, x float8,
                                                       t_x float8, t float8)
RETURNS float8 LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_customer_model_p_no_purchase';

COMMENT ON FUNCTION salesflow.customer_model_p_no_purchase(text, float8[], float8, float8, float8, float8) IS
    'P(X(horizon) = 0 | x, t_x, T): probability that the customer makes no purchase in the next horizon under the model (the raw churn risk).';

CREATE OR REPLACE FUNCTION salesflow.customer_model_clv(model text, params float8[], order_value float8, x float8, t_x float8,
                                             t float8, horizon float8, step float8, discount_rate_per_step float8)
RETURNS float8 LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_customer_model_clv';

COMMENT ON FUNCTION salesflow.customer_model_clv(text, float8[], float8, float8, float8, float8, float8, float8, float8) IS
    'Discounted CLV with any customer-base model: expected purchases per step times order_value, discounted per step, over the horizon.';

CREATE OR REPLACE FUNCTION salesflow.auc(score float8[], outcome float8[]) RETURNS float8
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_auc';

COMMENT ON FUNCTION salesflow.auc(float8[], float8[]) IS
    'Area under the ROC curve of score for outcomes 1 against 0 (Mann-Whitney, ties half); NULL when one class is empty.';

CREATE OR REPLACE FUNCTION salesflow.churn_risk_label(churn_risk float8, high_from float8 DEFAULT 0.7, low_below float8 DEFAULT 0.3)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT CASE WHEN churn_risk IS NULL THEN NULL WHEN churn_risk >= high_from THEN 'high'
                  WHEN churn_risk < low_below THEN 'low' ELSE 'medium' END $$;

COMMENT ON FUNCTION salesflow.churn_risk_label(float8, float8, float8) IS
    'Churn label from churn risk (probability of no purchase in the churn window): high from high_from, low below low_below, medium between.';

ALTER TABLE salesflow.clv_models
    ADD COLUMN model               text NOT NULL DEFAULT 'bgnbd',
    ADD COLUMN params              float8[],
    ADD COLUMN churn_days          int,
    ADD COLUMN holdout_start       date,
    ADD COLUMN churn_calibration_a float8,
    ADD COLUMN churn_calibration_b float8,
    ADD COLUMN candidates          jsonb;

COMMENT ON COLUMN salesflow.clv_models.model IS 'Customer-base model used for scoring, chosen by the holdout backtest: bgnbd, mbgnbd or pareto_nbd.';

COMMENT ON COLUMN salesflow.clv_models.params IS 'Parameters of the chosen model at the as-of day: (r, alpha, a, b), or (r, alpha, s, beta) for pareto_nbd.';

COMMENT ON COLUMN salesflow.clv_models.churn_days IS 'Churn window in days (setting segments.churn_days): churn risk is P(no purchase in it).';

COMMENT ON COLUMN salesflow.clv_models.holdout_start IS 'Cut-off day of the holdout backtest (as-of day minus churn_days); NULL when there was too little history.';

COMMENT ON COLUMN salesflow.clv_models.churn_calibration_a IS 'Recalibration intercept: logit(churn risk) = a + b logit(model P(no purchase)), fitted on the holdout (0 = none).';

COMMENT ON COLUMN salesflow.clv_models.churn_calibration_b IS 'Recalibration slope (1 = none).';

COMMENT ON COLUMN salesflow.clv_models.candidates IS 'Every candidate model: its fit and score on the holdout (parameters at the cut-off, Brier before and after recalibration, AUC), its fit at the as-of day for the chosen one and BG/NBD; chosen = the one used.';

COMMENT ON COLUMN salesflow.customer_segments.p_alive IS 'The chosen model''s probability that the customer is still active (a model quantity; see docs/segments.md for its limits).';

COMMENT ON COLUMN salesflow.customer_segments.churn_risk IS 'Probability of no purchase in the next segments.churn_days days: the model''s P(X(t) = 0 | history), recalibrated on the tenant''s history.';

COMMENT ON COLUMN salesflow.customer_segments.churn_label IS 'low / medium / high churn risk (thresholds segments.churn_high_from, segments.churn_low_below).';

CREATE OR REPLACE FUNCTION salesflow._churn_days(tenant bigint) RETURNS int
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

CREATE OR REPLACE FUNCTION salesflow._customer_model_candidates(tenant bigint, as_of date, churn_days int)
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

CREATE OR REPLACE FUNCTION salesflow.fit_clv_model(tenant text DEFAULT NULL) RETURNS salesflow.clv_models
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

CREATE OR REPLACE FUNCTION salesflow.refresh_segments(tenant text DEFAULT NULL, only_changed boolean DEFAULT false,
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

CREATE OR REPLACE FUNCTION salesflow._segments_backtest_rows(tenant bigint, as_of date, horizon_days int, model_name text,
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

CREATE OR REPLACE FUNCTION salesflow.backtest_segments(as_of date, horizon_days int DEFAULT 90, tenant text DEFAULT NULL)
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

CREATE OR REPLACE FUNCTION salesflow.backtest_predicted_orders(as_of date, horizon_days int DEFAULT 30, tenant text DEFAULT NULL)
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

CREATE OR REPLACE FUNCTION salesflow.refresh_forecasts(tenant text DEFAULT NULL, horizon int DEFAULT 28, method text DEFAULT NULL,
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

-- its columns became numeric: made again
DROP VIEW salesflow.forecast_accuracy_by_origin;
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

CREATE OR REPLACE FUNCTION salesflow.refresh_anomalies(tenant text DEFAULT NULL, only_changed boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid bigint := salesflow.require_tenant(tenant);
    tenant_name text := (SELECT tn.name FROM salesflow.tenants tn WHERE tn.tenant_id = tid);
    lookback int := (salesflow._tenant_setting(tid, 'anomalies.lookback_days', '30') #>> '{}')::int;
    history int := (salesflow._tenant_setting(tid, 'anomalies.history_days', '730') #>> '{}')::int;
    top_n int := (salesflow._tenant_setting(tid, 'anomalies.top_products', '20') #>> '{}')::int;
    escalation float8 := (salesflow._tenant_setting(tid, 'anomalies.escalation', '1.5') #>> '{}')::float8;
    as_of date;
    first_day date;
    from_day date;
    last_upload bigint;
    newest_upload bigint;
    m text;
    n bigint := 0;
    a record;
BEGIN
    SELECT max(d.day) INTO as_of FROM salesflow.sales_daily d WHERE d.tenant_id = tid;
    SELECT s.last_upload_id INTO last_upload FROM salesflow.anomaly_scans s WHERE s.tenant_id = tid;
    SELECT max(u.upload_id) INTO newest_upload FROM salesflow.uploads u WHERE u.tenant_id = tid;

    IF to_regclass('pg_temp.sf_an_rules') IS NOT NULL THEN
        DROP TABLE sf_an_rules, sf_an_candidates;
    END IF;
    CREATE TEMP TABLE sf_an_rules ON COMMIT DROP AS
    SELECT mt.metric, coalesce(r.enabled, true) AS enabled, coalesce(r.min_score, 4) AS min_score,
           coalesce(r.min_abs_change, 0) AS min_abs_change, coalesce(r.direction, 'both') AS direction,
           coalesce(r.cooldown_days, 7) AS cooldown_days, coalesce(r.channel, 'salesflow_alerts') AS channel
      FROM unnest(ARRAY['revenue', 'orders', 'product_units', 'stockout_risk', 'below_safety_stock']) mt(metric)
      LEFT JOIN salesflow.alert_rules r ON r.tenant_id = tid AND r.metric = mt.metric;
    CREATE TEMP TABLE sf_an_candidates (metric text, entity_type text, entity_id bigint, entity text, day date,
                                        observed float8, expected float8, score float8) ON COMMIT DROP;

    IF as_of IS NOT NULL THEN
        first_day := as_of - (history - 1);
        -- the days to score: those of invoices uploaded since the last scan
        -- (all of the lookback window on the first scan or with only_changed
        -- false), never older than the lookback window
        IF only_changed AND last_upload IS NOT NULL THEN
            SELECT min(i.day) INTO from_day FROM salesflow.invoices i
             WHERE i.tenant_id = tid AND i.upload_id > last_upload;
        ELSE
            from_day := as_of - (lookback - 1);
        END IF;
        from_day := greatest(from_day, as_of - (lookback - 1));
    END IF;

    IF from_day IS NOT NULL THEN
        -- tenant revenue and order count per day, gap-filled
        INSERT INTO sf_an_candidates
        SELECT s.metric, 'tenant', 0, tenant_name, s.start + (f.idx - 1), f.observed, f.expected, f.score
          FROM (SELECT 'revenue' AS metric, min(g.day)::date AS start,
                       array_agg(coalesce(v.revenue, 0)::float8 ORDER BY g.day) AS y
                  FROM generate_series(greatest(first_day, (SELECT min(d.day) FROM salesflow.sales_daily d WHERE d.tenant_id = tid)),
                                       as_of, interval '1 day') g(day)
                  LEFT JOIN (SELECT d.day, sum(d.revenue) AS revenue FROM salesflow.sales_daily d
                              WHERE d.tenant_id = tid AND d.day >= first_day GROUP BY d.day) v ON v.day = g.day::date
                UNION ALL
                SELECT 'orders', min(g.day)::date, array_agg(coalesce(v.orders, 0)::float8 ORDER BY g.day)
                  FROM generate_series(greatest(first_day, (SELECT min(d.day) FROM salesflow.sales_daily d WHERE d.tenant_id = tid)),
                                       as_of, interval '1 day') g(day)
                  LEFT JOIN (SELECT i.day, count(*) AS orders FROM salesflow.invoices i
                              WHERE i.tenant_id = tid AND NOT i.is_return AND i.day >= first_day GROUP BY i.day) v
                    ON v.day = g.day::date) s
          JOIN sf_an_rules r ON r.metric = s.metric AND r.enabled
         CROSS JOIN LATERAL salesflow.detect_anomalies(s.y, 7, r.min_score, r.direction, r.min_abs_change,
                                                       greatest(1, from_day - s.start + 1)) f;

        -- units of the top products by revenue over the last year (only those
        -- touched by new uploads when only_changed)
        INSERT INTO sf_an_candidates
        SELECT 'product_units', 'product', s.product_id, s.label, s.start + (f.idx - 1), f.observed, f.expected, f.score
          FROM (SELECT t.product_id, t.label, t.start,
                       array_agg(coalesce(d.units, 0)::float8 ORDER BY g.day) AS y
                  FROM (SELECT p.product_id, left(p.sku || coalesce(' ' || p.name, ''), 200) AS label,
                               greatest(first_day, (p.first_sold_at AT TIME ZONE tn.timezone)::date) AS start
                          FROM salesflow.products p
                          JOIN salesflow.tenants tn ON tn.tenant_id = p.tenant_id
                          JOIN (SELECT d.product_id, sum(d.revenue) AS revenue FROM salesflow.sales_daily d
                                 WHERE d.tenant_id = tid AND d.day > as_of - 365 GROUP BY d.product_id
                                 ORDER BY 2 DESC, 1 LIMIT top_n) top ON top.product_id = p.product_id
                         WHERE p.tenant_id = tid AND NOT p.is_non_product
                           AND (NOT only_changed OR last_upload IS NULL OR p.changed_by_upload > last_upload)) t
                 CROSS JOIN LATERAL generate_series(t.start, as_of, interval '1 day') g(day)
                  LEFT JOIN salesflow.sales_daily d ON d.tenant_id = tid AND d.product_id = t.product_id AND d.day = g.day::date
                 GROUP BY t.product_id, t.label, t.start) s
          JOIN sf_an_rules r ON r.metric = 'product_units' AND r.enabled
         CROSS JOIN LATERAL salesflow.detect_anomalies(s.y, 7, r.min_score, r.direction, r.min_abs_change,
                                                       greatest(1, from_day - s.start + 1)) f;
    END IF;

    -- the no-storm rule per sales metric, against the alerts already sent
    FOREACH m IN ARRAY ARRAY['revenue', 'orders', 'product_units'] LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM sf_an_candidates c WHERE c.metric = m);
        DELETE FROM sf_an_candidates c
         WHERE c.metric = m
           AND (c.entity_id, c.day - date '2000-01-01') NOT IN (
               SELECT k.entity, k.day
                 FROM salesflow._suppress_storms(
                          (SELECT array_agg(x.entity_id) FROM sf_an_candidates x WHERE x.metric = m),
                          (SELECT array_agg((x.day - date '2000-01-01')::bigint) FROM sf_an_candidates x WHERE x.metric = m),
                          (SELECT array_agg(x.score) FROM sf_an_candidates x WHERE x.metric = m),
                          (SELECT coalesce(array_agg(h.entity_id), '{}') FROM salesflow.anomalies h
                            WHERE h.tenant_id = tid AND h.metric = m AND h.score IS NOT NULL),
                          (SELECT coalesce(array_agg((h.day - date '2000-01-01')::bigint), '{}') FROM salesflow.anomalies h
                            WHERE h.tenant_id = tid AND h.metric = m AND h.score IS NOT NULL),
                          (SELECT coalesce(array_agg(h.score), '{}') FROM salesflow.anomalies h
                            WHERE h.tenant_id = tid AND h.metric = m AND h.score IS NOT NULL),
                          (SELECT r.cooldown_days FROM sf_an_rules r WHERE r.metric = m), escalation) k);
    END LOOP;

    -- stock alerts from the last replenishment run: one open alert per
    -- product and metric until acknowledged or the cool-down has passed
    INSERT INTO sf_an_candidates
    SELECT x.metric, 'product', x.product_id, left(p.sku || coalesce(' ' || p.name, ''), 200), x.as_of, x.observed,
           x.expected, NULL
      FROM (SELECT 'stockout_risk' AS metric, r.product_id, r.as_of, r.on_hand - r.backorders AS observed,
                   r.daily_demand * (r.stockout_date - r.as_of + 1) AS expected
              FROM salesflow.replenishment r
             WHERE r.tenant_id = tid AND r.stockout_date IS NOT NULL
               AND r.stockout_date < r.as_of + ceil(r.lead_time_days)::int
               AND (r.next_receipt IS NULL OR r.next_receipt > r.stockout_date)
            UNION ALL
            SELECT 'below_safety_stock', r.product_id, r.as_of, r.on_hand - r.backorders, r.safety_stock
              FROM salesflow.replenishment r
             WHERE r.tenant_id = tid AND r.safety_stock > 0 AND r.on_hand - r.backorders < r.safety_stock) x
      JOIN salesflow.products p ON p.tenant_id = tid AND p.product_id = x.product_id
      JOIN sf_an_rules ru ON ru.metric = x.metric AND ru.enabled
     WHERE NOT EXISTS (SELECT 1 FROM salesflow.anomalies h
                        WHERE h.tenant_id = tid AND h.metric = x.metric AND h.entity_id = x.product_id
                          AND h.acknowledged_at IS NULL AND h.day > x.as_of - ru.cooldown_days);

    FOR a IN
        INSERT INTO salesflow.anomalies AS t (tenant_id, kind, metric, entity_type, entity_id, entity, day, observed,
                                              expected, score, direction, message, channel, detected_at)
        SELECT tid, CASE WHEN c.score IS NULL THEN 'stock' ELSE 'sales' END, c.metric, c.entity_type, c.entity_id,
               c.entity, c.day, c.observed, c.expected, c.score,
               CASE WHEN c.score IS NULL THEN c.metric WHEN c.score > 0 THEN 'spike' ELSE 'drop' END,
               salesflow._alert_message(c.metric, c.entity, c.day, c.observed, c.expected, c.score), r.channel,
               clock_timestamp()
          FROM sf_an_candidates c JOIN sf_an_rules r ON r.metric = c.metric
         ORDER BY c.day, c.metric, c.entity_id
        ON CONFLICT (tenant_id, metric, entity_id, day) DO NOTHING
        RETURNING t.*
    LOOP
        PERFORM salesflow._notify(a.channel, 'alert', a.anomaly_id);
        n := n + 1;
    END LOOP;

    IF newest_upload IS NOT NULL THEN
        INSERT INTO salesflow.anomaly_scans AS s (tenant_id, last_upload_id, scanned_at)
        VALUES (tid, newest_upload, clock_timestamp())
        ON CONFLICT (tenant_id) DO UPDATE SET last_upload_id = excluded.last_upload_id, scanned_at = excluded.scanned_at;
    END IF;
    RETURN n;
END
$$;

COMMENT ON FUNCTION salesflow.refresh_anomalies(text, boolean) IS
    'Detects unusual sales days (tenant revenue and orders, units of the top products) on the days touched since the last scan (at most anomalies.lookback_days back) and stock alerts from replenishment; stores new alerts in anomalies after the alert rules and the no-storm rule, and sends each alert''s id with pg_notify (the receiver reads the alert through RLS). Returns the number of new alerts.';

-- dashboards: the materialized views (dropped at the top) and the tenant views over
-- them, as a fresh install makes them (created with data)
-- ---------------------------------------------------------------------------
-- Materialized views (refresh order = creation order)
-- ---------------------------------------------------------------------------
CREATE MATERIALIZED VIEW salesflow.mv_sales_daily AS
SELECT t.tenant_id, g.day::date AS day, (g.day::date::timestamp AT TIME ZONE t.timezone) AS "time",
       round(coalesce(s.revenue, 0), 2) AS revenue, coalesce(o.orders, 0)::int AS orders,
       round(coalesce(s.units, 0), 3) AS units, coalesce(o.customers, 0)::int AS customers
  FROM salesflow.tenants t
  JOIN (SELECT d.tenant_id, min(d.day) AS first_day, max(d.day) AS last_day
          FROM salesflow.sales_daily d GROUP BY d.tenant_id) r ON r.tenant_id = t.tenant_id
 CROSS JOIN LATERAL generate_series(r.first_day, r.last_day, interval '1 day') g(day)
  LEFT JOIN (SELECT d.tenant_id, d.day, sum(d.revenue) AS revenue, sum(d.units) AS units
               FROM salesflow.sales_daily d GROUP BY d.tenant_id, d.day) s
    ON s.tenant_id = t.tenant_id AND s.day = g.day::date
  LEFT JOIN (SELECT i.tenant_id, i.day, count(*) AS orders, count(DISTINCT i.customer_id) AS customers
               FROM salesflow.invoices i WHERE NOT i.is_return GROUP BY i.tenant_id, i.day) o
    ON o.tenant_id = t.tenant_id AND o.day = g.day::date;
CREATE UNIQUE INDEX mv_sales_daily_key ON salesflow.mv_sales_daily (tenant_id, day);
COMMENT ON MATERIALIZED VIEW salesflow.mv_sales_daily IS
    'Internal (read through salesflow.sales_by_day): revenue, orders, units and customers per tenant and day, gap-filled with zeros.';

CREATE MATERIALIZED VIEW salesflow.mv_sales_monthly AS
SELECT d.tenant_id, date_trunc('month', d.day)::date AS month,
       (date_trunc('month', d.day)::date::timestamp AT TIME ZONE t.timezone) AS "time",
       round(sum(d.revenue), 2) AS revenue, sum(d.orders)::bigint AS orders, round(sum(d.units), 3) AS units,
       coalesce(max(c.customers), 0)::int AS customers
  FROM salesflow.mv_sales_daily d
  JOIN salesflow.tenants t ON t.tenant_id = d.tenant_id
  LEFT JOIN (SELECT i.tenant_id, date_trunc('month', i.day)::date AS month, count(DISTINCT i.customer_id) AS customers
               FROM salesflow.invoices i WHERE NOT i.is_return GROUP BY 1, 2) c
    ON c.tenant_id = d.tenant_id AND c.month = date_trunc('month', d.day)::date
 GROUP BY d.tenant_id, date_trunc('month', d.day)::date, t.timezone;
CREATE UNIQUE INDEX mv_sales_monthly_key ON salesflow.mv_sales_monthly (tenant_id, month);
COMMENT ON MATERIALIZED VIEW salesflow.mv_sales_monthly IS
    'Internal (read through salesflow.sales_by_month): revenue, orders, units and distinct customers per tenant and month.';

CREATE MATERIALIZED VIEW salesflow.mv_top_products AS
SELECT x.tenant_id, x.rank, x.product_id, p.sku, p.name, p.category, x.revenue, x.units, x.orders,
       (x.revenue / nullif(sum(x.revenue) OVER (PARTITION BY x.tenant_id), 0))::float8 AS revenue_share
  FROM (SELECT d.tenant_id, d.product_id, round(sum(d.revenue), 2) AS revenue,
               round(sum(d.units), 3) AS units, sum(d.orders)::bigint AS orders,
               row_number() OVER (PARTITION BY d.tenant_id ORDER BY sum(d.revenue) DESC, d.product_id)::int AS rank
          FROM salesflow.sales_daily d
          JOIN (SELECT l.tenant_id, max(l.day) AS last_day FROM salesflow.sales_daily l GROUP BY l.tenant_id) l
            ON l.tenant_id = d.tenant_id AND d.day > l.last_day - 365
          JOIN salesflow.products pp ON pp.tenant_id = d.tenant_id AND pp.product_id = d.product_id AND NOT pp.is_non_product
         GROUP BY d.tenant_id, d.product_id) x
  JOIN salesflow.products p ON p.tenant_id = x.tenant_id AND p.product_id = x.product_id
 WHERE x.rank <= 100;
CREATE UNIQUE INDEX mv_top_products_key ON salesflow.mv_top_products (tenant_id, product_id);
COMMENT ON MATERIALIZED VIEW salesflow.mv_top_products IS
    'Internal (read through salesflow.top_products): the 100 products with the most revenue over the tenant''s last 365 days of sales.';

CREATE MATERIALIZED VIEW salesflow.mv_top_customers AS
SELECT x.tenant_id, x.rank, x.customer_id, c.ref, c.name, c.country, x.revenue, x.orders, x.last_order_day,
       s.segment, s.value_tier, s.clv, s.churn_label
  FROM (SELECT i.tenant_id, i.customer_id, round(sum(i.total), 2) AS revenue, count(*)::int AS orders,
               max(i.day) AS last_order_day,
               row_number() OVER (PARTITION BY i.tenant_id ORDER BY sum(i.total) DESC, i.customer_id)::int AS rank
          FROM salesflow.invoices i
          JOIN salesflow.customers cc ON cc.tenant_id = i.tenant_id AND cc.customer_id = i.customer_id AND NOT cc.is_anonymous
         WHERE NOT i.is_return
         GROUP BY i.tenant_id, i.customer_id) x
  JOIN salesflow.customers c ON c.tenant_id = x.tenant_id AND c.customer_id = x.customer_id
  LEFT JOIN salesflow.customer_segments s ON s.tenant_id = x.tenant_id AND s.customer_id = x.customer_id
 WHERE x.rank <= 100;
CREATE UNIQUE INDEX mv_top_customers_key ON salesflow.mv_top_customers (tenant_id, customer_id);
COMMENT ON MATERIALIZED VIEW salesflow.mv_top_customers IS
    'Internal (read through salesflow.top_customers): the 100 customers with the most revenue, with segment, tier, CLV and churn label.';

CREATE MATERIALIZED VIEW salesflow.mv_segment_summary AS
SELECT s.tenant_id, s.segment, count(*)::int AS customers,
       (count(*)::float8 / sum(count(*)) OVER (PARTITION BY s.tenant_id)) AS customer_share,
       round(sum(s.monetary::numeric), 2) AS revenue, round(avg(s.clv::numeric), 2) AS avg_clv,
       avg(s.p_alive::numeric)::float8 AS avg_p_alive, avg(s.recency_days::numeric)::float8 AS avg_recency_days
  FROM salesflow.customer_segments s
 GROUP BY s.tenant_id, s.segment;
CREATE UNIQUE INDEX mv_segment_summary_key ON salesflow.mv_segment_summary (tenant_id, segment);
COMMENT ON MATERIALIZED VIEW salesflow.mv_segment_summary IS
    'Internal (read through salesflow.segment_summary): customers, revenue, average CLV and P(alive) per RFM segment.';

CREATE MATERIALIZED VIEW salesflow.mv_churn_clv_summary AS
SELECT s.tenant_id, s.value_tier, coalesce(s.churn_label, 'unknown') AS churn_label, count(*)::int AS customers,
       round(sum(s.clv::numeric), 2) AS clv, avg(s.p_alive::numeric)::float8 AS avg_p_alive,
       sum(s.expected_purchases_90d::numeric) AS expected_purchases_90d
  FROM salesflow.customer_segments s
 GROUP BY s.tenant_id, s.value_tier, coalesce(s.churn_label, 'unknown');
CREATE UNIQUE INDEX mv_churn_clv_summary_key ON salesflow.mv_churn_clv_summary (tenant_id, value_tier, churn_label);
COMMENT ON MATERIALIZED VIEW salesflow.mv_churn_clv_summary IS
    'Internal (read through salesflow.churn_clv_summary): customers, CLV and P(alive) per value tier and churn risk.';

CREATE MATERIALIZED VIEW salesflow.mv_stock_overview AS
SELECT r.tenant_id, r.product_id, p.sku, p.name, p.category, r.category AS buying_category, r.reasons,
       CASE WHEN r.on_hand - r.backorders <= 0 THEN 'out_of_stock'
            WHEN r.on_hand - r.backorders < r.safety_stock THEN 'below_safety_stock'
            WHEN r.on_hand - r.backorders <= r.reorder_point THEN 'below_reorder_point'
            WHEN r.reorder_point IS NULL THEN 'unknown'
            ELSE 'in_stock' END AS stock_status,
       r.on_hand, r.on_order, r.safety_stock, r.reorder_point, r.recommended_qty, r.order_value, r.runway_days,
       r.stockout_date, r.as_of
  FROM salesflow.replenishment r
  JOIN salesflow.products p ON p.tenant_id = r.tenant_id AND p.product_id = r.product_id;
CREATE UNIQUE INDEX mv_stock_overview_key ON salesflow.mv_stock_overview (tenant_id, product_id);
COMMENT ON MATERIALIZED VIEW salesflow.mv_stock_overview IS
    'Internal (read through salesflow.stock_overview): stock status and buying category per stocked product.';

CREATE MATERIALIZED VIEW salesflow.mv_forecast_vs_actual AS
SELECT f.tenant_id, f.day, (f.day::timestamp AT TIME ZONE t.timezone) AS "time",
       sum(f.point::numeric) AS forecast, sum(f.lo80::numeric) AS forecast_lo80, sum(f.hi80::numeric) AS forecast_hi80,
       CASE WHEN f.day <= l.last_day THEN coalesce(sum(d.units), 0) END AS actual
  FROM (SELECT DISTINCT ON (x.tenant_id, x.product_id, x.day) x.tenant_id, x.product_id, x.day, x.point, x.lo80, x.hi80
          FROM salesflow.forecasts x
         WHERE x.location = ''
         ORDER BY x.tenant_id, x.product_id, x.day, x.origin DESC) f
  JOIN salesflow.tenants t ON t.tenant_id = f.tenant_id
  JOIN (SELECT s.tenant_id, max(s.day) AS last_day FROM salesflow.sales_daily s GROUP BY s.tenant_id) l
    ON l.tenant_id = f.tenant_id
  LEFT JOIN salesflow.sales_daily d ON d.tenant_id = f.tenant_id AND d.product_id = f.product_id AND d.day = f.day
 GROUP BY f.tenant_id, f.day, t.timezone, l.last_day;
CREATE UNIQUE INDEX mv_forecast_vs_actual_key ON salesflow.mv_forecast_vs_actual (tenant_id, day);
COMMENT ON MATERIALIZED VIEW salesflow.mv_forecast_vs_actual IS
    'Internal (read through salesflow.forecast_vs_actual): units forecast (the latest snapshot made before each day, summed over products) against units sold.';

CREATE MATERIALIZED VIEW salesflow.mv_dashboard_summary AS
SELECT t.tenant_id, t.name AS tenant, t.currency,
       coalesce(c.customers, 0)::int AS customers, coalesce(p.products, 0)::int AS products,
       coalesce(o.orders, 0)::int AS orders, round(coalesce(o.revenue, 0), 2) AS revenue,
       round(o.revenue / nullif(o.orders, 0), 2) AS average_order_value,
       coalesce(po.pending, 0)::int AS pending_predicted_orders,
       coalesce(sg.high_value, 0)::int AS high_value_customers,
       coalesce(al.open_alerts, 0)::int AS open_alerts,
       coalesce(rp.order_today, 0)::int AS products_to_order,
       coalesce((SELECT jsonb_agg(jsonb_build_object('customer_id', x.customer_id, 'ref', x.ref, 'name', x.name,
                                                     'revenue', x.revenue, 'orders', x.orders) ORDER BY x.rank)
                   FROM salesflow.mv_top_customers x WHERE x.tenant_id = t.tenant_id AND x.rank <= 5), '[]') AS top_customers,
       coalesce((SELECT jsonb_agg(jsonb_build_object('product_id', x.product_id, 'sku', x.sku, 'name', x.name,
                                                     'revenue', x.revenue, 'units', x.units) ORDER BY x.rank)
                   FROM salesflow.mv_top_products x WHERE x.tenant_id = t.tenant_id AND x.rank <= 5), '[]') AS top_products,
       o.first_day, o.last_day, clock_timestamp() AS refreshed_at
  FROM salesflow.tenants t
  LEFT JOIN (SELECT x.tenant_id, count(*) AS customers FROM salesflow.customers x WHERE NOT x.is_anonymous GROUP BY 1) c
    ON c.tenant_id = t.tenant_id
  LEFT JOIN (SELECT x.tenant_id, count(*) AS products FROM salesflow.products x WHERE NOT x.is_non_product GROUP BY 1) p
    ON p.tenant_id = t.tenant_id
  LEFT JOIN (SELECT x.tenant_id, count(*) AS orders, sum(x.total) AS revenue, min(x.day) AS first_day, max(x.day) AS last_day
               FROM salesflow.invoices x WHERE NOT x.is_return GROUP BY 1) o ON o.tenant_id = t.tenant_id
  LEFT JOIN (SELECT x.tenant_id, count(*) AS pending FROM salesflow.predicted_orders x WHERE x.status = 'pending' GROUP BY 1) po
    ON po.tenant_id = t.tenant_id
  LEFT JOIN (SELECT x.tenant_id, count(*) AS high_value FROM salesflow.customer_segments x WHERE x.value_tier = 'high' GROUP BY 1) sg
    ON sg.tenant_id = t.tenant_id
  LEFT JOIN (SELECT x.tenant_id, count(*) AS open_alerts FROM salesflow.anomalies x WHERE x.acknowledged_at IS NULL GROUP BY 1) al
    ON al.tenant_id = t.tenant_id
  LEFT JOIN (SELECT x.tenant_id, count(*) AS order_today FROM salesflow.replenishment x WHERE x.category = 'ORDER_TODAY' GROUP BY 1) rp
    ON rp.tenant_id = t.tenant_id;
CREATE UNIQUE INDEX mv_dashboard_summary_key ON salesflow.mv_dashboard_summary (tenant_id);
COMMENT ON MATERIALIZED VIEW salesflow.mv_dashboard_summary IS
    'Internal (read through salesflow.dashboard_summary and dashboard_json()): the headline figures per tenant.';

-- Business health, 0-100: the weighted mean of four components in [0, 1]
-- (docs/dashboards.md): growth 0.3 (revenue of the last 90 days against the
-- 90 before: 0.5 + change / 2, clamped), retention 0.3 (share of the
-- customers who bought in the previous 90 days and bought again in the last
-- 90), churn 0.2 (1 - share of scored customers at high churn risk), stock
-- 0.2 (share of stocked products neither out of stock nor below safety
-- stock). A component without data is left out and the weights rescaled.
CREATE MATERIALIZED VIEW salesflow.mv_business_health AS
SELECT h.tenant_id, h.growth, h.retention, h.churn, h.stock,
       round((100 * (0.3 * coalesce(h.growth, 0) + 0.3 * coalesce(h.retention, 0) + 0.2 * coalesce(h.churn, 0)
                     + 0.2 * coalesce(h.stock, 0))
              / nullif(0.3 * (h.growth IS NOT NULL)::int + 0.3 * (h.retention IS NOT NULL)::int
                       + 0.2 * (h.churn IS NOT NULL)::int + 0.2 * (h.stock IS NOT NULL)::int, 0))::numeric, 1) AS score,
       h.revenue_90d, h.revenue_prev_90d, h.as_of
  FROM (SELECT t.tenant_id, l.last_day AS as_of, rv.last90 AS revenue_90d, rv.prev90 AS revenue_prev_90d,
               CASE WHEN rv.prev90 > 0 THEN least(1, greatest(0, 0.5 + (rv.last90 - rv.prev90) / rv.prev90 / 2)) END AS growth,
               rt.retention, ch.churn, st.stock
          FROM salesflow.tenants t
          JOIN (SELECT s.tenant_id, max(s.day) AS last_day FROM salesflow.sales_daily s GROUP BY 1) l ON l.tenant_id = t.tenant_id
          LEFT JOIN LATERAL (
              SELECT sum(d.revenue) FILTER (WHERE d.day > l.last_day - 90)::float8 AS last90,
                     sum(d.revenue) FILTER (WHERE d.day <= l.last_day - 90 AND d.day > l.last_day - 180)::float8 AS prev90
                FROM salesflow.sales_daily d WHERE d.tenant_id = t.tenant_id AND d.day > l.last_day - 180) rv ON true
          LEFT JOIN LATERAL (
              SELECT avg(CASE WHEN bool_or(i.day > l.last_day - 90) THEN 1.0 ELSE 0.0 END) OVER ()::float8 AS retention
                FROM salesflow.invoices i
               WHERE i.tenant_id = t.tenant_id AND NOT i.is_return AND i.day > l.last_day - 180
               GROUP BY i.customer_id
              HAVING bool_or(i.day <= l.last_day - 90)
               LIMIT 1) rt ON true
          LEFT JOIN LATERAL (
              SELECT 1 - avg(CASE WHEN s.churn_label = 'high' THEN 1.0 ELSE 0.0 END)::float8 AS churn
                FROM salesflow.customer_segments s WHERE s.tenant_id = t.tenant_id AND s.churn_label IS NOT NULL
              HAVING count(*) > 0) ch ON true
          LEFT JOIN LATERAL (
              SELECT avg(CASE WHEN r.on_hand - r.backorders <= 0 OR r.on_hand - r.backorders < r.safety_stock
                              THEN 0.0 ELSE 1.0 END)::float8 AS stock
                FROM salesflow.replenishment r WHERE r.tenant_id = t.tenant_id
              HAVING count(*) > 0) st ON true) h;
CREATE UNIQUE INDEX mv_business_health_key ON salesflow.mv_business_health (tenant_id);
COMMENT ON MATERIALIZED VIEW salesflow.mv_business_health IS
    'Internal (read through salesflow.business_health): the 0-100 health score and its components per tenant.';

-- Forecast accuracy per snapshot (pooled forecasts): forecast_accuracy_by_origin
-- materialized, with Grafana's time column.
CREATE MATERIALIZED VIEW salesflow.mv_forecast_accuracy AS
SELECT a.tenant_id, a.origin, (a.origin::timestamp AT TIME ZONE t.timezone) AS "time", a.step,
       a.products::int AS products, a.days, a.wape, a.bias, a.mase, a.coverage80
  FROM salesflow.forecast_accuracy_by_origin a
  JOIN salesflow.tenants t ON t.tenant_id = a.tenant_id;
CREATE UNIQUE INDEX mv_forecast_accuracy_key ON salesflow.mv_forecast_accuracy (tenant_id, origin, step);
COMMENT ON MATERIALIZED VIEW salesflow.mv_forecast_accuracy IS
    'Internal (read through salesflow.forecast_accuracy_trend): forecast accuracy per tenant, snapshot (origin) and days ahead.';

DO $mv$
DECLARE
    m regclass;
BEGIN
    FOR m IN SELECT c.oid::regclass FROM pg_catalog.pg_class c
              WHERE c.relnamespace = 'salesflow'::regnamespace AND c.relkind = 'm'
    LOOP
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', m);
        EXECUTE format('ALTER MATERIALIZED VIEW %s OWNER TO salesflow_admin', m);
    END LOOP;
END
$mv$;

-- ---------------------------------------------------------------------------
-- Tenant views (the only way readers reach the materialized views)
-- ---------------------------------------------------------------------------
CREATE VIEW salesflow.dashboard_summary WITH (security_barrier = true) AS
SELECT m.* FROM salesflow.mv_dashboard_summary m WHERE m.tenant_id = salesflow.current_tenant_id();
COMMENT ON VIEW salesflow.dashboard_summary IS
    'Headline figures of the session''s tenant: customers, products, orders, revenue, average order value, pending predicted orders, high-value customers, open alerts, products to order, top 5 customers and products (as of the last refresh).';

CREATE VIEW salesflow.sales_by_day WITH (security_barrier = true) AS
SELECT m."time", m.day, m.revenue, m.orders, m.units, m.customers
  FROM salesflow.mv_sales_daily m WHERE m.tenant_id = salesflow.current_tenant_id()
 ORDER BY m.day;
COMMENT ON VIEW salesflow.sales_by_day IS
    'Revenue, orders, units and customers per day of the session''s tenant (days in its time zone, gap-filled with zeros); "time" is midnight of the day as timestamptz, for Grafana.';

CREATE VIEW salesflow.sales_by_month WITH (security_barrier = true) AS
SELECT m."time", m.month, m.revenue, m.orders, m.units, m.customers
  FROM salesflow.mv_sales_monthly m WHERE m.tenant_id = salesflow.current_tenant_id()
 ORDER BY m.month;
COMMENT ON VIEW salesflow.sales_by_month IS 'Revenue, orders, units and distinct customers per month of the session''s tenant.';

CREATE VIEW salesflow.sales_metrics WITH (security_barrier = true) AS
SELECT m."time", v.metric, v.value
  FROM salesflow.mv_sales_daily m
 CROSS JOIN LATERAL (VALUES ('revenue', m.revenue::float8), ('orders', m.orders::float8), ('units', m.units::float8),
                            ('customers', m.customers::float8)) v(metric, value)
 WHERE m.tenant_id = salesflow.current_tenant_id()
 ORDER BY m.day, v.metric;
COMMENT ON VIEW salesflow.sales_metrics IS 'The daily sales figures in long format (time, metric, value) for Grafana time-series panels.';

CREATE VIEW salesflow.top_products WITH (security_barrier = true) AS
SELECT m.rank, m.product_id, m.sku, m.name, m.category, m.revenue, m.units, m.orders, m.revenue_share
  FROM salesflow.mv_top_products m WHERE m.tenant_id = salesflow.current_tenant_id()
 ORDER BY m.rank;
COMMENT ON VIEW salesflow.top_products IS 'The session''s tenant''s 100 best-selling products by revenue over its last 365 days, with rank and revenue share.';

CREATE VIEW salesflow.top_customers WITH (security_barrier = true) AS
SELECT m.rank, m.customer_id, m.ref, m.name, m.country, m.revenue, m.orders, m.last_order_day, m.segment,
       m.value_tier, m.clv, m.churn_label
  FROM salesflow.mv_top_customers m WHERE m.tenant_id = salesflow.current_tenant_id()
 ORDER BY m.rank;
COMMENT ON VIEW salesflow.top_customers IS 'The session''s tenant''s 100 customers with the most revenue, with segment, value tier, CLV and churn risk.';

CREATE VIEW salesflow.segment_summary WITH (security_barrier = true) AS
SELECT m.segment, m.customers, m.customer_share, m.revenue, m.avg_clv, m.avg_p_alive, m.avg_recency_days
  FROM salesflow.mv_segment_summary m WHERE m.tenant_id = salesflow.current_tenant_id()
 ORDER BY m.customers DESC, m.segment;
COMMENT ON VIEW salesflow.segment_summary IS 'Customers, revenue, average CLV, P(alive) and recency per RFM segment of the session''s tenant.';

CREATE VIEW salesflow.churn_clv_summary WITH (security_barrier = true) AS
SELECT m.value_tier, m.churn_label, m.customers, m.clv, m.avg_p_alive, m.expected_purchases_90d
  FROM salesflow.mv_churn_clv_summary m WHERE m.tenant_id = salesflow.current_tenant_id()
 ORDER BY m.value_tier, m.churn_label;
COMMENT ON VIEW salesflow.churn_clv_summary IS 'Customers, CLV and P(alive) per value tier and churn risk of the session''s tenant.';

CREATE VIEW salesflow.stock_overview WITH (security_barrier = true) AS
SELECT m.product_id, m.sku, m.name, m.category, m.stock_status, m.buying_category, m.reasons, m.on_hand, m.on_order,
       m.safety_stock, m.reorder_point, m.recommended_qty, m.order_value, m.runway_days, m.stockout_date, m.as_of
  FROM salesflow.mv_stock_overview m WHERE m.tenant_id = salesflow.current_tenant_id()
 ORDER BY m.stockout_date NULLS LAST, m.sku;
COMMENT ON VIEW salesflow.stock_overview IS 'Stock status and buying category per stocked product of the session''s tenant (the buying queue for dashboards).';

CREATE VIEW salesflow.forecast_vs_actual WITH (security_barrier = true) AS
SELECT m."time", m.day, m.forecast, m.forecast_lo80, m.forecast_hi80, m.actual
  FROM salesflow.mv_forecast_vs_actual m WHERE m.tenant_id = salesflow.current_tenant_id()
 ORDER BY m.day;
COMMENT ON VIEW salesflow.forecast_vs_actual IS 'Units forecast (latest snapshot before each day, all products) against units sold, per day of the session''s tenant; actual is NULL for future days.';

CREATE VIEW salesflow.forecast_accuracy_trend WITH (security_barrier = true) AS
SELECT m."time", m.origin, m.step, m.products, m.days, m.wape, m.bias, m.mase, m.coverage80
  FROM salesflow.mv_forecast_accuracy m WHERE m.tenant_id = salesflow.current_tenant_id()
 ORDER BY m.origin, m.step;
COMMENT ON VIEW salesflow.forecast_accuracy_trend IS 'Forecast accuracy of the session''s tenant per snapshot (origin) and days ahead, over all products: whether forecasts get better or worse.';

CREATE VIEW salesflow.business_health WITH (security_barrier = true) AS
SELECT m.score, m.growth, m.retention, m.churn, m.stock, m.revenue_90d, m.revenue_prev_90d, m.as_of
  FROM salesflow.mv_business_health m WHERE m.tenant_id = salesflow.current_tenant_id();
COMMENT ON VIEW salesflow.business_health IS
    'The session''s tenant''s business health score (0-100) and its components in [0, 1]: growth, retention, churn (1 - high-risk share), stock (share of healthy stock); see docs/dashboards.md.';

GRANT SELECT ON salesflow.dashboard_summary, salesflow.sales_by_day, salesflow.sales_by_month, salesflow.sales_metrics,
                salesflow.top_products, salesflow.top_customers, salesflow.segment_summary, salesflow.churn_clv_summary,
                salesflow.stock_overview, salesflow.forecast_vs_actual, salesflow.forecast_accuracy_trend,
                salesflow.business_health
   TO salesflow_reader;

CREATE OR REPLACE FUNCTION salesflow._report_rows(report text, options jsonb) RETURNS text[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    src text := salesflow._report_source(report);
    order_col text := options ->> 'order_by';
    descending boolean := coalesce((options ->> 'descending')::boolean, false);
    max_rows bigint := coalesce((options ->> 'limit')::bigint, 1000000);
    cols text[];
BEGIN
    PERFORM salesflow.require_tenant();
    IF src IS NULL THEN
        RAISE EXCEPTION 'unknown report "%"', report USING ERRCODE = '22023',
              HINT = 'Reports: dashboard_summary, sales_by_day, sales_by_month, top_products, top_customers, segment_summary, churn_clv_summary, stock_overview, buying_queue, forecast_vs_actual, customers, open_alerts.';
    END IF;
    IF max_rows < 0 THEN
        RAISE EXCEPTION 'limit must be >= 0' USING ERRCODE = '22023';
    END IF;
    IF to_regclass('pg_temp.sf_report') IS NOT NULL THEN
        DROP TABLE sf_report;
    END IF;
    EXECUTE 'CREATE TEMP TABLE sf_report ON COMMIT DROP AS ' || src || ' WITH NO DATA';
    SELECT array_agg(a.attname::text ORDER BY a.attnum) INTO cols
      FROM pg_catalog.pg_attribute a WHERE a.attrelid = 'pg_temp.sf_report'::regclass AND a.attnum > 0 AND NOT a.attisdropped;
    IF order_col IS NOT NULL AND NOT order_col = ANY (cols) THEN
        RAISE EXCEPTION 'report "%" has no column "%"', report, order_col USING ERRCODE = '42703',
              HINT = 'Columns: ' || array_to_string(cols, ', ');
    END IF;
    -- a fresh temp table is read back in the order it was filled
    EXECUTE format('INSERT INTO sf_report SELECT * FROM (%s) r %s LIMIT %s', src,
                   CASE WHEN order_col IS NULL THEN '' ELSE format('ORDER BY %I %s', order_col, CASE WHEN descending THEN 'DESC' ELSE 'ASC' END) END,
                   max_rows);
    RETURN cols;
END
$$;

COMMENT ON FUNCTION salesflow._report_rows(text, jsonb) IS
    'Internal: the rows of a report of the session''s tenant (options order_by, descending, limit) into the temp table sf_report; returns its columns.';

CREATE OR REPLACE FUNCTION salesflow.export_csv(report text, options jsonb DEFAULT '{}') RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    delim text := coalesce(options ->> 'delimiter', ',');
    cols text[];
    header text;
    body text;
BEGIN
    IF delim NOT IN (',', ';', E'\t', '|') THEN
        RAISE EXCEPTION 'delimiter must be one of , ; | or a tab' USING ERRCODE = '22023';
    END IF;
    cols := salesflow._report_rows(report, options);
    SELECT string_agg(salesflow._csv_field(c), delim ORDER BY o) INTO header FROM unnest(cols) WITH ORDINALITY u(c, o);
    SELECT string_agg((SELECT string_agg(salesflow._csv_field(e.v), delim ORDER BY e.o)
                         FROM json_each_text(row_to_json(r)) WITH ORDINALITY e(k, v, o)), E'\n')
      INTO body FROM sf_report r;
    DROP TABLE sf_report;
    RETURN header || E'\n' || coalesce(body || E'\n', '');
END
$$;

CREATE OR REPLACE FUNCTION salesflow._report_xlsx(sheet text) RETURNS bytea
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'sf_report_xlsx';

COMMENT ON FUNCTION salesflow._report_xlsx(text) IS
    'Internal: the rows of the session''s temp table sf_report as a one-sheet Excel workbook (libxlsxwriter): typed cells, bold frozen header, autofilter, column widths.';

CREATE OR REPLACE FUNCTION salesflow.export_xlsx(report text, options jsonb DEFAULT '{}') RETURNS bytea
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    workbook bytea;
BEGIN
    IF options ? 'delimiter' THEN
        RAISE EXCEPTION 'option "delimiter" does not apply to a workbook' USING ERRCODE = '22023';
    END IF;
    PERFORM salesflow._report_rows(report, options);
    workbook := salesflow._report_xlsx(report);
    DROP TABLE sf_report;
    RETURN workbook;
END
$$;

COMMENT ON FUNCTION salesflow.export_xlsx(text, jsonb) IS
    'The same reports as export_csv as an Excel workbook (.xlsx): one sheet named after the report, numbers, dates and text as typed cells, a bold frozen header row, an autofilter, column widths from the values. Options: order_by, descending, limit.';

CREATE OR REPLACE FUNCTION salesflow._make_report(tenant bigint, report_id bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    caller text[];
BEGIN
    SELECT p.report, p.options INTO r FROM salesflow.reports p
     WHERE p.tenant_id = tenant AND p.report_id = _make_report.report_id AND p.status = 'pending';
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    BEGIN
        caller := salesflow._act_as_tenant(tenant);
        UPDATE salesflow.reports p
           SET status = 'done', content = salesflow.export_csv(r.report, r.options), finished_at = clock_timestamp()
         WHERE p.tenant_id = tenant AND p.report_id = _make_report.report_id;
        PERFORM salesflow._act_as_caller(caller);
    EXCEPTION WHEN query_canceled OR admin_shutdown THEN
        RAISE;
    WHEN OTHERS THEN
        UPDATE salesflow.reports p SET status = 'failed', error = SQLSTATE || ' ' || SQLERRM, finished_at = clock_timestamp()
         WHERE p.tenant_id = tenant AND p.report_id = _make_report.report_id;
    END;
    RETURN true;
END
$$;

COMMENT ON FUNCTION salesflow._make_report(bigint, bigint) IS
    'Internal: makes one pending report as its tenant, storing the CSV or the error; false when it was not pending.';

CREATE OR REPLACE FUNCTION salesflow.make_reports() RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    n bigint := 0;
BEGIN
    FOR r IN SELECT p.tenant_id, p.report_id FROM salesflow.reports p
              WHERE p.status = 'pending' ORDER BY p.requested_at FOR UPDATE SKIP LOCKED
    LOOP
        IF salesflow._make_report(r.tenant_id, r.report_id) THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END
$$;

COMMENT ON FUNCTION salesflow.make_reports() IS
    'Makes every pending report the caller can see (INSERT INTO salesflow.reports (report, options) requests one; the scheduled job runs this), each as its own tenant, storing the CSV or the error. Returns the number of reports processed.';

CREATE TABLE salesflow.job_leases (
    job        text        NOT NULL PRIMARY KEY,
    holder_pid int,
    taken_at   timestamptz,
    max_hold   interval    NOT NULL DEFAULT '1 hour'
);

COMMENT ON TABLE salesflow.job_leases IS
    'Jobs that must not overlap (refresh_dashboards): which backend holds each and since when; admins only.';

COMMENT ON COLUMN salesflow.job_leases.job IS 'Job name.';

COMMENT ON COLUMN salesflow.job_leases.holder_pid IS 'Backend running the job (NULL: free).';

COMMENT ON COLUMN salesflow.job_leases.taken_at IS 'When the holder took the lease.';

COMMENT ON COLUMN salesflow.job_leases.max_hold IS 'After this long a lease is free even if its holder still exists (a backend id can be reused).';

INSERT INTO salesflow.job_leases (job) VALUES ('refresh_dashboards');

REVOKE ALL ON salesflow.job_leases FROM PUBLIC;

GRANT SELECT, UPDATE ON salesflow.job_leases TO salesflow_admin;

CREATE OR REPLACE FUNCTION salesflow._take_lease(job text) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    l salesflow.job_leases;
BEGIN
    SELECT * INTO l FROM salesflow.job_leases x WHERE x.job = _take_lease.job FOR UPDATE SKIP LOCKED;
    IF NOT FOUND OR (l.holder_pid IS DISTINCT FROM pg_backend_pid()
                     AND l.taken_at > clock_timestamp() - l.max_hold
                     AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = l.holder_pid)) THEN
        RETURN false;
    END IF;
    UPDATE salesflow.job_leases x SET holder_pid = pg_backend_pid(), taken_at = clock_timestamp()
     WHERE x.job = _take_lease.job;
    RETURN true;
END
$$;

COMMENT ON FUNCTION salesflow._take_lease(text) IS
    'Internal: takes the lease of a job (true), or finds it held by another running backend or being taken (false).';

CREATE OR REPLACE FUNCTION salesflow._release_lease(job text) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE salesflow.job_leases x SET holder_pid = NULL, taken_at = NULL
     WHERE x.job = _release_lease.job AND x.holder_pid = pg_backend_pid()
$$;

COMMENT ON FUNCTION salesflow._release_lease(text) IS 'Internal: gives back a lease this backend holds.';

REVOKE EXECUTE ON FUNCTION salesflow._take_lease(text), salesflow._release_lease(text) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION salesflow._take_lease(text), salesflow._release_lease(text) TO salesflow_admin;

CREATE OR REPLACE PROCEDURE salesflow.refresh_dashboards(commit_each boolean DEFAULT true, time_budget interval DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
    v record;
    started timestamptz;
    run_started timestamptz := pg_catalog.clock_timestamp();
    populated boolean;
    n bigint;
    caller_path text := pg_catalog.current_setting('search_path');
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    IF NOT salesflow._take_lease('refresh_dashboards') THEN
        INSERT INTO salesflow.refresh_log (view_name, started_at, finished_at, status, error)
        VALUES ('*', run_started, pg_catalog.clock_timestamp(), 'skipped', 'another refresh_dashboards() is running');
        RAISE NOTICE 'salesflow: a dashboard refresh is already running; skipped';
        PERFORM pg_catalog.set_config('search_path', caller_path, true);
        RETURN;
    END IF;
    FOR v IN SELECT d.view_name FROM salesflow.dashboard_views() d ORDER BY d.refresh_order LOOP
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        IF time_budget IS NOT NULL AND pg_catalog.clock_timestamp() - run_started > time_budget THEN
            INSERT INTO salesflow.refresh_log (view_name, started_at, finished_at, status, error)
            VALUES (v.view_name, pg_catalog.clock_timestamp(), pg_catalog.clock_timestamp(), 'skipped', 'time budget used up');
            CONTINUE;
        END IF;
        started := pg_catalog.clock_timestamp();
        SELECT c.relispopulated INTO populated FROM pg_catalog.pg_class c
         WHERE c.oid = ('salesflow.' || pg_catalog.quote_ident(v.view_name))::regclass;
        BEGIN
            IF populated THEN
                EXECUTE pg_catalog.format('REFRESH MATERIALIZED VIEW CONCURRENTLY salesflow.%I', v.view_name);
            ELSE
                EXECUTE pg_catalog.format('REFRESH MATERIALIZED VIEW salesflow.%I', v.view_name);
            END IF;
            EXECUTE pg_catalog.format('SELECT count(*) FROM salesflow.%I', v.view_name) INTO n;
            INSERT INTO salesflow.refresh_log (view_name, started_at, finished_at, rows, mode, status)
            VALUES (v.view_name, started, pg_catalog.clock_timestamp(), n,
                    CASE WHEN populated THEN 'concurrently' ELSE 'plain' END, 'ok');
        EXCEPTION WHEN query_canceled OR admin_shutdown THEN
            RAISE;
        WHEN OTHERS THEN
            INSERT INTO salesflow.refresh_log (view_name, started_at, finished_at, mode, status, error)
            VALUES (v.view_name, started, pg_catalog.clock_timestamp(),
                    CASE WHEN populated THEN 'concurrently' ELSE 'plain' END, 'failed', SQLSTATE || ' ' || SQLERRM);
            RAISE WARNING 'salesflow: refreshing % failed: %', v.view_name, SQLERRM;
        END;
        IF commit_each THEN
            COMMIT;
        END IF;
    END LOOP;
    PERFORM salesflow._release_lease('refresh_dashboards');
    -- inside the caller's transaction (commit_each false) its search_path comes back
    PERFORM pg_catalog.set_config('search_path', caller_path, true);
END
$$;

DO $comments$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT v.relname, a.attname, d.meaning
          FROM pg_catalog.pg_class v
          JOIN pg_catalog.pg_attribute a ON a.attrelid = v.oid AND a.attnum > 0 AND NOT a.attisdropped
          JOIN (VALUES
            ('time', 'Start of the day (or month) in the tenant''s time zone, as timestamptz (Grafana''s time column).'),
            ('day', 'Day in the tenant''s time zone.'),
            ('month', 'First day of the month.'),
            ('revenue', 'Revenue of sales lines (returns not subtracted), in the tenant''s currency.'),
            ('orders', 'Number of orders (invoices that are not returns).'),
            ('units', 'Units sold.'),
            ('customers', 'Number of distinct customers.'),
            ('metric', 'Name of the figure: revenue, orders, units or customers.'),
            ('value', 'Value of the figure.'),
            ('rank', 'Rank by revenue (1 = most).'),
            ('product_id', 'Product id.'),
            ('customer_id', 'Customer id.'),
            ('tenant_id', 'Tenant id.'),
            ('tenant', 'Tenant name.'),
            ('currency', 'ISO 4217 currency of the amounts.'),
            ('sku', 'Stock code of the product.'),
            ('name', 'Name (product description or customer name).'),
            ('ref', 'Customer reference as in the source data.'),
            ('category', 'Product category.'),
            ('country', 'Customer country.'),
            ('city', 'Customer city.'),
            ('revenue_share', 'Share of the tenant''s revenue over the same period (0-1).'),
            ('last_order_day', 'Day of the customer''s latest order.'),
            ('segment', 'RFM segment (Champions, Loyal Customers, At Risk, ...).'),
            ('value_tier', 'Value tier by monetary value: high, medium or low.'),
            ('clv', 'Customer lifetime value over the model horizon (BG/NBD + Gamma-Gamma, discounted).'),
            ('avg_clv', 'Average customer lifetime value.'),
            ('churn_label', 'Churn risk: low, medium or high (from churn_risk); unknown when not scored.'),
            ('churn_risk', 'Probability the customer buys nothing in the next segments.churn_days days (calibrated).'),
            ('p_alive', 'Probability the customer is still active (BG/NBD).'),
            ('avg_p_alive', 'Average probability that customers are still active.'),
            ('customer_share', 'Share of the tenant''s scored customers (0-1).'),
            ('avg_recency_days', 'Average days since the last order.'),
            ('recency_days', 'Days since the last order.'),
            ('frequency', 'Repeat orders (orders after the first).'),
            ('monetary', 'Revenue of the customer.'),
            ('expected_purchases_90d', 'Orders expected in the next 90 days (BG/NBD).'),
            ('expected_order_value', 'Expected value of an order (Gamma-Gamma).'),
            ('r_score', 'Recency score 1-5.'), ('f_score', 'Frequency score 1-5.'), ('m_score', 'Monetary score 1-5.'),
            ('first_order_at', 'Time of the first order.'), ('last_order_at', 'Time of the latest order.'),
            ('next_order_id', 'Id of the open predicted order.'),
            ('next_order_date', 'Most likely day of the next order.'),
            ('next_order_window_start', 'Start of the window the next order is expected in.'),
            ('next_order_window_end', 'End of the window the next order is expected in.'),
            ('next_order_confidence', 'Probability the next order comes within the window.'),
            ('next_order_priority', 'Priority of the predicted order: high, medium or low.'),
            ('next_order_amount', 'Expected amount of the next order.'),
            ('recommendations', 'Upsell suggestions as JSON: product, SKU, name, score.'),
            ('stock_status', 'out_of_stock, below_safety_stock, below_reorder_point, in_stock or unknown.'),
            ('buying_category', 'ORDER_TODAY, ALREADY_ORDERED, ATTENTION_REQUIRED or NORMAL.'),
            ('reasons', 'Why the product needs attention.'),
            ('on_hand', 'Units on hand.'), ('on_order', 'Units on open purchase orders.'),
            ('safety_stock', 'Safety stock in units.'), ('reorder_point', 'Reorder point in units.'),
            ('recommended_qty', 'Units to order now.'), ('order_value', 'Value of the recommended order.'),
            ('runway_days', 'Days the stock lasts against the forecast.'),
            ('stockout_date', 'Day the forecast demand exceeds the stock (empty: not within the forecast).'),
            ('as_of', 'Day the figures are for.'),
            ('forecast', 'Units forecast for the day (all products).'),
            ('forecast_lo80', 'Lower bound of the 80% interval (sum over products).'),
            ('forecast_hi80', 'Upper bound of the 80% interval (sum over products).'),
            ('actual', 'Units sold that day (empty for future days).'),
            ('origin', 'Last day of data of the forecast snapshot.'),
            ('step', 'Days ahead of the origin.'),
            ('days', 'Product-days compared.'),
            ('wape', 'Weighted absolute percentage error: sum of |forecast - actual| / units sold.'),
            ('bias', 'Sum of (forecast - actual) / units sold: above 0 over-forecasts.'),
            ('mase', 'Mean absolute error scaled by each product''s in-sample seasonal naive error (below 1: better than last week).'),
            ('coverage80', 'Share of actuals inside the 80% interval (near 0.8 when calibrated).'),
            ('score', 'Business health score, 0-100.'),
            ('growth', 'Growth component, 0-1 (0.5 = flat revenue over 90 days).'),
            ('retention', 'Retention component, 0-1: share of the previous 90 days'' customers who bought again.'),
            ('churn', 'Churn component, 0-1: 1 - share of customers at high churn risk.'),
            ('stock', 'Stock component, 0-1: share of stocked products not out of stock or below safety stock.'),
            ('revenue_90d', 'Revenue of the last 90 days.'), ('revenue_prev_90d', 'Revenue of the 90 days before.'),
            ('products', 'Number of products.'),
            ('average_order_value', 'Revenue per order.'),
            ('pending_predicted_orders', 'Predicted orders waiting for review.'),
            ('high_value_customers', 'Customers in the high value tier.'),
            ('open_alerts', 'Alerts not yet acknowledged.'),
            ('products_to_order', 'Products in category ORDER_TODAY.'),
            ('top_customers', 'Top 5 customers by revenue, as JSON.'),
            ('top_products', 'Top 5 products by revenue, as JSON.'),
            ('first_day', 'First day with orders.'), ('last_day', 'Latest day with orders.'),
            ('refreshed_at', 'When the figures were computed.'),
            ('view_name', 'Materialized view.'), ('last_refresh', 'Last successful refresh.'),
            ('newest_data', 'Newest processed upload of the tenant.'),
            ('stale', 'True when the view is older than the newest data or was never refreshed.')
          ) d(col, meaning) ON d.col = a.attname
         WHERE v.relnamespace = 'salesflow'::regnamespace AND v.relkind = 'v'
           AND v.relname IN ('dashboard_summary', 'sales_by_day', 'sales_by_month', 'sales_metrics', 'top_products',
                             'top_customers', 'segment_summary', 'churn_clv_summary', 'stock_overview',
                             'forecast_vs_actual', 'forecast_accuracy_trend', 'business_health', 'freshness',
                             'customer_profile')
    LOOP
        EXECUTE pg_catalog.format('COMMENT ON COLUMN salesflow.%I.%I IS %L', c.relname, c.attname, c.meaning);
    END LOOP;
END
$comments$;

CREATE OR REPLACE FUNCTION salesflow._run_step(tenant bigint, step text) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    started timestamptz := clock_timestamp();
    n bigint;
    caller text[];
BEGIN
    BEGIN
        caller := salesflow._act_as_tenant(tenant);   -- the step sees and writes this tenant only
        n := CASE step
            WHEN 'segments' THEN salesflow.refresh_segments(tenant::text, only_changed => true)
            -- per product, and per product and location when the tenant's
            -- setting forecast.by_location is true
            WHEN 'forecasts' THEN salesflow.refresh_forecasts(tenant::text, only_changed => true)
                + CASE WHEN salesflow._tenant_setting(tenant, 'forecast.by_location', 'false') = 'true'::jsonb
                       THEN salesflow.refresh_forecasts(tenant::text, only_changed => true, by_location => true)
                       ELSE 0 END
            WHEN 'predicted_orders' THEN salesflow.refresh_predicted_orders(tenant::text, only_changed => true)
            WHEN 'associations' THEN salesflow.refresh_associations(tenant::text)
            WHEN 'replenishment' THEN salesflow.refresh_replenishment(tenant::text)
            WHEN 'anomalies' THEN salesflow.refresh_anomalies(tenant::text)
        END;
        INSERT INTO salesflow.pipeline_runs (tenant_id, step, started_at, finished_at, rows, status)
        VALUES (tenant, step, started, clock_timestamp(), n, 'ok');
        PERFORM salesflow._act_as_caller(caller);
        RETURN n;
    EXCEPTION WHEN query_canceled OR admin_shutdown THEN
        RAISE;
    WHEN OTHERS THEN
        INSERT INTO salesflow.pipeline_runs (tenant_id, step, started_at, finished_at, status, error)
        VALUES (tenant, step, started, clock_timestamp(), 'failed', SQLSTATE || ' ' || SQLERRM);
        RAISE WARNING 'salesflow pipeline: % for tenant % failed: %', step,
            (SELECT tn.name FROM salesflow.tenants tn WHERE tn.tenant_id = _run_step.tenant), SQLERRM;
        RETURN NULL;
    END;
END
$$;

COMMENT ON FUNCTION salesflow._run_step(bigint, text) IS
    'Internal: runs one pipeline step (segments, forecasts, predicted_orders, associations, replenishment, anomalies) for one tenant, as that tenant, in a subtransaction and logs it in pipeline_runs; NULL when it failed.';

CREATE OR REPLACE FUNCTION salesflow._process_queued_upload(tenant bigint, upload bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    up salesflow.uploads;
    caller text[];
BEGIN
    BEGIN
        caller := salesflow._act_as_tenant(tenant);
        up := salesflow._process_upload(tenant, upload);
        PERFORM salesflow._act_as_caller(caller);
        RETURN up.status = 'processed';
    EXCEPTION WHEN query_canceled OR admin_shutdown THEN
        RAISE;
    WHEN OTHERS THEN
        UPDATE salesflow.uploads u
           SET status = 'failed', error = SQLERRM, error_sqlstate = SQLSTATE, processed_at = clock_timestamp()
         WHERE u.tenant_id = tenant AND u.upload_id = upload;
        RAISE WARNING 'salesflow: queued upload % failed: %', upload, SQLERRM;
        PERFORM salesflow._notify('salesflow_uploads', 'upload', upload);
        RETURN false;
    END;
END
$$;

COMMENT ON FUNCTION salesflow._process_queued_upload(bigint, bigint) IS
    'Internal: processes one queued upload as its tenant; a failure marks the upload failed with its error and SQLSTATE. True when processed.';

CREATE OR REPLACE FUNCTION salesflow.process_pending_uploads() RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    u record;
    n bigint := 0;
BEGIN
    FOR u IN SELECT x.tenant_id, x.upload_id FROM salesflow.uploads x
              WHERE x.status = 'received' ORDER BY x.upload_id
    LOOP
        PERFORM salesflow._process_queued_upload(u.tenant_id, u.upload_id);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

COMMENT ON FUNCTION salesflow.process_pending_uploads() IS
    'Processes every upload still in status received that the caller can see (stored but not processed, e.g. after a crash or by a loader that only stores), each as its own tenant; returns how many. A failing upload is marked failed with its error and the others go on.';

-- ---------------------------------------------------------------------------
-- Merged after the first draft: issue 17 (model candidates at the cut-off),
-- issue 22 (report lifecycle and schedules, procurement, seed names), issue 18
-- (anomaly budget), and the settings catalogue as the modules define it now
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION salesflow._customer_model_candidates(tenant bigint, as_of date, churn_days int)
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
      FROM salesflow.customers c WHERE c.tenant_id = tenant AND NOT c.is_anonymous;
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

-- dashboards: Excel export, report lifecycle and schedules
CREATE OR REPLACE FUNCTION salesflow._report_rows(report text, options jsonb) RETURNS text[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    src text := salesflow._report_source(report);
    order_col text := options ->> 'order_by';
    descending boolean := coalesce((options ->> 'descending')::boolean, false);
    max_rows bigint := coalesce((options ->> 'limit')::bigint, 1000000);
    cols text[];
BEGIN
    PERFORM salesflow.require_tenant();
    IF src IS NULL THEN
        RAISE EXCEPTION 'unknown report "%"', report USING ERRCODE = '22023',
              HINT = 'Reports: dashboard_summary, sales_by_day, sales_by_month, top_products, top_customers, segment_summary, churn_clv_summary, stock_overview, buying_queue, forecast_vs_actual, customers, open_alerts.';
    END IF;
    IF max_rows < 0 THEN
        RAISE EXCEPTION 'limit must be >= 0' USING ERRCODE = '22023';
    END IF;
    IF to_regclass('pg_temp.sf_report') IS NOT NULL THEN
        DROP TABLE sf_report;
    END IF;
    EXECUTE 'CREATE TEMP TABLE sf_report ON COMMIT DROP AS ' || src || ' WITH NO DATA';
    SELECT array_agg(a.attname::text ORDER BY a.attnum) INTO cols
      FROM pg_catalog.pg_attribute a WHERE a.attrelid = 'pg_temp.sf_report'::regclass AND a.attnum > 0 AND NOT a.attisdropped;
    IF order_col IS NOT NULL AND NOT order_col = ANY (cols) THEN
        RAISE EXCEPTION 'report "%" has no column "%"', report, order_col USING ERRCODE = '42703',
              HINT = 'Columns: ' || array_to_string(cols, ', ');
    END IF;
    -- a fresh temp table is read back in the order it was filled
    EXECUTE format('INSERT INTO sf_report SELECT * FROM (%s) r %s LIMIT %s', src,
                   CASE WHEN order_col IS NULL THEN '' ELSE format('ORDER BY %I %s', order_col, CASE WHEN descending THEN 'DESC' ELSE 'ASC' END) END,
                   max_rows);
    RETURN cols;
END
$$;
COMMENT ON FUNCTION salesflow._report_rows(text, jsonb) IS
    'Internal: the rows of a report of the session''s tenant (options order_by, descending, limit) into the temp table sf_report; returns its columns.';

CREATE OR REPLACE FUNCTION salesflow.export_csv(report text, options jsonb DEFAULT '{}') RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    delim text := coalesce(options ->> 'delimiter', ',');
    cols text[];
    header text;
    body text;
BEGIN
    IF delim NOT IN (',', ';', E'\t', '|') THEN
        RAISE EXCEPTION 'delimiter must be one of , ; | or a tab' USING ERRCODE = '22023';
    END IF;
    cols := salesflow._report_rows(report, options);
    SELECT string_agg(salesflow._csv_field(c), delim ORDER BY o) INTO header FROM unnest(cols) WITH ORDINALITY u(c, o);
    SELECT string_agg((SELECT string_agg(salesflow._csv_field(e.v), delim ORDER BY e.o)
                         FROM json_each_text(row_to_json(r)) WITH ORDINALITY e(k, v, o)), E'\n')
      INTO body FROM sf_report r;
    DROP TABLE sf_report;
    RETURN header || E'\n' || coalesce(body || E'\n', '');
END
$$;
COMMENT ON FUNCTION salesflow.export_csv(text, jsonb) IS
    'A dashboard view or list of the session''s tenant as an RFC 4180 CSV document with a header line. Reports: dashboard_summary, sales_by_day, sales_by_month, top_products, top_customers, segment_summary, churn_clv_summary, stock_overview, buying_queue, forecast_vs_actual, customers, open_alerts. Options: order_by (a column), descending, limit, delimiter (, ; | or tab).';

CREATE OR REPLACE FUNCTION salesflow._report_xlsx(sheet text) RETURNS bytea
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'sf_report_xlsx';
COMMENT ON FUNCTION salesflow._report_xlsx(text) IS
    'Internal: the rows of the session''s temp table sf_report as a one-sheet Excel workbook (libxlsxwriter): typed cells, bold frozen header, autofilter, column widths.';

CREATE OR REPLACE FUNCTION salesflow.export_xlsx(report text, options jsonb DEFAULT '{}') RETURNS bytea
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    workbook bytea;
BEGIN
    IF options ? 'delimiter' THEN
        RAISE EXCEPTION 'option "delimiter" does not apply to a workbook' USING ERRCODE = '22023';
    END IF;
    PERFORM salesflow._report_rows(report, options);
    workbook := salesflow._report_xlsx(report);
    DROP TABLE sf_report;
    RETURN workbook;
END
$$;
COMMENT ON FUNCTION salesflow.export_xlsx(text, jsonb) IS
    'The same reports as export_csv as an Excel workbook (.xlsx): one sheet named after the report, numbers, dates and text as typed cells, a bold frozen header row, an autofilter, column widths from the values. Options: order_by, descending, limit.';

ALTER TABLE salesflow.reports DROP CONSTRAINT reports_status_check;
UPDATE salesflow.reports SET status = CASE status WHEN 'pending' THEN 'queued' WHEN 'done' THEN 'completed' ELSE status END;
ALTER TABLE salesflow.reports ALTER COLUMN status SET DEFAULT 'queued';
ALTER TABLE salesflow.reports ADD CONSTRAINT reports_status_check CHECK (status IN ('queued', 'generating', 'completed', 'failed'));
ALTER TABLE salesflow.reports
    ADD COLUMN format      text NOT NULL DEFAULT 'csv' CHECK (format IN ('csv', 'xlsx')),
    ADD COLUMN workbook    bytea,
    ADD COLUMN started_at  timestamptz,
    ADD COLUMN duration_ms numeric,
    ADD COLUMN schedule_id bigint;
CREATE INDEX reports_queued_idx ON salesflow.reports (requested_at) WHERE status = 'queued';
COMMENT ON TABLE salesflow.reports IS
    'Stored reports for apps to download, CSV or Excel: queued (INSERT one, or a report schedule adds it), generating, then completed (with content or workbook) or failed (with error), with timings.';
COMMENT ON COLUMN salesflow.reports.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.reports.report_id IS 'Report id.';
COMMENT ON COLUMN salesflow.reports.report IS 'Report name (see export_csv).';
COMMENT ON COLUMN salesflow.reports.options IS 'export_csv / export_xlsx options.';
COMMENT ON COLUMN salesflow.reports.status IS 'queued, generating, completed or failed.';
COMMENT ON COLUMN salesflow.reports.content IS 'The CSV document (format csv).';
COMMENT ON COLUMN salesflow.reports.error IS 'Why it failed (SQLSTATE and message).';
COMMENT ON COLUMN salesflow.reports.requested_at IS 'When it was queued.';
COMMENT ON COLUMN salesflow.reports.finished_at IS 'When it was completed or failed.';
COMMENT ON COLUMN salesflow.reports.format IS 'csv or xlsx.';
COMMENT ON COLUMN salesflow.reports.workbook IS 'The Excel workbook (format xlsx).';
COMMENT ON COLUMN salesflow.reports.started_at IS 'When its generation started.';
COMMENT ON COLUMN salesflow.reports.duration_ms IS 'Generation time in milliseconds.';
COMMENT ON COLUMN salesflow.reports.schedule_id IS 'The report schedule that queued it (NULL when requested directly).';

CREATE SEQUENCE salesflow.report_schedules_schedule_id_seq AS bigint;
CREATE TABLE salesflow.report_schedules (
    tenant_id       bigint      NOT NULL DEFAULT salesflow.current_tenant_id() REFERENCES salesflow.tenants ON DELETE CASCADE,
    schedule_id     bigint      NOT NULL DEFAULT nextval('salesflow.report_schedules_schedule_id_seq'),
    report          text        NOT NULL,
    format          text        NOT NULL DEFAULT 'csv' CHECK (format IN ('csv', 'xlsx')),
    cron_expression text        NOT NULL,
    options         jsonb       NOT NULL DEFAULT '{}',
    enabled         boolean     NOT NULL DEFAULT true,
    next_run_at     timestamptz NOT NULL,
    last_run_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by      name        NOT NULL DEFAULT current_user,
    PRIMARY KEY (tenant_id, schedule_id)
);
ALTER SEQUENCE salesflow.report_schedules_schedule_id_seq OWNED BY salesflow.report_schedules.schedule_id;
CREATE INDEX report_schedules_due_idx ON salesflow.report_schedules (next_run_at) WHERE enabled;
COMMENT ON TABLE salesflow.report_schedules IS
    'Recurring reports of a tenant: the reports job queues one into reports each time the cron expression (in the tenant''s time zone) comes due.';
COMMENT ON COLUMN salesflow.report_schedules.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.report_schedules.schedule_id IS 'Schedule id.';
COMMENT ON COLUMN salesflow.report_schedules.report IS 'Report name (see export_csv).';
COMMENT ON COLUMN salesflow.report_schedules.format IS 'csv or xlsx.';
COMMENT ON COLUMN salesflow.report_schedules.cron_expression IS 'Five-field cron expression in the tenant''s local time (minute hour day-of-month month day-of-week).';
COMMENT ON COLUMN salesflow.report_schedules.options IS 'export options of each report.';
COMMENT ON COLUMN salesflow.report_schedules.enabled IS 'false pauses the schedule.';
COMMENT ON COLUMN salesflow.report_schedules.next_run_at IS 'When it next queues a report.';
COMMENT ON COLUMN salesflow.report_schedules.last_run_at IS 'When it last queued one.';
COMMENT ON COLUMN salesflow.report_schedules.created_at IS 'When it was created.';
COMMENT ON COLUMN salesflow.report_schedules.created_by IS 'Who created it.';
SELECT salesflow._tenant_table('salesflow.report_schedules');
SELECT pg_catalog.pg_extension_config_dump('salesflow.report_schedules_schedule_id_seq', '');
GRANT USAGE ON SEQUENCE salesflow.report_schedules_schedule_id_seq TO salesflow_writer;

CREATE OR REPLACE FUNCTION salesflow._cron_next(expression text, after timestamp) RETURNS timestamp
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_cron_next';
COMMENT ON FUNCTION salesflow._cron_next(text, timestamp) IS
    'Internal: the first minute after a local time at which a 5-field cron expression fires (22023 for a bad expression).';

CREATE OR REPLACE FUNCTION salesflow._schedule_next_run(expression text, tenant bigint) RETURNS timestamptz
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT salesflow._cron_next(expression, now() AT TIME ZONE t.timezone) AT TIME ZONE t.timezone
      FROM salesflow.tenants t WHERE t.tenant_id = tenant
$$;
COMMENT ON FUNCTION salesflow._schedule_next_run(text, bigint) IS 'Internal: when a cron expression next fires after now, in the tenant''s time zone.';

CREATE OR REPLACE FUNCTION salesflow.schedule_report(report text, format text, cron_expression text, options jsonb DEFAULT '{}')
RETURNS salesflow.report_schedules
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tenant bigint := salesflow.require_tenant();
    row salesflow.report_schedules;
BEGIN
    IF salesflow._report_source(schedule_report.report) IS NULL THEN
        RAISE EXCEPTION 'unknown report "%"', schedule_report.report USING ERRCODE = '22023';
    END IF;
    IF schedule_report.format IS NULL OR schedule_report.format NOT IN ('csv', 'xlsx') THEN
        RAISE EXCEPTION 'format must be csv or xlsx' USING ERRCODE = '22023',
              HINT = 'PDF is not produced: open the xlsx in a spreadsheet to print it.';
    END IF;
    INSERT INTO salesflow.report_schedules (tenant_id, report, format, cron_expression, options, next_run_at)
    VALUES (tenant, schedule_report.report, schedule_report.format, schedule_report.cron_expression,
            coalesce(schedule_report.options, '{}'), salesflow._schedule_next_run(schedule_report.cron_expression, tenant))
    RETURNING * INTO row;
    RETURN row;
END
$$;
COMMENT ON FUNCTION salesflow.schedule_report(text, text, text, jsonb) IS
    'Makes a report recur for the session''s tenant: each time the cron expression (tenant''s local time) comes due, the reports job queues it in format csv or xlsx. Returns the schedule; DELETE FROM salesflow.report_schedules or set enabled = false to stop it.';

CREATE OR REPLACE FUNCTION salesflow._enqueue_due_reports() RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    WITH due AS (
        UPDATE salesflow.report_schedules s
           SET last_run_at = now(), next_run_at = salesflow._schedule_next_run(s.cron_expression, s.tenant_id)
         WHERE s.enabled AND s.next_run_at <= now()
        RETURNING s.tenant_id, s.schedule_id, s.report, s.format, s.options
    )
    INSERT INTO salesflow.reports (tenant_id, report, options, format, schedule_id)
    SELECT d.tenant_id, d.report, d.options, d.format, d.schedule_id FROM due d ORDER BY d.tenant_id, d.schedule_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION salesflow._enqueue_due_reports() IS
    'Internal: queues a report for each report schedule the caller can see that came due, and moves the schedule to its next time; returns how many.';

CREATE OR REPLACE FUNCTION salesflow._make_report(tenant bigint, report_id bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    caller text[];
    csv text;
    wb bytea;
BEGIN
    UPDATE salesflow.reports p
       SET status = 'generating', started_at = CASE WHEN p.status = 'generating' THEN p.started_at ELSE clock_timestamp() END
     WHERE p.tenant_id = tenant AND p.report_id = _make_report.report_id AND p.status IN ('queued', 'generating')
    RETURNING p.report, p.options, p.format, p.started_at INTO r;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    BEGIN
        caller := salesflow._act_as_tenant(tenant);
        IF r.format = 'xlsx' THEN
            wb := salesflow.export_xlsx(r.report, r.options);
        ELSE
            csv := salesflow.export_csv(r.report, r.options);
        END IF;
        UPDATE salesflow.reports p
           SET status = 'completed', content = csv, workbook = wb, error = NULL, finished_at = clock_timestamp(),
               duration_ms = salesflow._ms_since(r.started_at)
         WHERE p.tenant_id = tenant AND p.report_id = _make_report.report_id;
        PERFORM salesflow._act_as_caller(caller);
    EXCEPTION WHEN query_canceled OR admin_shutdown THEN
        RAISE;
    WHEN OTHERS THEN
        UPDATE salesflow.reports p
           SET status = 'failed', error = SQLSTATE || ' ' || SQLERRM, finished_at = clock_timestamp(),
               duration_ms = salesflow._ms_since(r.started_at)
         WHERE p.tenant_id = tenant AND p.report_id = _make_report.report_id;
    END;
    RETURN true;
END
$$;
COMMENT ON FUNCTION salesflow._make_report(bigint, bigint) IS
    'Internal: makes one queued (or generating) report as its tenant: generating, then completed with the CSV or workbook, or failed with the error, timed; false when it was not queued.';

CREATE OR REPLACE FUNCTION salesflow.make_reports() RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    n bigint := 0;
BEGIN
    PERFORM salesflow._enqueue_due_reports();
    FOR r IN SELECT p.tenant_id, p.report_id FROM salesflow.reports p
              WHERE p.status = 'queued' ORDER BY p.requested_at FOR UPDATE SKIP LOCKED
    LOOP
        IF salesflow._make_report(r.tenant_id, r.report_id) THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION salesflow.make_reports() IS
    'Queues the reports whose schedules came due, then makes every queued report the caller can see in this transaction (INSERT INTO salesflow.reports (report, format, options) requests one), each as its own tenant, storing the content or the error. Returns the number of reports processed. The reports job runs CALL run_reports() instead, which commits each state.';

CREATE OR REPLACE PROCEDURE salesflow.run_reports(max_reports int DEFAULT 1000)
LANGUAGE plpgsql
AS $$
DECLARE
    r record;
    n int := 0;
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    PERFORM salesflow._enqueue_due_reports();
    UPDATE salesflow.reports p
       SET status = 'failed', error = 'interrupted: the job stopped while generating it', finished_at = clock_timestamp()
     WHERE p.status = 'generating' AND p.started_at < now() - interval '1 hour';
    COMMIT;
    WHILE n < max_reports LOOP
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        SELECT p.tenant_id, p.report_id INTO r FROM salesflow.reports p
         WHERE p.status = 'queued' ORDER BY p.requested_at LIMIT 1 FOR UPDATE SKIP LOCKED;
        EXIT WHEN NOT FOUND;
        UPDATE salesflow.reports p SET status = 'generating', started_at = clock_timestamp()
         WHERE p.tenant_id = r.tenant_id AND p.report_id = r.report_id;
        COMMIT;
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        PERFORM salesflow._make_report(r.tenant_id, r.report_id);
        COMMIT;
        n := n + 1;
    END LOOP;
END
$$;
COMMENT ON PROCEDURE salesflow.run_reports(int) IS
    'The reports job (pg_cron, every minute): queues due report schedules, then makes queued reports one by one, committing each state (queued -> generating -> completed/failed); at most max_reports per call.';

-- the reports job runs every minute
CREATE OR REPLACE FUNCTION salesflow._cron_jobs(options jsonb)
RETURNS TABLE(job_name text, schedule text, command text, timeout text, in_cron_database boolean)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tz text := coalesce(options ->> 'timezone', 'UTC');
    prefix text := coalesce(options ->> 'prefix', 'salesflow');
    j record;
    local_at timestamp;
    utc_at timestamp;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names z WHERE z.name = tz) THEN
        RAISE EXCEPTION 'unknown time zone "%"', tz USING ERRCODE = '22023';
    END IF;
    IF prefix !~ '^[a-z][a-z0-9_-]{0,30}$' THEN
        RAISE EXCEPTION 'prefix must be lower-case letters, digits, - or _' USING ERRCODE = '22023';
    END IF;
    FOR j IN SELECT * FROM (VALUES
        ('uploads',          '* * * * *',  NULL::text, '50s',   'SELECT salesflow.process_pending_uploads()'),
        ('dashboards',       '*/5 * * * *', NULL,       '4min',  'CALL salesflow.refresh_dashboards(time_budget => %L)'),
        ('segments',         NULL,          '02:00',    '60min', 'SELECT salesflow.run_scheduled(''segments''); SELECT salesflow.run_scheduled(''associations''); SELECT salesflow.run_scheduled(''predicted_orders'')'),
        ('forecasts',        NULL,          '07:00',    '30min', 'SELECT salesflow.run_scheduled(''forecasts'')'),
        ('procurement',      NULL,          '07:30',    '15min', 'SELECT salesflow.run_scheduled(''replenishment'')'),
        ('anomalies',        '15 * * * *',  NULL,       '15min', 'SELECT salesflow.run_scheduled(''anomalies'')'),
        ('reports',          '* * * * *',  NULL,       '5min',  'CALL salesflow.run_reports()'),
        ('prune',            NULL,          'sun 03:00', '15min', 'SELECT salesflow.prune(%L::interval)')
        ) v(name, cron, local_time, default_timeout, cmd)
    LOOP
        job_name := prefix || '-' || j.name;
        timeout := coalesce(options -> 'timeouts' ->> j.name, j.default_timeout);
        IF timeout !~ '^[0-9]+ ?(ms|s|min|h)$' THEN
            RAISE EXCEPTION 'timeout of job % must look like 30s, 15min or 2h, not "%"', j.name, timeout USING ERRCODE = '22023';
        END IF;
        schedule := options -> 'schedules' ->> j.name;
        IF schedule IS NULL AND j.local_time IS NOT NULL THEN
            -- pg_cron 1.4 runs schedules in UTC: the local time today, in UTC
            local_at := current_date + split_part(j.local_time, ' ', -1)::time;
            utc_at := (local_at AT TIME ZONE tz) AT TIME ZONE 'UTC';
            schedule := format('%s %s * * %s', extract(minute FROM utc_at)::int, extract(hour FROM utc_at)::int,
                               CASE WHEN j.local_time LIKE 'sun %' THEN
                                    ((extract(dow FROM utc_at)::int - extract(dow FROM local_at)::int + 7) % 7)::text
                                    ELSE '*' END);
        END IF;
        schedule := coalesce(schedule, j.cron);
        IF schedule !~ '^[0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+$' THEN
            RAISE EXCEPTION 'schedule of job % is not a 5-field cron expression: "%"', j.name, schedule USING ERRCODE = '22023';
        END IF;
        command := CASE j.name
            WHEN 'dashboards' THEN format(j.cmd, timeout)
            WHEN 'reports' THEN j.cmd  -- a lone CALL: it commits each report's state
            WHEN 'prune' THEN format('SET statement_timeout = %L; ', timeout) || format(j.cmd, coalesce(options ->> 'keep', '30 days'))
            ELSE format('SET statement_timeout = %L; ', timeout) || j.cmd END;
        in_cron_database := false;
        RETURN NEXT;
    END LOOP;
    -- pg_cron's own run history, pruned where pg_cron lives
    job_name := prefix || '-prune-cron-history';
    schedule := '45 3 * * *';
    timeout := '5min';
    command := format('DELETE FROM cron.job_run_details WHERE end_time < now() - %L::interval',
                      coalesce(options ->> 'keep', '30 days'));
    in_cron_database := true;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION salesflow._cron_jobs(jsonb) IS 'Internal: the jobs schedule() installs, with their cron schedules (UTC) and commands.';

COMMENT ON FUNCTION salesflow.schedule(jsonb) IS
    'Installs (or updates: idempotent) the named pg_cron jobs: uploads every minute, dashboards every 5 minutes, segments/associations/predicted orders nightly 02:00, forecasts 07:00, procurement 07:30, anomalies hourly, reports every minute (recurring report schedules, then the queue), pruning weekly; each with a statement_timeout (dashboards: a time budget). Options: timezone (the local times above, converted to pg_cron''s UTC), schedules {job: cron}, timeouts {job: 30min}, database, username, prefix, keep. Without pg_cron in this database it installs nothing and returns the commands to run where pg_cron is. Admins only.';

-- inventory: procurement history and decisions, the runway threshold
ALTER TABLE salesflow.replenishment ADD COLUMN order_reason text;
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

CREATE OR REPLACE FUNCTION salesflow.decide_recommendation(recommendation_id bigint, decision text, note text DEFAULT NULL)
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

CREATE OR REPLACE VIEW salesflow.procurement_acceptance WITH (security_invoker = true, security_barrier = true) AS
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

CREATE OR REPLACE FUNCTION salesflow._runway_threshold_days(tenant bigint) RETURNS float8
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT (salesflow._tenant_setting(tenant, 'replenishment.runway_threshold_days', NULL) #>> '{}')::float8 $$;
COMMENT ON FUNCTION salesflow._runway_threshold_days(bigint) IS
    'Internal: the tenant''s replenishment.runway_threshold_days (days; NULL when unset): ORDER_TODAY when the runway is at or below it and nothing is on order.';


CREATE OR REPLACE FUNCTION salesflow.refresh_replenishment(tenant text DEFAULT NULL, as_of date DEFAULT NULL)
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

-- seed names
-- The bulk-upload seed refreshed its dashboard with refresh_dashboard().
CREATE FUNCTION salesflow.refresh_dashboard() RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- a function cannot commit: every view in this one transaction
    CALL salesflow.refresh_dashboards(commit_each => false);
END
$$;
COMMENT ON FUNCTION salesflow.refresh_dashboard() IS
    'Seed name (bulk-upload seed): refreshes every dashboard view in one transaction, as CALL salesflow.refresh_dashboards(commit_each => false). Admins only; prefer CALL salesflow.refresh_dashboards(), which commits after each view.';
REVOKE EXECUTE ON FUNCTION salesflow.refresh_dashboard() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION salesflow.refresh_dashboard() TO salesflow_admin;

-- The bulk-upload seed called its customers stores.
CREATE VIEW salesflow.stores WITH (security_invoker = true, security_barrier = true) AS
SELECT c.tenant_id, c.customer_id AS store_id, c.ref AS store_ref, c.name AS store_name, c.city, c.country,
       c.first_order_at, c.last_order_at
  FROM salesflow.customers c
 WHERE NOT c.is_anonymous;
COMMENT ON VIEW salesflow.stores IS
    'Seed name (bulk-upload seed): the customers of the session''s tenant under the seed''s name for them (stores), anonymous lines left out.';
COMMENT ON COLUMN salesflow.stores.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.stores.store_id IS 'customers.customer_id.';
COMMENT ON COLUMN salesflow.stores.store_ref IS 'customers.ref: the store''s id in the source system.';
COMMENT ON COLUMN salesflow.stores.store_name IS 'customers.name.';
COMMENT ON COLUMN salesflow.stores.city IS 'City.';
COMMENT ON COLUMN salesflow.stores.country IS 'Country.';
COMMENT ON COLUMN salesflow.stores.first_order_at IS 'First order.';
COMMENT ON COLUMN salesflow.stores.last_order_at IS 'Latest order.';
GRANT SELECT ON salesflow.stores TO salesflow_reader;

-- The bulk-upload seed's upsell suggestions table.
CREATE VIEW salesflow.upselling_recommendations WITH (security_invoker = true, security_barrier = true) AS
SELECT r.tenant_id, r.customer_id AS store_id, c.ref AS store_ref, c.name AS store_name, r.product_id, p.sku,
       p.name AS product_name, r.rank, r.score, r.reason, r.computed_at
  FROM salesflow.recommendations r
  JOIN salesflow.customers c ON c.tenant_id = r.tenant_id AND c.customer_id = r.customer_id
  JOIN salesflow.products p ON p.tenant_id = r.tenant_id AND p.product_id = r.product_id;
COMMENT ON VIEW salesflow.upselling_recommendations IS
    'Seed name (bulk-upload seed): salesflow.recommendations (products a store does not buy yet, strongly associated with what it buys) with store and product names.';
COMMENT ON COLUMN salesflow.upselling_recommendations.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.upselling_recommendations.store_id IS 'customers.customer_id.';
COMMENT ON COLUMN salesflow.upselling_recommendations.store_ref IS 'customers.ref.';
COMMENT ON COLUMN salesflow.upselling_recommendations.store_name IS 'customers.name.';
COMMENT ON COLUMN salesflow.upselling_recommendations.product_id IS 'Suggested product.';
COMMENT ON COLUMN salesflow.upselling_recommendations.sku IS 'Its SKU.';
COMMENT ON COLUMN salesflow.upselling_recommendations.product_name IS 'Its name.';
COMMENT ON COLUMN salesflow.upselling_recommendations.rank IS '1 = strongest suggestion.';
COMMENT ON COLUMN salesflow.upselling_recommendations.score IS 'Lift x confidence of the rule behind it.';
COMMENT ON COLUMN salesflow.upselling_recommendations.reason IS 'Why it is suggested.';
COMMENT ON COLUMN salesflow.upselling_recommendations.computed_at IS 'When it was computed.';
GRANT SELECT ON salesflow.upselling_recommendations TO salesflow_reader;

-- anomalies (#18): the false-alarm budget (detect_anomalies_budget, used by
-- refresh_anomalies), its settings, products only above a revenue share
-- (the settings catalogue of #15 is created earlier in this script once its
-- step is here; until then the definitions wait for it)

CREATE FUNCTION salesflow.detect_anomalies_budget(y float8[], period int DEFAULT 7, alarms_per_quarter float8 DEFAULT 1,
                                                  min_score float8 DEFAULT 4, direction text DEFAULT 'both',
                                                  min_abs_change float8 DEFAULT 0, from_index int DEFAULT 1,
                                                  method text DEFAULT 'mad')
RETURNS TABLE(idx int, observed float8, expected float8, score float8)
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_detect_anomalies_budget';
COMMENT ON FUNCTION salesflow.detect_anomalies_budget(float8[], int, float8, float8, text, float8, int, text) IS
    'Unusual values of a series under a false-alarm budget: each side''s threshold is the score the series'' own ordinary days exceed alarms_per_quarter times a quarter (extrapolated from the median and 80% quantile of its scores), at least min_score and at most max(6, min_score); a zero on a normally busy day (the same weekday sold >= 3 in each of the previous 8 weeks) is always reported. method mad: robust z of the whole-history additive decomposition (the default); local: each day against its own neighbourhood with the day left out. Returns the 1-based index, observed and expected value and the signed score (> 0 spike) from from_index on; series shorter than 56 values report nothing.';

COMMENT ON COLUMN salesflow.alert_rules.min_score IS 'Minimum |robust z| of a sales anomaly; the false-alarm budget (setting anomalies.alarms_per_quarter) raises a series'' threshold above it where its ordinary days are noisier. Lower = more sensitive.';

CREATE OR REPLACE FUNCTION salesflow.refresh_anomalies(tenant text DEFAULT NULL, only_changed boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid bigint := salesflow.require_tenant(tenant);
    tenant_name text := (SELECT tn.name FROM salesflow.tenants tn WHERE tn.tenant_id = tid);
    lookback int := (salesflow._tenant_setting(tid, 'anomalies.lookback_days', '30') #>> '{}')::int;
    history int := (salesflow._tenant_setting(tid, 'anomalies.history_days', '730') #>> '{}')::int;
    top_n int := (salesflow._tenant_setting(tid, 'anomalies.top_products', '20') #>> '{}')::int;
    escalation float8 := (salesflow._tenant_setting(tid, 'anomalies.escalation', '1.5') #>> '{}')::float8;
    -- products alert only when they matter: this share of the tenant's
    -- revenue over the last year at least; and each series (tenant revenue,
    -- orders, each product) may raise about this many false alarms a quarter
    -- (the threshold of detect_anomalies_budget, never below the rule's min_score)
    min_share float8 := (salesflow._tenant_setting(tid, 'anomalies.product_min_share', '0.02') #>> '{}')::float8;
    budget float8 := (salesflow._tenant_setting(tid, 'anomalies.alarms_per_quarter', '1') #>> '{}')::float8;
    as_of date;
    first_day date;
    from_day date;
    last_upload bigint;
    newest_upload bigint;
    m text;
    n bigint := 0;
    a record;
BEGIN
    SELECT max(d.day) INTO as_of FROM salesflow.sales_daily d WHERE d.tenant_id = tid;
    SELECT s.last_upload_id INTO last_upload FROM salesflow.anomaly_scans s WHERE s.tenant_id = tid;
    SELECT max(u.upload_id) INTO newest_upload FROM salesflow.uploads u WHERE u.tenant_id = tid;

    IF to_regclass('pg_temp.sf_an_rules') IS NOT NULL THEN
        DROP TABLE sf_an_rules, sf_an_candidates;
    END IF;
    CREATE TEMP TABLE sf_an_rules ON COMMIT DROP AS
    SELECT mt.metric, coalesce(r.enabled, true) AS enabled, coalesce(r.min_score, 4) AS min_score,
           coalesce(r.min_abs_change, 0) AS min_abs_change, coalesce(r.direction, 'both') AS direction,
           coalesce(r.cooldown_days, 7) AS cooldown_days, coalesce(r.channel, 'salesflow_alerts') AS channel
      FROM unnest(ARRAY['revenue', 'orders', 'product_units', 'stockout_risk', 'below_safety_stock']) mt(metric)
      LEFT JOIN salesflow.alert_rules r ON r.tenant_id = tid AND r.metric = mt.metric;
    CREATE TEMP TABLE sf_an_candidates (metric text, entity_type text, entity_id bigint, entity text, day date,
                                        observed float8, expected float8, score float8) ON COMMIT DROP;

    IF as_of IS NOT NULL THEN
        first_day := as_of - (history - 1);
        -- the days to score: those of invoices uploaded since the last scan
        -- (all of the lookback window on the first scan or with only_changed
        -- false), never older than the lookback window
        IF only_changed AND last_upload IS NOT NULL THEN
            SELECT min(i.day) INTO from_day FROM salesflow.invoices i
             WHERE i.tenant_id = tid AND i.upload_id > last_upload;
        ELSE
            from_day := as_of - (lookback - 1);
        END IF;
        from_day := greatest(from_day, as_of - (lookback - 1));
    END IF;

    IF from_day IS NOT NULL THEN
        -- tenant revenue and order count per day, gap-filled
        INSERT INTO sf_an_candidates
        SELECT s.metric, 'tenant', 0, tenant_name, s.start + (f.idx - 1), f.observed, f.expected, f.score
          FROM (SELECT 'revenue' AS metric, min(g.day)::date AS start,
                       array_agg(coalesce(v.revenue, 0)::float8 ORDER BY g.day) AS y
                  FROM generate_series(greatest(first_day, (SELECT min(d.day) FROM salesflow.sales_daily d WHERE d.tenant_id = tid)),
                                       as_of, interval '1 day') g(day)
                  LEFT JOIN (SELECT d.day, sum(d.revenue) AS revenue FROM salesflow.sales_daily d
                              WHERE d.tenant_id = tid AND d.day >= first_day GROUP BY d.day) v ON v.day = g.day::date
                UNION ALL
                SELECT 'orders', min(g.day)::date, array_agg(coalesce(v.orders, 0)::float8 ORDER BY g.day)
                  FROM generate_series(greatest(first_day, (SELECT min(d.day) FROM salesflow.sales_daily d WHERE d.tenant_id = tid)),
                                       as_of, interval '1 day') g(day)
                  LEFT JOIN (SELECT i.day, count(*) AS orders FROM salesflow.invoices i
                              WHERE i.tenant_id = tid AND NOT i.is_return AND i.day >= first_day GROUP BY i.day) v
                    ON v.day = g.day::date) s
          JOIN sf_an_rules r ON r.metric = s.metric AND r.enabled
         CROSS JOIN LATERAL salesflow.detect_anomalies_budget(s.y, 7, budget, r.min_score, r.direction, r.min_abs_change,
                                                              greatest(1, from_day - s.start + 1)) f;

        -- units of the top products by revenue over the last year that hold
        -- at least min_share of it (only those touched by new uploads when
        -- only_changed)
        INSERT INTO sf_an_candidates
        SELECT 'product_units', 'product', s.product_id, s.label, s.start + (f.idx - 1), f.observed, f.expected, f.score
          FROM (SELECT t.product_id, t.label, t.start,
                       array_agg(coalesce(d.units, 0)::float8 ORDER BY g.day) AS y
                  FROM (SELECT p.product_id, left(p.sku || coalesce(' ' || p.name, ''), 200) AS label,
                               greatest(first_day, (p.first_sold_at AT TIME ZONE tn.timezone)::date) AS start
                          FROM salesflow.products p
                          JOIN salesflow.tenants tn ON tn.tenant_id = p.tenant_id
                          JOIN (SELECT d.product_id, sum(d.revenue) AS revenue,
                                       sum(d.revenue) / nullif(sum(sum(d.revenue)) OVER (), 0) AS share
                                  FROM salesflow.sales_daily d
                                 WHERE d.tenant_id = tid AND d.day > as_of - 365 GROUP BY d.product_id
                                 ORDER BY 2 DESC, 1 LIMIT top_n) top ON top.product_id = p.product_id
                                                                   AND top.share >= min_share
                         WHERE p.tenant_id = tid AND NOT p.is_non_product
                           AND (NOT only_changed OR last_upload IS NULL OR p.changed_by_upload > last_upload)) t
                 CROSS JOIN LATERAL generate_series(t.start, as_of, interval '1 day') g(day)
                  LEFT JOIN salesflow.sales_daily d ON d.tenant_id = tid AND d.product_id = t.product_id AND d.day = g.day::date
                 GROUP BY t.product_id, t.label, t.start) s
          JOIN sf_an_rules r ON r.metric = 'product_units' AND r.enabled
         CROSS JOIN LATERAL salesflow.detect_anomalies_budget(s.y, 7, budget, r.min_score, r.direction, r.min_abs_change,
                                                              greatest(1, from_day - s.start + 1)) f;
    END IF;

    -- the no-storm rule per sales metric, against the alerts already sent
    FOREACH m IN ARRAY ARRAY['revenue', 'orders', 'product_units'] LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM sf_an_candidates c WHERE c.metric = m);
        DELETE FROM sf_an_candidates c
         WHERE c.metric = m
           AND (c.entity_id, c.day - date '2000-01-01') NOT IN (
               SELECT k.entity, k.day
                 FROM salesflow._suppress_storms(
                          (SELECT array_agg(x.entity_id) FROM sf_an_candidates x WHERE x.metric = m),
                          (SELECT array_agg((x.day - date '2000-01-01')::bigint) FROM sf_an_candidates x WHERE x.metric = m),
                          (SELECT array_agg(x.score) FROM sf_an_candidates x WHERE x.metric = m),
                          (SELECT coalesce(array_agg(h.entity_id), '{}') FROM salesflow.anomalies h
                            WHERE h.tenant_id = tid AND h.metric = m AND h.score IS NOT NULL),
                          (SELECT coalesce(array_agg((h.day - date '2000-01-01')::bigint), '{}') FROM salesflow.anomalies h
                            WHERE h.tenant_id = tid AND h.metric = m AND h.score IS NOT NULL),
                          (SELECT coalesce(array_agg(h.score), '{}') FROM salesflow.anomalies h
                            WHERE h.tenant_id = tid AND h.metric = m AND h.score IS NOT NULL),
                          (SELECT r.cooldown_days FROM sf_an_rules r WHERE r.metric = m), escalation) k);
    END LOOP;

    -- stock alerts from the last replenishment run: one open alert per
    -- product and metric until acknowledged or the cool-down has passed
    INSERT INTO sf_an_candidates
    SELECT x.metric, 'product', x.product_id, left(p.sku || coalesce(' ' || p.name, ''), 200), x.as_of, x.observed,
           x.expected, NULL
      FROM (SELECT 'stockout_risk' AS metric, r.product_id, r.as_of, r.on_hand - r.backorders AS observed,
                   r.daily_demand * (r.stockout_date - r.as_of + 1) AS expected
              FROM salesflow.replenishment r
             WHERE r.tenant_id = tid AND r.stockout_date IS NOT NULL
               AND r.stockout_date < r.as_of + ceil(r.lead_time_days)::int
               AND (r.next_receipt IS NULL OR r.next_receipt > r.stockout_date)
            UNION ALL
            SELECT 'below_safety_stock', r.product_id, r.as_of, r.on_hand - r.backorders, r.safety_stock
              FROM salesflow.replenishment r
             WHERE r.tenant_id = tid AND r.safety_stock > 0 AND r.on_hand - r.backorders < r.safety_stock) x
      JOIN salesflow.products p ON p.tenant_id = tid AND p.product_id = x.product_id
      JOIN sf_an_rules ru ON ru.metric = x.metric AND ru.enabled
     WHERE NOT EXISTS (SELECT 1 FROM salesflow.anomalies h
                        WHERE h.tenant_id = tid AND h.metric = x.metric AND h.entity_id = x.product_id
                          AND h.acknowledged_at IS NULL AND h.day > x.as_of - ru.cooldown_days);

    FOR a IN
        INSERT INTO salesflow.anomalies AS t (tenant_id, kind, metric, entity_type, entity_id, entity, day, observed,
                                              expected, score, direction, message, channel, detected_at)
        SELECT tid, CASE WHEN c.score IS NULL THEN 'stock' ELSE 'sales' END, c.metric, c.entity_type, c.entity_id,
               c.entity, c.day, c.observed, c.expected, c.score,
               CASE WHEN c.score IS NULL THEN c.metric WHEN c.score > 0 THEN 'spike' ELSE 'drop' END,
               salesflow._alert_message(c.metric, c.entity, c.day, c.observed, c.expected, c.score), r.channel,
               clock_timestamp()
          FROM sf_an_candidates c JOIN sf_an_rules r ON r.metric = c.metric
         ORDER BY c.day, c.metric, c.entity_id
        ON CONFLICT (tenant_id, metric, entity_id, day) DO NOTHING
        RETURNING t.*
    LOOP
        PERFORM salesflow._notify(a.channel, 'alert', a.anomaly_id);
        n := n + 1;
    END LOOP;

    IF newest_upload IS NOT NULL THEN
        INSERT INTO salesflow.anomaly_scans AS s (tenant_id, last_upload_id, scanned_at)
        VALUES (tid, newest_upload, clock_timestamp())
        ON CONFLICT (tenant_id) DO UPDATE SET last_upload_id = excluded.last_upload_id, scanned_at = excluded.scanned_at;
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION salesflow.refresh_anomalies(text, boolean) IS
    'Detects unusual sales days (tenant revenue and orders, units of the top products) on the days touched since the last scan (at most anomalies.lookback_days back) and stock alerts from replenishment; stores new alerts in anomalies after the alert rules and the no-storm rule, and sends each alert''s id with pg_notify (the receiver reads the alert through RLS). Returns the number of new alerts.';

-- the settings catalogue, every module's rows as a fresh install has them
INSERT INTO salesflow.setting_definitions (name, type, default_value, minimum, maximum, choices, description) VALUES
    -- segments (20_segments.sql)
    ('segments.as_of', 'date', NULL, NULL, NULL, NULL, 'Day the segments are computed as of (default: the tenant''s latest invoice day).'),
    ('segments.high_share', 'number', '0.5', 0, 1, NULL, 'Customers ranked by revenue are high value until those before them hold this share of revenue.'),
    ('segments.medium_share', 'number', '0.8', 0, 1, NULL, '... and medium value until this share; the rest are low value.'),
    ('segments.clv_months', 'integer', '12', 1, 120, NULL, 'Horizon of the customer lifetime value, in months.'),
    ('segments.discount_rate', 'number', '0.1', 0, 1, NULL, 'Annual discount rate of the lifetime value.'),
    ('segments.churn_days', 'integer', '90', 1, 3650, NULL, 'Churn window: churn risk is the probability of no purchase in this many days.'),
    ('segments.churn_high_from', 'number', '0.7', 0, 1, NULL, 'The churn label is high from this churn risk.'),
    ('segments.churn_low_below', 'number', '0.3', 0, 1, NULL, 'The churn label is low below this churn risk.'),
    -- read by 0.1.0 only; kept so that an upgraded database's stored values stay valid
    ('segments.churn_high_below', 'number', '0.3', 0, 1, NULL, 'Churn risk is high below this P(alive). (Not read since 0.2.0: see churn_high_from.)'),
    ('segments.churn_low_from', 'number', '0.7', 0, 1, NULL, 'Churn risk is low from this P(alive). (Not read since 0.2.0: see churn_low_below.)'),
    -- orders (30_orders.sql)
    ('orders.min_support', 'integer', '5', 1, 1000000, NULL, 'Invoices a product pair must share to become an association rule.'),
    ('orders.min_confidence', 'number', '0.2', 0, 1, NULL, 'Smallest confidence of an association rule.'),
    ('orders.min_lift', 'number', '2', 0, 1000, NULL, 'Smallest lift of an association rule.'),
    -- forecast (40_forecast.sql)
    ('forecast.method', 'text', '"auto"', NULL, NULL,
     ARRAY['auto', 'ets', 'ANN', 'AAN', 'AAdN', 'ANA', 'AAA', 'AAdA', 'MNN', 'MAN', 'MAdN', 'MNA', 'MAA', 'MAdA', 'MNM',
           'MAM', 'MAdM', 'ses', 'theta', 'combo', 'croston', 'sba', 'tsb', 'naive', 'snaive', 'mean'],
     'Method refresh_forecasts uses when none is passed.'),
    ('forecast.by_location', 'boolean', 'false', NULL, NULL, NULL, 'The pipeline also forecasts every product x location.'),
    -- inventory (50_inventory.sql): tenant defaults of supply_settings
    ('supply.lead_time_days', 'number', '7', 0, 3650, NULL, 'Mean lead time in days.'),
    ('supply.lead_time_sd_days', 'number', '0', 0, 3650, NULL, 'Standard deviation of the lead time in days.'),
    ('supply.review_period_days', 'number', '1', 1, 365, NULL, 'Days between reviews (1: the daily batch).'),
    ('supply.moq', 'number', '0', 0, 1000000000, NULL, 'Minimum order quantity.'),
    ('supply.pack_size', 'number', '1', 0, 1000000000, NULL, 'Order multiple; 0 for goods sold by weight.'),
    ('supply.ordering_cost', 'number', '0', 0, 1000000000000, NULL, 'Fixed cost per purchase order (0: no EOQ).'),
    ('supply.holding_rate', 'number', '0.25', 0, 10, NULL, 'Yearly holding cost as a share of the unit cost.'),
    ('supply.service_level', 'number', '0.95', 0.0001, 0.9999, NULL, 'Target service level.'),
    ('supply.service_type', 'text', '"cycle"', NULL, NULL, ARRAY['cycle', 'fill_rate'], 'cycle (no stockout per cycle) or fill_rate (share of demand served from stock).'),
    ('supply.min_lead_time_observations', 'number', '3', 1, 1000, NULL, 'Received purchase orders needed before lead times come from them.'),
    ('supply.max_backtest_mase', 'number', '2', 0, 1000, NULL, 'Above this backtest MASE the forecast is called unreliable.'),
    -- anomalies (60_anomalies.sql)
    ('anomalies.lookback_days', 'integer', '30', 1, 3650, NULL, 'Alerts only on days at most this many days before the newest sales day.'),
    ('anomalies.history_days', 'integer', '730', 14, 36500, NULL, 'Days of history that decide what is normal.'),
    ('anomalies.top_products', 'integer', '20', 0, 1000, NULL, 'Products (by revenue over the last year) whose daily units are scored.'),
    ('anomalies.escalation', 'number', '1.5', 1, 100, NULL, 'Within the cool-down, only a score this many times larger alerts again.')
ON CONFLICT (name) DO UPDATE SET type = EXCLUDED.type, default_value = EXCLUDED.default_value,
    minimum = EXCLUDED.minimum, maximum = EXCLUDED.maximum, choices = EXCLUDED.choices, description = EXCLUDED.description;

INSERT INTO salesflow.setting_definitions (name, type, default_value, minimum, maximum, choices, description) VALUES
    ('replenishment.runway_threshold_days', 'number', NULL, 0, 3650, NULL,
     'ORDER_TODAY when the runway is at or below this many days and nothing is on order (unset: no runway rule).')
ON CONFLICT (name) DO UPDATE SET type = EXCLUDED.type, default_value = EXCLUDED.default_value,
    minimum = EXCLUDED.minimum, maximum = EXCLUDED.maximum, choices = EXCLUDED.choices, description = EXCLUDED.description;

INSERT INTO salesflow.setting_definitions (name, type, default_value, minimum, maximum, choices, description) VALUES
    ('anomalies.alarms_per_quarter', 'number', '1', 0.01, 90, NULL, 'False-alarm budget: about this many alerts per series (tenant revenue, orders, each product) and quarter on ordinary days; raises a noisy series'' threshold above the rule''s min_score.'),
    ('anomalies.product_min_share', 'number', '0.02', 0, 1, NULL, 'Products alert only when they hold at least this share of the tenant''s revenue over the last year.')
ON CONFLICT (name) DO UPDATE SET type = EXCLUDED.type, default_value = EXCLUDED.default_value,
    minimum = EXCLUDED.minimum, maximum = EXCLUDED.maximum, choices = EXCLUDED.choices, description = EXCLUDED.description;
