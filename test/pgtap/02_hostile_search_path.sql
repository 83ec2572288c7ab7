-- A hostile search_path (functions and operators shadowing pg_catalog's in a
-- schema searched first) cannot change what salesflow's functions do.
BEGIN;
SELECT plan(5);
\i test/fixtures/two_tenants.sql
SELECT tenant_id AS a_id FROM salesflow.tenants WHERE name = 'tap_a' \gset

CREATE SCHEMA evil;
-- always claims to be tenant B
CREATE FUNCTION evil.current_setting(text, boolean) RETURNS text LANGUAGE sql AS $$ SELECT 'tap_b'::text $$;
-- text equality that is always true
CREATE FUNCTION evil.always_true(text, text) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.always_true);
CREATE FUNCTION evil.upper(text) RETURNS text LANGUAGE sql AS $$ SELECT 'XXX'::text $$;
GRANT USAGE ON SCHEMA evil TO PUBLIC;

-- Run salesflow's functions under the hostile path and keep the answers;
-- pgTAP itself is checked with a sane path afterwards.
SET LOCAL search_path = evil, pg_catalog, public;
SET LOCAL salesflow.tenant = 'tap_a';
SELECT salesflow.current_tenant_id() AS got_current, salesflow.require_tenant() AS got_required,
       (salesflow.create_tenant('tap_c', 'UTC', 'usd')).currency AS got_currency,
       salesflow.setting('segments.high_share') AS got_setting \gset
SET LOCAL ROLE salesflow_reader;
SELECT count(*) AS got_foreign FROM salesflow.settings WHERE tenant_id <> :a_id \gset
RESET ROLE;
SET LOCAL search_path = public, pg_catalog;

SELECT is(:'got_current'::bigint, :a_id::bigint, 'current_tenant_id ignores a shadowed current_setting');
SELECT is(:'got_required'::bigint, :a_id::bigint, 'require_tenant ignores shadowed functions and operators');
SELECT is(:'got_foreign'::bigint, 0::bigint, 'RLS still isolates tenants under a hostile search_path');
SELECT is(:'got_currency'::text, 'USD', 'create_tenant uses the real upper()');
SELECT is(:'got_setting'::jsonb, '0.5'::jsonb, 'setting() reads the session tenant''s value');
SELECT * FROM finish();
ROLLBACK;
