\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- decoderbufs is an output plugin (no CREATE EXTENSION) that writes
-- Protocol Buffers messages, read here as bytes. Needs wal_level =
-- logical and a free replication slot; changes must be committed to be
-- decoded, so no BEGIN/ROLLBACK: the slot is dropped at the end.
SELECT plan(5);

SELECT is(current_setting('wal_level'), 'logical', 'wal_level is logical');
CREATE TABLE smoke_dbuf (id integer PRIMARY KEY, name text);
SELECT is((SELECT slot_name::text FROM pg_create_logical_replication_slot('smoke_decoderbufs', 'decoderbufs')), 'smoke_decoderbufs',
    'a logical slot with the decoderbufs plugin');
INSERT INTO smoke_dbuf VALUES (1, 'ada'), (2, 'grace');
UPDATE smoke_dbuf SET name = 'hopper' WHERE id = 2;
CREATE TEMP TABLE smoke_changes AS
    SELECT data FROM pg_logical_slot_get_binary_changes('smoke_decoderbufs', NULL, NULL);
SELECT ok((SELECT count(*) FROM smoke_changes WHERE position('smoke_dbuf'::bytea IN data) > 0) >= 3,
    'a message for each changed row, naming the table');
SELECT ok(EXISTS (SELECT 1 FROM smoke_changes WHERE position('hopper'::bytea IN data) > 0), 'the new value is in the update');
SELECT lives_ok($$SELECT pg_drop_replication_slot('smoke_decoderbufs')$$, 'the slot is dropped');

SELECT * FROM finish();
