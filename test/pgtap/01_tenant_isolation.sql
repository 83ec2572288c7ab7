-- Tenant isolation, checked over the catalog so every new table is covered:
-- each table with a tenant_id column has RLS and a primary key starting with
-- tenant_id; a reader of tenant A sees none of B's rows; with no tenant set,
-- nothing; a writer cannot write into B.
BEGIN;
SELECT * FROM no_plan();

\i test/fixtures/two_tenants.sql

CREATE TEMP TABLE tenant_tables ON COMMIT DROP AS
SELECT c.oid::regclass AS tbl
  FROM pg_class c
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
 WHERE c.relnamespace = 'salesflow'::regnamespace AND c.relkind IN ('r', 'p')
   AND has_table_privilege('salesflow_reader', c.oid, 'SELECT');
GRANT SELECT ON tenant_tables TO PUBLIC;
-- a tenant table readers cannot read (upload_staging: no RLS, so that COPY
-- works) is write-only for writers too: no SELECT, UPDATE or DELETE
SELECT ok(NOT has_table_privilege('salesflow_writer', c.oid, 'SELECT, UPDATE, DELETE, TRUNCATE'),
          c.oid::regclass || ' (not readable by readers) is insert-only for writers')
  FROM pg_class c
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
 WHERE c.relnamespace = 'salesflow'::regnamespace AND c.relkind IN ('r', 'p')
   AND NOT has_table_privilege('salesflow_reader', c.oid, 'SELECT');

SELECT cmp_ok((SELECT count(*) FROM tenant_tables), '>=', 2::bigint, 'the catalog lists the tenant tables');

-- structure: RLS on, policies present, primary key starts with tenant_id
SELECT ok(c.relrowsecurity, tbl || ' has row-level security enabled')
  FROM tenant_tables t JOIN pg_class c ON c.oid = t.tbl;
SELECT ok(EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = t.tbl AND p.polname = 'tenant_isolation'),
          tbl || ' has the tenant_isolation policy')
  FROM tenant_tables t;
SELECT is((SELECT a.attname::text FROM pg_index i
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
            WHERE i.indrelid = t.tbl AND i.indisprimary), 'tenant_id',
          tbl || ' primary key starts with tenant_id')
  FROM tenant_tables t;

-- views run with the caller's rights, so the tables' row-level security
-- applies; the only exception are the tenant views over materialized views
-- (which cannot carry RLS): they read nothing but materialized views and
-- filter by current_tenant_id(), and no one but their owner reads the
-- materialized views themselves
CREATE TEMP TABLE mv_views ON COMMIT DROP AS
SELECT c.oid::regclass AS v
  FROM pg_class c
 WHERE c.relnamespace = 'salesflow'::regnamespace AND c.relkind = 'v'
   AND NOT coalesce(c.reloptions @> ARRAY['security_invoker=true'], false);
GRANT SELECT ON mv_views TO PUBLIC;
SELECT ok(coalesce(c.reloptions @> ARRAY['security_invoker=true'], false)
          OR (pg_get_viewdef(c.oid) LIKE '%current_tenant_id()%'
              AND EXISTS (SELECT 1 FROM pg_depend d JOIN pg_rewrite rw ON rw.oid = d.objid
                           WHERE d.classid = 'pg_rewrite'::regclass AND rw.ev_class = c.oid
                             AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> c.oid)
              AND NOT EXISTS (SELECT 1 FROM pg_depend d JOIN pg_rewrite rw ON rw.oid = d.objid
                                JOIN pg_class r ON r.oid = d.refobjid
                               WHERE d.classid = 'pg_rewrite'::regclass AND rw.ev_class = c.oid
                                 AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> c.oid AND r.relkind <> 'm')),
          c.oid::regclass || ' is a security_invoker view, or a tenant-filtered view over materialized views only')
  FROM pg_class c WHERE c.relnamespace = 'salesflow'::regnamespace AND c.relkind = 'v';
SELECT ok(NOT has_table_privilege(r, c.oid, 'SELECT'), c.oid::regclass || ' is not readable by ' || r)
  FROM pg_class c, unnest(ARRAY['salesflow_reader', 'salesflow_writer', 'public']) r
 WHERE c.relnamespace = 'salesflow'::regnamespace AND c.relkind = 'm';

