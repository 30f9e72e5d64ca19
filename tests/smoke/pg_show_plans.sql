\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- Needs shared_preload_libraries = 'pg_show_plans'.  The plans of the
-- running queries are read from shared memory, so this query's own plan
-- (and that of a query it runs inside a function) are there.
BEGIN;
SELECT plan(4);

CREATE EXTENSION IF NOT EXISTS pg_show_plans;
SELECT has_extension('pg_show_plans');
CREATE TABLE smoke_sp (id integer PRIMARY KEY, v text);
INSERT INTO smoke_sp SELECT g, 'v' || g FROM generate_series(1, 1000) AS g;
ANALYZE smoke_sp;

SELECT ok(EXISTS (SELECT 1 FROM pg_show_plans WHERE pid = pg_backend_pid()),
    'this backend''s running query has a plan');
CREATE FUNCTION smoke_sp_plans() RETURNS SETOF text LANGUAGE sql AS
    $$SELECT plan FROM pg_show_plans WHERE pid = pg_backend_pid() AND level > 0$$;
SELECT ok((SELECT count(*) FROM smoke_sp s, LATERAL smoke_sp_plans() AS p(plan)
           WHERE s.id = 1 AND p.plan LIKE '%pg_show_plans%') >= 1,
    'a nested query''s plan is there too, at level 1');
SELECT ok(EXISTS (SELECT 1 FROM pg_show_plans WHERE pid = pg_backend_pid() AND plan LIKE '%smoke_sp%')
          OR (SELECT count(*) FROM smoke_sp WHERE id < 10 AND EXISTS (
                SELECT 1 FROM pg_show_plans WHERE pid = pg_backend_pid() AND plan LIKE '%smoke_sp%')) > 0,
    'the plan names the table it scans');

SELECT * FROM finish();
ROLLBACK;
