\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(5);

CREATE EXTENSION IF NOT EXISTS extra_window_functions;
SELECT has_extension('extra_window_functions');

CREATE TABLE smoke_readings (t integer PRIMARY KEY, v integer);
INSERT INTO smoke_readings VALUES (1, 10), (2, NULL), (3, NULL), (4, 40), (5, NULL), (6, 60);

SELECT results_eq(
    $$SELECT t, lag_ignore_nulls(v) OVER (ORDER BY t) FROM smoke_readings ORDER BY t$$,
    $$VALUES (1, NULL::int), (2, 10), (3, 10), (4, 10), (5, 40), (6, 40)$$,
    'lag_ignore_nulls carries the last non-null value');
SELECT results_eq(
    $$SELECT t, lead_ignore_nulls(v) OVER (ORDER BY t) FROM smoke_readings ORDER BY t$$,
    $$VALUES (1, 40), (2, 40), (3, 40), (4, 60), (5, 60), (6, NULL::int)$$,
    'lead_ignore_nulls looks ahead to the next non-null value');
SELECT results_eq(
    $$SELECT t, last_value_ignore_nulls(v) OVER (ORDER BY t) FROM smoke_readings ORDER BY t$$,
    $$VALUES (1, 10), (2, 10), (3, 10), (4, 40), (5, 40), (6, 60)$$,
    'last_value_ignore_nulls fills gaps forward');
SELECT results_eq(
    $$SELECT t, nth_value_ignore_nulls(v, 2) OVER (ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) FROM smoke_readings ORDER BY t$$,
    $$VALUES (1, 40), (2, 40), (3, 40), (4, 40), (5, 40), (6, 40)$$,
    'nth_value_ignore_nulls skips nulls when counting');

SELECT * FROM finish();
ROLLBACK;
