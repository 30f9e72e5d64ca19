\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- prepare_all() prepares every statement of a table, as pgbouncer's
-- connect_query or preprepare.at_init would on each new connection.
BEGIN;
SELECT plan(5);

CREATE EXTENSION IF NOT EXISTS pre_prepare;
SELECT has_extension('pre_prepare');
CREATE TABLE smoke_statements (name text PRIMARY KEY, statement text);
INSERT INTO smoke_statements VALUES
    ('smoke_double', 'PREPARE smoke_double(int) AS SELECT $1 * 2 AS doubled'),
    ('smoke_hello', 'PREPARE smoke_hello AS SELECT ''hello''::text AS greeting');
SELECT lives_ok($$SELECT prepare_all('public.smoke_statements')$$, 'prepare_all from a statements table');
SELECT is((SELECT array_agg(name::text ORDER BY name) FROM pg_prepared_statements WHERE name LIKE 'smoke%'),
    ARRAY['smoke_double', 'smoke_hello'], 'both statements are prepared');
EXECUTE smoke_double(21) \gset
SELECT is(:doubled, 42, 'EXECUTE with a parameter');
EXECUTE smoke_hello \gset
SELECT is(:'greeting'::text, 'hello', 'EXECUTE without');

SELECT * FROM finish();
ROLLBACK;
