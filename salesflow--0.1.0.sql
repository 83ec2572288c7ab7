-- salesflow 0.1.0 as released: the install script generated from src/sql/*.sql at commit 3c4c3a5,
-- checked in because a clone may not carry tags. NEVER EDIT: changes go into src/sql/ and an upgrade script (README, "Releases").
\echo Use "CREATE EXTENSION salesflow" to load this file. \quit
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
    wanted text := coalesce(nullif(tenant, ''), nullif(pg_catalog.current_setting('salesflow.tenant', true), ''));
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
    'Tenant id for an API call: the argument if given, else the salesflow.tenant setting; error 28000 when none is selected, 42704 when it does not exist or is not visible to the caller.';

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

CREATE FUNCTION salesflow.setting(name text, fallback jsonb DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(
        (SELECT s.value FROM salesflow.settings s
          WHERE s.tenant_id = salesflow.current_tenant_id() AND s.name = setting.name),
        fallback)
$$;
COMMENT ON FUNCTION salesflow.setting(text, jsonb) IS
    'Value of a per-tenant setting for the session''s tenant, or the fallback when it is not set.';

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
-- ingest: invoice CSV uploads in, normalised customers / products /
-- invoices / items and the sales_daily aggregate out.
--
-- The flow of one upload (salesflow._process_upload does steps 2-6):
--   1. import_csv / import_file / COPY into upload_staging store the original
--      bytes (upload_contents) and an uploads row (status received);
--   2. the C++ parser (_parse_invoices) validates every line; bad lines go
--      to upload_rejects with a reason, the rest are staged in a temp table;
--   3. max_errors / max_error_ratio can fail the upload as a whole (no data);
--   4. customers, products, invoices and invoice_items are upserted; a line
--      is identified by invoice number + line content + occurrence, so a
--      re-upload or an overlapping export adds nothing;
--   5. sales_daily gets the new lines' amounts added (touched days only),
--      touched customers and products get changed_at (the dirty marker);
--   6. the upload row gets counts and timings, and NOTIFY salesflow_uploads.
-- Uploads of one tenant are serialised by an advisory lock (no duplicates,
-- no deadlocks); different tenants load in parallel.

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------
CREATE SEQUENCE salesflow.uploads_upload_id_seq AS bigint;
CREATE TABLE salesflow.uploads (
    tenant_id      bigint      NOT NULL DEFAULT salesflow.current_tenant_id()
                               REFERENCES salesflow.tenants ON DELETE CASCADE,
    upload_id      bigint      NOT NULL DEFAULT nextval('salesflow.uploads_upload_id_seq'),
    source         text        NOT NULL DEFAULT 'import_csv',
    filename       text,
    checksum       text        NOT NULL,
    size_bytes     bigint      NOT NULL,
    options        jsonb       NOT NULL DEFAULT '{}',
    status         text        NOT NULL DEFAULT 'received',
    lines          bigint      NOT NULL DEFAULT 0,
    accepted       bigint      NOT NULL DEFAULT 0,
    inserted       bigint      NOT NULL DEFAULT 0,
    duplicates     bigint      NOT NULL DEFAULT 0,
    returns        bigint      NOT NULL DEFAULT 0,
    rejected       bigint      NOT NULL DEFAULT 0,
    non_product    bigint      NOT NULL DEFAULT 0,
    zero_price     bigint      NOT NULL DEFAULT 0,
    anonymous      bigint      NOT NULL DEFAULT 0,
    detected       jsonb,
    error          text,
    error_sqlstate text,
    timings        jsonb       NOT NULL DEFAULT '{}',
    received_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    processed_at   timestamptz,
    uploaded_by    name        NOT NULL DEFAULT current_user,
    PRIMARY KEY (tenant_id, upload_id),
    CONSTRAINT uploads_status_check CHECK (status IN ('received', 'parsing', 'loaded', 'processed', 'failed')),
    CONSTRAINT uploads_source_check CHECK (source IN ('import_csv', 'import_file', 'staging'))
);
ALTER SEQUENCE salesflow.uploads_upload_id_seq OWNED BY salesflow.uploads.upload_id;
CREATE UNIQUE INDEX uploads_checksum_idx ON salesflow.uploads (tenant_id, checksum);
COMMENT ON TABLE salesflow.uploads IS
    'One row per uploaded file: status (received, parsing, loaded, processed, failed), counts, what was detected, per-phase timings.';
COMMENT ON COLUMN salesflow.uploads.source IS 'import_csv, import_file or staging (rows COPYed into upload_staging).';
COMMENT ON COLUMN salesflow.uploads.filename IS 'File name or path, when known.';
COMMENT ON COLUMN salesflow.uploads.checksum IS 'SHA-256 of the original bytes; the same file again returns this upload.';
COMMENT ON COLUMN salesflow.uploads.size_bytes IS 'Size of the original bytes.';
COMMENT ON COLUMN salesflow.uploads.options IS 'Options the upload was (last) processed with.';
COMMENT ON COLUMN salesflow.uploads.status IS 'received -> parsing -> loaded -> processed, or failed (see error).';
COMMENT ON COLUMN salesflow.uploads.lines IS 'Data records in the file (accepted + rejected).';
COMMENT ON COLUMN salesflow.uploads.accepted IS 'Lines that passed validation.';
COMMENT ON COLUMN salesflow.uploads.inserted IS 'Accepted lines that were new (not already loaded).';
COMMENT ON COLUMN salesflow.uploads.duplicates IS 'Accepted lines already loaded by an earlier upload or earlier in this one.';
COMMENT ON COLUMN salesflow.uploads.returns IS 'Accepted lines that are cancellations or returns.';
COMMENT ON COLUMN salesflow.uploads.rejected IS 'Lines rejected; see upload_rejects.';
COMMENT ON COLUMN salesflow.uploads.non_product IS 'Accepted lines that are not products (postage, fees, adjustments).';
COMMENT ON COLUMN salesflow.uploads.zero_price IS 'Accepted lines with a zero unit price.';
COMMENT ON COLUMN salesflow.uploads.anonymous IS 'Accepted lines without a customer (kept under the anonymous customer).';
COMMENT ON COLUMN salesflow.uploads.detected IS 'Delimiter, encoding, date order, headers and the column used for each field.';
COMMENT ON COLUMN salesflow.uploads.error IS 'Why the upload failed.';
COMMENT ON COLUMN salesflow.uploads.error_sqlstate IS 'SQLSTATE of the failure.';
COMMENT ON COLUMN salesflow.uploads.timings IS 'Milliseconds per phase (parse, rejects, customers, products, invoices, items, total).';
COMMENT ON COLUMN salesflow.uploads.received_at IS 'When the upload arrived.';
COMMENT ON COLUMN salesflow.uploads.processed_at IS 'When processing last finished.';
COMMENT ON COLUMN salesflow.uploads.uploaded_by IS 'Database role that uploaded it.';
COMMENT ON COLUMN salesflow.uploads.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.uploads.upload_id IS 'Upload id.';
SELECT salesflow._tenant_table('salesflow.uploads');
SELECT pg_catalog.pg_extension_config_dump('salesflow.uploads_upload_id_seq', '');

CREATE TABLE salesflow.upload_contents (
    tenant_id bigint NOT NULL,
    upload_id bigint NOT NULL,
    content   bytea  NOT NULL,
    PRIMARY KEY (tenant_id, upload_id),
    FOREIGN KEY (tenant_id, upload_id) REFERENCES salesflow.uploads ON DELETE CASCADE
);
ALTER TABLE salesflow.upload_contents ALTER COLUMN content SET STORAGE EXTERNAL;
COMMENT ON TABLE salesflow.upload_contents IS
    'The original bytes of every upload, kept so that nothing is ever lost and process_upload() can run again.';
COMMENT ON COLUMN salesflow.upload_contents.content IS 'Original file bytes (for staging uploads: the staged rows as CSV).';
SELECT salesflow._tenant_table('salesflow.upload_contents');

CREATE TABLE salesflow.upload_rejects (
    tenant_id   bigint NOT NULL,
    upload_id   bigint NOT NULL,
    line_no     bigint NOT NULL,
    reject_no   int    NOT NULL,
    column_name text,
    value       text,
    reason      text   NOT NULL,
    raw_line    text,
    PRIMARY KEY (tenant_id, upload_id, line_no, reject_no),
    FOREIGN KEY (tenant_id, upload_id) REFERENCES salesflow.uploads ON DELETE CASCADE
);
COMMENT ON TABLE salesflow.upload_rejects IS
    'Every rejected line of every upload, with the reason a person can act on; the rest of the file loads.';
COMMENT ON COLUMN salesflow.upload_rejects.line_no IS 'Physical line where the record starts (the header is line 1).';
COMMENT ON COLUMN salesflow.upload_rejects.reject_no IS 'Orders several rejects of one line.';
COMMENT ON COLUMN salesflow.upload_rejects.column_name IS 'Header of the offending column (NULL when the whole line is bad).';
COMMENT ON COLUMN salesflow.upload_rejects.value IS 'The offending value as found (invalid bytes shown as \xNN).';
COMMENT ON COLUMN salesflow.upload_rejects.reason IS 'Why the line was rejected.';
COMMENT ON COLUMN salesflow.upload_rejects.raw_line IS 'The whole raw line (truncated to 4 kB).';
SELECT salesflow._tenant_table('salesflow.upload_rejects');

CREATE SEQUENCE salesflow.customers_customer_id_seq AS bigint;
CREATE TABLE salesflow.customers (
    tenant_id         bigint      NOT NULL DEFAULT salesflow.current_tenant_id()
                                  REFERENCES salesflow.tenants ON DELETE CASCADE,
    customer_id       bigint      NOT NULL DEFAULT nextval('salesflow.customers_customer_id_seq'),
    ref               text        NOT NULL,
    name              text,
    city              text,
    country           text,
    is_anonymous      boolean     GENERATED ALWAYS AS (ref = '') STORED,
    first_order_at    timestamptz,
    last_order_at     timestamptz,
    changed_at        timestamptz NOT NULL DEFAULT now(),
    changed_by_upload bigint,
    PRIMARY KEY (tenant_id, customer_id),
    UNIQUE (tenant_id, ref)
);
ALTER SEQUENCE salesflow.customers_customer_id_seq OWNED BY salesflow.customers.customer_id;
COMMENT ON TABLE salesflow.customers IS 'Customers (stores, clients) of a tenant, keyed by their reference in the source system.';
COMMENT ON COLUMN salesflow.customers.ref IS 'Customer id in the source system; '''' is the anonymous customer (lines without a customer).';
COMMENT ON COLUMN salesflow.customers.name IS 'Latest customer name seen.';
COMMENT ON COLUMN salesflow.customers.city IS 'Latest city seen.';
COMMENT ON COLUMN salesflow.customers.country IS 'Latest country seen.';
COMMENT ON COLUMN salesflow.customers.is_anonymous IS 'True for the anonymous customer: counted in revenue, left out of customer analytics.';
COMMENT ON COLUMN salesflow.customers.first_order_at IS 'First invoice time.';
COMMENT ON COLUMN salesflow.customers.last_order_at IS 'Latest invoice time.';
COMMENT ON COLUMN salesflow.customers.changed_at IS 'When an upload last added lines for this customer (analytics recompute customers changed after their last run).';
COMMENT ON COLUMN salesflow.customers.changed_by_upload IS 'Upload that last added lines for this customer.';
SELECT salesflow._tenant_table('salesflow.customers');
SELECT pg_catalog.pg_extension_config_dump('salesflow.customers_customer_id_seq', '');

CREATE SEQUENCE salesflow.products_product_id_seq AS bigint;
CREATE TABLE salesflow.products (
    tenant_id         bigint      NOT NULL DEFAULT salesflow.current_tenant_id()
                                  REFERENCES salesflow.tenants ON DELETE CASCADE,
    product_id        bigint      NOT NULL DEFAULT nextval('salesflow.products_product_id_seq'),
    sku               text        NOT NULL,
    name              text,
    category          text,
    brand             text,
    last_price        numeric(16,4),
    is_non_product    boolean     NOT NULL DEFAULT false,
    first_sold_at     timestamptz,
    last_sold_at      timestamptz,
    changed_at        timestamptz NOT NULL DEFAULT now(),
    changed_by_upload bigint,
    PRIMARY KEY (tenant_id, product_id),
    UNIQUE (tenant_id, sku)
);
ALTER SEQUENCE salesflow.products_product_id_seq OWNED BY salesflow.products.product_id;
COMMENT ON TABLE salesflow.products IS 'Products of a tenant by SKU, with the latest name, category, brand and price seen.';
COMMENT ON COLUMN salesflow.products.sku IS 'Stock code / SKU as in the source (derived from the description when the file has none).';
COMMENT ON COLUMN salesflow.products.name IS 'Latest description seen.';
COMMENT ON COLUMN salesflow.products.category IS 'Latest category seen.';
COMMENT ON COLUMN salesflow.products.brand IS 'Latest brand seen.';
COMMENT ON COLUMN salesflow.products.last_price IS 'Unit price on the latest sale.';
COMMENT ON COLUMN salesflow.products.is_non_product IS 'Postage, fees, manual adjustments: kept in revenue, left out of product analytics.';
COMMENT ON COLUMN salesflow.products.first_sold_at IS 'First invoice time.';
COMMENT ON COLUMN salesflow.products.last_sold_at IS 'Latest invoice time.';
COMMENT ON COLUMN salesflow.products.changed_at IS 'When an upload last added lines for this product (the dirty marker).';
COMMENT ON COLUMN salesflow.products.changed_by_upload IS 'Upload that last added lines for this product.';
SELECT salesflow._tenant_table('salesflow.products');
SELECT pg_catalog.pg_extension_config_dump('salesflow.products_product_id_seq', '');

CREATE SEQUENCE salesflow.invoices_invoice_id_seq AS bigint;
CREATE TABLE salesflow.invoices (
    tenant_id   bigint        NOT NULL DEFAULT salesflow.current_tenant_id()
                              REFERENCES salesflow.tenants ON DELETE CASCADE,
    invoice_id  bigint        NOT NULL DEFAULT nextval('salesflow.invoices_invoice_id_seq'),
    invoice_no  text          NOT NULL,
    customer_id bigint        NOT NULL,
    invoiced_at timestamptz   NOT NULL,
    day         date          NOT NULL,
    is_return   boolean       NOT NULL DEFAULT false,
    lines       int           NOT NULL DEFAULT 0,
    total       numeric(18,4) NOT NULL DEFAULT 0,
    upload_id   bigint,
    PRIMARY KEY (tenant_id, invoice_id),
    UNIQUE (tenant_id, invoice_no)
);
ALTER SEQUENCE salesflow.invoices_invoice_id_seq OWNED BY salesflow.invoices.invoice_id;
CREATE INDEX invoices_customer_idx ON salesflow.invoices (tenant_id, customer_id, invoiced_at);
COMMENT ON TABLE salesflow.invoices IS 'Invoices (orders): one row per invoice number, with its customer, time, line count and total.';
COMMENT ON COLUMN salesflow.invoices.invoice_no IS 'Invoice / order number as in the source (cancellations keep their C prefix).';
COMMENT ON COLUMN salesflow.invoices.customer_id IS 'Customer (the anonymous customer for lines without one).';
COMMENT ON COLUMN salesflow.invoices.invoiced_at IS 'Invoice time: the file''s local time read in the tenant''s time zone.';
COMMENT ON COLUMN salesflow.invoices.day IS 'Invoice day in the tenant''s time zone.';
COMMENT ON COLUMN salesflow.invoices.is_return IS 'A cancellation or return (C-prefixed number or negative quantities).';
COMMENT ON COLUMN salesflow.invoices.lines IS 'Number of lines loaded.';
COMMENT ON COLUMN salesflow.invoices.total IS 'Sum of line totals (negative for returns).';
COMMENT ON COLUMN salesflow.invoices.upload_id IS 'Upload that first brought the invoice.';
SELECT salesflow._tenant_table('salesflow.invoices');
SELECT pg_catalog.pg_extension_config_dump('salesflow.invoices_invoice_id_seq', '');

CREATE TABLE salesflow.invoice_items (
    tenant_id   bigint        NOT NULL,
    invoice_id  bigint        NOT NULL,
    line_key    bigint        NOT NULL,
    occurrence  int           NOT NULL,
    product_id  bigint        NOT NULL,
    quantity    numeric(16,3) NOT NULL,
    unit_price  numeric(16,4) NOT NULL,
    line_total  numeric(18,4) NOT NULL,
    is_return   boolean       NOT NULL DEFAULT false,
    non_product boolean       NOT NULL DEFAULT false,
    zero_price  boolean       NOT NULL DEFAULT false,
    upload_id   bigint,
    line_no     bigint,
    location    text          NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, invoice_id, line_key, occurrence)
);
COMMENT ON TABLE salesflow.invoice_items IS
    'Invoice lines. A line is identified by its invoice, a hash of its content and its occurrence, so reloading a file adds nothing.';
COMMENT ON COLUMN salesflow.invoice_items.line_key IS '64-bit hash of invoice, customer, SKU, description, quantity, price and time.';
COMMENT ON COLUMN salesflow.invoice_items.occurrence IS '1 for the first identical line of an invoice, 2 for the next, ...';
COMMENT ON COLUMN salesflow.invoice_items.product_id IS 'Product.';
COMMENT ON COLUMN salesflow.invoice_items.quantity IS 'Quantity (negative for returns).';
COMMENT ON COLUMN salesflow.invoice_items.unit_price IS 'Unit price.';
COMMENT ON COLUMN salesflow.invoice_items.line_total IS 'Line total (given, or quantity x unit price).';
COMMENT ON COLUMN salesflow.invoice_items.is_return IS 'Part of a cancellation or return.';
COMMENT ON COLUMN salesflow.invoice_items.non_product IS 'Postage, fees or an adjustment, not a product.';
COMMENT ON COLUMN salesflow.invoice_items.zero_price IS 'Unit price is zero.';
COMMENT ON COLUMN salesflow.invoice_items.upload_id IS 'Upload that brought the line.';
COMMENT ON COLUMN salesflow.invoice_items.line_no IS 'Line number in that upload.';
COMMENT ON COLUMN salesflow.invoice_items.location IS 'Store, warehouse or branch of the sale, from a Location / Store / Warehouse / Branch column ('''' when the file has none).';
SELECT salesflow._tenant_table('salesflow.invoice_items');

CREATE TABLE salesflow.sales_daily (
    tenant_id        bigint        NOT NULL,
    product_id       bigint        NOT NULL,
    day              date          NOT NULL,
    units            numeric(18,3) NOT NULL DEFAULT 0,
    revenue          numeric(18,4) NOT NULL DEFAULT 0,
    orders           int           NOT NULL DEFAULT 0,
    returned_units   numeric(18,3) NOT NULL DEFAULT 0,
    returned_revenue numeric(18,4) NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, product_id, day)
);
COMMENT ON TABLE salesflow.sales_daily IS
    'Per product and day (tenant''s time zone): units and revenue sold, orders, and returns; maintained incrementally by every upload.';
COMMENT ON COLUMN salesflow.sales_daily.units IS 'Units sold (lines that are not returns).';
COMMENT ON COLUMN salesflow.sales_daily.revenue IS 'Revenue of those lines.';
COMMENT ON COLUMN salesflow.sales_daily.orders IS 'Invoices (not returns) with this product on this day.';
COMMENT ON COLUMN salesflow.sales_daily.returned_units IS 'Units returned (positive number).';
COMMENT ON COLUMN salesflow.sales_daily.returned_revenue IS 'Value returned (positive number).';
SELECT salesflow._tenant_table('salesflow.sales_daily');

CREATE TABLE salesflow.sales_daily_location (
    tenant_id      bigint        NOT NULL,
    product_id     bigint        NOT NULL,
    location       text          NOT NULL,
    day            date          NOT NULL,
    units          numeric(18,3) NOT NULL DEFAULT 0,
    revenue        numeric(18,4) NOT NULL DEFAULT 0,
    returned_units numeric(18,3) NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, product_id, location, day)
);
COMMENT ON TABLE salesflow.sales_daily_location IS
    'Per product, location and day (tenant''s time zone): units and revenue sold and units returned, for lines that name a location; maintained incrementally by every upload (sales_daily holds all lines, locations pooled).';
COMMENT ON COLUMN salesflow.sales_daily_location.location IS 'Store, warehouse or branch (invoice_items.location).';
COMMENT ON COLUMN salesflow.sales_daily_location.units IS 'Units sold (lines that are not returns).';
COMMENT ON COLUMN salesflow.sales_daily_location.revenue IS 'Revenue of those lines.';
COMMENT ON COLUMN salesflow.sales_daily_location.returned_units IS 'Units returned (positive number).';
SELECT salesflow._tenant_table('salesflow.sales_daily_location');

CREATE SEQUENCE salesflow.upload_staging_staging_id_seq AS bigint;
CREATE TABLE salesflow.upload_staging (
    tenant_id     bigint NOT NULL DEFAULT salesflow.current_tenant_id(),
    staging_id    bigint NOT NULL DEFAULT nextval('salesflow.upload_staging_staging_id_seq'),
    invoice       text,
    customer      text,
    customer_name text,
    sku           text,
    description   text,
    quantity      text,
    unit_price    text,
    invoiced_at   text,
    line_total    text,
    category      text,
    brand         text,
    city          text,
    country       text,
    location      text,
    PRIMARY KEY (tenant_id, staging_id)
);
ALTER SEQUENCE salesflow.upload_staging_staging_id_seq OWNED BY salesflow.upload_staging.staging_id;
COMMENT ON TABLE salesflow.upload_staging IS
    'COPY invoice lines here (text columns, any subset); each COPY or INSERT statement becomes one upload, processed at once. Stays empty.';
COMMENT ON COLUMN salesflow.upload_staging.invoice IS 'Invoice / order number.';
COMMENT ON COLUMN salesflow.upload_staging.customer IS 'Customer reference.';
COMMENT ON COLUMN salesflow.upload_staging.customer_name IS 'Customer name.';
COMMENT ON COLUMN salesflow.upload_staging.sku IS 'SKU / stock code.';
COMMENT ON COLUMN salesflow.upload_staging.description IS 'Product description.';
COMMENT ON COLUMN salesflow.upload_staging.quantity IS 'Quantity as text.';
COMMENT ON COLUMN salesflow.upload_staging.unit_price IS 'Unit price as text.';
COMMENT ON COLUMN salesflow.upload_staging.invoiced_at IS 'Invoice date/time as text (any supported format).';
COMMENT ON COLUMN salesflow.upload_staging.line_total IS 'Line total as text.';
COMMENT ON COLUMN salesflow.upload_staging.category IS 'Product category.';
COMMENT ON COLUMN salesflow.upload_staging.brand IS 'Product brand.';
COMMENT ON COLUMN salesflow.upload_staging.city IS 'Customer city.';
COMMENT ON COLUMN salesflow.upload_staging.country IS 'Customer country.';
COMMENT ON COLUMN salesflow.upload_staging.location IS 'Store, warehouse or branch of the sale.';
SELECT salesflow._tenant_table('salesflow.upload_staging', false);
GRANT USAGE ON SEQUENCE salesflow.upload_staging_staging_id_seq, salesflow.uploads_upload_id_seq,
    salesflow.customers_customer_id_seq, salesflow.products_product_id_seq, salesflow.invoices_invoice_id_seq
    TO salesflow_writer;

-- ---------------------------------------------------------------------------
-- The parser (C++) and the demo data generator
-- ---------------------------------------------------------------------------
CREATE TYPE salesflow._parsed_line AS (
    kind            "char",
    line_no         bigint,
    invoice         text,
    customer        text,
    customer_name   text,
    sku             text,
    description     text,
    category        text,
    brand           text,
    city            text,
    country         text,
    quantity        float8,
    unit_price      float8,
    line_total      float8,
    invoiced_at     timestamp,
    is_return       boolean,
    non_product     boolean,
    zero_price      boolean,
    content_key     bigint,
    occurrence      int,
    reject_column   text,
    reject_value    text,
    reject_raw      text,
    reject_reason   text,
    meta            jsonb,
    last_at         timestamp,
    lines           bigint,
    first_in_invoice boolean,
    invoice_idx     int,
    product_idx     int,
    returned_units  float8,
    returned_revenue float8,
    location        text
);
COMMENT ON TYPE salesflow._parsed_line IS
    'Internal: a row of _parse_invoices(): kind M (what was detected), L (an accepted line), R (a rejected line), or a summary of the accepted lines per C (customer), P (product), I (invoice), D (product and day: units in quantity, revenue in line_total, orders in lines).';

CREATE FUNCTION salesflow._parse_invoices(content bytea, delimiter text, decimal_sep text, date_order text,
                                          encoding text, preset text, mapping_fields text[], mapping_headers text[],
                                          max_field_bytes int)
RETURNS SETOF salesflow._parsed_line
LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_parse_invoices';
COMMENT ON FUNCTION salesflow._parse_invoices(bytea, text, text, text, text, text, text[], text[], int) IS
    'Internal: parses and validates invoice CSV bytes in C++ (RFC 4180, encodings, header aliases, dates, numbers, business rules).';

CREATE FUNCTION salesflow._parse_invoices_into(target regclass, content bytea, delimiter text, decimal_sep text,
                                               date_order text, encoding text, preset text, mapping_fields text[],
                                               mapping_headers text[], max_field_bytes int)
RETURNS bigint
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'sf_parse_invoices_into';
COMMENT ON FUNCTION salesflow._parse_invoices_into(regclass, bytea, text, text, text, text, text, text[], text[], int) IS
    'Internal: _parse_invoices writing its rows straight into a temporary table shaped like _parsed_line (no indexes, no triggers); returns the row count.';

CREATE FUNCTION salesflow.generate_demo_csv(lines bigint, seed bigint DEFAULT 42) RETURNS bytea
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_generate_demo_csv';
COMMENT ON FUNCTION salesflow.generate_demo_csv(bigint, bigint) IS
    'Deterministic realistic invoice CSV (UCI Online Retail layout): many customers, long-tail products, returns, seasonality. For demos and benchmarks.';

-- ---------------------------------------------------------------------------
-- Processing
-- ---------------------------------------------------------------------------

-- Validates the options document of an upload; returns it normalised.
CREATE FUNCTION salesflow._upload_options(options jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    known constant text[] := ARRAY['tenant', 'preset', 'mapping', 'delimiter', 'decimal', 'date_order', 'encoding',
                                   'max_errors', 'max_error_ratio', 'max_field_bytes', 'filename', 'progress'];
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
COMMENT ON FUNCTION salesflow._upload_options(jsonb) IS 'Internal: validates upload options (unknown keys and bad values give 22023).';

-- Creates the upload row for some bytes, or returns the earlier upload of the
-- same bytes. Takes the tenant's ingest lock for the rest of the transaction.
CREATE FUNCTION salesflow._receive_upload(tenant bigint, content bytea, options jsonb, source text, filename text)
RETURNS salesflow.uploads
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    digest text := encode(sha256(content), 'hex');
    up salesflow.uploads;
BEGIN
    PERFORM pg_advisory_xact_lock(1936090215, tenant::int);
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
COMMENT ON FUNCTION salesflow._receive_upload(bigint, bytea, jsonb, text, text) IS
    'Internal: stores the bytes of an upload (or finds the same bytes uploaded before) under the tenant''s ingest lock.';

CREATE FUNCTION salesflow._ms_since(t timestamptz) RETURNS numeric
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT round((extract(epoch FROM clock_timestamp() - t) * 1000)::numeric, 1) $$;
COMMENT ON FUNCTION salesflow._ms_since(timestamptz) IS 'Internal: milliseconds elapsed since t.';

-- The value to keep when an upload brings a value for an existing row: the
-- newer one when the upload's data is newer, the older one otherwise; a
-- missing value never overwrites a known one.
CREATE FUNCTION salesflow._latest_value(incoming anyelement, existing anyelement, incoming_is_newer boolean)
RETURNS anyelement
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT CASE WHEN incoming_is_newer THEN coalesce(incoming, existing) ELSE coalesce(existing, incoming) END $$;
COMMENT ON FUNCTION salesflow._latest_value(anyelement, anyelement, boolean) IS
    'Internal: the value to keep on upsert (the newer data wins; missing values never overwrite known ones).';

-- Parses, validates and normalises one upload. Idempotent.
-- Planner statistics of the fact tables, refreshed at the end of a large
-- upload when they are stale: right after a first import autovacuum has not
-- analyzed yet, and the analytics that follow would plan for empty tables
-- (measured: refresh_associations 9.4 s instead of 0.12 s after 20k lines).
-- SECURITY DEFINER because ANALYZE needs the tables' owner; it takes no
-- arguments and analyzes a fixed list.
CREATE FUNCTION salesflow._analyze_if_stale() RETURNS int
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t text;
    n int := 0;
BEGIN
    FOR t IN SELECT s.relname FROM pg_catalog.pg_stat_user_tables s
              WHERE s.schemaname = 'salesflow'
                AND s.relname IN ('customers', 'products', 'invoices', 'invoice_items', 'sales_daily')
                AND s.n_mod_since_analyze > 1000 + 0.2 * greatest(s.n_live_tup - s.n_mod_since_analyze, 0)
              ORDER BY s.relname
    LOOP
        EXECUTE pg_catalog.format('ANALYZE salesflow.%I', t);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION salesflow._analyze_if_stale() IS
    'Internal: ANALYZEs the fact tables whose statistics are stale (more than 1000 + 20% of their rows changed since the last analyze); run at the end of large uploads. Returns how many it analyzed.';
REVOKE EXECUTE ON FUNCTION salesflow._analyze_if_stale() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION salesflow._analyze_if_stale() TO salesflow_writer;

CREATE FUNCTION salesflow._process_upload(tenant bigint, upload bigint) RETURNS salesflow.uploads
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
BEGIN
    PERFORM pg_advisory_xact_lock(1936090215, tenant::int);
    SELECT * INTO up FROM salesflow.uploads u WHERE u.tenant_id = tenant AND u.upload_id = upload FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'upload % does not exist', upload USING ERRCODE = '42704';
    END IF;
    opts := up.options;
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
        PERFORM salesflow._parse_invoices_into('pg_temp.sf_parsed'::regclass, c.content,
                    opts ->> 'delimiter', opts ->> 'decimal', opts ->> 'date_order', opts ->> 'encoding', opts ->> 'preset',
                    ARRAY(SELECT k FROM jsonb_object_keys(coalesce(opts -> 'mapping', '{}')) k ORDER BY k),
                    ARRAY(SELECT coalesce(opts -> 'mapping', '{}') ->> k
                            FROM jsonb_object_keys(coalesce(opts -> 'mapping', '{}')) k ORDER BY k),
                    (opts ->> 'max_field_bytes')::int)
           FROM salesflow.upload_contents c
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
        PERFORM pg_notify('salesflow_uploads', jsonb_build_object('tenant_id', tenant, 'upload_id', upload,
                          'status', 'failed', 'error', err_text)::text);
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
    INSERT INTO salesflow.upload_rejects (tenant_id, upload_id, line_no, reject_no, column_name, value, reason, raw_line)
    SELECT tenant, upload, p.line_no, row_number() OVER (PARTITION BY p.line_no ORDER BY p.reject_reason),
           p.reject_column, p.reject_value, p.reject_reason, p.reject_raw
      FROM sf_parsed p WHERE p.kind = 'R';
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
        PERFORM pg_notify('salesflow_uploads', jsonb_build_object('tenant_id', tenant, 'upload_id', upload,
                          'status', 'failed', 'error', up.error)::text);
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
    PERFORM pg_notify('salesflow_uploads', jsonb_build_object(
        'tenant_id', tenant, 'upload_id', upload, 'status', up.status, 'lines', up.lines, 'inserted', up.inserted,
        'duplicates', up.duplicates, 'rejected', up.rejected, 'returns', up.returns)::text);
    RETURN up;
END
$$;
COMMENT ON FUNCTION salesflow._process_upload(bigint, bigint) IS
    'Internal: parses, validates and normalises one stored upload (see the top of 10_ingest.sql).';

-- ---------------------------------------------------------------------------
-- Entry points
-- ---------------------------------------------------------------------------
CREATE FUNCTION salesflow.import_csv(content bytea, options jsonb DEFAULT '{}') RETURNS salesflow.uploads
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    opts jsonb := salesflow._upload_options(options);
    tenant bigint := salesflow.require_tenant(opts ->> 'tenant');
    up salesflow.uploads;
BEGIN
    IF content IS NULL THEN
        RAISE EXCEPTION 'upload content must not be null' USING ERRCODE = '22004';
    END IF;
    up := salesflow._receive_upload(tenant, content, opts - 'tenant', 'import_csv', opts ->> 'filename');
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
COMMENT ON FUNCTION salesflow.import_csv(bytea, jsonb) IS
    'Imports invoice CSV bytes for the session''s tenant (or options.tenant): stores them, rejects bad lines with reasons, normalises the rest; returns the upload. The same bytes again return the earlier upload.';

CREATE FUNCTION salesflow.import_file(path text, options jsonb DEFAULT '{}') RETURNS salesflow.uploads
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    opts jsonb := salesflow._upload_options(options);
    tenant bigint := salesflow.require_tenant(opts ->> 'tenant');
    up salesflow.uploads;
BEGIN
    up := salesflow._receive_upload(tenant, pg_read_binary_file(path), opts - 'tenant', 'import_file',
                                    coalesce(opts ->> 'filename', path));
    IF up.status IN ('processed', 'parsing', 'loaded') THEN
        RETURN up;
    END IF;
    RETURN salesflow._process_upload(tenant, up.upload_id);
END
$$;
COMMENT ON FUNCTION salesflow.import_file(text, jsonb) IS
    'Imports an invoice CSV file on the database server (needs superuser or pg_read_server_files); same options as import_csv.';

CREATE FUNCTION salesflow.process_upload(upload_id bigint, options jsonb DEFAULT NULL) RETURNS salesflow.uploads
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tenant bigint;
BEGIN
    SELECT u.tenant_id INTO tenant FROM salesflow.uploads u WHERE u.upload_id = process_upload.upload_id;
    IF tenant IS NULL THEN
        RAISE EXCEPTION 'upload % does not exist', process_upload.upload_id USING ERRCODE = '42704';
    END IF;
    IF process_upload.options IS NOT NULL THEN
        UPDATE salesflow.uploads u SET options = salesflow._upload_options(process_upload.options) - 'tenant'
         WHERE u.tenant_id = tenant AND u.upload_id = process_upload.upload_id;
    END IF;
    RETURN salesflow._process_upload(tenant, process_upload.upload_id);
END
$$;
COMMENT ON FUNCTION salesflow.process_upload(bigint, jsonb) IS
    'Runs post-processing of a stored upload again, optionally with new options (e.g. a fixed column mapping). Lines already loaded count as duplicates.';

-- CSV field quoting for staged rows (RFC 4180).
CREATE FUNCTION salesflow._csv_field(v text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT CASE WHEN v IS NULL THEN '' ELSE '"' || replace(v, '"', '""') || '"' END $$;
COMMENT ON FUNCTION salesflow._csv_field(text) IS 'Internal: quotes a value as an RFC 4180 CSV field.';

CREATE FUNCTION salesflow._staging_after_insert() RETURNS trigger
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
        SELECT jsonb_object_agg(f, CASE WHEN batch.present[i] THEN f ELSE '' END) INTO mapping
          FROM unnest(fields) WITH ORDINALITY AS u(f, i);
        up := salesflow._receive_upload(batch.tenant_id, batch.content,
                                        jsonb_build_object('encoding', 'UTF8', 'delimiter', ',', 'mapping', mapping),
                                        'staging', NULL);
        IF up.status NOT IN ('processed', 'parsing', 'loaded') THEN
            up := salesflow._process_upload(batch.tenant_id, up.upload_id);
        END IF;
        DELETE FROM salesflow.upload_staging s WHERE s.tenant_id = batch.tenant_id AND s.staging_id = ANY (batch.ids);
        RAISE NOTICE 'salesflow upload %: % (% lines, % new, % duplicates, % rejected)',
            up.upload_id, up.status, up.lines, up.inserted, up.duplicates, up.rejected;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION salesflow._staging_after_insert() IS
    'Internal: statement-level trigger on upload_staging: turns the statement''s rows into one upload and processes it.';

CREATE TRIGGER upload_staging_process
    AFTER INSERT ON salesflow.upload_staging
    REFERENCING NEW TABLE AS staged
    FOR EACH STATEMENT EXECUTE FUNCTION salesflow._staging_after_insert();

DO $grants$
BEGIN
    EXECUTE 'REVOKE EXECUTE ON FUNCTION salesflow.import_csv(bytea, jsonb), salesflow.import_file(text, jsonb),
             salesflow.process_upload(bigint, jsonb) FROM PUBLIC';
    EXECUTE 'GRANT EXECUTE ON FUNCTION salesflow.import_csv(bytea, jsonb), salesflow.import_file(text, jsonb),
             salesflow.process_upload(bigint, jsonb) TO salesflow_writer';
END
$grants$;
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

    RETURN QUERY SELECT 'customers'::text, NULL::text, NULL::float8, NULL::float8, avg(b.y)::float8, count(*) FROM sf_backtest b;
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
    ), usual AS (
        SELECT f.customer_id, array_agg(f.product_id ORDER BY f.days DESC, f.product_id) FILTER (WHERE f.rk <= 5) AS top5,
               max(f.avg_amount) AS amount
          FROM (SELECT h.customer_id, h.product_id, count(DISTINCT h.day) AS days,
                       row_number() OVER (PARTITION BY h.customer_id ORDER BY count(DISTINCT h.day) DESC, h.product_id) AS rk,
                       (SELECT sum(x.line_total) / count(DISTINCT x.day) FROM history x WHERE x.customer_id = h.customer_id) AS avg_amount
                  FROM history h GROUP BY h.customer_id, h.product_id) f
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
    PERFORM pg_advisory_xact_lock(1936090216, tid::int);
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
       sum(abs(e.point - e.actual)) / nullif(sum(e.actual), 0) AS wape,
       sum(e.point - e.actual) / nullif(sum(e.actual), 0) AS bias,
       avg(abs(e.point - e.actual) / nullif(e.mase_scale, 0)) AS mase,
       avg(CASE WHEN e.actual BETWEEN e.lo80 AND e.hi80 THEN 1.0 ELSE 0.0 END) AS coverage80,
       avg(CASE WHEN e.actual BETWEEN e.lo95 AND e.hi95 THEN 1.0 ELSE 0.0 END) AS coverage95
  FROM salesflow.forecast_errors e
 WHERE e.location = ''
 GROUP BY e.tenant_id, e.origin, e.step;
COMMENT ON VIEW salesflow.forecast_accuracy_by_origin IS
    'The tenant''s forecast accuracy per snapshot (origin) and days ahead, over all products: WAPE, bias, mean scaled error (MASE) and interval coverage; compare origins to see whether forecasts get better or worse.';
GRANT SELECT ON salesflow.forecast_accuracy_by_origin TO salesflow_reader;
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

CREATE FUNCTION salesflow._supply_default(tenant bigint, name text, fallback float8) RETURNS float8
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (salesflow._tenant_setting(tenant, 'supply.' || name, to_jsonb(fallback)) #>> '{}')::float8
$$;
COMMENT ON FUNCTION salesflow._supply_default(bigint, text, float8) IS 'Internal: a numeric supply.* tenant setting, or the built-in default.';

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
    n bigint;
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
                                         order_value, runway_days, stockout_date, computed_at)
    SELECT tid, i.product_id, day0,
           CASE WHEN cardinality(rs.reasons) > 0 THEN 'ATTENTION_REQUIRED'
                WHEN pol.recommended_qty > 0 THEN 'ORDER_TODAY'
                WHEN i.on_order > 0 AND i.on_hand - i.backorders <= pol.reorder_point THEN 'ALREADY_ORDERED'
                ELSE 'NORMAL' END,
           rs.reasons, i.on_hand, i.backorders, i.on_order, i.on_hand + i.on_order - i.backorders, i.next_receipt,
           dm.daily_demand, sdv.sd, i.intermittent, i.forecast_method, i.forecast_origin, i.lead_time, i.lead_time_sd,
           i.lead_time_source, i.review_period, i.service_type, i.service_level,
           pol.method, pol.safety_stock, pol.reorder_point, pol.order_up_to, pol.eoq, pol.recommended_qty,
           pol.recommended_qty * i.unit_cost, rw.runway_days,
           day0 + rw.stockout_day, clock_timestamp()
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
      ) rs;
    GET DIAGNOSTICS n = ROW_COUNT;
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
-- anomalies: unusual sales days and stock situations, stored and announced.
--
-- Pure functions over arrays (C++ core src/core/anomaly): detect_anomalies
-- (robust weekday-seasonal decomposition + MAD z-score), seasonal_hybrid_esd
-- (Twitter's S-H-ESD test). The batch:
--   salesflow.refresh_anomalies()  scores the tenant's daily revenue and
--       order count and the units of its top products on the days touched by
--       uploads since the last run (their whole history decides what is
--       normal), adds stock alerts from replenishment, applies alert_rules and
--       the no-storm rule, stores new alerts in anomalies and sends each one
--       with pg_notify on its rule's channel (default salesflow_alerts).
--   salesflow.acknowledge_alert(), salesflow.list_open_alerts(),
--   salesflow.open_alerts  what an app or a person acts on.

-- ---------------------------------------------------------------------------
-- Pure functions
-- ---------------------------------------------------------------------------
CREATE FUNCTION salesflow.detect_anomalies(y float8[], period int DEFAULT 7, threshold float8 DEFAULT 4,
                                           direction text DEFAULT 'both', min_abs_change float8 DEFAULT 0,
                                           from_index int DEFAULT 1)
RETURNS TABLE(idx int, observed float8, expected float8, score float8)
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_detect_anomalies';
COMMENT ON FUNCTION salesflow.detect_anomalies(float8[], int, float8, text, float8, int) IS
    'Unusual values of a series (daily sales: period 7): robust decomposition (rolling-median trend, per-weekday seasonal), residuals scored by a MAD-based robust z; returns the 1-based index, observed and expected value and the signed score (> 0 spike) of every value from from_index on with |score| > threshold (lower = more sensitive) and |observed - expected| >= min_abs_change. direction: both, spike or drop. Series shorter than 56 values report nothing.';

CREATE FUNCTION salesflow.seasonal_hybrid_esd(y float8[], period int DEFAULT 7, max_anoms float8 DEFAULT 0.02,
                                              alpha float8 DEFAULT 0.05, direction text DEFAULT 'both',
                                              longterm boolean DEFAULT false, only_last int DEFAULT 0)
RETURNS TABLE(idx int, observed float8, expected float8, score float8)
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_seasonal_hybrid_esd';
COMMENT ON FUNCTION salesflow.seasonal_hybrid_esd(float8[], int, float8, float8, text, boolean, int) IS
    'Seasonal Hybrid ESD test (Hochenbaum, Vallis & Kejariwal 2017, Twitter AnomalyDetection): at most max_anoms of the values, significance alpha, optionally on two-week windows (longterm) and reporting only the last only_last values; score is the test statistic in MADs (signed).';

CREATE FUNCTION salesflow._suppress_storms(entity bigint[], day bigint[], score float8[], history_entity bigint[],
                                           history_day bigint[], history_score float8[], cooldown_days int,
                                           escalation float8)
RETURNS TABLE(entity bigint, day bigint, score float8)
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_suppress_storms';
COMMENT ON FUNCTION salesflow._suppress_storms(bigint[], bigint[], float8[], bigint[], bigint[], float8[], int, float8) IS
    'Internal: the no-storm rule (one alert per entity and day; within cooldown_days of the last alert in the same direction only a score escalation times larger alerts again); returns the candidates kept.';

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------
CREATE TABLE salesflow.alert_rules (
    tenant_id      bigint  NOT NULL DEFAULT salesflow.current_tenant_id() REFERENCES salesflow.tenants ON DELETE CASCADE,
    metric         text    NOT NULL,
    enabled        boolean NOT NULL DEFAULT true,
    min_score      float8  NOT NULL DEFAULT 4 CHECK (min_score > 0),
    min_abs_change float8  NOT NULL DEFAULT 0 CHECK (min_abs_change >= 0),
    direction      text    NOT NULL DEFAULT 'both' CHECK (direction IN ('both', 'spike', 'drop')),
    cooldown_days  int     NOT NULL DEFAULT 7 CHECK (cooldown_days BETWEEN 0 AND 365),
    channel        text    NOT NULL DEFAULT 'salesflow_alerts' CHECK (channel ~ '^[a-z_][a-z0-9_]{0,62}$'),
    PRIMARY KEY (tenant_id, metric),
    CONSTRAINT alert_rules_metric_check
        CHECK (metric IN ('revenue', 'orders', 'product_units', 'stockout_risk', 'below_safety_stock'))
);
COMMENT ON TABLE salesflow.alert_rules IS
    'Per tenant and metric: whether and how sensitively to alert, and on which NOTIFY channel. A metric without a row uses the defaults of the columns.';
COMMENT ON COLUMN salesflow.alert_rules.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.alert_rules.metric IS 'revenue, orders (tenant per day), product_units (top products per day), stockout_risk, below_safety_stock (from replenishment).';
COMMENT ON COLUMN salesflow.alert_rules.enabled IS 'false: never alert on this metric.';
COMMENT ON COLUMN salesflow.alert_rules.min_score IS 'Minimum |robust z| of a sales anomaly (4: about 0.4 false alarms per series-year; lower = more sensitive).';
COMMENT ON COLUMN salesflow.alert_rules.min_abs_change IS 'Minimum |observed - expected| in the metric''s units (currency, orders, units).';
COMMENT ON COLUMN salesflow.alert_rules.direction IS 'both, spike or drop.';
COMMENT ON COLUMN salesflow.alert_rules.cooldown_days IS 'After an alert, days in which the same entity and direction alert again only when 1.5 times as unusual (stock: only after the open alert is acknowledged).';
COMMENT ON COLUMN salesflow.alert_rules.channel IS 'NOTIFY channel the alert is sent on.';
SELECT salesflow._tenant_table('salesflow.alert_rules');

CREATE SEQUENCE salesflow.anomalies_anomaly_id_seq AS bigint;
CREATE TABLE salesflow.anomalies (
    tenant_id       bigint      NOT NULL REFERENCES salesflow.tenants ON DELETE CASCADE,
    anomaly_id      bigint      NOT NULL DEFAULT nextval('salesflow.anomalies_anomaly_id_seq'),
    kind            text        NOT NULL CHECK (kind IN ('sales', 'stock')),
    metric          text        NOT NULL,
    entity_type     text        NOT NULL CHECK (entity_type IN ('tenant', 'product')),
    entity_id       bigint      NOT NULL,
    entity          text        NOT NULL,
    day             date        NOT NULL,
    observed        float8      NOT NULL,
    expected        float8,
    score           float8,
    direction       text        NOT NULL,
    message         text        NOT NULL,
    channel         text        NOT NULL,
    detected_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    acknowledged_by text,
    acknowledged_at timestamptz,
    PRIMARY KEY (tenant_id, anomaly_id),
    UNIQUE (tenant_id, metric, entity_id, day)
);
ALTER SEQUENCE salesflow.anomalies_anomaly_id_seq OWNED BY salesflow.anomalies.anomaly_id;
CREATE INDEX anomalies_open_idx ON salesflow.anomalies (tenant_id, detected_at) WHERE acknowledged_at IS NULL;
COMMENT ON TABLE salesflow.anomalies IS
    'Alerts: unusual sales days (spikes and drops) and stock situations, one per entity, metric and day, until acknowledged.';
COMMENT ON COLUMN salesflow.anomalies.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.anomalies.anomaly_id IS 'Alert id (for acknowledge_alert).';
COMMENT ON COLUMN salesflow.anomalies.kind IS 'sales or stock.';
COMMENT ON COLUMN salesflow.anomalies.metric IS 'revenue, orders, product_units, stockout_risk or below_safety_stock.';
COMMENT ON COLUMN salesflow.anomalies.entity_type IS 'tenant (whole-shop metrics) or product.';
COMMENT ON COLUMN salesflow.anomalies.entity_id IS 'Product id, 0 for the tenant.';
COMMENT ON COLUMN salesflow.anomalies.entity IS 'Readable entity: the tenant name, or SKU and product name.';
COMMENT ON COLUMN salesflow.anomalies.day IS 'Day of the unusual value (stock: the day of the replenishment run).';
COMMENT ON COLUMN salesflow.anomalies.observed IS 'Observed value (stock: units available).';
COMMENT ON COLUMN salesflow.anomalies.expected IS 'What was expected (sales: trend + weekday pattern; stock: safety stock, or units needed until the stockout date).';
COMMENT ON COLUMN salesflow.anomalies.score IS 'Signed robust z (> 0 spike); NULL for stock alerts.';
COMMENT ON COLUMN salesflow.anomalies.direction IS 'spike, drop, or for stock alerts the metric.';
COMMENT ON COLUMN salesflow.anomalies.message IS 'One sentence a person can read.';
COMMENT ON COLUMN salesflow.anomalies.channel IS 'NOTIFY channel it was sent on.';
COMMENT ON COLUMN salesflow.anomalies.detected_at IS 'When it was detected.';
COMMENT ON COLUMN salesflow.anomalies.acknowledged_by IS 'Role that acknowledged it.';
COMMENT ON COLUMN salesflow.anomalies.acknowledged_at IS 'When it was acknowledged (NULL: open).';
SELECT salesflow._tenant_table('salesflow.anomalies');
SELECT pg_catalog.pg_extension_config_dump('salesflow.anomalies_anomaly_id_seq', '');
GRANT USAGE ON SEQUENCE salesflow.anomalies_anomaly_id_seq TO salesflow_writer;

CREATE TABLE salesflow.anomaly_scans (
    tenant_id      bigint      NOT NULL REFERENCES salesflow.tenants ON DELETE CASCADE,
    last_upload_id bigint      NOT NULL,
    scanned_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id)
);
COMMENT ON TABLE salesflow.anomaly_scans IS 'Where refresh_anomalies stopped per tenant: uploads up to last_upload_id are scored.';
COMMENT ON COLUMN salesflow.anomaly_scans.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.anomaly_scans.last_upload_id IS 'Newest upload whose days were scored.';
COMMENT ON COLUMN salesflow.anomaly_scans.scanned_at IS 'When the last scan ran.';
SELECT salesflow._tenant_table('salesflow.anomaly_scans');

-- ---------------------------------------------------------------------------
-- The batch
-- ---------------------------------------------------------------------------
CREATE FUNCTION salesflow._alert_message(metric text, entity text, day date, observed float8, expected float8,
                                         score float8)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE metric
        WHEN 'stockout_risk' THEN
            CASE WHEN observed <= 0
                 THEN format('%s is out of stock (%s units available) and no order arrives in time.',
                             entity, round(observed::numeric, 1))
                 ELSE format('%s: %s units available will run out before a new order can arrive (about %s units needed until then).',
                             entity, round(observed::numeric, 1), round(expected::numeric, 1)) END
        WHEN 'below_safety_stock' THEN
            format('%s: %s units available, below the safety stock of %s.', entity, round(observed::numeric, 1),
                   round(expected::numeric, 1))
        ELSE
            format('%s of %s on %s: %s, usually about %s on this weekday (%san unusual %s, score %s).',
                   CASE metric WHEN 'revenue' THEN 'Revenue' WHEN 'orders' THEN 'Orders' ELSE 'Units sold' END,
                   entity, to_char(day, 'YYYY-MM-DD'), round(observed::numeric, 2), round(expected::numeric, 2),
                   CASE WHEN expected > 0
                        THEN CASE WHEN observed >= expected THEN '+' ELSE '' END
                             || round((100 * (observed - expected) / expected)::numeric)::text || '%, '
                        ELSE '' END,
                   CASE WHEN score > 0 THEN 'spike' ELSE 'drop' END, round(score::numeric, 1))
    END
$$;
COMMENT ON FUNCTION salesflow._alert_message(text, text, date, float8, float8, float8) IS 'Internal: the readable sentence of an alert.';

CREATE FUNCTION salesflow.refresh_anomalies(tenant text DEFAULT NULL, only_changed boolean DEFAULT true)
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
        PERFORM pg_notify(a.channel, jsonb_build_object(
            'tenant', tenant_name, 'anomaly_id', a.anomaly_id, 'kind', a.kind, 'metric', a.metric,
            'entity_type', a.entity_type, 'entity_id', a.entity_id, 'entity', a.entity, 'day', a.day,
            'observed', a.observed, 'expected', a.expected, 'score', a.score, 'direction', a.direction,
            'message', a.message)::text);
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
    'Detects unusual sales days (tenant revenue and orders, units of the top products) on the days touched since the last scan (at most anomalies.lookback_days back) and stock alerts from replenishment; stores new alerts in anomalies after the alert rules and the no-storm rule, and sends each with pg_notify as JSON. Returns the number of new alerts.';

CREATE FUNCTION salesflow.acknowledge_alert(anomaly_id bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found boolean;
BEGIN
    UPDATE salesflow.anomalies a
       SET acknowledged_by = session_user, acknowledged_at = clock_timestamp()
     WHERE a.anomaly_id = acknowledge_alert.anomaly_id AND a.acknowledged_at IS NULL
       AND a.tenant_id = salesflow.require_tenant()
    RETURNING true INTO found;
    RETURN coalesce(found, false);
END
$$;
COMMENT ON FUNCTION salesflow.acknowledge_alert(bigint) IS
    'Marks an open alert of the session''s tenant as acknowledged by the session user; false when there is no such open alert.';

CREATE FUNCTION salesflow.list_open_alerts(kind text DEFAULT NULL, max_rows int DEFAULT 100)
RETURNS SETOF salesflow.anomalies
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a.* FROM salesflow.anomalies a
     WHERE a.tenant_id = salesflow.require_tenant() AND a.acknowledged_at IS NULL
       AND (list_open_alerts.kind IS NULL OR a.kind = list_open_alerts.kind)
     ORDER BY a.detected_at DESC, a.anomaly_id DESC
     LIMIT max_rows
$$;
COMMENT ON FUNCTION salesflow.list_open_alerts(text, int) IS
    'Open (unacknowledged) alerts of the session''s tenant, newest first; kind sales or stock, or NULL for both.';

CREATE VIEW salesflow.open_alerts WITH (security_invoker = true, security_barrier = true) AS
SELECT a.tenant_id, a.anomaly_id, a.kind, a.metric, a.entity, a.day, a.observed, a.expected, a.score, a.direction,
       a.message, a.detected_at
  FROM salesflow.anomalies a
 WHERE a.acknowledged_at IS NULL;
COMMENT ON VIEW salesflow.open_alerts IS 'Alerts not yet acknowledged.';
GRANT SELECT ON salesflow.open_alerts TO salesflow_reader;
-- dashboards: materialized views for Grafana / Metabase / apps, the tenant
-- views readers use, customer list / profile / search, CSV reports, the
-- refresh procedure with its log and freshness view.
--
-- Materialized views cannot carry row-level security, so they hold every
-- tenant's rows, are owned by salesflow_admin (who refreshes them) and are
-- not readable by anyone else. Readers reach them only through the views
-- below, which run with their owner's rights and return nothing but the rows
-- of salesflow.current_tenant_id() (the salesflow.tenant setting). Each
-- materialized view has a unique index on plain columns, so REFRESH ...
-- CONCURRENTLY works and readers are never blocked by a refresh.

-- ---------------------------------------------------------------------------
-- Materialized views (refresh order = creation order)
-- ---------------------------------------------------------------------------
CREATE MATERIALIZED VIEW salesflow.mv_sales_daily AS
SELECT t.tenant_id, g.day::date AS day, (g.day::date::timestamp AT TIME ZONE t.timezone) AS "time",
       coalesce(s.revenue, 0)::numeric(18,2) AS revenue, coalesce(o.orders, 0)::int AS orders,
       coalesce(s.units, 0)::numeric(18,3) AS units, coalesce(o.customers, 0)::int AS customers
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
       sum(d.revenue)::numeric(18,2) AS revenue, sum(d.orders)::int AS orders, sum(d.units)::numeric(18,3) AS units,
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
  FROM (SELECT d.tenant_id, d.product_id, sum(d.revenue)::numeric(18,2) AS revenue,
               sum(d.units)::numeric(18,3) AS units, sum(d.orders)::int AS orders,
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
  FROM (SELECT i.tenant_id, i.customer_id, sum(i.total)::numeric(18,2) AS revenue, count(*)::int AS orders,
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
       sum(s.monetary)::numeric(18,2) AS revenue, avg(s.clv)::numeric(18,2) AS avg_clv,
       avg(s.p_alive) AS avg_p_alive, avg(s.recency_days)::float8 AS avg_recency_days
  FROM salesflow.customer_segments s
 GROUP BY s.tenant_id, s.segment;
CREATE UNIQUE INDEX mv_segment_summary_key ON salesflow.mv_segment_summary (tenant_id, segment);
COMMENT ON MATERIALIZED VIEW salesflow.mv_segment_summary IS
    'Internal (read through salesflow.segment_summary): customers, revenue, average CLV and P(alive) per RFM segment.';

CREATE MATERIALIZED VIEW salesflow.mv_churn_clv_summary AS
SELECT s.tenant_id, s.value_tier, coalesce(s.churn_label, 'unknown') AS churn_label, count(*)::int AS customers,
       sum(s.clv)::numeric(18,2) AS clv, avg(s.p_alive) AS avg_p_alive,
       sum(s.expected_purchases_90d) AS expected_purchases_90d
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
       sum(f.point)::float8 AS forecast, sum(f.lo80)::float8 AS forecast_lo80, sum(f.hi80)::float8 AS forecast_hi80,
       CASE WHEN f.day <= l.last_day THEN coalesce(sum(d.units), 0)::float8 END AS actual
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
       coalesce(o.orders, 0)::int AS orders, coalesce(o.revenue, 0)::numeric(18,2) AS revenue,
       (o.revenue / nullif(o.orders, 0))::numeric(18,2) AS average_order_value,
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
       a.products::int AS products, a.days, a.wape::float8 AS wape, a.bias::float8 AS bias, a.mase::float8 AS mase,
       a.coverage80::float8 AS coverage80
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

CREATE FUNCTION salesflow.dashboard_json() RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object(
        'tenant', d.tenant, 'currency', d.currency, 'customers', d.customers, 'products', d.products,
        'orders', d.orders, 'revenue', d.revenue, 'average_order_value', d.average_order_value,
        'pending_predicted_orders', d.pending_predicted_orders, 'high_value_customers', d.high_value_customers,
        'open_alerts', d.open_alerts, 'products_to_order', d.products_to_order,
        'top_customers', d.top_customers, 'top_products', d.top_products,
        'first_day', d.first_day, 'last_day', d.last_day,
        'health_score', (SELECT h.score FROM salesflow.business_health h),
        'refreshed_at', d.refreshed_at)
      FROM salesflow.dashboard_summary d
$$;
COMMENT ON FUNCTION salesflow.dashboard_json() IS
    'The session''s tenant''s dashboard summary as one JSON document (NULL when no tenant is set or nothing has been refreshed).';

-- ---------------------------------------------------------------------------
-- Customers: profile, paginated list, fuzzy search (pg_trgm)
-- ---------------------------------------------------------------------------
CREATE INDEX customers_search_idx ON salesflow.customers
    USING gin ((coalesce(name, '') || ' ' || ref) gin_trgm_ops);

CREATE VIEW salesflow.customer_profile WITH (security_invoker = true, security_barrier = true) AS
SELECT c.tenant_id, c.customer_id, c.ref, c.name, c.city, c.country, c.first_order_at, c.last_order_at,
       s.segment, s.value_tier, s.r_score, s.f_score, s.m_score, s.frequency, s.monetary, s.recency_days,
       s.p_alive, s.churn_risk, s.churn_label, s.clv, s.expected_order_value, s.expected_purchases_90d,
       po.prediction_id AS next_order_id, po.predicted_date AS next_order_date, po.window_start AS next_order_window_start,
       po.window_end AS next_order_window_end, po.confidence AS next_order_confidence, po.priority AS next_order_priority,
       po.expected_amount AS next_order_amount,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('product_id', r.product_id, 'sku', p.sku, 'name', p.name,
                                                     'score', r.score) ORDER BY r.rank), '[]')
          FROM salesflow.recommendations r
          JOIN salesflow.products p ON p.tenant_id = r.tenant_id AND p.product_id = r.product_id
         WHERE r.tenant_id = c.tenant_id AND r.customer_id = c.customer_id) AS recommendations
  FROM salesflow.customers c
  LEFT JOIN salesflow.customer_segments s ON s.tenant_id = c.tenant_id AND s.customer_id = c.customer_id
  LEFT JOIN salesflow.predicted_orders po ON po.tenant_id = c.tenant_id AND po.customer_id = c.customer_id
                                         AND po.status IN ('pending', 'approved')
 WHERE NOT c.is_anonymous;
COMMENT ON VIEW salesflow.customer_profile IS
    'One row per customer: details, RFM segment and value tier, P(alive), churn risk, CLV, the next predicted order and upsell recommendations (JSON).';
GRANT SELECT ON salesflow.customer_profile TO salesflow_reader;

CREATE FUNCTION salesflow.list_customers(segment text DEFAULT NULL, value_tier text DEFAULT NULL,
                                         page int DEFAULT 1, page_size int DEFAULT 50, order_by text DEFAULT 'clv')
RETURNS SETOF salesflow.customer_profile
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF page < 1 OR page_size NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'page must be >= 1 and page_size between 1 and 1000' USING ERRCODE = '22023';
    END IF;
    IF order_by NOT IN ('clv', 'monetary', 'recency', 'churn_risk', 'name', 'next_order') THEN
        RAISE EXCEPTION 'order_by must be one of clv, monetary, recency, churn_risk, name, next_order, not "%"', order_by
            USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    SELECT p.* FROM salesflow.customer_profile p
     WHERE p.tenant_id = salesflow.require_tenant()
       AND (list_customers.segment IS NULL OR p.segment = list_customers.segment)
       AND (list_customers.value_tier IS NULL OR p.value_tier = list_customers.value_tier)
     ORDER BY CASE order_by WHEN 'clv' THEN -coalesce(p.clv, 0) WHEN 'monetary' THEN -coalesce(p.monetary, 0)
                            WHEN 'recency' THEN coalesce(p.recency_days, 2147483647)
                            WHEN 'churn_risk' THEN -coalesce(p.churn_risk, 0) END,
              CASE order_by WHEN 'name' THEN coalesce(p.name, p.ref) END,
              CASE order_by WHEN 'next_order' THEN p.next_order_date END,
              p.customer_id
     LIMIT page_size OFFSET (page - 1)::bigint * page_size;
END
$$;
COMMENT ON FUNCTION salesflow.list_customers(text, text, int, int, text) IS
    'A page of customer profiles of the session''s tenant, optionally of one segment and value tier, ordered by clv (default), monetary, recency, churn_risk, name or next_order.';

CREATE FUNCTION salesflow.search_customers(query text, max_rows int DEFAULT 20)
RETURNS TABLE(customer_id bigint, ref text, name text, segment text, clv numeric, similarity real)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tid bigint := salesflow.require_tenant();
    trgm text := (SELECT e.extnamespace::regnamespace::text FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_trgm');
BEGIN
    IF length(btrim(query)) < 2 THEN
        RAISE EXCEPTION 'a search needs at least 2 characters' USING ERRCODE = '22023';
    END IF;
    -- pg_trgm's functions and operators live in its own schema: qualified
    -- here, never found through the caller's search_path
    RETURN QUERY EXECUTE format(
        'SELECT c.customer_id, c.ref, c.name, s.segment, s.clv,
                %1$I.word_similarity($1, coalesce(c.name, '''') || '' '' || c.ref) AS similarity
           FROM salesflow.customers c
           LEFT JOIN salesflow.customer_segments s ON s.tenant_id = c.tenant_id AND s.customer_id = c.customer_id
          WHERE c.tenant_id = $2 AND NOT c.is_anonymous
            AND (coalesce(c.name, '''') || '' '' || c.ref) OPERATOR(%1$I.%%>) $1
          ORDER BY similarity DESC, c.customer_id
          LIMIT $3', trgm)
    USING query, tid, max_rows;
END
$$;
COMMENT ON FUNCTION salesflow.search_customers(text, int) IS
    'Fuzzy search of the session''s tenant''s customers by name or reference (pg_trgm word similarity, GIN index), best matches first.';

-- ---------------------------------------------------------------------------
-- Reports as CSV
-- ---------------------------------------------------------------------------
CREATE FUNCTION salesflow._report_source(report text) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE report
        WHEN 'dashboard_summary' THEN 'SELECT tenant, currency, customers, products, orders, revenue, average_order_value, pending_predicted_orders, high_value_customers, open_alerts, products_to_order, first_day, last_day, refreshed_at FROM salesflow.dashboard_summary'
        WHEN 'sales_by_day' THEN 'SELECT day, revenue, orders, units, customers FROM salesflow.sales_by_day'
        WHEN 'sales_by_month' THEN 'SELECT month, revenue, orders, units, customers FROM salesflow.sales_by_month'
        WHEN 'top_products' THEN 'SELECT rank, sku, name, category, revenue, units, orders, revenue_share FROM salesflow.top_products'
        WHEN 'top_customers' THEN 'SELECT rank, ref, name, country, revenue, orders, last_order_day, segment, value_tier, clv, churn_label FROM salesflow.top_customers'
        WHEN 'segment_summary' THEN 'SELECT segment, customers, customer_share, revenue, avg_clv, avg_p_alive, avg_recency_days FROM salesflow.segment_summary'
        WHEN 'churn_clv_summary' THEN 'SELECT value_tier, churn_label, customers, clv, avg_p_alive, expected_purchases_90d FROM salesflow.churn_clv_summary'
        WHEN 'stock_overview' THEN 'SELECT sku, name, stock_status, buying_category, array_to_string(reasons, ''; '') AS reasons, on_hand, on_order, safety_stock, reorder_point, recommended_qty, order_value, runway_days, stockout_date FROM salesflow.stock_overview'
        WHEN 'buying_queue' THEN 'SELECT priority, sku, name, category, array_to_string(reasons, ''; '') AS reasons, recommended_qty, order_value, stockout_date, on_hand, on_order, next_receipt FROM salesflow.buying_queue'
        WHEN 'forecast_vs_actual' THEN 'SELECT day, forecast, forecast_lo80, forecast_hi80, actual FROM salesflow.forecast_vs_actual'
        WHEN 'customers' THEN 'SELECT ref, name, country, segment, value_tier, monetary, frequency, recency_days, p_alive, churn_label, clv, next_order_date, next_order_amount FROM salesflow.customer_profile'
        WHEN 'open_alerts' THEN 'SELECT day, kind, metric, entity, observed, expected, score, message FROM salesflow.open_alerts'
    END
$$;
COMMENT ON FUNCTION salesflow._report_source(text) IS 'Internal: the fixed query behind each report name of export_csv (user input never becomes SQL).';

CREATE FUNCTION salesflow.export_csv(report text, options jsonb DEFAULT '{}') RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    src text := salesflow._report_source(report);
    delim text := coalesce(options ->> 'delimiter', ',');
    order_col text := options ->> 'order_by';
    descending boolean := coalesce((options ->> 'descending')::boolean, false);
    max_rows bigint := coalesce((options ->> 'limit')::bigint, 1000000);
    cols text[];
    header text;
    body text;
BEGIN
    PERFORM salesflow.require_tenant();
    IF src IS NULL THEN
        RAISE EXCEPTION 'unknown report "%"', report USING ERRCODE = '22023',
              HINT = 'Reports: dashboard_summary, sales_by_day, sales_by_month, top_products, top_customers, segment_summary, churn_clv_summary, stock_overview, buying_queue, forecast_vs_actual, customers, open_alerts.';
    END IF;
    IF delim NOT IN (',', ';', E'\t', '|') THEN
        RAISE EXCEPTION 'delimiter must be one of , ; | or a tab' USING ERRCODE = '22023';
    END IF;
    IF max_rows < 0 THEN
        RAISE EXCEPTION 'limit must be >= 0' USING ERRCODE = '22023';
    END IF;
    IF to_regclass('pg_temp.sf_report') IS NOT NULL THEN
        DROP TABLE sf_report;
    END IF;
    EXECUTE 'CREATE TEMP TABLE sf_report ON COMMIT DROP AS ' || src;
    SELECT array_agg(a.attname::text ORDER BY a.attnum) INTO cols
      FROM pg_catalog.pg_attribute a WHERE a.attrelid = 'pg_temp.sf_report'::regclass AND a.attnum > 0 AND NOT a.attisdropped;
    IF order_col IS NOT NULL AND NOT order_col = ANY (cols) THEN
        RAISE EXCEPTION 'report "%" has no column "%"', report, order_col USING ERRCODE = '42703',
              HINT = 'Columns: ' || array_to_string(cols, ', ');
    END IF;
    SELECT string_agg(salesflow._csv_field(c), delim ORDER BY o) INTO header FROM unnest(cols) WITH ORDINALITY u(c, o);
    EXECUTE format('SELECT string_agg((SELECT string_agg(salesflow._csv_field(e.v), %L ORDER BY e.o)
                                         FROM json_each_text(row_to_json(r)) WITH ORDINALITY e(k, v, o)), E''\n'')
                      FROM (SELECT * FROM sf_report %s LIMIT %s) r',
                   delim,
                   CASE WHEN order_col IS NULL THEN '' ELSE format('ORDER BY %I %s', order_col, CASE WHEN descending THEN 'DESC' ELSE 'ASC' END) END,
                   max_rows)
      INTO body;
    DROP TABLE sf_report;
    RETURN header || E'\n' || coalesce(body || E'\n', '');
END
$$;
COMMENT ON FUNCTION salesflow.export_csv(text, jsonb) IS
    'A dashboard view or list of the session''s tenant as an RFC 4180 CSV document with a header line. Reports: dashboard_summary, sales_by_day, sales_by_month, top_products, top_customers, segment_summary, churn_clv_summary, stock_overview, buying_queue, forecast_vs_actual, customers, open_alerts. Options: order_by (a column), descending, limit, delimiter (, ; | or tab).';

CREATE SEQUENCE salesflow.reports_report_id_seq AS bigint;
CREATE TABLE salesflow.reports (
    tenant_id    bigint      NOT NULL DEFAULT salesflow.current_tenant_id() REFERENCES salesflow.tenants ON DELETE CASCADE,
    report_id    bigint      NOT NULL DEFAULT nextval('salesflow.reports_report_id_seq'),
    report       text        NOT NULL,
    options      jsonb       NOT NULL DEFAULT '{}',
    status       text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    content      text,
    error        text,
    requested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    PRIMARY KEY (tenant_id, report_id)
);
ALTER SEQUENCE salesflow.reports_report_id_seq OWNED BY salesflow.reports.report_id;
COMMENT ON TABLE salesflow.reports IS
    'Stored CSV reports for apps to download: requested (pending), made by make_reports() (done, with content) or failed (with error).';
COMMENT ON COLUMN salesflow.reports.tenant_id IS 'Tenant.';
COMMENT ON COLUMN salesflow.reports.report_id IS 'Report id.';
COMMENT ON COLUMN salesflow.reports.report IS 'Report name (see export_csv).';
COMMENT ON COLUMN salesflow.reports.options IS 'export_csv options.';
COMMENT ON COLUMN salesflow.reports.status IS 'pending, done or failed.';
COMMENT ON COLUMN salesflow.reports.content IS 'The CSV document.';
COMMENT ON COLUMN salesflow.reports.error IS 'Why it failed.';
COMMENT ON COLUMN salesflow.reports.requested_at IS 'When it was requested.';
COMMENT ON COLUMN salesflow.reports.finished_at IS 'When it was made.';
SELECT salesflow._tenant_table('salesflow.reports');
SELECT pg_catalog.pg_extension_config_dump('salesflow.reports_report_id_seq', '');
GRANT USAGE ON SEQUENCE salesflow.reports_report_id_seq TO salesflow_writer;

CREATE FUNCTION salesflow.make_reports() RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    csv text;
    n bigint := 0;
    saved text := current_setting('salesflow.tenant', true);
BEGIN
    FOR r IN SELECT p.tenant_id, p.report_id, p.report, p.options FROM salesflow.reports p
              WHERE p.status = 'pending' ORDER BY p.requested_at FOR UPDATE SKIP LOCKED
    LOOP
        BEGIN
            PERFORM set_config('salesflow.tenant', r.tenant_id::text, true);
            csv := salesflow.export_csv(r.report, r.options);
            UPDATE salesflow.reports p SET status = 'done', content = csv, finished_at = clock_timestamp()
             WHERE p.tenant_id = r.tenant_id AND p.report_id = r.report_id;
        EXCEPTION WHEN query_canceled THEN
            RAISE;
        WHEN OTHERS THEN
            UPDATE salesflow.reports p SET status = 'failed', error = SQLSTATE || ' ' || SQLERRM, finished_at = clock_timestamp()
             WHERE p.tenant_id = r.tenant_id AND p.report_id = r.report_id;
        END;
        n := n + 1;
    END LOOP;
    PERFORM set_config('salesflow.tenant', coalesce(saved, ''), true);
    RETURN n;
END
$$;
COMMENT ON FUNCTION salesflow.make_reports() IS
    'Makes every pending report the caller can see (INSERT INTO salesflow.reports (report, options) requests one; the scheduled job runs this), storing the CSV or the error. Returns the number of reports processed.';

-- ---------------------------------------------------------------------------
-- Refresh, log, freshness, pruning
-- ---------------------------------------------------------------------------
CREATE SEQUENCE salesflow.refresh_log_id_seq AS bigint;
CREATE TABLE salesflow.refresh_log (
    refresh_id  bigint      NOT NULL DEFAULT nextval('salesflow.refresh_log_id_seq') PRIMARY KEY,
    view_name   text        NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    rows        bigint,
    mode        text,
    status      text        NOT NULL CHECK (status IN ('ok', 'failed', 'skipped')),
    error       text
);
ALTER SEQUENCE salesflow.refresh_log_id_seq OWNED BY salesflow.refresh_log.refresh_id;
CREATE INDEX refresh_log_view_idx ON salesflow.refresh_log (view_name, started_at DESC);
COMMENT ON TABLE salesflow.refresh_log IS
    'One row per materialized view refreshed by refresh_dashboards() (and one skipped row when a refresh was already running); admins only (it spans tenants).';
COMMENT ON COLUMN salesflow.refresh_log.refresh_id IS 'Log row id.';
COMMENT ON COLUMN salesflow.refresh_log.view_name IS 'Materialized view (or "*" for a skipped run).';
COMMENT ON COLUMN salesflow.refresh_log.started_at IS 'Start of the refresh.';
COMMENT ON COLUMN salesflow.refresh_log.finished_at IS 'End of the refresh.';
COMMENT ON COLUMN salesflow.refresh_log.rows IS 'Rows in the view after the refresh.';
COMMENT ON COLUMN salesflow.refresh_log.mode IS 'concurrently, or plain for a view that was not populated.';
COMMENT ON COLUMN salesflow.refresh_log.status IS 'ok, failed or skipped (another refresh was running).';
COMMENT ON COLUMN salesflow.refresh_log.error IS 'SQLSTATE and message of a failure.';
REVOKE ALL ON salesflow.refresh_log FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON salesflow.refresh_log TO salesflow_admin;
GRANT USAGE ON SEQUENCE salesflow.refresh_log_id_seq TO salesflow_admin;
SELECT pg_catalog.pg_extension_config_dump('salesflow.refresh_log', '');
SELECT pg_catalog.pg_extension_config_dump('salesflow.refresh_log_id_seq', '');

CREATE FUNCTION salesflow.dashboard_views() RETURNS TABLE(refresh_order int, view_name text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- dependency order: creation order, which puts every view after the views it reads
    SELECT row_number() OVER (ORDER BY c.oid)::int, c.relname::text
      FROM pg_catalog.pg_class c
     WHERE c.relnamespace = 'salesflow'::regnamespace AND c.relkind = 'm'
     ORDER BY c.oid
$$;
COMMENT ON FUNCTION salesflow.dashboard_views() IS 'The materialized views refresh_dashboards() refreshes, in dependency order.';

-- A procedure that commits cannot carry a SET clause: it pins search_path
-- per transaction (see run_pipeline).
CREATE PROCEDURE salesflow.refresh_dashboards(commit_each boolean DEFAULT true, time_budget interval DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
    v record;
    started timestamptz;
    run_started timestamptz := pg_catalog.clock_timestamp();
    populated boolean;
    n bigint;
    lock_key constant bigint := 7311590427401;   -- salesflow.refresh_dashboards
    caller_path text := pg_catalog.current_setting('search_path');
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    IF NOT pg_catalog.pg_try_advisory_lock(lock_key) THEN
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
            PERFORM pg_catalog.pg_advisory_unlock(lock_key);
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
    PERFORM pg_catalog.pg_advisory_unlock(lock_key);
    -- inside the caller's transaction (commit_each false) its search_path comes back
    PERFORM pg_catalog.set_config('search_path', caller_path, true);
END
$$;
COMMENT ON PROCEDURE salesflow.refresh_dashboards(boolean, interval) IS
    'Refreshes every dashboard materialized view in dependency order (concurrently when populated, else plain), committing after each (commit_each false: inside the caller''s transaction), logging each in refresh_log; a second refresh while one runs is skipped, not queued; views not started within time_budget are skipped. Admins (owners of the views) only.';
REVOKE EXECUTE ON PROCEDURE salesflow.refresh_dashboards(boolean, interval) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE salesflow.refresh_dashboards(boolean, interval) TO salesflow_admin;

CREATE FUNCTION salesflow._dashboard_freshness()
RETURNS TABLE(view_name text, last_refresh timestamptz, last_status text, newest_data timestamptz, stale boolean)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT d.view_name, l.finished_at, l.status, nd.newest, (l.finished_at IS NULL OR nd.newest > l.finished_at)
      FROM salesflow.dashboard_views() d
      LEFT JOIN LATERAL (SELECT r.finished_at, r.status FROM salesflow.refresh_log r
                          WHERE r.view_name = d.view_name AND r.status = 'ok'
                          ORDER BY r.started_at DESC LIMIT 1) l ON true
      CROSS JOIN (SELECT max(u.processed_at) AS newest FROM salesflow.uploads u
                   WHERE u.tenant_id = salesflow.current_tenant_id() AND u.status = 'processed') nd
     ORDER BY d.refresh_order
$$;
COMMENT ON FUNCTION salesflow._dashboard_freshness() IS
    'Internal (read through salesflow.freshness): last successful refresh per view against the session''s tenant''s newest processed upload.';
REVOKE EXECUTE ON FUNCTION salesflow._dashboard_freshness() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION salesflow._dashboard_freshness() TO salesflow_reader;

CREATE VIEW salesflow.freshness WITH (security_invoker = true) AS
SELECT f.view_name, f.last_refresh, f.newest_data, f.stale FROM salesflow._dashboard_freshness() f;
COMMENT ON VIEW salesflow.freshness IS
    'Per dashboard view: when it was last refreshed successfully, the newest data of the session''s tenant (its last processed upload) and whether the view is stale (older than that data, or never refreshed).';
GRANT SELECT ON salesflow.freshness TO salesflow_reader;

CREATE FUNCTION salesflow.prune(keep interval DEFAULT '30 days') RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n_refresh bigint;
    n_pipeline bigint;
    n_cron bigint := 0;
BEGIN
    DELETE FROM salesflow.refresh_log r WHERE r.started_at < now() - keep;
    GET DIAGNOSTICS n_refresh = ROW_COUNT;
    DELETE FROM salesflow.pipeline_runs r WHERE r.started_at < now() - keep;
    GET DIAGNOSTICS n_pipeline = ROW_COUNT;
    IF to_regclass('cron.job_run_details') IS NOT NULL AND has_table_privilege('cron.job_run_details', 'DELETE') THEN
        EXECUTE 'DELETE FROM cron.job_run_details WHERE end_time < now() - $1' USING keep;
        GET DIAGNOSTICS n_cron = ROW_COUNT;
    END IF;
    RETURN jsonb_build_object('refresh_log', n_refresh, 'pipeline_runs', n_pipeline, 'cron_job_run_details', n_cron);
END
$$;
COMMENT ON FUNCTION salesflow.prune(interval) IS
    'Deletes refresh_log and pipeline_runs rows, and pg_cron''s job_run_details in this database, older than keep; returns the counts. Admins only.';
REVOKE EXECUTE ON FUNCTION salesflow.prune(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION salesflow.prune(interval) TO salesflow_admin;

-- ---------------------------------------------------------------------------
-- Column descriptions of the views BI tools read (Metabase copies them into
-- its data model): one meaning per column name, applied to every view that
-- has the column.
-- ---------------------------------------------------------------------------
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
            ('churn_label', 'Churn risk: low, medium or high (from P(alive)); unknown when not scored.'),
            ('churn_risk', 'Probability the customer has churned (1 - P(alive)).'),
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
-- pipeline: one procedure that brings every analytics module up to date
-- after uploads, for pg_cron or for a DBA by hand:
--     CALL salesflow.run_pipeline();            -- every tenant the caller can see
--     CALL salesflow.run_pipeline('acme');      -- one tenant
-- Each tenant's steps run in their own transaction (committed one by one), a
-- failing step is logged in pipeline_runs and does not stop the others, and
-- only what changed since the last run is recomputed.

CREATE SEQUENCE salesflow.pipeline_runs_run_id_seq AS bigint;
CREATE TABLE salesflow.pipeline_runs (
    tenant_id   bigint      NOT NULL REFERENCES salesflow.tenants ON DELETE CASCADE,
    run_id      bigint      NOT NULL DEFAULT nextval('salesflow.pipeline_runs_run_id_seq'),
    step        text        NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    rows        bigint,
    status      text        NOT NULL,
    error       text,
    PRIMARY KEY (tenant_id, run_id),
    CONSTRAINT pipeline_runs_status_check CHECK (status IN ('ok', 'failed'))
);
ALTER SEQUENCE salesflow.pipeline_runs_run_id_seq OWNED BY salesflow.pipeline_runs.run_id;
COMMENT ON TABLE salesflow.pipeline_runs IS 'One row per pipeline step run for a tenant: what ran, how long, rows written, and the error if it failed.';
COMMENT ON COLUMN salesflow.pipeline_runs.step IS 'segments, forecasts, predicted_orders, replenishment or anomalies.';
COMMENT ON COLUMN salesflow.pipeline_runs.started_at IS 'Start of the step.';
COMMENT ON COLUMN salesflow.pipeline_runs.finished_at IS 'End of the step.';
COMMENT ON COLUMN salesflow.pipeline_runs.rows IS 'Rows the step wrote (customers scored, products forecast).';
COMMENT ON COLUMN salesflow.pipeline_runs.status IS 'ok or failed.';
COMMENT ON COLUMN salesflow.pipeline_runs.error IS 'SQLSTATE and message of a failed step.';
SELECT salesflow._tenant_table('salesflow.pipeline_runs');
SELECT pg_catalog.pg_extension_config_dump('salesflow.pipeline_runs_run_id_seq', '');
GRANT USAGE ON SEQUENCE salesflow.pipeline_runs_run_id_seq TO salesflow_writer;

-- One step for one tenant, in a subtransaction, logged in pipeline_runs: what
-- run_pipeline and the scheduled jobs run. A failure is logged and reported
-- as a warning (NULL is returned); a cancel or shutdown propagates.
CREATE FUNCTION salesflow._run_step(tenant bigint, step text) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    started timestamptz := clock_timestamp();
    n bigint;
BEGIN
    BEGIN
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
    'Internal: runs one pipeline step (segments, forecasts, predicted_orders, associations, replenishment, anomalies) for one tenant in a subtransaction and logs it in pipeline_runs; NULL when it failed.';

-- Runs one step for every tenant the caller sees, each tenant in a
-- subtransaction (a failure is logged and the others go on), without
-- committing: what the pg_cron jobs call, with a statement_timeout set in the
-- same command.
CREATE FUNCTION salesflow.run_scheduled(step text, tenant text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    total bigint := 0;
BEGIN
    IF step NOT IN ('segments', 'forecasts', 'predicted_orders', 'associations', 'replenishment', 'anomalies') THEN
        RAISE EXCEPTION 'unknown pipeline step "%"', step USING ERRCODE = '22023',
              HINT = 'Steps: segments, forecasts, predicted_orders, associations, replenishment, anomalies.';
    END IF;
    IF run_scheduled.tenant IS NOT NULL THEN
        PERFORM salesflow.require_tenant(run_scheduled.tenant);   -- 42704 for a tenant the caller cannot see
    END IF;
    FOR t IN SELECT tn.tenant_id FROM salesflow.tenants tn
              WHERE run_scheduled.tenant IS NULL OR tn.name = run_scheduled.tenant OR tn.tenant_id::text = run_scheduled.tenant
              ORDER BY tn.tenant_id
    LOOP
        total := total + coalesce(salesflow._run_step(t.tenant_id, step), 0);
    END LOOP;
    RETURN total;
END
$$;
COMMENT ON FUNCTION salesflow.run_scheduled(text, text) IS
    'Runs one pipeline step for every tenant the caller sees (or one), logging each in pipeline_runs; a failing tenant does not stop the others. Does not commit, so a statement_timeout in the same command bounds it. Returns the rows written.';

CREATE FUNCTION salesflow.process_pending_uploads() RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    u record;
    n bigint := 0;
BEGIN
    FOR u IN SELECT x.upload_id FROM salesflow.uploads x WHERE x.status = 'received' ORDER BY x.upload_id LOOP
        PERFORM salesflow.process_upload(u.upload_id);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION salesflow.process_pending_uploads() IS
    'Processes every upload still in status received (stored but not processed, e.g. after a crash or by a loader that only stores); returns how many. A failing upload is marked failed and the others go on.';

-- A procedure that commits cannot carry a SET clause, so it pins its
-- search_path itself at the start of every transaction (set_config(..., true)
-- lasts until that transaction ends; the caller's setting comes back after).
CREATE PROCEDURE salesflow.run_pipeline(tenant text DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
    t record;
    step text;
BEGIN
    IF run_pipeline.tenant IS NOT NULL THEN
        PERFORM salesflow.require_tenant(run_pipeline.tenant);   -- 42704 for a tenant the caller cannot see
    END IF;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    FOR t IN SELECT tn.tenant_id, tn.name FROM salesflow.tenants tn
              WHERE run_pipeline.tenant IS NULL OR tn.name = run_pipeline.tenant OR tn.tenant_id::text = run_pipeline.tenant
              ORDER BY tn.tenant_id
    LOOP
        FOREACH step IN ARRAY ARRAY['segments', 'forecasts', 'predicted_orders', 'replenishment', 'anomalies'] LOOP
            PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
            PERFORM salesflow._run_step(t.tenant_id, step);
            COMMIT;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON PROCEDURE salesflow.run_pipeline(text) IS
    'Brings segments, forecasts, predicted orders, replenishment and anomaly alerts up to date for one tenant or every tenant the caller sees, committing after each step; failures are logged in pipeline_runs and do not stop the others.';

-- ---------------------------------------------------------------------------
-- Scheduling with pg_cron
-- ---------------------------------------------------------------------------
CREATE FUNCTION salesflow._cron_jobs(options jsonb)
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
        ('reports',          '*/10 * * * *', NULL,      '5min',  'SELECT salesflow.make_reports()'),
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

