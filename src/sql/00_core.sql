-- salesflow foundation: roles, tenants, tenant isolation, settings, diagnostics.
--
-- Every table that holds a tenant's data has tenant_id as the first column of
-- its primary key and row-level security: salesflow_reader and
-- salesflow_writer see and touch only the tenant named by the setting
-- salesflow.tenant (by name or id); with no tenant set they see nothing;
-- salesflow_admin sees everything. salesflow._tenant_table() applies that
-- recipe, so each module declares its tables and calls it once per table.
--
-- The schema `salesflow` is created by CREATE EXTENSION (see salesflow.control)
-- and is not relocatable: every function pins search_path.

-- ---------------------------------------------------------------------------
-- Roles (cluster-wide; created once, kept when the extension is dropped)
-- ---------------------------------------------------------------------------
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'salesflow_reader') THEN
        CREATE ROLE salesflow_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'salesflow_writer') THEN
        CREATE ROLE salesflow_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'salesflow_admin') THEN
        CREATE ROLE salesflow_admin NOLOGIN;
    END IF;
END
$roles$;

-- A writer can read what it writes; an admin can do what a writer can.
GRANT salesflow_reader TO salesflow_writer;
GRANT salesflow_writer TO salesflow_admin;
GRANT USAGE ON SCHEMA salesflow TO salesflow_reader;

-- ---------------------------------------------------------------------------
-- Tenants
-- ---------------------------------------------------------------------------
CREATE SEQUENCE salesflow.tenants_tenant_id_seq AS bigint;

CREATE TABLE salesflow.tenants (
    tenant_id  bigint      NOT NULL DEFAULT nextval('salesflow.tenants_tenant_id_seq'),
    name       text        NOT NULL,
    timezone   text        NOT NULL DEFAULT 'UTC',
    currency   text        NOT NULL DEFAULT 'EUR',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id),
    UNIQUE (name),
    CONSTRAINT tenants_name_check CHECK (name ~ '^[A-Za-z][A-Za-z0-9_.-]{0,62}$'),
    CONSTRAINT tenants_currency_check CHECK (currency ~ '^[A-Z]{3}$')
);
ALTER SEQUENCE salesflow.tenants_tenant_id_seq OWNED BY salesflow.tenants.tenant_id;

COMMENT ON TABLE salesflow.tenants IS
    'One row per tenant (a company using salesflow). Every other table''s primary key starts with tenant_id.';
COMMENT ON COLUMN salesflow.tenants.tenant_id IS 'Tenant id; also the distribution column if the database moves to Citus.';
COMMENT ON COLUMN salesflow.tenants.name IS 'Tenant name, used in the salesflow.tenant setting (letters, digits, _ . -; starts with a letter).';
COMMENT ON COLUMN salesflow.tenants.timezone IS 'IANA time zone; days are cut at midnight in this zone.';
COMMENT ON COLUMN salesflow.tenants.currency IS 'ISO 4217 currency code of the tenant''s amounts.';
COMMENT ON COLUMN salesflow.tenants.created_at IS 'When the tenant was created.';

-- Logins bound to tenants. The setting salesflow.tenant is trusted for the
-- application's own login (it sets the tenant per request), but any session
-- can change a setting: a login given to a person or a BI tool is bound here
-- to its tenant(s), and current_tenant_id() then ignores a setting naming any
-- other tenant. The binding follows session_user, so SET ROLE cannot shed it.
CREATE TABLE salesflow.tenant_logins (
    tenant_id  bigint      NOT NULL REFERENCES salesflow.tenants ON DELETE CASCADE,
    login      name        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, login)
);
CREATE INDEX tenant_logins_login_idx ON salesflow.tenant_logins (login);
COMMENT ON TABLE salesflow.tenant_logins IS
    'Logins bound to tenants (admins insert rows): a bound login sees only its tenant(s), whatever salesflow.tenant says, and defaults to its tenant when it is bound to exactly one. Unbound logins (the application''s) use salesflow.tenant as set.';
COMMENT ON COLUMN salesflow.tenant_logins.tenant_id IS 'Tenant the login may use.';
COMMENT ON COLUMN salesflow.tenant_logins.login IS 'Login role name (session_user).';
COMMENT ON COLUMN salesflow.tenant_logins.created_at IS 'When the binding was made.';

