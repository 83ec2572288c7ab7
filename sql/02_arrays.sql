-- Array helpers: zero-copy maps with clear errors for bad shapes.
\set SHOW_CONTEXT never
SELECT salesflow._debug_float8_echo('{1,2,3.5,-0.25}');
SELECT salesflow._debug_float8_echo('{}');
SELECT salesflow._debug_float8_echo(ARRAY[1e308, -1e-300]::float8[]);
SELECT salesflow._debug_int8_sum('{1,2,3,9000000000}');
SELECT salesflow._debug_int8_sum('{}');
SELECT salesflow._debug_numeric_sum('{1.5,2.25,-0.75}');
-- a slice of a larger array (non-zero lower bound) maps correctly
SELECT salesflow._debug_float8_echo((ARRAY[10,20,30,40]::float8[])[2:3]);
SELECT salesflow._debug_float8_echo('[5:7]={7,8,9}'::float8[]);
-- a large array round-trips exactly
SELECT salesflow._debug_float8_echo(a) = a AS large_roundtrip
  FROM (SELECT array_agg(g * 0.5)::float8[] AS a FROM generate_series(1, 100000) g) s;
-- errors
SELECT salesflow._debug_float8_echo('{1,NULL,3}');
SELECT salesflow._debug_float8_echo('{{1,2},{3,4}}');
SELECT salesflow._debug_float8_echo(NULL);
SELECT salesflow._debug_int8_sum('{1,NULL}');
SELECT salesflow._debug_int8_sum('{9223372036854775807,1}');
SELECT salesflow._debug_numeric_sum('{1,NaN}');
SELECT salesflow._debug_numeric_sum('{1,Infinity}');
SELECT salesflow._debug_anyarray_as_float8('{1,2}'::int[]);
SELECT salesflow._debug_anyarray_as_float8('{1,2}'::float8[]);
