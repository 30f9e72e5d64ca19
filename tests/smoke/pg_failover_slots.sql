\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pg_failover_slots has no SQL objects: it is a preloaded library
-- (shared_preload_libraries) whose settings and worker appear once it is
-- loaded.  Copying slots to a standby needs a standby, which a single
-- server has not; on the primary the library must let logical decoding
-- through when no standby slot is named.
SELECT plan(6);

SELECT ok('pg_failover_slots' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ',')),
    'the library is preloaded');
SELECT results_eq(
    $$SELECT name::text, vartype FROM pg_settings WHERE name IN
        ('pg_failover_slots.drop_extra_slots', 'pg_failover_slots.standby_slots_min_confirmed',
         'pg_failover_slots.synchronize_slot_names') ORDER BY name COLLATE "C"$$,
    $$VALUES ('pg_failover_slots.drop_extra_slots'::text, 'bool'::text),
             ('pg_failover_slots.standby_slots_min_confirmed', 'integer'),
             ('pg_failover_slots.synchronize_slot_names', 'string')$$,
    'its settings are defined by the library, with their types');
SELECT is(current_setting('pg_failover_slots.synchronize_slot_names'), 'name_like:%%',
    'by default a standby would take every logical slot');
SELECT is(current_setting('pg_failover_slots.standby_slots_min_confirmed'), '-1',
    'and wait for every named standby slot');

SELECT 'made' AS slot FROM pg_create_logical_replication_slot('smoke_fs', 'test_decoding') \gset
CREATE TABLE smoke_fs_t (id integer);
INSERT INTO smoke_fs_t VALUES (1), (2);
SELECT ok((SELECT count(*) FROM pg_logical_slot_get_changes('smoke_fs', NULL, NULL) WHERE data LIKE 'table public.smoke_fs_t: INSERT%') = 2,
    'logical decoding passes on a primary with no standby slot named');
SELECT lives_ok($$SELECT pg_drop_replication_slot('smoke_fs')$$, 'the slot is dropped');
DROP TABLE smoke_fs_t;

SELECT * FROM finish();
