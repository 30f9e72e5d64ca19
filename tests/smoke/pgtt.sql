\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pgtt is loaded by the session (LOAD, or session_preload_libraries).
-- A global temporary table's definition is permanent, its rows belong
-- to each session; the table goes with the smoke database.
SELECT plan(5);

CREATE EXTENSION IF NOT EXISTS pgtt;
SELECT has_extension('pgtt');
LOAD 'pgtt';
SET client_min_messages = error;
CREATE GLOBAL TEMPORARY TABLE smoke_gtt (id int, label text) ON COMMIT PRESERVE ROWS;
RESET client_min_messages;
SELECT ok(EXISTS (SELECT 1 FROM pgtt_schema.pg_global_temp_tables WHERE relname = 'smoke_gtt'),
    'the definition is registered');
INSERT INTO smoke_gtt VALUES (1, 'one'), (2, 'two');
SET client_min_messages = error;
CREATE GLOBAL TEMPORARY TABLE smoke_gtt_tx (id int) ON COMMIT DELETE ROWS;
RESET client_min_messages;
INSERT INTO smoke_gtt_tx VALUES (1);
SELECT is((SELECT count(*) FROM smoke_gtt_tx), 0::bigint, 'ON COMMIT DELETE ROWS empties it at each commit');
SELECT results_eq($$SELECT id, label FROM smoke_gtt ORDER BY id$$, $$VALUES (1, 'one'::text), (2, 'two')$$,
    'the session reads its rows');
SELECT is((SELECT relpersistence::text FROM pg_class WHERE relname = 'smoke_gtt' AND relnamespace = pg_my_temp_schema()),
    't', 'the rows live in a temporary table of this session');

SELECT * FROM finish();
