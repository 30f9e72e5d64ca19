-- pgimg-smoke: database=postgres
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pgsentinel is preloaded with pg_stat_statements. Its worker samples
-- the active sessions every second (pgsentinel_ash.sampling_period) from
-- the database pgsentinel.db_name (postgres), with a function of the
-- extension: the extension must be created, and committed, there. It
-- is dropped at the end.
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS pgsentinel;
SELECT has_extension('pgsentinel');
SELECT ok(current_setting('shared_preload_libraries') LIKE '%pgsentinel%', 'pgsentinel is preloaded');
SELECT has_view('pg_active_session_history', 'the active session history view');
-- stay active for three samples
SELECT lives_ok($$SELECT pg_sleep(3.5)$$, 'an active session');
SELECT ok((SELECT count(*) FROM pg_active_session_history
           WHERE pid = pg_backend_pid() AND query LIKE '%pg_sleep%') >= 2,
    'the sleeping session was sampled, with its query');
SELECT ok((SELECT count(*) FROM pg_active_session_history
           WHERE pid = pg_backend_pid() AND wait_event = 'PgSleep') >= 2,
    'and with what it waited for');

SELECT * FROM finish();
DROP EXTENSION pgsentinel;
