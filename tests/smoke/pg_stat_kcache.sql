\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- Needs shared_preload_libraries = 'pg_stat_statements, pg_stat_kcache'
-- (in that order); requires the pg_stat_statements extension. Only
-- top-level statements are tracked, so the workload is plain statements
-- that print nothing.
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS pg_stat_kcache CASCADE;
SELECT has_extension('pg_stat_kcache');
SELECT has_extension('pg_stat_statements');
SELECT ok(current_setting('shared_preload_libraries') ~ 'pg_stat_statements.*pg_stat_kcache', 'both are preloaded, in order');

CREATE TABLE smoke_kcache_sink (i integer, pad text);
INSERT INTO smoke_kcache_sink SELECT g, md5(g::text) FROM generate_series(1, 200000) AS g;
INSERT INTO smoke_kcache_sink SELECT g, md5(g::text) FROM generate_series(1, 200000) AS g;

SELECT is(
    (SELECT sum(s.calls) FROM pg_stat_statements AS s
     WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND s.query LIKE 'INSERT INTO smoke_kcache_sink SELECT%'),
    2::numeric, 'pg_stat_statements counted the two inserts as one statement');
SELECT ok(EXISTS (SELECT 1 FROM pg_stat_kcache_detail WHERE query LIKE 'INSERT INTO smoke_kcache_sink SELECT%'),
    'pg_stat_kcache has kernel statistics for it');
SELECT ok((SELECT sum(exec_user_time + exec_system_time) FROM pg_stat_kcache_detail
           WHERE query LIKE 'INSERT INTO smoke_kcache_sink SELECT%') > 0,
    'it used some CPU time');

SELECT * FROM finish();
ROLLBACK;
