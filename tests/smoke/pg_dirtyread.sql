\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- Rows are deleted and committed, then read back before VACUUM: this
-- needs committed transactions, so no BEGIN/ROLLBACK; the table is dropped.
SELECT plan(5);

CREATE EXTENSION IF NOT EXISTS pg_dirtyread;
SELECT has_extension('pg_dirtyread');

CREATE TABLE smoke_dirty (id bigint, note text) WITH (autovacuum_enabled = false);
INSERT INTO smoke_dirty VALUES (1, 'kept'), (2, 'deleted'), (3, 'updated');
DELETE FROM smoke_dirty WHERE id = 2;
UPDATE smoke_dirty SET note = 'new version' WHERE id = 3;

SELECT results_eq(
    $$SELECT id, note FROM smoke_dirty ORDER BY id$$,
    $$VALUES (1::bigint, 'kept'::text), (3, 'new version')$$,
    'a normal scan sees only live rows');
SELECT results_eq(
    $$SELECT id, note FROM pg_dirtyread('smoke_dirty') AS t(id bigint, note text) ORDER BY id, note$$,
    $$VALUES (1::bigint, 'kept'::text), (2, 'deleted'), (3, 'new version'), (3, 'updated')$$,
    'pg_dirtyread also returns the deleted row and the old version');
SELECT results_eq(
    $$SELECT id, note FROM pg_dirtyread('smoke_dirty') AS t(dead boolean, id bigint, note text) WHERE dead ORDER BY id, note$$,
    $$VALUES (2::bigint, 'deleted'::text), (3, 'updated')$$,
    'the dead column marks them');
SELECT is((SELECT count(*) FROM pg_dirtyread('smoke_dirty') AS t(xmax xid, id bigint) WHERE xmax::text <> '0'), 2::bigint,
    'system column xmax is readable');

DROP TABLE smoke_dirty;
SELECT * FROM finish();
