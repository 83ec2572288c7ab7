-- statement_timeout stops a long C++ loop cleanly (the loop polls for cancel).
\set SHOW_CONTEXT never
SELECT clock_timestamp() AS started \gset
SET statement_timeout = '200ms';
SELECT salesflow._debug_spin(30);
RESET statement_timeout;
SELECT clock_timestamp() - :'started'::timestamptz < interval '10 seconds' AS stopped_early;
-- a short spin finishes normally
SELECT salesflow._debug_spin(0.01) > 0 AS finished;
-- cancellation inside a transaction rolls it back like any error
BEGIN;
SET LOCAL statement_timeout = '100ms';
SELECT salesflow._debug_spin(30);
ROLLBACK;
SELECT 1 AS alive;