-- Resolves the salesflow.tenant setting (a name, or an id) to a tenant id,
-- within the tenants the session's login is bound to (if it is bound).
-- SECURITY DEFINER so that the lookup itself is not subject to the RLS it
-- implements; it reads one setting and two tables and pins search_path.
CREATE FUNCTION salesflow.current_tenant_id() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.tenant_id
      FROM salesflow.tenants t,
           (SELECT nullif(pg_catalog.current_setting('salesflow.tenant', true), '') AS s) setting,
           (SELECT count(*) AS n FROM salesflow.tenant_logins l WHERE l.login = session_user) bound
     WHERE (CASE WHEN setting.s IS NOT NULL THEN t.name = setting.s OR t.tenant_id::text = setting.s
                 ELSE bound.n = 1 END)
       AND (bound.n = 0 OR EXISTS (SELECT 1 FROM salesflow.tenant_logins l
                                    WHERE l.login = session_user AND l.tenant_id = t.tenant_id))
     ORDER BY (t.name = setting.s) DESC NULLS LAST
     LIMIT 1
$$;
COMMENT ON FUNCTION salesflow.current_tenant_id() IS
    'Id of the tenant named (by name or id) in the salesflow.tenant setting, or NULL when none is set or it does not exist; a login bound in tenant_logins gets only its own tenant(s) (and its single tenant when the setting is empty).';

-- Resolves the tenant for API functions: the explicit argument wins, then the
-- setting. It runs with the caller's rights, so row-level security on
-- tenants applies: a reader or writer can name only the tenant of its own
-- session, an admin any tenant.
CREATE FUNCTION salesflow.require_tenant(tenant text DEFAULT NULL) RETURNS bigint
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

CREATE FUNCTION salesflow.create_tenant(name text, timezone text DEFAULT 'UTC', currency text DEFAULT 'EUR')
RETURNS salesflow.tenants
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    created salesflow.tenants;
BEGIN
    IF create_tenant.name IS NULL OR create_tenant.name !~ '^[A-Za-z][A-Za-z0-9_.-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid tenant name "%"', create_tenant.name
            USING ERRCODE = '22023',
                  DETAIL = 'A tenant name starts with a letter and has up to 63 letters, digits, underscores, dots or hyphens.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names z WHERE z.name = create_tenant.timezone) THEN
        RAISE EXCEPTION 'unknown time zone "%"', timezone
            USING ERRCODE = '22023', HINT = 'Use an IANA name such as Europe/London (see pg_timezone_names).';
    END IF;
    IF upper(create_tenant.currency) !~ '^[A-Z]{3}$' THEN
        RAISE EXCEPTION 'invalid currency "%"', create_tenant.currency
            USING ERRCODE = '22023', HINT = 'Use an ISO 4217 code such as EUR, GBP or USD.';
    END IF;
    IF EXISTS (SELECT 1 FROM salesflow.tenants t WHERE t.name = create_tenant.name) THEN
        RAISE EXCEPTION 'tenant "%" already exists', create_tenant.name USING ERRCODE = '42710';
    END IF;
    INSERT INTO salesflow.tenants (name, timezone, currency)
    VALUES (create_tenant.name, create_tenant.timezone, upper(create_tenant.currency))
    RETURNING * INTO created;
    RETURN created;
END
$$;
COMMENT ON FUNCTION salesflow.create_tenant(text, text, text) IS
    'Creates a tenant (admin only) with its IANA time zone and ISO currency; returns the new row.';
