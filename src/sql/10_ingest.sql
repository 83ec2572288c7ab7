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
--   6. the upload row gets counts and timings, and NOTIFY salesflow_uploads
--      (the payload holds the upload id only: listeners read the row).
-- Uploads of one tenant are serialised by the tenant's 'ingest' row in
-- tenant_locks (no duplicates, no deadlocks; no outsider can hold it);
-- different tenants load in parallel.

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
    CONSTRAINT uploads_source_check CHECK (source IN ('import_csv', 'import_xlsx', 'import_file', 'staging'))
);
ALTER SEQUENCE salesflow.uploads_upload_id_seq OWNED BY salesflow.uploads.upload_id;
CREATE UNIQUE INDEX uploads_checksum_idx ON salesflow.uploads (tenant_id, checksum);
COMMENT ON TABLE salesflow.uploads IS
    'One row per uploaded file: status (received, parsing, loaded, processed, failed), counts, what was detected, per-phase timings.';
COMMENT ON COLUMN salesflow.uploads.source IS 'import_csv, import_xlsx, import_file or staging (rows COPYed into upload_staging).';
COMMENT ON COLUMN salesflow.uploads.filename IS 'File name or path, when known.';
COMMENT ON COLUMN salesflow.uploads.checksum IS 'SHA-256 of the original bytes (hex; a workbook''s adds /sheet=<the sheet option>); the same file again returns this upload.';
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
-- COPY FROM refuses tables under row-level security, so this one has none:
-- writers may only INSERT (or COPY) into it, never read, change or delete;
-- the tenant of a row is the session's (the default), and the statement
-- trigger refuses rows naming another tenant. Its rows never outlive their
-- statement: the trigger turns them into an upload and discards them.
CREATE TABLE salesflow.upload_staging (
    tenant_id     bigint NOT NULL DEFAULT coalesce(salesflow.current_tenant_id(), salesflow.require_tenant()),
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
    'COPY invoice lines here (text columns, any subset) for the session''s tenant; each COPY or INSERT statement becomes one upload, processed at once. Stays empty; writers can only insert (no row-level security, so that COPY works).';
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
REVOKE ALL ON salesflow.upload_staging FROM PUBLIC;
GRANT INSERT ON salesflow.upload_staging TO salesflow_writer;
GRANT ALL ON salesflow.upload_staging TO salesflow_admin;
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

CREATE FUNCTION salesflow._xlsx_to_csv(content bytea, sheet text, decimal_sep text) RETURNS bytea
LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_xlsx_to_csv';
COMMENT ON FUNCTION salesflow._xlsx_to_csv(bytea, text, text) IS
    'Internal: one sheet of an Excel workbook (by name or 1-based position; NULL = the first) as the CSV the invoice parser reads, sheet row n on line n. A damaged or non-workbook file is 22P04.';

-- An Excel workbook (.xlsx) is a zip archive: its bytes start "PK\3\4".
CREATE FUNCTION salesflow._is_xlsx(content bytea) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT substring(content FROM 1 FOR 4) = '\x504b0304'::bytea $$;
COMMENT ON FUNCTION salesflow._is_xlsx(bytea) IS 'Internal: true when the bytes start like a zip archive, as every .xlsx workbook does.';

CREATE FUNCTION salesflow.generate_demo_csv(lines bigint, seed bigint DEFAULT 42) RETURNS bytea
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_generate_demo_csv';
COMMENT ON FUNCTION salesflow.generate_demo_csv(bigint, bigint) IS
    'Deterministic realistic invoice CSV (UCI Online Retail layout): many customers, long-tail products, returns, seasonality. For demos and benchmarks.';

-- ---------------------------------------------------------------------------
-- Processing
-- ---------------------------------------------------------------------------

-- The largest max_field_bytes an upload may ask for: a field is held whole
-- while its line is parsed, so this bounds the memory one line can take
-- (kMaxFieldBytesLimit in src/core/ingest/invoice.hpp checks the same).
CREATE FUNCTION salesflow._max_field_bytes_limit() RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT 1048576 $$;
COMMENT ON FUNCTION salesflow._max_field_bytes_limit() IS 'Internal: the largest max_field_bytes an upload may set (1 MiB).';

-- Validates the options document of an upload; returns it normalised.
CREATE FUNCTION salesflow._upload_options(options jsonb) RETURNS jsonb
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
COMMENT ON FUNCTION salesflow._upload_options(jsonb) IS 'Internal: validates upload options (unknown keys and bad values give 22023).';

-- Creates the upload row for some bytes, or returns the earlier upload of the
-- same bytes. Takes the tenant's ingest lock for the rest of the transaction.
CREATE FUNCTION salesflow._receive_upload(tenant bigint, content bytea, options jsonb, source text, filename text)
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
COMMENT ON FUNCTION salesflow._process_upload(bigint, bigint) IS
    'Internal: parses, validates and normalises one stored upload (see the top of 10_ingest.sql).';

-- ---------------------------------------------------------------------------
-- Entry points
-- ---------------------------------------------------------------------------
-- The shared body of import_csv and import_xlsx: store the bytes (or find
-- them stored before) and process them.
CREATE FUNCTION salesflow._import_bytes(content bytea, opts jsonb, source text) RETURNS salesflow.uploads
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

CREATE FUNCTION salesflow.import_csv(content bytea, options jsonb DEFAULT '{}') RETURNS salesflow.uploads
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
COMMENT ON FUNCTION salesflow.import_csv(bytea, jsonb) IS
    'Imports invoice CSV bytes for the session''s tenant (or options.tenant): stores them, rejects bad lines with reasons, normalises the rest; returns the upload. The same bytes again return the earlier upload.';

CREATE FUNCTION salesflow.import_xlsx(content bytea, options jsonb DEFAULT '{}') RETURNS salesflow.uploads
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

CREATE FUNCTION salesflow.import_file(path text, options jsonb DEFAULT '{}') RETURNS salesflow.uploads
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

-- Writers cannot read or delete staged rows (see upload_staging), so the
-- rows a statement staged are discarded here, with the owner's rights, and
-- only for the session's tenant.
CREATE FUNCTION salesflow._staging_discard(tenant bigint, ids bigint[]) RETURNS bigint
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
COMMENT ON FUNCTION salesflow._staging_after_insert() IS
    'Internal: statement-level trigger on upload_staging: turns the statement''s rows into one upload and processes it.';

CREATE TRIGGER upload_staging_process
    AFTER INSERT ON salesflow.upload_staging
    REFERENCING NEW TABLE AS staged
    FOR EACH STATEMENT EXECUTE FUNCTION salesflow._staging_after_insert();

DO $grants$
BEGIN
    EXECUTE 'REVOKE EXECUTE ON FUNCTION salesflow.import_csv(bytea, jsonb), salesflow.import_xlsx(bytea, jsonb), salesflow.import_file(text, jsonb),
             salesflow.process_upload(bigint, jsonb) FROM PUBLIC';
    EXECUTE 'GRANT EXECUTE ON FUNCTION salesflow.import_csv(bytea, jsonb), salesflow.import_xlsx(bytea, jsonb), salesflow.import_file(text, jsonb),
             salesflow.process_upload(bigint, jsonb) TO salesflow_writer';
END
$grants$;
