\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pg_squeeze needs shared_preload_libraries = 'pg_squeeze',
-- wal_level = logical and a free replication slot. squeeze_table() works
-- through a background worker and logical decoding, so the table must be
-- committed: no BEGIN/ROLLBACK; the table is dropped at the end.
SELECT plan(7);

CREATE EXTENSION IF NOT EXISTS pg_squeeze;
SELECT has_extension('pg_squeeze');
SELECT is(current_setting('wal_level'), 'logical', 'wal_level is logical');

CREATE TABLE smoke_squeeze (id integer PRIMARY KEY, v text NOT NULL) WITH (autovacuum_enabled = false);
INSERT INTO smoke_squeeze SELECT i, 'value ' || i FROM generate_series(1, 50000) AS i;
DELETE FROM smoke_squeeze WHERE id % 10 <> 0;
CREATE TEMP TABLE smoke_before AS
    SELECT pg_relation_filenode('smoke_squeeze') AS filenode, pg_relation_size('smoke_squeeze') AS size;

-- squeeze_table returns void: \gset keeps that empty value out of the output
SELECT squeeze.squeeze_table('public', 'smoke_squeeze', NULL, NULL, NULL) AS squeezed \gset smoke_

SELECT isnt(pg_relation_filenode('smoke_squeeze'), (SELECT filenode FROM smoke_before), 'the table has new storage');
SELECT ok(pg_relation_size('smoke_squeeze') < (SELECT size FROM smoke_before) / 4, 'and is much smaller');
SELECT is((SELECT count(*) FROM smoke_squeeze), 5000::bigint, 'every live row is there');
SELECT is((SELECT v FROM smoke_squeeze WHERE id = 12340), 'value 12340', 'and readable through the primary key');
SELECT is_empty($$SELECT 1 FROM pg_replication_slots WHERE plugin = 'pg_squeeze'$$, 'no replication slot is left behind');

DROP TABLE smoke_squeeze;
SELECT * FROM finish();
