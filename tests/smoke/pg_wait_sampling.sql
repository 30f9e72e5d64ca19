\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- Needs shared_preload_libraries = 'pg_wait_sampling' (its collector is a
-- background worker sampling every backend's wait event).
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS pg_wait_sampling;
SELECT has_extension('pg_wait_sampling');
SELECT ok(EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'pg_wait_sampling collector'),
    'the collector is running');

SELECT is((SELECT count(*) FROM pg_wait_sampling_get_current(pg_backend_pid())), 1::bigint,
    'the current wait of this backend can be read');

-- sleep for a while: the profile must record PgSleep waits for this backend
DO $$ BEGIN PERFORM pg_sleep(1); END $$;
SELECT ok((SELECT sum(count) FROM pg_wait_sampling_profile WHERE pid = pg_backend_pid() AND event = 'PgSleep') > 0,
    'the profile counted PgSleep samples');
SELECT ok(EXISTS (SELECT 1 FROM pg_wait_sampling_history WHERE pid = pg_backend_pid() AND event = 'PgSleep'),
    'the history has PgSleep samples');
SELECT ok((SELECT count(*) FROM pg_wait_sampling_current) >= 1, 'pg_wait_sampling_current lists backends');

SELECT * FROM finish();
ROLLBACK;