-- row counts per table and tenant as the superuser sees them
CREATE TEMP TABLE truth (tbl regclass, tenant text, n bigint) ON COMMIT DROP;
GRANT SELECT ON truth TO PUBLIC;
DO $$
DECLARE t regclass;
BEGIN
    FOR t IN SELECT tbl FROM tenant_tables LOOP
        EXECUTE format('INSERT INTO truth SELECT %L, tn.name, count(x.tenant_id)
                          FROM salesflow.tenants tn LEFT JOIN %s x ON x.tenant_id = tn.tenant_id
                         WHERE tn.name IN (''tap_a'', ''tap_b'') GROUP BY tn.name', t, t);
    END LOOP;
END $$;
SELECT cmp_ok((SELECT n FROM truth WHERE tbl = 'salesflow.settings'::regclass AND tenant = 'tap_b'), '>', 0::bigint,
              'the fixture gave tenant B rows to hide');

CREATE FUNCTION pg_temp.visible(tbl regclass, tenant_name text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s x JOIN salesflow.tenants tn ON tn.tenant_id = x.tenant_id WHERE tn.name = %L',
                   tbl, tenant_name) INTO n;
    RETURN n;
END $$;
-- tenants itself is RLS-protected, so count B's rows by id
CREATE FUNCTION pg_temp.rows_not_of(tbl regclass, tenant_id bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s x WHERE x.tenant_id <> %s', tbl, tenant_id) INTO n;
    RETURN n;
END $$;
CREATE FUNCTION pg_temp.rows_all(tbl regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s', tbl) INTO n;
    RETURN n;
END $$;
SELECT tenant_id AS a_id FROM salesflow.tenants WHERE name = 'tap_a' \gset
SELECT tenant_id AS b_id FROM salesflow.tenants WHERE name = 'tap_b' \gset

-- reader of tenant A
SET LOCAL ROLE salesflow_reader;
SET LOCAL salesflow.tenant = 'tap_a';
SELECT is(pg_temp.rows_not_of(tbl, :a_id), 0::bigint, 'reader of A sees 0 rows of other tenants in ' || tbl)
  FROM tenant_tables;
SELECT is(pg_temp.rows_all(tbl), (SELECT n FROM truth r WHERE r.tbl = t.tbl AND r.tenant = 'tap_a'),
          'reader of A sees all of A''s rows in ' || tbl)
  FROM tenant_tables t;
-- naming A by id works the same
SET LOCAL salesflow.tenant = :'a_id';
SELECT is(pg_temp.rows_not_of(tbl, :a_id), 0::bigint, 'reader of A (by id) sees 0 rows of other tenants in ' || tbl)
  FROM tenant_tables;
-- no tenant: nothing
RESET salesflow.tenant;
SELECT is(pg_temp.rows_all(tbl), 0::bigint, 'with no tenant set a reader sees 0 rows in ' || tbl)
  FROM tenant_tables;
SET LOCAL salesflow.tenant = 'no_such_tenant';
SELECT is(pg_temp.rows_all(tbl), 0::bigint, 'with an unknown tenant a reader sees 0 rows in ' || tbl)
  FROM tenant_tables;
-- tenant views over materialized views: a reader sees exactly its tenant's
-- rows, and none without a tenant (counted against the views' own filter run
-- as the superuser for each tenant)
RESET ROLE;
CREATE TEMP TABLE mv_truth (v regclass, tenant text, n bigint) ON COMMIT DROP;
GRANT SELECT ON mv_truth TO PUBLIC;
DO $$
DECLARE x regclass; t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tap_a', 'tap_b'] LOOP
        PERFORM set_config('salesflow.tenant', t, true);
        FOR x IN SELECT v FROM mv_views LOOP
            EXECUTE format('INSERT INTO mv_truth SELECT %L, %L, count(*) FROM %s', x, t, x);
        END LOOP;
    END LOOP;
END $$;
SELECT cmp_ok((SELECT sum(n) FROM mv_truth WHERE tenant = 'tap_b'), '>', 0::numeric, 'tenant B has dashboard rows to hide');
SET LOCAL ROLE salesflow_reader;
SET LOCAL salesflow.tenant = 'tap_a';
SELECT is(pg_temp.rows_all(v), (SELECT n FROM mv_truth t WHERE t.v = m.v AND t.tenant = 'tap_a'),
          'reader of A sees exactly A''s rows in ' || v)
  FROM mv_views m;
RESET salesflow.tenant;
SELECT is(pg_temp.rows_all(v), 0::bigint, 'with no tenant set a reader sees 0 rows in ' || v)
  FROM mv_views m;
-- readers cannot write
SET LOCAL salesflow.tenant = 'tap_a';
SELECT throws_ok($$INSERT INTO salesflow.settings (name, value) VALUES ('x.reader', '1')$$, '42501',
                 NULL, 'a reader cannot insert');
RESET ROLE;

-- writer of tenant A
SET LOCAL ROLE salesflow_writer;
SET LOCAL salesflow.tenant = 'tap_a';
SELECT lives_ok($$INSERT INTO salesflow.settings (name, value) VALUES ('anomalies.top_products', '10')$$,
                'a writer inserts into its own tenant');
SELECT throws_ok(format($$INSERT INTO salesflow.settings (tenant_id, name, value) VALUES (%s, 'anomalies.escalation', '2')$$, :b_id),
                 '42501', NULL, 'a writer cannot insert into another tenant');
SELECT throws_ok(format($$UPDATE salesflow.settings SET tenant_id = %s WHERE name = 'anomalies.top_products'$$, :b_id),
                 '42501', NULL, 'a writer cannot move a row to another tenant');
SELECT results_eq(format($$UPDATE salesflow.settings SET value = '"hacked"' WHERE tenant_id = %s RETURNING name$$, :b_id),
                  ARRAY[]::text[], 'a writer updates 0 rows of another tenant');
SELECT results_eq(format($$DELETE FROM salesflow.settings WHERE tenant_id = %s RETURNING name$$, :b_id),
                  ARRAY[]::text[], 'a writer deletes 0 rows of another tenant');
SELECT throws_ok($$SELECT salesflow.require_tenant('tap_b')$$, '42704', NULL,
                 'a writer cannot name another tenant in an API call');
RESET salesflow.tenant;
SELECT throws_ok($$INSERT INTO salesflow.settings (name, value) VALUES ('x.none', '1')$$, NULL, NULL,
                 'a writer with no tenant set cannot insert');
RESET ROLE;
SELECT is((SELECT count(*) FROM salesflow.settings WHERE tenant_id = :b_id AND value = '"hacked"'), 0::bigint,
          'tenant B''s rows are untouched');

-- a login bound to tenant A (tenant_logins) cannot switch to B by changing
-- the setting, even after SET ROLE, and defaults to A without a setting
CREATE ROLE tap_bound_login NOLOGIN IN ROLE salesflow_reader;
INSERT INTO salesflow.tenant_logins (tenant_id, login) VALUES (:a_id, 'tap_bound_login');
SET LOCAL SESSION AUTHORIZATION tap_bound_login;
RESET salesflow.tenant;
SELECT is(salesflow.current_tenant_id(), :a_id::bigint, 'a login bound to A defaults to A');
SET LOCAL salesflow.tenant = 'tap_b';
SELECT is(salesflow.current_tenant_id(), NULL::bigint, 'a login bound to A gets no tenant when the setting names B');
SELECT is(pg_temp.rows_all('salesflow.settings'), 0::bigint, '... and sees no rows');
SELECT is((SELECT count(*) FROM salesflow.dashboard_summary), 0::bigint, '... not even through the dashboard views');
SET LOCAL salesflow.tenant = :'b_id';
SELECT is(salesflow.current_tenant_id(), NULL::bigint, 'naming B by id does not work either');
SET LOCAL ROLE salesflow_reader;
SELECT is(salesflow.current_tenant_id(), NULL::bigint, 'nor after SET ROLE');
RESET ROLE;
SET LOCAL salesflow.tenant = 'tap_a';
SELECT is(salesflow.current_tenant_id(), :a_id::bigint, 'naming its own tenant works');
RESET SESSION AUTHORIZATION;
RESET salesflow.tenant;

-- admin sees all
SET LOCAL ROLE salesflow_admin;
RESET salesflow.tenant;
SELECT cmp_ok(pg_temp.rows_all(tbl), '>=', (SELECT sum(n)::bigint FROM truth r WHERE r.tbl = t.tbl),
          'admin with no tenant set sees A''s and B''s rows in ' || tbl)
  FROM tenant_tables t;
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
