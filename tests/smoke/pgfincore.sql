\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(6);

CREATE EXTENSION IF NOT EXISTS pgfincore;
SELECT has_extension('pgfincore');

CREATE TABLE smoke_blob (id integer, pad text);
INSERT INTO smoke_blob SELECT i, repeat('x', 500) FROM generate_series(1, 20000) AS i;

SELECT ok((SELECT os_page_size FROM pgsysconf()) > 0, 'pgsysconf reports the OS page size');
SELECT is((SELECT count(*) FROM pgfincore('smoke_blob')), 1::bigint, 'one segment for a small table');
SELECT is((SELECT sum(rel_os_pages * os_page_size) FROM pgfincore('smoke_blob'))::bigint,
    pg_relation_size('smoke_blob'), 'pgfincore sees the whole relation file');
SELECT ok((SELECT pages_mem FROM pgfincore('smoke_blob')) BETWEEN 0 AND (SELECT rel_os_pages FROM pgfincore('smoke_blob')),
    'resident pages are counted');
SELECT lives_ok($$SELECT * FROM pgfadvise_willneed('smoke_blob')$$, 'pgfadvise_willneed');

SELECT * FROM finish();
ROLLBACK;
