\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- bgw_replstatus is a preloaded background worker (shared_preload_libraries)
-- that answers a TCP connection to bgw_replstatus.port (5400) with MASTER
-- or STANDBY, for load balancers.  The answer is read here with bash's
-- /dev/tcp through COPY FROM PROGRAM.
BEGIN;
SELECT plan(4);

SELECT is(current_setting('bgw_replstatus.port'), '5400', 'the library is loaded, on its default port');
SELECT is((SELECT context FROM pg_settings WHERE name = 'bgw_replstatus.port'), 'postmaster',
    'the port is the postmaster''s, taken at start');
CREATE TEMP TABLE smoke_answer (line text);
COPY smoke_answer FROM PROGRAM 'bash -c "cat < /dev/tcp/127.0.0.1/5400"';
SELECT is((SELECT string_agg(line, '') FROM smoke_answer), 'MASTER', 'a primary answers MASTER');
SELECT is(pg_is_in_recovery(), false, 'as the server says of itself');

SELECT * FROM finish();
ROLLBACK;
