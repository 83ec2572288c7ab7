-- The three salesflow roles exist and nest: admin > writer > reader.
BEGIN;
SELECT plan(9);
SELECT has_role('salesflow_reader');
SELECT has_role('salesflow_writer');
SELECT has_role('salesflow_admin');
SELECT is_member_of('salesflow_reader', 'salesflow_writer');
SELECT is_member_of('salesflow_writer', 'salesflow_admin');
SELECT ok(NOT rolcanlogin, rolname || ' cannot log in by itself')
  FROM pg_roles WHERE rolname = 'salesflow_admin';
SELECT schema_privs_are('salesflow', 'salesflow_reader', ARRAY['USAGE']);
SELECT ok(NOT has_function_privilege('salesflow_writer', 'salesflow.create_tenant(text,text,text)', 'EXECUTE'),
          'writers cannot create tenants');
SELECT ok(has_function_privilege('salesflow_admin', 'salesflow.create_tenant(text,text,text)', 'EXECUTE'),
          'admins can create tenants');
SELECT * FROM finish();
ROLLBACK;
