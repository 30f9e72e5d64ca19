\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- Needs shared_preload_libraries = 'pg_qualstats'. By default only a
-- fraction of queries is sampled (1 / max_connections): sample all here.
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS pg_qualstats;
SELECT has_extension('pg_qualstats');
SET LOCAL pg_qualstats.enabled = on;
SET LOCAL pg_qualstats.sample_rate = 1;
SELECT is(current_setting('pg_qualstats.sample_rate'), '1', 'every query is sampled');

CREATE TABLE smoke_qs (id integer, color text, size integer);
INSERT INTO smoke_qs SELECT g, (ARRAY['red', 'green', 'blue'])[1 + g % 3], g % 50 FROM generate_series(1, 3000) AS g;
ANALYZE smoke_qs;
SELECT lives_ok($$SELECT pg_qualstats_reset()$$, 'pg_qualstats_reset');

-- top-level statements with predicates (they print nothing)
UPDATE smoke_qs SET size = size WHERE color = 'blue' AND size = 7;
DELETE FROM smoke_qs WHERE size = 49;

SELECT is(
    (SELECT array_agg(DISTINCT left_column::text ORDER BY left_column::text) FROM pg_qualstats_pretty WHERE left_table = 'smoke_qs'::regclass),
    ARRAY['color', 'size'], 'the predicates on color and size were recorded');
SELECT ok(
    (SELECT sum(execution_count) FROM pg_qualstats_pretty WHERE left_table = 'smoke_qs'::regclass AND left_column = 'size') >= 3000,
    'the size predicate was evaluated on every row of each scan');
SELECT ok(EXISTS (SELECT 1 FROM pg_qualstats() WHERE lrelid = 'smoke_qs'::regclass AND constvalue LIKE '%blue%'),
    'the constant of the predicate is kept');

SELECT * FROM finish();
ROLLBACK;
