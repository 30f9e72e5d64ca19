\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- Snapshots are stamped with now(): each is taken in its own transaction,
-- so no BEGIN/ROLLBACK. Only this connection's and this database's settings
-- change, and the runner drops the database.
SELECT plan(7);

CREATE EXTENSION IF NOT EXISTS pg_track_settings;
SELECT has_extension('pg_track_settings');

SELECT ok(pg_track_settings_snapshot(), 'first snapshot');
CREATE TEMP TABLE smoke_marks AS SELECT clock_timestamp() AS t1;
SELECT ok(EXISTS (SELECT 1 FROM pg_track_settings() WHERE name = 'cpu_tuple_cost'), 'the snapshot holds every setting');

SET cpu_tuple_cost = 0.0314;
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET random_page_cost = 1.5', current_database()); END $$;
SELECT ok(pg_track_settings_snapshot(), 'second snapshot after a change');

SELECT results_eq(
    $$SELECT to_setting FROM pg_track_settings_diff((SELECT t1 FROM smoke_marks), clock_timestamp()) WHERE name = 'cpu_tuple_cost'$$,
    $$VALUES ('0.0314'::text)$$,
    'pg_track_settings_diff shows the new value');
SELECT is((SELECT count(*) FROM pg_track_settings_log('cpu_tuple_cost')), 2::bigint, 'the setting has two entries in its log');
SELECT results_eq(
    $$SELECT setting FROM pg_track_db_role_settings() WHERE name = 'random_page_cost'$$,
    $$VALUES ('1.5'::text)$$,
    'the per-database setting is tracked');

RESET cpu_tuple_cost;
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET random_page_cost', current_database()); END $$;
SELECT * FROM finish();
