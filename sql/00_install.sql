-- The extension installs, with its schema, roles and foundation objects.
\set SHOW_CONTEXT never
CREATE EXTENSION salesflow;
SELECT salesflow.version();
SELECT nspname FROM pg_namespace WHERE nspname = 'salesflow';
SELECT rolname FROM pg_roles WHERE rolname LIKE 'salesflow\_%' ORDER BY 1;
SELECT extrelocatable, extversion FROM pg_extension WHERE extname = 'salesflow';
-- every salesflow function pins its search_path (C functions call no SQL;
-- procedures that commit cannot have SET clauses and pin it per transaction)
-- (aggregates cannot have one: their support functions are C)
SELECT p.oid::regprocedure AS function_without_pinned_search_path
  FROM pg_proc p
 WHERE p.pronamespace = 'salesflow'::regnamespace
   AND p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'c') AND p.prokind NOT IN ('p', 'a')
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%');
-- every salesflow object has a comment
SELECT c.oid::regclass AS relation_without_comment
  FROM pg_class c
 WHERE c.relnamespace = 'salesflow'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p')
   AND obj_description(c.oid, 'pg_class') IS NULL;
SELECT p.oid::regprocedure AS function_without_comment
  FROM pg_proc p
 WHERE p.pronamespace = 'salesflow'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL;
-- the SECURITY DEFINER functions are exactly the reviewed ones
SELECT p.oid::regprocedure AS security_definer FROM pg_proc p
 WHERE p.pronamespace = 'salesflow'::regnamespace AND p.prosecdef ORDER BY 1;
-- tenants: creation and validation
SELECT name, timezone, currency FROM salesflow.create_tenant('acme', 'Europe/London', 'gbp');
SELECT name FROM salesflow.create_tenant('globex');
SELECT salesflow.create_tenant('bad name');
SELECT salesflow.create_tenant('zeta', 'Mars/Olympus');
SELECT salesflow.create_tenant('acme');
SELECT salesflow.create_tenant('acme2', 'UTC', 'euros');
-- the tenant setting resolves by name or by id; unknown or unset gives NULL
SELECT salesflow.current_tenant_id() IS NULL AS no_tenant;
SET salesflow.tenant = 'globex';
SELECT t.name FROM salesflow.tenants t WHERE t.tenant_id = salesflow.current_tenant_id();
SELECT set_config('salesflow.tenant', (SELECT tenant_id::text FROM salesflow.tenants WHERE name = 'acme'), false) IS NOT NULL;
SELECT t.name FROM salesflow.tenants t WHERE t.tenant_id = salesflow.current_tenant_id();
SET salesflow.tenant = 'nobody';
SELECT salesflow.current_tenant_id() IS NULL AS unknown_tenant;
SELECT salesflow.require_tenant();
RESET salesflow.tenant;
SELECT salesflow.require_tenant();
SELECT salesflow.require_tenant('acme') = (SELECT tenant_id FROM salesflow.tenants WHERE name = 'acme');
-- the salesflow.* prefix is reserved: a typo is an error, not a silent no-op
SET salesflow.tennant = 'acme';
