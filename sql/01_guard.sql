-- Every C++ exception becomes the documented SQLSTATE, and the backend lives on.
\set SHOW_CONTEXT never
CREATE FUNCTION pg_temp.sqlstate_of(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE query;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ' ' || SQLERRM;
END
$$;
SELECT pg_backend_pid() AS pid \gset
SELECT kind, pg_temp.sqlstate_of(format('SELECT salesflow._debug_throw(%L)', kind)) AS result
  FROM unnest(ARRAY['bad_alloc', 'invalid_argument', 'domain_error', 'range_error', 'overflow_error',
                    'runtime_error', 'int', 'postgres', 'none', 'nonsense']) AS kind;
-- errors raised straight to the client too (no subtransaction around them)
SELECT salesflow._debug_throw('bad_alloc');
SELECT salesflow._debug_throw('postgres');
SELECT salesflow._debug_throw('int');
-- same backend, still working, transaction state clean
SELECT pg_backend_pid() = :pid AS same_backend, salesflow._debug_throw('none') AS works;
BEGIN;
SELECT salesflow._debug_throw('range_error');
ROLLBACK;
SELECT 1 AS after_rollback;
-- only admins may run diagnostics
CREATE ROLE sf_regress_plain;
SET ROLE sf_regress_plain;
SELECT salesflow._debug_throw('none');
RESET ROLE;
SET ROLE salesflow_admin;
SELECT salesflow._debug_throw('none');
RESET ROLE;
DROP ROLE sf_regress_plain;
