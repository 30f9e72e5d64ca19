\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- Needs shared_preload_libraries = 'pg_stat_plans'.  Each plan a query
-- ran with is kept with its text; the counts are flushed later (at
-- transaction end, with a delay), so only the entries are checked.
-- Committed statements: no transaction block.
SELECT plan(5);

CREATE EXTENSION IF NOT EXISTS pg_stat_plans;
SELECT has_extension('pg_stat_plans');
CREATE TABLE smoke_spl (id integer PRIMARY KEY, v text);
INSERT INTO smoke_spl SELECT g, 'v' || g FROM generate_series(1, 5000) AS g;
ANALYZE smoke_spl;
SELECT v FROM smoke_spl WHERE id = 42 \gset
SELECT count(*) FROM smoke_spl WHERE v LIKE 'v1%' \gset

SELECT ok(EXISTS (SELECT 1 FROM pg_stat_plans WHERE plan LIKE '%Index Scan using smoke_spl_pkey%'),
    'the index scan''s plan is recorded with its text');
SELECT ok(EXISTS (SELECT 1 FROM pg_stat_plans WHERE plan LIKE '%Seq Scan on smoke_spl%'),
    'and the sequential scan''s, a plan of another query');
SELECT ok((SELECT count(DISTINCT planid) FROM pg_stat_plans WHERE plan LIKE '%smoke_spl%') >= 2,
    'each with a plan ID of its own');
SELECT ok(EXISTS (SELECT 1 FROM pg_stat_plans_activity WHERE pid = pg_backend_pid()),
    'the plan of the running query is shown as activity');

DROP TABLE smoke_spl;
SELECT * FROM finish();