CREATE FUNCTION salesflow.schedule(options jsonb DEFAULT '{}')
RETURNS TABLE(job_name text, schedule text, command text, installed boolean)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    db text := coalesce(options ->> 'database', current_database());
    username text := coalesce(options ->> 'username', current_user);
    here boolean := to_regnamespace('cron') IS NOT NULL AND to_regproc('cron.schedule_in_database') IS NOT NULL;
    j record;
BEGIN
    IF NOT pg_has_role(current_user, 'salesflow_admin', 'MEMBER') THEN
        RAISE EXCEPTION 'only salesflow_admin can schedule jobs' USING ERRCODE = '42501';
    END IF;
    IF NOT here THEN
        RAISE NOTICE 'pg_cron is not installed in this database: nothing was scheduled. Run the returned commands in the database where pg_cron is installed (cron.database_name), or run CALL salesflow.run_pipeline() and CALL salesflow.refresh_dashboards() by hand.';
    END IF;
    FOR j IN SELECT * FROM salesflow._cron_jobs(options) LOOP
        job_name := j.job_name;
        schedule := j.schedule;
        IF j.in_cron_database THEN
            command := format('SELECT cron.schedule(%L, %L, %L)', j.job_name, j.schedule, j.command);
            IF here THEN
                PERFORM cron.schedule(j.job_name, j.schedule, j.command);
            END IF;
        ELSE
            command := format('SELECT cron.schedule_in_database(%L, %L, %L, %L, %L)', j.job_name, j.schedule, j.command,
                              db, username);
            IF here THEN
                PERFORM cron.schedule_in_database(j.job_name, j.schedule, j.command, db, username);
            END IF;
        END IF;
        installed := here;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION salesflow.schedule(jsonb) IS
    'Installs (or updates: idempotent) the named pg_cron jobs: uploads every minute, dashboards every 5 minutes, segments/associations/predicted orders nightly 02:00, forecasts 07:00, procurement 07:30, anomalies hourly, reports every 10 minutes, pruning weekly; each with a statement_timeout (dashboards: a time budget). Options: timezone (the local times above, converted to pg_cron''s UTC), schedules {job: cron}, timeouts {job: 30min}, database, username, prefix, keep. Without pg_cron in this database it installs nothing and returns the commands to run where pg_cron is. Admins only.';
REVOKE EXECUTE ON FUNCTION salesflow.schedule(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION salesflow.schedule(jsonb) TO salesflow_admin;

CREATE FUNCTION salesflow.unschedule(prefix text DEFAULT 'salesflow') RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint := 0;
    j text;
BEGIN
    IF NOT pg_has_role(current_user, 'salesflow_admin', 'MEMBER') THEN
        RAISE EXCEPTION 'only salesflow_admin can unschedule jobs' USING ERRCODE = '42501';
    END IF;
    IF to_regclass('cron.job') IS NULL THEN
        RAISE NOTICE 'pg_cron is not installed in this database: no job to remove here';
        RETURN 0;
    END IF;
    FOR j IN EXECUTE 'SELECT jobname FROM cron.job WHERE jobname LIKE $1' USING replace(replace(prefix, '_', '\_'), '%', '\%') || '-%' LOOP
        PERFORM cron.unschedule(j);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION salesflow.unschedule(text) IS 'Removes the pg_cron jobs schedule() installed (names starting with prefix-); returns how many. Admins only.';
REVOKE EXECUTE ON FUNCTION salesflow.unschedule(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION salesflow.unschedule(text) TO salesflow_admin;
