\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pg_background runs SQL in a background worker of its own (a free
-- max_worker_processes slot), in its own transaction: the worker sees
-- only committed data and its work survives the caller's ROLLBACK.  So
-- the table it writes to is committed and dropped at the end.
SELECT plan(7);

CREATE EXTENSION IF NOT EXISTS pg_background;
SELECT has_extension('pg_background');

SELECT * FROM pg_background_launch('SELECT 6 * 7, pg_backend_pid()') \gset bg_
SELECT results_eq(format('SELECT x FROM pg_background_result(%s, %s) AS (x integer, pid integer)', :bg_pid, :bg_cookie),
    ARRAY[42], 'a query runs in a background worker and its rows come back');
SELECT isnt(:bg_pid, pg_backend_pid(), 'the worker is another backend');

CREATE TABLE smoke_bg (id integer, note text);
SELECT * FROM pg_background_run(
    'INSERT INTO smoke_bg SELECT g, ''from the worker'' FROM generate_series(1, 100) AS g') \gset run_
SELECT is(:'run_command_tag' || ' ' || :'run_completed' || ' ' || :'run_has_error', 'INSERT t f',
    'pg_background_run reports the command''s outcome: its tag, done, no error');
SELECT is((SELECT count(*) FROM smoke_bg WHERE note = 'from the worker'), 100::bigint,
    'its rows are committed, visible here');

BEGIN;
SELECT ok((SELECT completed AND NOT has_error FROM pg_background_run('INSERT INTO smoke_bg VALUES (0, ''autonomous'')')),
    'a command run from inside a transaction');
ROLLBACK;
SELECT is((SELECT count(*) FROM smoke_bg WHERE note = 'autonomous'), 1::bigint,
    'outlives that transaction''s ROLLBACK (an autonomous transaction)');

DROP TABLE smoke_bg;
SELECT * FROM finish();
