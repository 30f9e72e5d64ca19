\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(4);

CREATE EXTENSION IF NOT EXISTS first_last_agg;
SELECT has_extension('first_last_agg');

CREATE TABLE smoke_ticks (sym text NOT NULL, at integer NOT NULL, price numeric NOT NULL);
INSERT INTO smoke_ticks VALUES
    ('A', 3, 12.5), ('A', 1, 10.0), ('A', 2, 11.0),
    ('B', 2, 99.0), ('B', 5, 101.0), ('B', 4, 100.0);
SELECT results_eq(
    $$SELECT sym, first(price ORDER BY at), last(price ORDER BY at) FROM smoke_ticks GROUP BY sym ORDER BY sym$$,
    $$VALUES ('A'::text, 10.0::numeric, 12.5::numeric), ('B', 99.0, 101.0)$$,
    'open and close per symbol');
SELECT is((SELECT first(sym ORDER BY price DESC) FROM smoke_ticks), 'B', 'first() of text ordered by price');
SELECT is((SELECT last(x ORDER BY o) FROM (VALUES (1, 1), (2, NULL::int)) AS v(o, x)), 1, 'last() skips NULL inputs');

SELECT * FROM finish();
ROLLBACK;
