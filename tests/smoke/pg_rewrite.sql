\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- pg_rewrite needs shared_preload_libraries = 'pg_rewrite', wal_level =
-- logical and a free replication slot.  rewrite_table() copies a table
-- into a new one (here: partitioned, id widened to bigint) and swaps
-- their names, catching up on concurrent changes through logical
-- decoding; it works on committed tables: no BEGIN/ROLLBACK, the tables
-- are dropped at the end.
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS pg_rewrite;
SELECT has_extension('pg_rewrite');
CREATE TABLE smoke_rw (id integer, city integer, logdate date, PRIMARY KEY (id, logdate));
INSERT INTO smoke_rw SELECT g, g % 7, date '2024-01-01' + g % 60 FROM generate_series(1, 2000) AS g;
CREATE TABLE smoke_rw_aux (id bigint, city integer, logdate date, PRIMARY KEY (id, logdate))
    PARTITION BY RANGE (logdate);
CREATE TABLE smoke_rw_2024_01 PARTITION OF smoke_rw_aux FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
CREATE TABLE smoke_rw_2024_02 PARTITION OF smoke_rw_aux FOR VALUES FROM ('2024-02-01') TO ('2024-04-01');

-- rewrite_table returns void: \gset keeps that empty value out of the output
SELECT rewrite_table('smoke_rw', 'smoke_rw_aux', 'smoke_rw_old') AS rewritten \gset smoke_

SELECT is((SELECT relkind::text FROM pg_class WHERE oid = 'smoke_rw'::regclass), 'p', 'smoke_rw is now the partitioned table');
SELECT is((SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'smoke_rw'::regclass AND attname = 'id'),
    'bigint', 'with the wider id');
SELECT is((SELECT count(*) FROM smoke_rw), 2000::bigint, 'every row was copied');
SELECT is((SELECT count(*) FROM smoke_rw_2024_02), (SELECT count(*) FROM smoke_rw_old WHERE logdate >= '2024-02-01'),
    'into the partition its date belongs to');
SELECT is((SELECT relkind::text FROM pg_class WHERE oid = 'smoke_rw_old'::regclass), 'r', 'the old table is kept under its new name');

DROP TABLE smoke_rw, smoke_rw_old;
SELECT * FROM finish();
