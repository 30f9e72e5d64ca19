-- pgimg-smoke: database=postgres
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pg_cron installs only in the database named by cron.database_name
-- (postgres here) and needs shared_preload_libraries = 'pg_cron'.
BEGIN;
SELECT plan(10);

CREATE EXTENSION IF NOT EXISTS pg_cron;
SELECT has_extension('pg_cron');
SELECT is(current_setting('cron.database_name'), current_database()::text, 'cron.database_name is this database');
SELECT ok(EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'pg_cron launcher'),
    'the pg_cron launcher is running');

SELECT ok(cron.schedule('smoke-nightly', '30 3 * * *', 'SELECT 1') > 0, 'cron.schedule returns a job id');
SELECT results_eq(
    $$SELECT schedule COLLATE "C", command COLLATE "C", database COLLATE "C", username COLLATE "C", active
      FROM cron.job WHERE jobname = 'smoke-nightly'$$,
    $$VALUES ('30 3 * * *' COLLATE "C", 'SELECT 1' COLLATE "C", current_database()::text COLLATE "C", current_user::text COLLATE "C", true)$$,
    'the job is in cron.job');

-- scheduling the same name again updates the job in place
SELECT lives_ok($$SELECT cron.schedule('smoke-nightly', '0 4 * * 1-5', 'VACUUM')$$, 'reschedule by name');
SELECT results_eq(
    $$SELECT schedule COLLATE "C", command COLLATE "C" FROM cron.job WHERE jobname = 'smoke-nightly'$$,
    $$VALUES ('0 4 * * 1-5' COLLATE "C", 'VACUUM' COLLATE "C")$$,
    'the job was updated, not duplicated');

SELECT throws_ok($$SELECT cron.schedule('smoke-bad', 'not a schedule', 'SELECT 1')$$,
    NULL, NULL, 'an invalid schedule is rejected');

SELECT ok(cron.unschedule('smoke-nightly'), 'cron.unschedule by name');
SELECT is_empty($$SELECT 1 FROM cron.job WHERE jobname LIKE 'smoke-%'$$, 'no smoke job is left');

SELECT * FROM finish();
ROLLBACK;
