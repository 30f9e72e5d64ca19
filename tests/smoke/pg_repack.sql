\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- The pg_repack client drives the server-side functions over two
-- connections. Here the same steps run in the order the client (1.5)
-- takes them, each step committed as the client does (the swap needs
-- the earlier steps committed), to rebuild a bloated table online. No
-- BEGIN/ROLLBACK: everything made is dropped at the end.
SELECT plan(11);

CREATE EXTENSION IF NOT EXISTS pg_repack;
SELECT has_extension('pg_repack');
SELECT has_schema('repack');
SELECT is(repack.version(), repack.version_sql(), 'the library and the SQL objects are the same version');

CREATE TABLE smoke_bloat (id integer PRIMARY KEY, v text NOT NULL) WITH (autovacuum_enabled = false);
CREATE INDEX smoke_bloat_v ON smoke_bloat (v);
INSERT INTO smoke_bloat SELECT i, 'value ' || i FROM generate_series(1, 20000) AS i;
DELETE FROM smoke_bloat WHERE id % 10 <> 0;
CREATE TEMP TABLE smoke_before AS
    SELECT pg_relation_filenode('smoke_bloat') AS filenode, pg_relation_size('smoke_bloat') AS size;

SELECT is((SELECT count(*) FROM repack.tables WHERE relid = 'smoke_bloat'::regclass), 1::bigint,
    'a table with a primary key is a repack candidate');

CREATE TEMP TABLE smoke_applied (n integer);
-- 1. setup: primary-key type, log table, trigger
DO $$
DECLARE t repack.tables%ROWTYPE;
BEGIN
    SELECT * INTO t FROM repack.tables WHERE relid = 'smoke_bloat'::regclass;
    EXECUTE t.create_pktype;
    EXECUTE t.create_log;
    EXECUTE t.create_trigger;
    EXECUTE t.enable_trigger;
    PERFORM repack.disable_autovacuum('repack.log_' || t.relid);
END $$;
-- 2. copy the live rows into a new table
DO $$
DECLARE t repack.tables%ROWTYPE;
BEGIN
    SELECT * INTO t FROM repack.tables WHERE relid = 'smoke_bloat'::regclass;
    EXECUTE t.delete_log;
    EXECUTE 'SELECT repack.create_table($1, $2)' USING t.relid, t.tablespace_orig;
    EXECUTE t.copy_data;
    IF t.drop_columns IS NOT NULL THEN EXECUTE t.drop_columns; END IF;
    PERFORM repack.disable_autovacuum('repack.table_' || t.relid);
END $$;
-- a change made while the copy is going on is caught by the trigger
INSERT INTO smoke_bloat VALUES (1000001, 'late row');
-- 3. indexes on the new table, 4. apply the log
DO $$
DECLARE
    t repack.tables%ROWTYPE;
    idx record;
BEGIN
    SELECT * INTO t FROM repack.tables WHERE relid = 'smoke_bloat'::regclass;
    FOR idx IN SELECT repack.repack_indexdef(indexrelid, indrelid, t.tablespace_orig, false) AS def
               FROM pg_index WHERE indrelid = t.relid AND indisvalid LOOP
        EXECUTE idx.def;
    END LOOP;
    INSERT INTO smoke_applied
    SELECT repack.repack_apply(t.sql_peek::cstring, t.sql_insert::cstring, t.sql_delete::cstring,
                               t.sql_update::cstring, t.sql_pop::cstring, 1000);
END $$;
-- 5. swap
DO $$
DECLARE t repack.tables%ROWTYPE;
BEGIN
    SELECT * INTO t FROM repack.tables WHERE relid = 'smoke_bloat'::regclass;
    EXECUTE t.lock_table;
    EXECUTE format('LOCK TABLE repack.table_%s IN ACCESS EXCLUSIVE MODE', t.relid);
    PERFORM repack.repack_swap(t.relid);
END $$;
-- 6. drop the 4 temporary objects
DO $$
BEGIN
    EXECUTE 'LOCK TABLE smoke_bloat IN ACCESS EXCLUSIVE MODE';
    PERFORM repack.repack_drop('smoke_bloat'::regclass, 4);
END $$;

SELECT is((SELECT n FROM smoke_applied), 1, 'the log replayed the concurrent insert');
SELECT isnt(pg_relation_filenode('smoke_bloat'), (SELECT filenode FROM smoke_before), 'the table has new storage');
SELECT ok(pg_relation_size('smoke_bloat') < (SELECT size FROM smoke_before) / 4, 'and is much smaller');
SELECT is((SELECT count(*) FROM smoke_bloat), 2001::bigint, 'every live row is there');
SELECT is((SELECT v FROM smoke_bloat WHERE id = 1000001), 'late row', 'including the concurrent one');
SET enable_seqscan = off;
SELECT is((SELECT id FROM smoke_bloat WHERE v = 'value 12340'), 12340, 'the rebuilt index answers');
SELECT is_empty($$SELECT 1 FROM pg_class WHERE relnamespace = 'repack'::regnamespace AND relname ~ '^(log|table)_'$$,
    'the temporary objects are gone');

RESET enable_seqscan;
DROP TABLE smoke_bloat;
DROP EXTENSION pg_repack;
SELECT * FROM finish();