REVOKE EXECUTE ON FUNCTION salesflow.create_tenant(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION salesflow.create_tenant(text, text, text) TO salesflow_admin;

-- ---------------------------------------------------------------------------
-- The tenant-table recipe, applied to every table that holds tenant data
-- ---------------------------------------------------------------------------
CREATE FUNCTION salesflow._tenant_table(tbl regclass, user_data boolean DEFAULT true) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    first_key text;
BEGIN
    SELECT a.attname INTO first_key
      FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
     WHERE i.indrelid = tbl AND i.indisprimary;
    IF first_key IS DISTINCT FROM 'tenant_id' THEN
        RAISE EXCEPTION 'table % must have a primary key starting with tenant_id', tbl;
    END IF;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('CREATE POLICY tenant_isolation ON %s
                        USING (tenant_id = (SELECT salesflow.current_tenant_id()))
                        WITH CHECK (tenant_id = (SELECT salesflow.current_tenant_id()))', tbl);
    EXECUTE format('CREATE POLICY admin_all ON %s TO salesflow_admin USING (true) WITH CHECK (true)', tbl);
    EXECUTE format('GRANT SELECT ON %s TO salesflow_reader', tbl);
    EXECUTE format('GRANT INSERT, UPDATE, DELETE ON %s TO salesflow_writer', tbl);
    EXECUTE format('GRANT ALL ON %s TO salesflow_admin', tbl);
    IF user_data THEN
        PERFORM pg_catalog.pg_extension_config_dump(tbl, '');
    END IF;
END
$$;
COMMENT ON FUNCTION salesflow._tenant_table(regclass, boolean) IS
    'Internal, used by the install script: enables tenant row-level security, grants to the salesflow roles and registers user data for pg_dump.';
REVOKE EXECUTE ON FUNCTION salesflow._tenant_table(regclass, boolean) FROM PUBLIC;

SELECT salesflow._tenant_table('salesflow.tenants');
SELECT pg_catalog.pg_extension_config_dump('salesflow.tenants_tenant_id_seq', '');
SELECT salesflow._tenant_table('salesflow.tenant_logins');
-- Bindings are made by admins only; a bound login can read its own.
REVOKE INSERT, UPDATE, DELETE ON salesflow.tenant_logins FROM salesflow_writer;
-- Tenants are created by admins only; readers and writers see their own row.
REVOKE INSERT, UPDATE, DELETE ON salesflow.tenants FROM salesflow_writer;

-- ---------------------------------------------------------------------------
-- Per-tenant settings (thresholds, horizons, service levels, ...)
-- ---------------------------------------------------------------------------
CREATE TABLE salesflow.settings (
    tenant_id  bigint      NOT NULL DEFAULT salesflow.current_tenant_id()
                           REFERENCES salesflow.tenants ON DELETE CASCADE,
    name       text        NOT NULL,
    value      jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, name),
    CONSTRAINT settings_name_check CHECK (name ~ '^[a-z][a-z0-9_.]*$')
);
COMMENT ON TABLE salesflow.settings IS
    'Per-tenant settings that override the built-in defaults of the analytics modules (one JSON value per name).';
COMMENT ON COLUMN salesflow.settings.tenant_id IS 'Tenant the setting belongs to (defaults to the session''s tenant).';
COMMENT ON COLUMN salesflow.settings.name IS 'Setting name, e.g. segments.high_share; documented in docs/ per module.';
COMMENT ON COLUMN salesflow.settings.value IS 'Setting value as JSON.';
COMMENT ON COLUMN salesflow.settings.updated_at IS 'When the setting was last changed.';
SELECT salesflow._tenant_table('salesflow.settings');

-- The settings catalogue: every setting the code reads, with its type, default
-- and range. A value is checked when it is written (trigger below), so a bad
-- value is refused at once with 22023 instead of breaking a nightly job. A
-- module adds a setting with one INSERT INTO salesflow.setting_definitions
-- (in its own SQL file and in the upgrade script); docs/settings.md lists
-- them, and test/pgtap/05_attacks.sql checks that every setting the code
-- reads is here, with the same default as the code's fallback.
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

-- Why a value does not fit its definition, or NULL when it does.
CREATE FUNCTION salesflow._setting_error(d salesflow.setting_definitions, value jsonb) RETURNS text
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

CREATE FUNCTION salesflow._check_setting() RETURNS trigger
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
CREATE TRIGGER settings_check BEFORE INSERT OR UPDATE ON salesflow.settings
    FOR EACH ROW EXECUTE FUNCTION salesflow._check_setting();
CREATE TRIGGER setting_definitions_check BEFORE INSERT OR UPDATE ON salesflow.setting_definitions
    FOR EACH ROW EXECUTE FUNCTION salesflow._check_setting();

INSERT INTO salesflow.setting_definitions (name, type, default_value, minimum, maximum, choices, description) VALUES
    -- segments (20_segments.sql)
    ('segments.as_of', 'date', NULL, NULL, NULL, NULL, 'Day the segments are computed as of (default: the tenant''s latest invoice day).'),
    ('segments.high_share', 'number', '0.5', 0, 1, NULL, 'Customers ranked by revenue are high value until those before them hold this share of revenue.'),
    ('segments.medium_share', 'number', '0.8', 0, 1, NULL, '... and medium value until this share; the rest are low value.'),
    ('segments.clv_months', 'integer', '12', 1, 120, NULL, 'Horizon of the customer lifetime value, in months.'),
    ('segments.discount_rate', 'number', '0.1', 0, 1, NULL, 'Annual discount rate of the lifetime value.'),
    ('segments.churn_high_below', 'number', '0.3', 0, 1, NULL, 'Churn risk is high below this P(alive).'),
    ('segments.churn_low_from', 'number', '0.7', 0, 1, NULL, 'Churn risk is low from this P(alive).'),
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
    ('anomalies.escalation', 'number', '1.5', 1, 100, NULL, 'Within the cool-down, only a score this many times larger alerts again.');

CREATE FUNCTION salesflow.setting(name text, fallback jsonb DEFAULT NULL) RETURNS jsonb
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

-- ---------------------------------------------------------------------------
-- Work done for a tenant runs as that tenant
-- ---------------------------------------------------------------------------
-- Queue consumers, pipeline steps and report makers are often run by an
-- admin or a superuser (pg_cron), who bypass row-level security. Each unit of
-- work for one tenant is therefore wrapped in _act_as_tenant() ...
-- _act_as_caller(): the tenant is selected and, when the caller would bypass
-- RLS, the role salesflow_writer is taken, which RLS confines to that tenant.
-- The unit's results are then exactly those the tenant's own writer would
-- get, even where a query forgets a tenant_id filter. A unit calls both
-- inside its BEGIN ... EXCEPTION block, so an error undoes the switch too.
CREATE FUNCTION salesflow._bypasses_rls() RETURNS boolean
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

-- The role and tenant it sets outlive this call: a function's SET clause
-- restores only its own variables (search_path here). Returns what
-- _act_as_caller needs to restore.
CREATE FUNCTION salesflow._act_as_tenant(tenant bigint) RETURNS text[]
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

CREATE FUNCTION salesflow._act_as_caller(saved text[]) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.set_config('role', saved[2], true), pg_catalog.set_config('salesflow.tenant', coalesce(saved[1], ''), true)
$$;
COMMENT ON FUNCTION salesflow._act_as_caller(text[]) IS 'Internal: restores the role and tenant saved by _act_as_tenant.';

-- ---------------------------------------------------------------------------
-- Locks: row locks on salesflow's own table, never advisory keys
-- ---------------------------------------------------------------------------
-- Advisory lock keys are open to every role, so an outsider holding one could
-- stall a tenant. Work that must not overlap locks its (tenant, purpose) row
-- here instead: only the tenant's own writer (RLS) or an admin can take it.
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

CREATE FUNCTION salesflow._lock_tenant(tenant bigint, purpose text) RETURNS void
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

-- ---------------------------------------------------------------------------
-- Notifications
-- ---------------------------------------------------------------------------
-- PostgreSQL has no privileges on NOTIFY channels: any role can LISTEN to a
-- channel and any role can NOTIFY on it. So a payload carries only what any
-- role may know, the kind and id of a row, and a receiver reads the row
-- itself through row-level security (which also unmasks a spoofed payload:
-- the id does not exist or is not the receiver's).
CREATE FUNCTION salesflow._notify(channel text, kind text, id bigint) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_catalog.pg_notify(channel, pg_catalog.jsonb_build_object('kind', kind, 'id', id)::text) $$;
COMMENT ON FUNCTION salesflow._notify(text, text, bigint) IS
    'Internal: sends {"kind": kind, "id": id} on a NOTIFY channel; payloads never carry tenant data (any role can LISTEN).';

-- ---------------------------------------------------------------------------
-- Version and diagnostics
-- ---------------------------------------------------------------------------
CREATE FUNCTION salesflow.version() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT 'salesflow ' || extversion FROM pg_catalog.pg_extension WHERE extname = 'salesflow' $$;
COMMENT ON FUNCTION salesflow.version() IS 'Installed salesflow version.';

-- Diagnostic functions: they prove the C++/PostgreSQL boundary (pg_regress).
-- Installed everywhere, executable by salesflow_admin only.
CREATE FUNCTION salesflow._debug_throw(kind text) RETURNS int
LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'sf_debug_throw';
COMMENT ON FUNCTION salesflow._debug_throw(text) IS
    'Diagnostic: throws a C++ exception of the given kind (bad_alloc, invalid_argument, domain_error, range_error, overflow_error, runtime_error, int, postgres) inside the guard, to show its SQLSTATE.';

CREATE FUNCTION salesflow._debug_spin(seconds float8) RETURNS bigint
LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'sf_debug_spin';
COMMENT ON FUNCTION salesflow._debug_spin(float8) IS
    'Diagnostic: busy C++ loop for the given seconds that polls for cancel, to show statement_timeout stops C++ work.';

CREATE FUNCTION salesflow._debug_float8_echo(arr float8[]) RETURNS float8[]
LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_debug_float8_echo';
COMMENT ON FUNCTION salesflow._debug_float8_echo(float8[]) IS
    'Diagnostic: maps a float8[] without copying and builds it again (array helper checks).';

CREATE FUNCTION salesflow._debug_int8_sum(arr int8[]) RETURNS int8
LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_debug_int8_sum';
COMMENT ON FUNCTION salesflow._debug_int8_sum(int8[]) IS
    'Diagnostic: sums an int8[] through the array helper (overflow gives 22000).';

CREATE FUNCTION salesflow._debug_numeric_sum(arr numeric[]) RETURNS float8
LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_debug_numeric_sum';
COMMENT ON FUNCTION salesflow._debug_numeric_sum(numeric[]) IS
    'Diagnostic: sums a numeric[] converted by the array helper.';

CREATE FUNCTION salesflow._debug_anyarray_as_float8(arr anyarray) RETURNS float8
LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_debug_anyarray_as_float8';
COMMENT ON FUNCTION salesflow._debug_anyarray_as_float8(anyarray) IS
    'Diagnostic: accepts any array but reads it as float8[], to show the element type check.';

DO $debug$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
              WHERE p.pronamespace = 'salesflow'::regnamespace AND p.proname LIKE '\_debug\_%'
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO salesflow_admin', f);
    END LOOP;
END
$debug$;

-- Deletes a tenant and every row it owns in salesflow's tables (admin only).
-- Tables are found in the catalog, so new modules are covered; a table still
-- referenced by another tenant table is retried after the referencing one.
CREATE FUNCTION salesflow.delete_tenant(name text) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    victim bigint;
    pending regclass[];
    remaining regclass[];
    t regclass;
    deleted bigint := 0;
    n bigint;
    rounds int := 0;
BEGIN
    SELECT tn.tenant_id INTO victim FROM salesflow.tenants tn WHERE tn.name = delete_tenant.name;
    IF victim IS NULL THEN
        RAISE EXCEPTION 'tenant "%" does not exist', delete_tenant.name USING ERRCODE = '42704';
    END IF;
    SELECT array_agg(c.oid::regclass) INTO pending
      FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
     WHERE c.relnamespace = 'salesflow'::regnamespace AND c.relkind IN ('r', 'p')
       AND c.oid <> 'salesflow.tenants'::regclass;
    WHILE cardinality(pending) > 0 LOOP
        rounds := rounds + 1;
        IF rounds > 20 THEN
            RAISE EXCEPTION 'could not delete tenant "%": circular references among %', delete_tenant.name, pending;
        END IF;
        remaining := '{}';
        FOREACH t IN ARRAY pending LOOP
            BEGIN
                EXECUTE format('DELETE FROM %s WHERE tenant_id = $1', t) USING victim;
                GET DIAGNOSTICS n = ROW_COUNT;
                deleted := deleted + n;
            EXCEPTION WHEN foreign_key_violation THEN
                remaining := remaining || t;
            END;
        END LOOP;
        pending := remaining;
    END LOOP;
    DELETE FROM salesflow.tenants tn WHERE tn.tenant_id = victim;
    RETURN deleted + 1;
END
$$;
COMMENT ON FUNCTION salesflow.delete_tenant(text) IS
    'Deletes a tenant and all its rows in every salesflow table (admin only); returns the number of rows deleted.';
REVOKE EXECUTE ON FUNCTION salesflow.delete_tenant(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION salesflow.delete_tenant(text) TO salesflow_admin;
