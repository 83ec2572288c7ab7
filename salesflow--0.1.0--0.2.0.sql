-- salesflow 0.1.0 -> 0.2.0. Run by ALTER EXTENSION salesflow UPDATE.
--
-- Every schema change made in src/sql/ since 0.1.0 is repeated here, so that an
-- upgraded database ends up exactly like a fresh 0.2.0 install; scripts/upgrade-check
-- proves it (README, "Releases"). Keep user data: ALTER tables, never drop and
-- recreate them; CREATE OR REPLACE functions and views.
\echo Use "ALTER EXTENSION salesflow UPDATE TO '0.2.0'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Issue 22: Excel in and out, report lifecycle and schedules, procurement
-- history and decisions, seed names
-- ---------------------------------------------------------------------------
-- ingest: workbooks
ALTER TABLE salesflow.uploads DROP CONSTRAINT uploads_source_check;
ALTER TABLE salesflow.uploads ADD CONSTRAINT uploads_source_check
    CHECK (source IN ('import_csv', 'import_xlsx', 'import_file', 'staging'));
COMMENT ON COLUMN salesflow.uploads.source IS 'import_csv, import_xlsx, import_file or staging (rows COPYed into upload_staging).';
COMMENT ON COLUMN salesflow.uploads.checksum IS 'SHA-256 of the original bytes (hex; a workbook''s adds /sheet=<the sheet option>); the same file again returns this upload.';
CREATE OR REPLACE FUNCTION salesflow._xlsx_to_csv(content bytea, sheet text, decimal_sep text) RETURNS bytea
LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'sf_xlsx_to_csv';
COMMENT ON FUNCTION salesflow._xlsx_to_csv(bytea, text, text) IS
    'Internal: one sheet of an Excel workbook (by name or 1-based position; NULL = the first) as the CSV the invoice parser reads, sheet row n on line n. A damaged or non-workbook file is 22P04.';

CREATE OR REPLACE FUNCTION salesflow._is_xlsx(content bytea) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT substring(content FROM 1 FOR 4) = '\x504b0304'::bytea $$;
COMMENT ON FUNCTION salesflow._is_xlsx(bytea) IS 'Internal: true when the bytes start like a zip archive, as every .xlsx workbook does.';

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
COMMENT ON FUNCTION salesflow._upload_options(jsonb) IS 'Internal: validates upload options (unknown keys and bad values give 22023).';

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
COMMENT ON FUNCTION salesflow._receive_upload(bigint, bytea, jsonb, text, text) IS
    'Internal: stores the bytes of an upload (or finds the same bytes uploaded before) under the tenant''s ingest lock.';

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
COMMENT ON FUNCTION salesflow._process_upload(bigint, bigint) IS
    'Internal: parses, validates and normalises one stored upload (see the top of 10_ingest.sql).';

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
COMMENT ON FUNCTION salesflow.import_csv(bytea, jsonb) IS
    'Imports invoice CSV bytes for the session''s tenant (or options.tenant): stores them, rejects bad lines with reasons, normalises the rest; returns the upload. The same bytes again return the earlier upload.';

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
COMMENT ON FUNCTION salesflow.import_file(text, jsonb) IS
    'Imports an invoice CSV file on the database server (needs superuser or pg_read_server_files); same options as import_csv.';

REVOKE EXECUTE ON FUNCTION salesflow.import_xlsx(bytea, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION salesflow.import_xlsx(bytea, jsonb) TO salesflow_writer;

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

-- the settings catalogue comes with issue 15's part of this script; until
-- that part precedes this one, the definition is added only where it exists
DO $upgrade$
BEGIN
    IF to_regclass('salesflow.setting_definitions') IS NOT NULL THEN
        INSERT INTO salesflow.setting_definitions (name, type, default_value, minimum, maximum, choices, description) VALUES
            ('replenishment.runway_threshold_days', 'number', NULL, 0, 3650, NULL,
             'ORDER_TODAY when the runway is at or below this many days and nothing is on order (unset: no runway rule).');
    END IF;
END
$upgrade$;

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

